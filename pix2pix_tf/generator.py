"""The U-Net generator (paper section 3.2.1, appendix 6.1.1).

An encoder-decoder whose layer i is joined to layer n-i by a skip connection, so the
low-level structure shared by input and output (edges, layout) can bypass the bottleneck.
For 256x256 images the paper's layout is::

    encoder: C64-C128-C256-C512-C512-C512-C512-C512        (256 -> 1x1)
    decoder: CD512-CD512-CD512-C512-C256-C128-C64 -> tanh  (1x1 -> 256)

Smaller images get a shallower U-Net: the depth follows the image size
(:attr:`Pix2PixConfig.generator_depth`), 8 at 256, 7 at 128, 6 at 64.
"""

from __future__ import annotations

import keras

from .blocks import conv_init, downsample, upsample
from .config import Pix2PixConfig


def encoder_filters(config: Pix2PixConfig) -> list[int]:
    """Filters of each encoder block: ngf * (1, 2, 4, 8, 8, ...)."""
    return [config.ngf * min(2 ** i, 8) for i in range(config.generator_depth)]


def build_generator(config: Pix2PixConfig, skip_connections: bool = True,
                    name: str = "unet_generator") -> keras.Model:
    """Build the U-Net generator as a functional ``keras.Model``.

    Args:
        config: image_size, channels, ngf, norm, dropout and init come from here.
        skip_connections: False builds the plain encoder-decoder of the paper's ablation
            (figure 3), with the same layers minus the concatenations.
        name: model name.

    Returns:
        A model mapping (batch, S, S, input_channels) in [-1, 1] to
        (batch, S, S, output_channels) in [-1, 1] (float32 tanh output).

    Example:
        >>> g = build_generator(Pix2PixConfig(image_size=64, load_size=64))
        >>> g.output_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.1 and appendix 6.1.1.
    """
    size, depth = config.image_size, config.generator_depth
    filters = encoder_filters(config)
    inputs = keras.Input((size, size, config.input_channels), name="input_image")

    x, skips = inputs, []
    for i, f in enumerate(filters):
        # no norm on the first layer (paper) nor on the innermost one: at 1x1 and batch 1,
        # batch norm would subtract the only value there is and zero the signal
        x = downsample(f, config, apply_norm=0 < i < depth - 1, name=f"down{i + 1}")(x)
        skips.append(x)  # down{i+1}: (batch, size / 2**(i+1), ..., f)

    for j, (f, skip) in enumerate(zip(reversed(filters[:-1]), reversed(skips[:-1]))):
        x = upsample(f, config, apply_dropout=j < config.num_dropout_blocks, name=f"up{j + 1}")(x)
        if skip_connections:
            x = keras.layers.Concatenate(name=f"skip{j + 1}")([x, skip])  # channels: 2 * f

    x = keras.layers.Conv2DTranspose(config.output_channels, 4, strides=2, padding="same",
                                     kernel_initializer=conv_init(config), dtype="float32",
                                     name="output_deconv")(x)  # (batch, size, size, out_ch)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
