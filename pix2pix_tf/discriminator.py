"""The PatchGAN discriminator (paper section 3.2.2, appendix 6.1.2).

D sees the input image and a real or generated output concatenated on channels (a
*conditional* GAN) and classifies every N x N patch as real or fake. The 70x70
PatchGAN is C64-C128-C256-C512 followed by a 1-channel convolution: at 256x256 it
outputs a 30x30 map of logits, each looking at a 70x70 window of the image.
``n_layers_d`` picks the patch size: 0 -> 1x1 (PixelGAN), 1 -> 16, 3 -> 70, 5 -> 286.
"""

from __future__ import annotations

import keras

from .blocks import conv_init, downsample, norm_layer, walk_layers
from .config import Pix2PixConfig


def build_discriminator(config: Pix2PixConfig, name: str = "patchgan_discriminator") -> keras.Model:
    """Build the conditional PatchGAN discriminator.

    Args:
        config: image_size, channels, ndf, n_layers_d, norm and init come from here.

    Returns:
        A model taking ``[input_image, target_image]`` and returning raw logits of shape
        (batch, P, P, 1) in float32; P = 30 for the 70x70 PatchGAN at 256x256.

    Example:
        >>> d = build_discriminator(Pix2PixConfig(image_size=64, load_size=64))
        >>> d.output_shape
        (None, 6, 6, 1)

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2.
    """
    size = config.image_size
    inp = keras.Input((size, size, config.input_channels), name="input_image")
    tar = keras.Input((size, size, config.output_channels), name="target_image")
    x = keras.layers.Concatenate(name="condition")([inp, tar])  # (batch, S, S, in+out)

    if config.n_layers_d == 0:  # PixelGAN: 1x1 convolutions only
        x = downsample(config.ndf, config, apply_norm=False, size=1, strides=1, use_bias=True,
                       name="pixel1")(x)
        x = downsample(config.ndf * 2, config, size=1, strides=1, name="pixel2")(x)
        logits = keras.layers.Conv2D(1, 1, kernel_initializer=conv_init(config), dtype="float32",
                                     name="logits")(x)
        return keras.Model([inp, tar], logits, name=name)

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
    logits = keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=conv_init(config),
                                 dtype="float32", name="logits")(x)  # (batch, S/8 - 2, .., 1)
    return keras.Model([inp, tar], logits, name=name)


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

