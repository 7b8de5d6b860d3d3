import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.layers import BatchNorm, NoiseDropout, set_inference_mode
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.discriminator import build_discriminator, receptive_field
from pix2pix_tf.generator import build_generator


def _layer_types(block):
    return [type(layer) for layer in block.layers]


def test_paper_networks_at_256():
    keras.utils.set_random_seed(0)
    cfg = Pix2PixConfig()
    g, d = build_generator(cfg), build_discriminator(cfg)
    assert g.output_shape == (None, 256, 256, 3)
    assert d.output_shape == (None, 30, 30, 1)
    # paper layout: C64-C128-C256-C512-C512-C512-C512-C512 / CD512 x3, C512-C256-C128-C64
    assert g.count_params() == 54_423_811  # incl. batch-norm moving statistics
    assert sum(int(np.prod(v.shape)) for v in g.trainable_variables) == 54_413_955  # 54.414 M
    assert d.count_params() == 2_770_497
    assert sum(int(np.prod(v.shape)) for v in d.trainable_variables) == 2_768_705  # 2.769 M
    assert [g.get_layer(f"down{i}").layers[0].filters for i in range(1, 9)] == \
        [64, 128, 256, 512, 512, 512, 512, 512]
    assert [g.get_layer(f"up{i}").layers[0].filters for i in range(1, 8)] == \
        [512, 512, 512, 512, 256, 128, 64]
    assert receptive_field(d) == 70


def test_norm_and_dropout_placement():
    g = build_generator(Pix2PixConfig(image_size=64, load_size=72, ngf=8))
    depth = 6
    for i in range(1, depth + 1):
        has_norm = BatchNorm in _layer_types(g.get_layer(f"down{i}"))
        assert has_norm == (1 < i < depth), f"down{i}"  # none on the first and the innermost
    dropouts = [i for i in range(1, depth) if NoiseDropout in _layer_types(g.get_layer(f"up{i}"))]
    assert dropouts == [1, 2, 3]
    slopes = {layer.negative_slope for layer in g.get_layer("down2").layers
              if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes == {0.2}


@pytest.mark.parametrize("size,patch", [(64, 6), (128, 14)])
def test_small_sizes(size, patch):
    cfg = Pix2PixConfig(image_size=size, load_size=size, ngf=8, ndf=8)
    g, d = build_generator(cfg), build_discriminator(cfg)
    x = tf.random.uniform((2, size, size, 3), -1, 1)
    y = g(x, training=True)
    assert y.shape == (2, size, size, 3) and y.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(y))) <= 1.0
    logits = d([x, y], training=True)
    assert logits.shape == (2, patch, patch, 1)


@pytest.mark.parametrize("n_layers,rf", [(0, 1), (1, 16), (3, 70), (5, 286)])
def test_patch_sizes(n_layers, rf):
    d = build_discriminator(Pix2PixConfig(n_layers_d=n_layers, ndf=4))
    assert receptive_field(d) == rf


def test_receptive_field_measured_by_gradients():
    """The centre logit's gradient w.r.t. the input is non-zero on exactly a 70x70 window."""
    keras.utils.set_random_seed(1)
    cfg = Pix2PixConfig(image_size=128, load_size=128, ndf=8, norm="none")  # BN would couple all pixels
    d = build_discriminator(cfg)
    x = tf.random.uniform((1, 128, 128, 3), -1, 1)
    y = tf.random.uniform((1, 128, 128, 3), -1, 1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        centre = d([x, y])[0, 7, 7, 0]
    grad = tf.reduce_sum(tf.abs(tape.gradient(centre, x)[0]), axis=-1).numpy()
    rows, cols = np.nonzero(grad)
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70


def test_innermost_signal_survives_batch_one():
    """Batch norm on the 1x1 bottleneck would output zeros at batch size 1; we have none there."""
    cfg = Pix2PixConfig(image_size=64, load_size=64, ngf=8)
    g = build_generator(cfg)
    bottleneck = keras.Model(g.input, g.get_layer("down6").output)
    z = bottleneck(tf.random.uniform((1, 64, 64, 3), -1, 1), training=True)
    assert z.shape == (1, 1, 1, 64)
    assert float(tf.reduce_max(tf.abs(z))) > 1e-3


def test_inference_modes():
    keras.utils.set_random_seed(0)
    cfg = Pix2PixConfig(image_size=64, load_size=64, ngf=8)
    g = build_generator(cfg)
    x = tf.random.uniform((2, 64, 64, 3), -1, 1)
    det1, det2 = g(x), g(x)
    np.testing.assert_array_equal(det1.numpy(), det2.numpy())
    # per-image statistics: an image's output does not depend on its batch mates
    np.testing.assert_allclose(g(x[:1]).numpy(), det1[:1].numpy(), atol=1e-5)
    set_inference_mode(g, "paper")
    p1, p2 = g(x).numpy(), g(x).numpy()
    assert np.abs(p1 - p2).max() > 1e-3  # dropout as noise
    set_inference_mode(g, "moving_average")
    mv = g(x).numpy()
    assert np.abs(mv - det1.numpy()).max() > 1e-3  # untrained moving stats differ
    with pytest.raises(ValueError, match="unknown inference mode"):
        set_inference_mode(g, "eval")


@pytest.mark.parametrize("shape", [None, (32, 64)])
def test_pix2pix_config_round_trips(shape):
    """Pix2Pix.from_config(model.get_config()): the same Pix2PixConfig, shape and weight shapes."""
    import json

    from pix2pix_tf.model import Pix2Pix
    cfg = Pix2PixConfig(image_size=32, load_size=32, ngf=4, ndf=4, net_d="pixel", lambda_l1=10.0)
    model = Pix2Pix.from_config_object(cfg, shape=shape, name="mine")
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config  # plain JSON types
    assert config["config"] == cfg.to_dict()
    assert config["shape"] == (None if shape is None else list(shape))
    clone = Pix2Pix.from_config(config)
    assert clone.config == cfg and clone.name == "mine"
    assert clone.generator.input_shape == model.generator.input_shape
    for net in ("generator", "discriminator"):
        assert [w.shape for w in getattr(clone, net).weights] == \
            [w.shape for w in getattr(model, net).weights]
    # registered with Keras: generic (de)serialization finds the class by name
    assert keras.saving.get_registered_name(Pix2Pix) == "pix2pix_tf>Pix2Pix"
    assert keras.saving.get_registered_object("pix2pix_tf>Pix2Pix") is Pix2Pix


def test_linear_decay_schedule_keeps_its_registered_name():
    """Saved optimizer configs name the schedule "pix2pix_tf>LinearDecayAfter": it still loads."""
    from pix2pix_tf import model, schedule
    cls = schedule.LinearDecayAfter
    assert model.LinearDecayAfter is cls
    assert keras.saving.get_registered_name(cls) == "pix2pix_tf>LinearDecayAfter"
    s = schedule.learning_rate(Pix2PixConfig(lr_policy="linear"), total_steps=10)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    assert isinstance(restored, cls) and restored.get_config() == {"lr": 2e-4, "start": 5, "decay_steps": 5}
