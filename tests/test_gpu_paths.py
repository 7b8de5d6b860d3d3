"""On a GPU the networks and optimizers are Keras' standard ones (the CPU speed paths stay off).

No GPU exists on this project's machines, so the test makes TensorFlow report one and checks
what gets built; the same config on this CPU takes every speed path (the control).
"""

import keras
import pytest
import tensorflow as tf

from pix2pix_tf.fast.matmul import SmallMapMatmul
from pix2pix_tf.layers import BatchNorm, walk_layers
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.fast.adam import FusedAdam
from pix2pix_tf.fast.batchnorm import FusedBatchNorm
from pix2pix_tf.fast.transform import speed_up
from pix2pix_tf.model import Pix2Pix

CFG = Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)


def _built(monkeypatch, gpu: bool):
    real = tf.config.list_physical_devices
    fake_gpu = [tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")]
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: (fake_gpu if gpu else []) if kind == "GPU" else real(kind))
    model = Pix2Pix.from_config_object(CFG)
    model.compile()
    speed_up(model)  # what a run applies to its built model
    layers = [l for net in (model.generator, model.discriminator) for l in walk_layers(net)]
    return model, layers


@pytest.mark.parametrize("gpu", [False, True])
def test_speed_paths_only_without_a_gpu(monkeypatch, gpu):
    model, layers = _built(monkeypatch, gpu)
    bns = [l for l in layers if isinstance(l, BatchNorm)]
    matmuls = [l for l in layers if isinstance(l, SmallMapMatmul) and l.max_matmul_size > 0]
    assert bns, "the paper's networks have batch norm"
    assert all(isinstance(l, FusedBatchNorm) is (not gpu) for l in bns)
    assert bool(matmuls) is (not gpu)
    for opt in (model.g_optimizer, model.d_optimizer):
        assert isinstance(opt, FusedAdam) is (not gpu)
        assert isinstance(opt, keras.optimizers.Adam)


def test_gpu_build_trains_one_step_with_keras_standard_layers(monkeypatch):
    model, _ = _built(monkeypatch, gpu=True)
    x = tf.random.uniform([1, 64, 64, 3], -1, 1, seed=1)
    before = [w.numpy().copy() for w in model.generator.trainable_weights[:2]]
    history = model.fit(tf.data.Dataset.from_tensors((x, x)), epochs=1, verbose=0)
    assert all(tf.math.is_finite(v[-1]) for v in history.history.values())
    assert any((w.numpy() != b).any() for w, b in zip(model.generator.trainable_weights[:2], before))
