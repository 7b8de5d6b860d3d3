"""Core tier: the PatchGAN discriminator (Isola et al. 2017, section 3.2.2, appendix 6.1.2).

The 70x70 PatchGAN C64-C128-C256-C512 + a 1-channel convolution sees the input image and a
real or generated output side by side (6 channels) and gives one logit per overlapping
70x70 patch: a 30x30 map at 256x256. ``n_layers_d`` 0 / 1 / 5 give the 1x1 PixelGAN and the
16x16 and 286x286 patches of figure 6. Only public top-level names of the package are used.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import ConfigError, Pix2PixConfig, build_discriminator, receptive_field


def walk(layer):
    yield layer
    for sub in getattr(layer, "layers", []):
        yield from walk(sub)


def convs(model) -> list:
    return [layer for layer in walk(model) if isinstance(layer, keras.layers.Conv2D)]


def patch_size(n_layers: int) -> int:
    """Receptive field of n stride-2 4x4 convs then two stride-1 4x4 convs:
    rf = 1 + sum (k - 1) * jump = 1 + 3 * (1 + 2 + ... + 2**(n-1)) + 3 * 2**n + 3 * 2**n."""
    return 1 + 3 * (2 ** n_layers - 1) + 6 * 2 ** n_layers


def patchgan_param_count(cin: int, ndf: int, n_layers: int) -> int:
    """Trainable parameters of the batch-norm PatchGAN: first conv with bias and no norm,
    the others without bias and with batch norm (gamma, beta), a 1-channel 4x4 conv with bias."""
    filters = [ndf * min(2 ** i, 8) for i in range(n_layers + 1)]
    total = 4 * 4 * cin * filters[0] + filters[0]
    for prev, f in zip(filters, filters[1:]):
        total += 4 * 4 * prev * f + 2 * f
    return total + 4 * 4 * filters[-1] * 1 + 1


@pytest.fixture(scope="module")
def paper_discriminator():
    keras.utils.set_random_seed(0)
    return build_discriminator(Pix2PixConfig())


def test_paper_patchgan_gives_30x30_logits_at_256(paper_discriminator):
    d = paper_discriminator
    assert d.output_shape == (None, 30, 30, 1)
    rng = np.random.default_rng(0)
    x, y = (tf.constant(rng.uniform(-1, 1, (1, 256, 256, 3)), tf.float32) for _ in range(2))
    logits = d([x, y], training=True).numpy()
    assert logits.shape == (1, 30, 30, 1) and logits.dtype == np.float32
    assert logits.min() < 0 < logits.max()  # raw logits, not sigmoid probabilities
    # one logit per 70x70 patch, patches 8 pixels apart: (256 - 70) / 8 + 1 would be 24.25;
    # the 4x4 convs' zero padding adds 23 pixels each side: (256 + 46 - 70) / 8 + 1 = 30
    assert receptive_field(d) == 70


def test_paper_patchgan_layout_and_parameters(paper_discriminator):
    d = paper_discriminator
    layers = convs(d)
    assert [c.filters for c in layers] == [64, 128, 256, 512, 1]  # C64-C128-C256-C512, logit
    assert [c.strides for c in layers] == [(2, 2)] * 3 + [(1, 1)] * 2
    assert all(c.kernel_size == (4, 4) for c in layers)
    assert layers[0].kernel.shape[2] == 6  # x and y concatenated
    slopes = {r.negative_slope for r in walk(d) if isinstance(r, keras.layers.LeakyReLU)}
    assert slopes == {0.2}
    trainable = patchgan_param_count(6, 64, 3)
    assert trainable == 2_768_705  # docs/paper.md: "70x70 2,768,705"
    assert sum(int(np.prod(v.shape)) for v in d.trainable_variables) == trainable


@pytest.mark.parametrize("net_d,n_layers,expected", [
    ("pixel", 3, 1),  # 1x1 PixelGAN
    ("patch", 0, 1),  # another name for it
    ("patch", 1, 16),
    ("patch", 3, 70),
    ("patch", 5, 286),
])
def test_receptive_field_of_each_patch_size(net_d, n_layers, expected):
    size = 128  # n_layers 5 needs 128 / 2**5 >= 3
    d = build_discriminator(Pix2PixConfig(image_size=size, load_size=size, ndf=4,
                                          net_d=net_d, n_layers_d=n_layers))
    rf = receptive_field(d)
    assert rf == expected
    if expected > 1:
        assert rf == patch_size(n_layers)
        assert d.output_shape == (None, size // 2 ** n_layers - 2, size // 2 ** n_layers - 2, 1)
    else:
        assert d.output_shape == (None, size, size, 1)  # one logit per pixel


def test_conditional_and_unconditional_discriminators():
    keras.utils.set_random_seed(0)
    base = dict(image_size=64, load_size=72, ndf=8)
    rng = np.random.default_rng(1)
    x, x2, y = (tf.constant(rng.uniform(-1, 1, (1, 64, 64, 3)), tf.float32) for _ in range(3))

    conditional = build_discriminator(Pix2PixConfig(**base))  # the paper's loss "l1+cgan"
    assert len(conditional.inputs) == 2
    assert conditional.input_shape == [(None, 64, 64, 3), (None, 64, 64, 3)]
    assert convs(conditional)[0].kernel.shape[2] == 6
    # D(x, y) depends on the input image x: another x, another verdict
    a = conditional([x, y], training=False).numpy()
    b = conditional([x2, y], training=False).numpy()
    assert np.abs(a - b).max() > 1e-6

    for loss in ("gan", "l1+gan"):  # the unconditional ablations: D sees the output only
        d = build_discriminator(Pix2PixConfig(**base, loss=loss))
        assert len(d.inputs) == 1 and d.input_shape == (None, 64, 64, 3)
        assert convs(d)[0].kernel.shape[2] == 3
        assert d(y, training=False).shape == (1, 6, 6, 1)


def _changed(before: np.ndarray, after: np.ndarray) -> tuple[set, set]:
    rows, cols = np.nonzero(before != after)
    return set(rows.tolist()), set(cols.tolist())


@pytest.mark.parametrize("n_layers,size", [(3, 128), (1, 64)])
def test_a_logit_ignores_pixels_outside_its_patch(n_layers, size):
    """Changing one input pixel changes exactly the logits whose patch holds that pixel.

    Logit i's patch starts at ``stride * i - pad`` and spans ``rf`` pixels, with ``stride =
    2**n_layers``, ``rf = receptive_field(D)`` and the padding that makes the P patches overhang
    the image equally on both sides: ``pad = (stride * (P - 1) + rf - size) / 2``.
    """
    keras.utils.set_random_seed(0)
    # moving-average batch norm: a fixed per-channel affine map, so no image-wide statistics
    cfg = Pix2PixConfig(image_size=size, load_size=size, ndf=8, n_layers_d=n_layers,
                        inference_mode="moving_average")
    d = build_discriminator(cfg)
    rf, stride, p = receptive_field(d), 2 ** n_layers, d.output_shape[1]
    pad = (stride * (p - 1) + rf - size) // 2
    assert (stride * (p - 1) + rf - size) % 2 == 0

    def patches_holding(pixel: int) -> set:
        return {i for i in range(p) if stride * i - pad <= pixel <= stride * i - pad + rf - 1}

    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    y = tf.constant(rng.uniform(-1, 1, (1, size, size, 3)), tf.float32)
    base = d([tf.constant(x), y], training=False).numpy()[0, ..., 0]
    for r, c in ((size // 2 - 3, size // 2 + 6), (0, size - 1), (7, 40 % size)):
        x2 = x.copy()
        x2[0, r, c] += 1.5
        rows, cols = _changed(base, d([tf.constant(x2), y], training=False).numpy()[0, ..., 0])
        assert rows == patches_holding(r) and cols == patches_holding(c)
        assert len(rows) <= -(-rf // stride)  # at most ceil(rf / stride) patches hold a pixel

    # the pixels just outside one patch, on each side, leave its logit unchanged
    i = p // 2
    first, last = stride * i - pad, stride * i - pad + rf - 1
    for outside, inside in ((first - 1, first), (last + 1, last)):
        for row, expect_change in ((outside, False), (inside, True)):
            x2 = x.copy()
            x2[0, row, size // 2] += 1.5
            logit = d([tf.constant(x2), y], training=False).numpy()[0, i, p // 2, 0]
            assert (logit != base[i, p // 2]) == expect_change, (row, first, last)


def test_too_deep_patchgan_is_refused_naming_n_layers_d():
    with pytest.raises(ConfigError, match="'n_layers_d'"):
        build_discriminator(Pix2PixConfig(image_size=64, load_size=72, ndf=4, n_layers_d=5))


def test_too_deep_patchgan_error_sets_the_field_attribute():
    with pytest.raises(ConfigError) as info:
        build_discriminator(Pix2PixConfig(image_size=64, load_size=72, ndf=4, n_layers_d=5))
    assert info.value.field == "n_layers_d"
