"""Core tier: the generator (Isola et al. 2017, section 3.2.1 and appendix 6.1.1).

The U-Net: encoder C64-C128-C256-C512-C512-C512-C512-C512, decoder CD512-CD512-CD512-C512-
C256-C128-C64, each decoder block joined to its mirror encoder block by a skip connection,
tanh output; dropout "as noise" in the first three decoder blocks. Plus the ResNet generator
of the authors' code. Only public top-level names of the package are used.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import Pix2PixConfig, build_generator, set_inference_mode

PAPER_ENCODER = [64, 128, 256, 512, 512, 512, 512, 512]  # appendix 6.1.1
PAPER_DECODER = [512, 512, 512, 512, 256, 128, 64]  # CD512 x3, C512, C256, C128, C64


def tiny(**changes) -> Pix2PixConfig:
    """The paper's layout at 64x64 with 8 filters in the first layer."""
    return Pix2PixConfig(**{"image_size": 64, "load_size": 72, "ngf": 8, "ndf": 8, **changes})


def walk(layer):
    """``layer`` and every layer nested in it (the blocks are keras.Sequential)."""
    yield layer
    for sub in getattr(layer, "layers", []):
        yield from walk(sub)


def of_type(layer, cls) -> list:
    return [sub for sub in walk(layer) if isinstance(sub, cls)]


def n_params(variables) -> int:
    return sum(int(np.prod(v.shape)) for v in variables)


def unet_param_counts(cin: int, cout: int, filters: list[int]) -> tuple[int, int]:
    """(trainable, non-trainable) parameters of the batch-norm U-Net, from the layer formulas.

    Encoder block i: 4x4 conv cin -> f, no bias (batch norm's beta replaces it), batch norm
    (gamma, beta trainable; moving mean and variance not) except on the first and innermost
    block. Decoder block: 4x4 transposed conv, no bias, batch norm; its input is the previous
    block's output concatenated with the mirror encoder output (2f channels). Output: 4x4
    transposed conv with bias to cout channels.
    """
    depth = len(filters)
    trainable = non_trainable = 0
    prev = cin
    for i, f in enumerate(filters):
        trainable += 4 * 4 * prev * f
        if 0 < i < depth - 1:
            trainable += 2 * f
            non_trainable += 2 * f
        prev = f
    for f in reversed(filters[:-1]):
        trainable += 4 * 4 * prev * f + 2 * f
        non_trainable += 2 * f
        prev = 2 * f  # concatenated with the skip
    trainable += 4 * 4 * prev * cout + cout
    return trainable, non_trainable


@pytest.fixture(scope="module")
def paper_generator():
    """The paper-size U-Net (256x256, ngf=64), built once for the module (about 2 s)."""
    keras.utils.set_random_seed(0)
    return build_generator(Pix2PixConfig())


# ------------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("size,ngf,depth,cin,cout", [
    (64, 8, None, 3, 3),  # depth follows the size: 6 downsamplings, 64 -> 1
    (64, 8, 4, 1, 3),  # reduced depth: 64 -> 4x4 bottleneck, grayscale input
    (48, 4, 3, 3, 1),  # a size that is not a power of two, one output channel
    (32, 4, 2, 1, 1),
])
def test_output_shape_equals_input_shape(size, ngf, depth, cin, cout):
    keras.utils.set_random_seed(0)
    cfg = tiny(image_size=size, load_size=size, ngf=ngf, unet_depth=depth,
               input_channels=cin, output_channels=cout)
    g = build_generator(cfg)
    assert g.input_shape == (None, size, size, cin)
    assert g.output_shape == (None, size, size, cout)
    y = g(tf.random.uniform((2, size, size, cin), -1, 1, seed=1), training=True)
    assert tuple(y.shape) == (2, size, size, cout) and y.dtype == tf.float32
    # the encoder has generator_depth downsamplings, no more
    d = cfg.generator_depth
    assert d == (depth if depth is not None else 6)
    assert g.get_layer(f"down{d}").output.shape[1:3] == (size // 2 ** d, size // 2 ** d)
    with pytest.raises(ValueError):
        g.get_layer(f"down{d + 1}")
    # filters ngf * (1, 2, 4, 8, 8, ...) in the encoder
    assert [g.get_layer(f"down{i + 1}").output.shape[-1] for i in range(d)] == \
        [ngf * min(2 ** i, 8) for i in range(d)]


def test_output_is_tanh_bounded_and_saturates():
    """Inputs scaled by 1000 drive the pre-activation far past 1: a tanh keeps |y| <= 1 and
    saturates near 1 (the first encoder block, unnormalised, reaches the output via the skip)."""
    keras.utils.set_random_seed(0)
    g = build_generator(tiny())
    x = tf.random.uniform((1, 64, 64, 3), -1, 1, seed=2)
    y = g(x, training=True).numpy()
    assert np.abs(y).max() <= 1.0 and np.abs(y).max() > 0
    big = g(1000.0 * x, training=True).numpy()
    assert np.abs(big).max() <= 1.0
    assert np.abs(big).max() > 0.99


# ------------------------------------------------------------------------------ paper size
def test_paper_encoder_decoder_filter_schedule(paper_generator):
    g = paper_generator
    assert g.output_shape == (None, 256, 256, 3)
    downs = [g.get_layer(f"down{i}").output.shape for i in range(1, 9)]
    assert [s[-1] for s in downs] == PAPER_ENCODER
    assert [s[1] for s in downs] == [256 // 2 ** i for i in range(1, 9)]  # 128 ... 1
    ups = [g.get_layer(f"up{j}").output.shape for j in range(1, 8)]
    assert [s[-1] for s in ups] == PAPER_DECODER
    assert [s[1] for s in ups] == [2 ** j for j in range(1, 8)]  # 2 ... 128
    # C64 has no batch norm, nor has the 1x1 innermost block; every other block has one
    assert [bool(of_type(g.get_layer(f"down{i}"), keras.layers.BatchNormalization))
            for i in range(1, 9)] == [False] + [True] * 6 + [False]
    assert all(of_type(g.get_layer(f"up{j}"), keras.layers.BatchNormalization) for j in range(1, 8))
    # encoder ReLUs are leaky (0.2), decoder ReLUs are not
    for i in range(1, 9):
        assert [r.negative_slope for r in of_type(g.get_layer(f"down{i}"), keras.layers.LeakyReLU)] == [0.2]
    for j in range(1, 8):
        block = g.get_layer(f"up{j}")
        assert not of_type(block, keras.layers.LeakyReLU) and of_type(block, keras.layers.ReLU)
    # dropout (CD512) in the first three decoder blocks only, rate 0.5
    rates = [[d.rate for d in of_type(g.get_layer(f"up{j}"), keras.layers.Dropout)] for j in range(1, 8)]
    assert rates == [[0.5]] * 3 + [[]] * 4


def test_paper_generator_parameter_count(paper_generator):
    trainable, non_trainable = unet_param_counts(3, 3, PAPER_ENCODER)
    assert trainable == 54_413_955  # docs/paper.md: "generators unet_256 54,413,955"
    assert n_params(paper_generator.trainable_variables) == trainable
    # count_params() adds the batch-norm moving statistics (not the dropout seed states)
    assert paper_generator.count_params() == trainable + non_trainable


def test_tiny_generator_parameter_count():
    cfg = tiny(input_channels=1, unet_depth=5)
    g = build_generator(cfg)
    trainable, non_trainable = unet_param_counts(1, 3, [8, 16, 32, 64, 64])
    assert n_params(g.trainable_variables) == trainable
    assert g.count_params() == trainable + non_trainable


# ------------------------------------------------------------------------------ skips
def _with_pixel_changed(x: np.ndarray, row: int, col: int) -> np.ndarray:
    x2 = x.copy()
    x2[0, row, col] = -x2[0, row, col] + 0.5
    return x2


def test_skips_carry_the_input_past_a_cut_bottleneck():
    """Zero the innermost encoder block: nothing passes the bottleneck any more. The encoder-
    decoder's output then ignores its input; the U-Net's still follows it, through the skips."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    x2 = _with_pixel_changed(x, 20, 37)
    outputs = {}
    for net_g in ("unet", "encoder_decoder"):
        keras.utils.set_random_seed(0)
        cfg = tiny(net_g=net_g, inference_mode="moving_average")  # per-pixel BN: no image-wide stats
        g = build_generator(cfg)
        inner = g.get_layer(f"down{cfg.generator_depth}")
        inner.set_weights([np.zeros(w.shape, np.float32) for w in inner.weights])
        outputs[net_g] = g(x, training=False).numpy(), g(x2, training=False).numpy()
    y1, y2 = outputs["encoder_decoder"]
    np.testing.assert_array_equal(y1, y2)
    y1, y2 = outputs["unet"]
    change = np.abs(y1 - y2).sum(-1)[0]
    assert change.max() > 1e-4
    r, c = np.unravel_index(change.argmax(), change.shape)
    # the change is where the pixel changed: 4 pixels is the reach of the outermost skip
    # (a 4x4 stride-2 conv, then the 4x4 stride-2 output deconv)
    assert abs(r - 20) <= 4 and abs(c - 37) <= 4
    assert change[16:25, 33:42].sum() > 0.8 * change.sum()


def test_one_pixel_changes_the_unet_output_locally():
    """With the full U-Net (bottleneck intact), a one-pixel change still moves the output mostly
    around that pixel: the skips carry it straight to the same place."""
    keras.utils.set_random_seed(0)
    g = build_generator(tiny(inference_mode="moving_average"))
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    for row, col in ((10, 50), (40, 12)):
        change = np.abs(g(x, training=False).numpy()
                        - g(_with_pixel_changed(x, row, col), training=False).numpy()).sum(-1)[0]
        r, c = np.unravel_index(change.argmax(), change.shape)
        assert abs(r - row) <= 4 and abs(c - col) <= 4
        near = change[max(row - 4, 0):row + 5, max(col - 4, 0):col + 5].sum()
        assert near > 0.8 * change.sum()


# ------------------------------------------------------------------------------ dropout as noise
def test_dropout_is_the_noise_in_training():
    keras.utils.set_random_seed(0)
    x = tf.random.uniform((2, 64, 64, 3), -1, 1, seed=3)
    g = build_generator(tiny())
    a, b = g(x, training=True).numpy(), g(x, training=True).numpy()
    assert np.abs(a - b).max() > 1e-3  # two passes, two dropout masks
    # control: without dropout the same training-mode pass is repeatable
    g0 = build_generator(tiny(dropout_rate=0.0))
    assert not of_type(g0, keras.layers.Dropout)
    np.testing.assert_array_equal(g0(x, training=True).numpy(), g0(x, training=True).numpy())


def test_inference_modes():
    keras.utils.set_random_seed(0)
    x = tf.random.uniform((2, 64, 64, 3), -1, 1, seed=4)
    g = build_generator(tiny())  # config default: "deterministic"
    assert tiny().inference_mode == "deterministic"
    det = g(x, training=False).numpy()
    np.testing.assert_array_equal(det, g(x, training=False).numpy())
    # per-image statistics: an image's output does not depend on its batch mates
    np.testing.assert_allclose(g(x[1:], training=False).numpy(), det[1:], atol=1e-5)
    # "paper": test-batch statistics and dropout kept on: a stochastic generator
    set_inference_mode(g, "paper")
    p1, p2 = g(x, training=False).numpy(), g(x, training=False).numpy()
    assert np.abs(p1 - p2).max() > 1e-3
    # the same mode chosen in the config at build time
    keras.utils.set_random_seed(0)
    gp = build_generator(tiny(inference_mode="paper"))
    assert np.abs(gp(x, training=False).numpy() - gp(x, training=False).numpy()).max() > 1e-3
    # "moving_average": Keras' usual inference, repeatable
    set_inference_mode(g, "moving_average")
    np.testing.assert_array_equal(g(x, training=False).numpy(), g(x, training=False).numpy())
    set_inference_mode(g, "deterministic")
    np.testing.assert_allclose(g(x, training=False).numpy(), det, atol=1e-6)
    with pytest.raises(ValueError):
        set_inference_mode(g, "eval")
