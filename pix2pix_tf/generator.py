"""The generators: U-Net (paper section 3.2.1, appendix 6.1.1) and its encoder-decoder ablation.

The U-Net joins encoder layer i to decoder layer n-i by a skip connection, so low-level structure
shared by input and output (edges, layout) can bypass the bottleneck. At 256x256::

    encoder: C64-C128-C256-C512-C512-C512-C512-C512        (256 -> 1x1)
    decoder: CD512-CD512-CD512-C512-C256-C128-C64 -> tanh  (1x1 -> 256)

``config.net_g``: ``unet`` (depth follows the image size, :attr:`Pix2PixConfig.generator_depth`:
8 at 256, 7 at 128, 6 at 64), ``unet_256`` / ``unet_128`` (fixed depth 8 / 7, as the reference
code's ``--netG``) or ``encoder_decoder`` (no skip connections, paper figure 3). Sizes double by
4x4 stride-2 transposed convolutions (:func:`pix2pix_tf.blocks.transposed_conv`); the successors
pass a resize-convolution and add CycleGAN's ResNet generator (:mod:`pix2pix_tf.successors`).
"""

from __future__ import annotations

import keras

from .blocks import downsample, transposed_conv, upsample
from .config import Pix2PixConfig, filter_schedule


def encoder_filters(config: Pix2PixConfig) -> list[int]:
    """Filters of each U-Net encoder block: ngf * (1, 2, 4, 8, 8, ...)."""
    return filter_schedule(config.ngf, config.generator_depth)


def build_generator(config: Pix2PixConfig, skip_connections: bool = True,
                    name: str | None = None, shape: tuple[int, int] | None = None,
                    upconv=transposed_conv) -> keras.Model:
    """Build ``config.net_g``: (batch, H, W, input_channels) -> (batch, H, W, output_channels), in [-1, 1].

    Args:
        skip_connections: False = ``net_g="encoder_decoder"``; kept for code older than ``net_g``.
        name: None = ``"{net_g}_generator"``.
        shape: (H, W) of non-square training images (``preprocess`` scale_width / none:
            :func:`pix2pix_tf.data.train_image_shape`), multiples of the generator's stride;
            None = image_size square. The weights do not depend on it.
        upconv: makes the layers that double the size (:func:`~pix2pix_tf.blocks.transposed_conv`).

    Example:
        >>> g = build_generator(Pix2PixConfig(image_size=64, load_size=64, net_g="encoder_decoder"))
        >>> g.output_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.1 and appendix 6.1.1.
    """
    config.validate()  # a ConfigError naming the field when image_size does not fit net_g
    net_g = config.net_g
    if not skip_connections:
        net_g = "encoder_decoder"
    return build_unet_generator(config, skip_connections=net_g != "encoder_decoder",
                                name=name or f"{net_g}_generator", shape=shape, upconv=upconv)


def image_input(config: Pix2PixConfig, shape: tuple[int, int] | None, channels: int,
                 name: str) -> keras.KerasTensor:
    """keras.Input of (H, W, channels): ``shape`` or image_size square."""
    h, w = shape or (config.image_size, config.image_size)
    return keras.Input((h, w, channels), name=name)


def build_unet_generator(config: Pix2PixConfig, skip_connections: bool = True,
                         name: str = "unet_generator", shape: tuple[int, int] | None = None,
                         upconv=transposed_conv) -> keras.Model:
    """The U-Net of depth ``config.generator_depth``, or without skips the encoder-decoder (figure 3).

    Example:
        >>> build_unet_generator(Pix2PixConfig(image_size=64, load_size=64, ngf=8)).output_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.1 and appendix 6.1.1.
    """
    depth = config.generator_depth
    filters = encoder_filters(config)
    inputs = image_input(config, shape, config.input_channels, "input_image")

    x, skips = inputs, []
    for i, f in enumerate(filters):
        # no norm on the first layer (paper) nor on the innermost one: at 1x1 and batch 1,
        # batch norm would subtract the only value there is and zero the signal
        x = downsample(f, config, apply_norm=0 < i < depth - 1, name=f"down{i + 1}")(x)
        skips.append(x)  # down{i+1}: (batch, size / 2**(i+1), ..., f)

    for j, (f, skip) in enumerate(zip(reversed(filters[:-1]), reversed(skips[:-1]))):
        x = upsample(f, config, apply_dropout=j < config.num_dropout_blocks, name=f"up{j + 1}",
                     upconv=upconv)(x)
        if skip_connections:
            x = keras.layers.Concatenate(name=f"skip{j + 1}")([x, skip])  # channels: 2 * f

    for layer in upconv(config.output_channels, config, name="output_deconv", dtype="float32"):
        x = layer(x)  # (batch, size, size, out_ch)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
