"""The PatchGAN discriminator (paper section 3.2.2, appendix 6.1.2).

D sees the input image and a real or generated output concatenated on channels (a
*conditional* GAN) and classifies every N x N patch as real or fake. The 70x70
PatchGAN is C64-C128-C256-C512 followed by a 1-channel convolution: at 256x256 it
outputs a 30x30 map of logits, each looking at a 70x70 window of the image.

``net_d="patch"`` with ``n_layers_d`` picks the patch size (paper figure 6, table 3):
1 -> 16x16, 3 -> 70x70, 5 -> 286x286 (the "ImageGAN" at 256); 0 is kept as another name
for ``net_d="pixel"``, the 1x1 PixelGAN. With an unconditional loss ("gan", "l1+gan",
paper table 1) D sees the output image alone.
"""

from __future__ import annotations

import keras

from .blocks import conv_init, downsample, norm_layer
from .inference import walk_layers
from .config import ConfigError, Pix2PixConfig
from .losses import objective_terms


def discriminator_is_conditional(config: Pix2PixConfig) -> bool:
    """Whether D takes ``[input_image, target_image]`` (True) or the output image alone.

    False for the unconditional ablations "gan" and "l1+gan" (and for "l1", which has no
    D term). Example: ``discriminator_is_conditional(Pix2PixConfig(loss="gan"))`` is False.

    Reference: Isola et al. 2017, section 3.1, equations 1-2 and table 1.
    """
    return objective_terms(config.loss)[2]


def build_discriminator(config: Pix2PixConfig, name: str | None = None,
                        shape: tuple[int, int] | None = None) -> keras.Model:
    """Build the PatchGAN (or PixelGAN) discriminator ``config.net_d``.

    Args:
        config: image_size, channels, net_d, ndf, n_layers_d, loss, norm and init come from here.
        name: model name; None = "patchgan_discriminator" or "pixelgan_discriminator",
            prefixed "unconditional_" when D does not see the input image.
        shape: (height, width) of non-square training images (see :func:`build_generator`).

    Returns:
        A model taking ``[input_image, target_image]`` (conditional, the paper) or the
        output image alone (see :func:`discriminator_is_conditional`) and returning raw
        logits of shape (batch, P, P, 1) in float32; P = 30 for the 70x70 PatchGAN at
        256x256, P = S for the PixelGAN.

    Example:
        >>> d = build_discriminator(Pix2PixConfig(image_size=64, load_size=64))
        >>> d.output_shape
        (None, 6, 6, 1)
        >>> build_discriminator(Pix2PixConfig(image_size=64, load_size=64, loss="gan")).input_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2.
    """
    h, w = shape or (config.image_size, config.image_size)
    size = min(h, w)
    pixel = config.net_d == "pixel" or config.n_layers_d == 0
    if not pixel and size // 2 ** config.n_layers_d < 3:
        # n stride-2 convs, then two 4x4 stride-1 convs that each take 1 pixel off the map
        raise ConfigError(
            f"config field 'n_layers_d' = {config.n_layers_d}: too deep for image_size {size}; "
            "the PatchGAN needs image_size / 2**n_layers_d >= 3 to output a logit")
    conditional = discriminator_is_conditional(config)
    tar = keras.Input((h, w, config.output_channels), name="target_image")
    if conditional:
        inp = keras.Input((h, w, config.input_channels), name="input_image")
        inputs = [inp, tar]
        x = keras.layers.Concatenate(name="condition")(inputs)  # (batch, S, S, in+out)
    else:
        inputs = x = tar  # (batch, S, S, out)
    logits = pixelgan(x, config) if pixel else patchgan(x, config)
    if name is None:
        name = ("" if conditional else "unconditional_") + ("pixelgan" if pixel else "patchgan") \
            + "_discriminator"
    return keras.Model(inputs, logits, name=name)


def pixelgan(x, config: Pix2PixConfig):
    """PixelGAN: C64 - C128 - logit, all 1x1 convolutions (no norm on the first)."""
    x = downsample(config.ndf, config, apply_norm=False, size=1, strides=1, use_bias=True,
                   name="pixel1")(x)  # (batch, S, S, ndf)
    x = downsample(config.ndf * 2, config, size=1, strides=1, name="pixel2")(x)  # (.., 2 * ndf)
    return keras.layers.Conv2D(1, 1, kernel_initializer=conv_init(config), dtype="float32",
                               name="logits")(x)  # (batch, S, S, 1)


def patchgan(x, config: Pix2PixConfig):
    """The PatchGAN on the (input, output) pair ``x``: one logit per overlapping patch.

    ``n_layers_d`` stride-2 Ck blocks (no norm on the first), one stride-1 Ck block and a
    stride-1 1-channel convolution. With the paper's ``n_layers_d=3``: C64-C128-C256-C512, each
    logit sees a 70x70 patch of the pair (:func:`receptive_field`), and a 256x256 pair gives
    30x30 logits.

    Args:
        x: the conditioned pair, (batch, S, S, C_in + C_out) (or the image alone for an
            unconditional D).
        config: ``ndf``, ``n_layers_d``, ``norm``, ``leaky_slope``, ``init_stddev``.

    Returns:
        The patch logits, float32, (batch, S / 2**n_layers_d - 2, .., 1).

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2.
    """
    filters = [config.ndf * min(2 ** i, 8) for i in range(config.n_layers_d + 1)]
    for i, f in enumerate(filters[:-1]):  # stride-2 blocks: C64-C128-C256
        x = downsample(f, config, apply_norm=i > 0, use_bias=True if i == 0 else None,
                       name=f"down{i + 1}")(x)  # (batch, S/2**(i+1), ..)

    # one stride-1 block (C512) and the stride-1 1-channel output, each 4x4 with padding 1
    x = keras.layers.ZeroPadding2D(1, name="pad1")(x)
    x = keras.layers.Conv2D(filters[-1], 4, strides=1, kernel_initializer=conv_init(config),
                            use_bias=config.norm != "batch", name="conv_s1")(x)  # (batch, S/8 - 1, ..)
    norm = norm_layer(config, "norm_s1")
    if norm is not None:
        x = norm(x)
    x = keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name="lrelu_s1")(x)
    x = keras.layers.ZeroPadding2D(1, name="pad2")(x)
    return keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=conv_init(config),
                               dtype="float32", name="logits")(x)  # (batch, S/8 - 2, .., 1)


def receptive_field(model: keras.Model) -> int:
    """Size in pixels of the input window that one output logit sees.

    Walks the model's convolutions in order and applies ``rf = rf + (k - 1) * jump``,
    ``jump *= stride``. Returns 70 for the paper's discriminator.
    """
    rf, jump = 1, 1
    for layer in walk_layers(model):
        if not isinstance(layer, keras.layers.Conv2D):
            continue
        k, s = layer.kernel_size[0], layer.strides[0]
        rf += (k - 1) * jump
        jump *= s
    return rf

