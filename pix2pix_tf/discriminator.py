"""The PatchGAN discriminator (paper section 3.2.2, appendix 6.1.2).

D sees the input image and a real or generated output concatenated on channels (a *conditional*
GAN) and classifies every N x N patch as real or fake. ``net_d="patch"`` with ``n_layers_d`` picks
the patch size (figure 6, table 3): 1 -> 16x16, 3 -> 70x70 (the paper), 5 -> 286x286 (the
"ImageGAN" at 256); ``net_d="pixel"`` (or ``n_layers_d=0``) is the 1x1 PixelGAN. With an
unconditional loss ("gan", "l1+gan", table 1) D sees the output image alone. The successors'
discriminators build on :func:`patchgan` (:mod:`pix2pix_tf.successors.networks`).
"""

from __future__ import annotations

import keras

from .blocks import conv_init, downsample, norm_layer
from .layers import walk_layers
from .config import Pix2PixConfig, filter_schedule
from .losses import objective_terms


def discriminator_is_conditional(config: Pix2PixConfig) -> bool:
    """Whether D takes ``[input_image, target_image]`` (True) or the output image alone ("gan", "l1+gan", "l1").

    Reference: Isola et al. 2017, section 3.1, equations 1-2 and table 1.
    """
    return objective_terms(config.loss)[2]


def build_discriminator(config: Pix2PixConfig, name: str | None = None,
                        shape: tuple[int, int] | None = None) -> keras.Model:
    """Build D ``config.net_d``: inputs as :func:`discriminator_inputs`, float32 logits (batch, P, P, 1).

    P = 30 for the 70x70 PatchGAN at 256x256, P = S for the PixelGAN. ``name``: None =
    :func:`discriminator_name`; ``shape``: (H, W) of non-square training images, as for the generator.

    Example:
        >>> d = build_discriminator(Pix2PixConfig(image_size=64, load_size=64))
        >>> d.output_shape
        (None, 6, 6, 1)
        >>> build_discriminator(Pix2PixConfig(image_size=64, load_size=64, loss="gan")).input_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2.
    """
    inputs, x = discriminator_inputs(config, shape)
    config.check_patchgan_depth(min(x.shape[1:3]))  # a ConfigError naming n_layers_d
    logits = (pixelgan if is_pixelgan(config) else patchgan)(x, config)
    return keras.Model(inputs, logits, name=name or discriminator_name(config))


def is_pixelgan(config: Pix2PixConfig) -> bool:
    """Whether D is the 1x1 PixelGAN (``net_d="pixel"``, or ``n_layers_d=0``)."""
    return config.net_d == "pixel" or config.n_layers_d == 0


def discriminator_name(config: Pix2PixConfig, prefix: str = "") -> str:
    """The default name of D: ``[unconditional_][prefix]{patchgan|pixelgan}_discriminator``."""
    return ("" if discriminator_is_conditional(config) else "unconditional_") + prefix \
        + ("pixelgan" if is_pixelgan(config) else "patchgan") + "_discriminator"


def discriminator_inputs(config: Pix2PixConfig, shape: tuple[int, int] | None = None):
    """``(inputs, x)``: D's inputs and what its first layer sees.

    Conditional (the paper): ``[input_image, target_image]`` and their channel concatenation
    (batch, H, W, in + out); unconditional: the output image alone, both times.
    """
    h, w = shape or (config.image_size, config.image_size)
    tar = keras.Input((h, w, config.output_channels), name="target_image")
    if not discriminator_is_conditional(config):
        return tar, tar
    inp = keras.Input((h, w, config.input_channels), name="input_image")
    return [inp, tar], keras.layers.Concatenate(name="condition")([inp, tar])


def _conv(config: Pix2PixConfig, wrap_conv, *args, **kwargs) -> keras.layers.Layer:
    """A Conv2D of D, passed through ``wrap_conv`` when given."""
    conv = keras.layers.Conv2D(*args, kernel_initializer=conv_init(config), **kwargs)
    return conv if wrap_conv is None else wrap_conv(conv)


def pixelgan(x, config: Pix2PixConfig, prefix: str = "", wrap_conv=None):
    """PixelGAN: C64 - C128 - logit, 1x1 convolutions, no norm on the first (arguments as :func:`patchgan`)."""
    x = downsample(config.ndf, config, apply_norm=False, size=1, strides=1, use_bias=True,
                   name=f"{prefix}pixel1", wrap_conv=wrap_conv)(x)  # (batch, S, S, ndf)
    x = downsample(config.ndf * 2, config, size=1, strides=1, name=f"{prefix}pixel2",
                   wrap_conv=wrap_conv)(x)  # (.., 2 * ndf)
    return _conv(config, wrap_conv, 1, 1, dtype="float32", name=f"{prefix}logits")(x)  # (batch, S, S, 1)


def patchgan(x, config: Pix2PixConfig, prefix: str = "", wrap_conv=None):
    """PatchGAN logits, float32 (batch, S / 2**n_layers_d - 2, .., 1), of ``x`` (batch, S, S, C).

    ``n_layers_d`` stride-2 Ck blocks (no norm on the first), one stride-1 Ck block and a stride-1
    1-channel convolution. With the paper's ``n_layers_d=3`` (C64-C128-C256-C512) each logit sees a
    70x70 patch (:func:`receptive_field`). The successors pass a layer-name ``prefix`` and ``wrap_conv``,
    applied to every convolution.

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2.
    """
    filters = filter_schedule(config.ndf, config.n_layers_d + 1)
    for i, f in enumerate(filters[:-1]):  # stride-2 blocks: C64-C128-C256
        x = downsample(f, config, apply_norm=i > 0, use_bias=True if i == 0 else None,
                       name=f"{prefix}down{i + 1}",
                       wrap_conv=wrap_conv)(x)  # (batch, S/2**(i+1), ..)

    # one stride-1 block (C512) and the stride-1 1-channel output, each 4x4 with padding 1
    x = keras.layers.ZeroPadding2D(1, name=f"{prefix}pad1")(x)
    x = _conv(config, wrap_conv, filters[-1], 4, strides=1, use_bias=config.norm != "batch",
              name=f"{prefix}conv_s1")(x)  # (batch, S/8 - 1, ..)
    norm = norm_layer(config, f"{prefix}norm_s1")
    if norm is not None:
        x = norm(x)
    x = keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name=f"{prefix}lrelu_s1")(x)
    x = keras.layers.ZeroPadding2D(1, name=f"{prefix}pad2")(x)
    return _conv(config, wrap_conv, 1, 4, strides=1, dtype="float32", name=f"{prefix}logits")(x)  # (batch, S/8 - 2, .., 1)


# ------------------------------------------------------------------ receptive fields
def window(layers) -> int:
    """Apply ``rf = rf + (k - 1) * jump``, ``jump *= stride`` over convolutions and poolings in order."""
    rf, jump = 1, 1
    for layer in layers:
        if isinstance(layer, keras.layers.Conv2D):
            k, s = layer.kernel_size[0], layer.strides[0]
        elif isinstance(layer, (keras.layers.AveragePooling2D, keras.layers.MaxPooling2D)):
            k, s = layer.pool_size[0], layer.strides[0]
        else:
            continue
        rf += (k - 1) * jump
        jump *= s
    return rf


def receptive_field(model: keras.Model) -> int:
    """Size in pixels of the input window one output logit sees (:func:`window`): 70 for the paper's D."""
    return window(walk_layers(model))
