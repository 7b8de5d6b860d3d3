"""The two switches of notebook 08: the decoder's upsampling and D's learning-rate scale.

Resize-convolution is a lever of pix2pix's successors: SuccessorConfig(upsample="resize")."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from pix2pix_tf.blocks import upsample
from pix2pix_tf.apps.cli_parser import _config_from_args, build_parser
from pix2pix_tf.config import ConfigError, Pix2PixConfig, field_choices
from pix2pix_tf.course.failures import checkerboard_energy
from pix2pix_tf.layers import walk_layers
from pix2pix_tf.model import Pix2Pix, make_optimizer
from pix2pix_tf.schedule import learning_rate
from pix2pix_tf.successors.config import SuccessorConfig
from pix2pix_tf.successors.networks import build_successor_generator, resize_conv, resize_upconv

TINY = dict(image_size=64, load_size=64, ngf=8, ndf=8)


def _transposed(model):
    return [layer.name for layer in walk_layers(model) if isinstance(layer, keras.layers.Conv2DTranspose)]


def _generator(seed=0, **changes):
    keras.utils.set_random_seed(seed)
    return build_successor_generator(SuccessorConfig(**{**TINY, **changes}))


@pytest.mark.parametrize("net_g", ["unet", "encoder_decoder", "resnet_6blocks"])
def test_resize_mode_has_the_same_shapes_and_no_transposed_convolution(net_g):
    transpose, resize = _generator(net_g=net_g), _generator(net_g=net_g, upsample="resize")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    y = resize(x, training=False)
    assert y.shape == transpose(x, training=False).shape == (2, 64, 64, 3)
    assert np.all(np.abs(y) <= 1.0) and y.dtype == "float32"
    assert _transposed(transpose)  # the paper's decoder has them ...
    assert _transposed(resize) == []  # ... the resize decoder none
    names = {v.path for v in resize.weights}
    assert not any("deconv" in n for n in names)
    assert any("resize_conv" in n for n in names)


def test_resize_generator_runs_at_any_size():
    """Export replays the layers on (None, None) inputs: the resize layers must follow."""
    from pix2pix_tf.run.export import fully_convolutional

    g = fully_convolutional(_generator(upsample="resize"))
    assert g(np.zeros((1, 128, 192, 3), "float32"), training=False).shape == (1, 128, 192, 3)


def test_resize_block_doubles_the_size_with_a_3x3_kernel():
    cfg = SuccessorConfig(**TINY, upsample="resize")
    block = upsample(16, cfg, apply_dropout=True, name="up1", upconv=resize_upconv)
    assert block(np.zeros((1, 4, 4, 32), "float32")).shape == (1, 8, 8, 16)
    assert [layer.name for layer in block.layers] == ["resize", "resize_conv", "norm", "dropout", "relu"]
    assert tuple(block.get_layer("resize_conv").kernel.shape) == (3, 3, 32, 16)
    layers = resize_conv(3, cfg, name="output_conv", dtype="float32")
    assert [layer.name for layer in layers] == ["output_conv_resize", "output_conv"]


def test_the_default_generator_is_unchanged():
    """Transpose mode (the default) keeps the paper's layer names, shapes and parameter count,
    so checkpoints written before the switch existed still load."""
    g = _generator()
    explicit = _generator(upsample="transpose")
    assert g.count_params() == explicit.count_params() == 459_299  # as before the switch
    shapes = {v.path: tuple(v.shape) for v in g.weights}
    assert shapes == {v.path: tuple(v.shape) for v in explicit.weights}
    assert len(shapes) == 49
    assert shapes["up1/deconv/kernel"] == (4, 4, 64, 64)
    assert shapes["up5/deconv/kernel"] == (4, 4, 8, 32)
    assert shapes["output_deconv/kernel"] == (4, 4, 3, 16) and shapes["output_deconv/bias"] == (3,)
    for a, b in zip(g.weights, explicit.weights):  # same seed, same weights
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    resnet = _generator(net_g="resnet_6blocks")
    assert resnet.count_params() == 126_323
    assert {v.path for v in resnet.weights if "up" in v.path and "kernel" in v.path} == {
        "up1/deconv/kernel", "up2/deconv/kernel"}


def test_resize_mode_has_less_checkerboard_energy():
    """An untrained generator on a flat grey input: the transposed convolutions' sub-kernels
    leave a period-2 pattern (power at Nyquist); resize-convolutions leave almost none."""
    flat = np.full((1, 64, 64, 3), 0.3, "float32")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    for net_g in ("unet", "resnet_6blocks"):
        g = {mode: _generator(net_g=net_g, upsample=mode) for mode in ("transpose", "resize")}
        energies = {mode: float(checkerboard_energy(g[mode](flat))[0]) for mode in g}
        assert energies["transpose"] > 0.05, energies  # white noise would give 3 / 4096
        assert energies["resize"] < energies["transpose"] / 20, energies
        if net_g == "unet":  # and on random inputs too
            assert (checkerboard_energy(g["resize"](x)).max()
                    < checkerboard_energy(g["transpose"](x)).min() / 20)


def test_d_lr_scale_scales_only_the_discriminator_optimizer():
    cfg = Pix2PixConfig(image_size=32, load_size=32, ngf=4, ndf=4, d_lr_scale=10.0)
    model = Pix2Pix.from_config_object(cfg)
    model.compile()
    g_lr, d_lr = float(model.g_optimizer.learning_rate), float(model.d_optimizer.learning_rate)
    assert g_lr == pytest.approx(2e-4) and d_lr == pytest.approx(2e-3)
    # the linear decay schedule is scaled too: 10x at every step
    linear = cfg.replace(lr_policy="linear", lr_decay_start=0.5)
    g_sched, d_sched = learning_rate(linear, 100), learning_rate(linear, 100, scale=linear.d_lr_scale)
    for step in (0, 50, 75):
        g, d = float(g_sched(step)), float(d_sched(step))
        assert d == pytest.approx(10 * g) and g > 0
    assert float(make_optimizer(linear, 100, lr_scale=10.0).learning_rate) == pytest.approx(2e-3)
    paper = Pix2Pix.from_config_object(cfg.replace(d_lr_scale=1.0))
    paper.compile()
    assert float(paper.d_optimizer.learning_rate) == float(paper.g_optimizer.learning_rate)


def test_config_fields_validate_and_round_trip():
    cfg = SuccessorConfig()
    assert cfg.upsample == "transpose" and cfg.d_lr_scale == 1.0  # the paper
    assert field_choices(SuccessorConfig)["upsample"] == ("transpose", "resize")
    changed = SuccessorConfig(upsample="resize", d_lr_scale=10)
    assert SuccessorConfig.from_json(changed.to_json()) == changed
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("upsample", "d_lr_scale")}
    assert SuccessorConfig.from_dict(old) == cfg  # a config.json written before the fields existed
    for bad in (0, -1.0, float("nan"), float("inf"), "10", True):
        with pytest.raises(ConfigError, match="d_lr_scale") as info:
            Pix2PixConfig(d_lr_scale=bad)
        assert info.value.field == "d_lr_scale"
    for bad in ("bilinear", "", None):
        with pytest.raises(ConfigError, match="upsample.*transpose, resize"):
            SuccessorConfig(upsample=bad)


def test_cli_flags():
    result = subprocess.run([sys.executable, "-m", "pix2pix_tf.apps.cli", "train", "--help"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "--upsample {transpose,resize}" in result.stdout and "--d-lr-scale" in result.stdout
    args = build_parser().parse_args(["train", "--data", "d", "--image-size", "64", "--upsample", "resize",
                                      "--d-lr-scale", "10"])
    cfg = _config_from_args(args)
    assert cfg.upsample == "resize" and cfg.d_lr_scale == 10.0
    with pytest.raises(ConfigError, match="d_lr_scale"):
        _config_from_args(build_parser().parse_args(["train", "--data", "d", "--d-lr-scale", "0"]))
