"""The generators: U-Net (paper section 3.2.1, appendix 6.1.1), its encoder-decoder
ablation, and the ResNet generator of the authors' code (Johnson et al. 2016).

The U-Net is an encoder-decoder whose layer i is joined to layer n-i by a skip
connection, so the low-level structure shared by input and output (edges, layout) can
bypass the bottleneck. For 256x256 images the paper's layout is::

    encoder: C64-C128-C256-C512-C512-C512-C512-C512        (256 -> 1x1)
    decoder: CD512-CD512-CD512-C512-C256-C128-C64 -> tanh  (1x1 -> 256)

``config.net_g`` picks the generator (:func:`build_generator` dispatches on it):

* ``unet``: the depth follows the image size (:attr:`Pix2PixConfig.generator_depth`),
  8 at 256, 7 at 128, 6 at 64.
* ``unet_256`` / ``unet_128``: fixed depth 8 / 7, as the reference code's ``--netG``.
* ``encoder_decoder``: the same layers minus the skip connections (paper figure 3).
* ``resnet_6blocks`` / ``resnet_9blocks``: two stride-2 downsamplings, N residual blocks
  at 1/4 resolution, two upsamplings.

``config.upsample`` picks how every generator doubles the size: 4x4 stride-2 transposed
convolutions (the paper) or, with "resize", a nearest-neighbour resize and a 3x3
convolution (:func:`pix2pix_tf.blocks.resize_conv`: no checkerboard artefacts).
"""

from __future__ import annotations

import keras

from .layers import NoiseDropout, MODE_TABLE
from .blocks import conv_init, downsample, norm_layer, resize_conv, upsample
from .config import Pix2PixConfig, filter_schedule


def encoder_filters(config: Pix2PixConfig) -> list[int]:
    """Filters of each U-Net encoder block: ngf * (1, 2, 4, 8, 8, ...)."""
    return filter_schedule(config.ngf, config.generator_depth)


def build_generator(config: Pix2PixConfig, skip_connections: bool = True,
                    name: str | None = None, shape: tuple[int, int] | None = None) -> keras.Model:
    """Build the generator ``config.net_g`` as a functional ``keras.Model``.

    Args:
        config: net_g, image_size, channels, ngf, norm, dropout and init come from here.
        skip_connections: False turns a U-Net into the plain encoder-decoder (the same as
            ``net_g="encoder_decoder"``); kept for code written before ``net_g`` existed.
        name: model name; None = ``"{net_g}_generator"`` (``"unet_generator"`` for ``unet``).
        shape: (height, width) of the training images when they are not image_size square
            (``preprocess`` scale_width / none: :func:`pix2pix_tf.data.train_image_shape`);
            both must be multiples of the generator's stride. The weights do not depend on it.

    Returns:
        A model mapping (batch, S, S, input_channels) in [-1, 1] to
        (batch, S, S, output_channels) in [-1, 1] (float32 tanh output).

    Example:
        >>> g = build_generator(Pix2PixConfig(image_size=64, load_size=64, net_g="resnet_6blocks"))
        >>> g.output_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.1 and appendix 6.1.1.
    """
    config.validate()  # a ConfigError naming the field when image_size does not fit net_g
    net_g = config.net_g
    if net_g.startswith("resnet"):
        if not skip_connections:
            raise ValueError(f"skip_connections=False applies to U-Nets, not net_g {net_g!r}")
        n_blocks = {"resnet_6blocks": 6, "resnet_9blocks": 9}[net_g]
        return build_resnet_generator(config, n_blocks, name or f"{net_g}_generator", shape=shape)
    if not skip_connections:
        net_g = "encoder_decoder"
    return build_unet_generator(config, skip_connections=net_g != "encoder_decoder",
                                name=name or f"{net_g}_generator", shape=shape)


def _image_input(config: Pix2PixConfig, shape: tuple[int, int] | None, channels: int,
                 name: str) -> keras.KerasTensor:
    """keras.Input of (H, W, channels): ``shape`` or image_size square."""
    h, w = shape or (config.image_size, config.image_size)
    return keras.Input((h, w, channels), name=name)


def build_unet_generator(config: Pix2PixConfig, skip_connections: bool = True,
                         name: str = "unet_generator", shape: tuple[int, int] | None = None) -> keras.Model:
    """The U-Net of depth ``config.generator_depth`` (or, without skips, the encoder-decoder).

    Args:
        config: image_size, channels, ngf, norm, dropout and init come from here.
        skip_connections: False builds the plain encoder-decoder of the paper's ablation
            (figure 3), with the same layers minus the concatenations.
        name: model name.

    Returns:
        A model (batch, S, S, input_channels) -> (batch, S, S, output_channels), float32 tanh.

    Example:
        >>> build_unet_generator(Pix2PixConfig(image_size=64, load_size=64, ngf=8)).output_shape
        (None, 64, 64, 3)

    Reference: Isola et al. 2017, section 3.2.1 and appendix 6.1.1.
    """
    depth = config.generator_depth
    filters = encoder_filters(config)
    inputs = _image_input(config, shape, config.input_channels, "input_image")

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

    if config.upsample == "resize":  # nearest 2x + 3x3 conv: no checkerboard (blocks.resize_conv)
        for layer in resize_conv(config.output_channels, config, name="output_conv", dtype="float32"):
            x = layer(x)  # (batch, size, size, out_ch)
    else:
        x = keras.layers.Conv2DTranspose(config.output_channels, 4, strides=2, padding="same",
                                         kernel_initializer=conv_init(config), dtype="float32",
                                         name="output_deconv")(x)  # (batch, size, size, out_ch)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)


# ------------------------------------------------------------------------ ResNet generator
@keras.saving.register_keras_serializable(package="pix2pix_tf")
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by mirroring the border (no edge repeated), as PyTorch's
    ``ReflectionPad2d``; the ResNet generator pads this way to avoid border artefacts.

    Args:
        padding: pixels added on each side; must be smaller than the height and width.

    Example:
        >>> ReflectionPadding2D(3)(keras.ops.zeros((1, 8, 8, 2))).shape
        TensorShape([1, 14, 14, 2])
    """

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return keras.ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        p2 = 2 * self.padding
        return b, None if h is None else h + p2, None if w is None else w + p2, c

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _conv_norm(filters: int, size: int, config: Pix2PixConfig, strides: int = 1,
               transpose: bool = False, suffix: str = "") -> list[keras.layers.Layer]:
    """[Conv or ConvTranspose, Norm]: no conv bias under batch norm (its beta replaces it).

    Stride-1 convolutions follow a :class:`ReflectionPadding2D` and pad nothing themselves;
    stride-2 ones halve (or, transposed, double) the size with "same" padding. With
    ``config.upsample="resize"`` a transposed one becomes :func:`~pix2pix_tf.blocks.resize_conv`.
    """
    norm = norm_layer(config, f"norm{suffix}")
    use_bias = norm is None or config.norm != "batch"
    if transpose and config.upsample == "resize":  # nearest 2x + 3x3 conv (blocks.resize_conv)
        convs = resize_conv(filters, config, use_bias=use_bias, name=f"resize_conv{suffix}")
    else:
        conv_cls = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        convs = [conv_cls(filters, size, strides=strides, padding="same" if strides > 1 else "valid",
                          kernel_initializer=conv_init(config), use_bias=use_bias,
                          name=f"{'deconv' if transpose else 'conv'}{suffix}")]
    return convs if norm is None else [*convs, norm]


def residual_block(filters: int, config: Pix2PixConfig, name: str | None = None) -> keras.Sequential:
    """The residual branch F of a ResNet block; the block outputs x + F(x).

    F = ReflectPad1 - Conv3x3 - Norm - ReLU - [Dropout] - ReflectPad1 - Conv3x3 - Norm, with
    dropout (``config.dropout_rate``) kept on as in the reference's pix2pix setting.

    Example:
        >>> branch = residual_block(16, Pix2PixConfig(image_size=64, load_size=64))
        >>> branch(keras.ops.zeros((1, 8, 8, 16))).shape
        TensorShape([1, 8, 8, 16])

    Reference: Johnson et al. 2016, "Perceptual Losses for Real-Time Style Transfer", sec. 3.
    """
    layers = [ReflectionPadding2D(1, name="pad1"), *_conv_norm(filters, 3, config, suffix="1"),
              keras.layers.ReLU(name="relu")]
    if config.dropout_rate > 0:
        layers.append(NoiseDropout(config.dropout_rate, at_inference=MODE_TABLE[config.inference_mode][1],
                                   name="dropout"))
    layers += [ReflectionPadding2D(1, name="pad2"), *_conv_norm(filters, 3, config, suffix="2")]
    return keras.Sequential(layers, name=name)


def build_resnet_generator(config: Pix2PixConfig, n_blocks: int = 9,
                           name: str = "resnet_9blocks_generator",
                           shape: tuple[int, int] | None = None) -> keras.Model:
    """The ResNet generator: c7s1-64, d128, d256, N x R256, u128, u64, c7s1-out -> tanh.

    Args:
        config: image_size (divisible by 4), channels, ngf, norm, dropout and init.
        n_blocks: residual blocks at 1/4 resolution (6 for 128x128, 9 for 256x256).
        name: model name.

    Returns:
        A model (batch, S, S, input_channels) -> (batch, S, S, output_channels), float32 tanh.

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=64, ngf=8, net_g="resnet_6blocks")
        >>> build_resnet_generator(cfg, n_blocks=6).output_shape
        (None, 64, 64, 3)

    Reference: Johnson et al. 2016, section 3 and supplementary material; the authors'
    pix2pix code (``--netG resnet_9blocks``).
    """
    ngf = config.ngf
    inputs = _image_input(config, shape, config.input_channels, "input_image")

    x = keras.Sequential([ReflectionPadding2D(3, name="pad"), *_conv_norm(ngf, 7, config),
                          keras.layers.ReLU(name="relu")], name="stem")(inputs)  # (batch, S, S, ngf)
    for i, f in enumerate((ngf * 2, ngf * 4)):
        x = keras.Sequential([*_conv_norm(f, 3, config, strides=2), keras.layers.ReLU(name="relu")],
                             name=f"down{i + 1}")(x)  # (batch, S / 2**(i+1), .., f)
    for i in range(n_blocks):  # (batch, S/4, S/4, 4 * ngf) throughout
        branch = residual_block(ngf * 4, config, name=f"resblock{i + 1}")(x)
        x = keras.layers.Add(name=f"resblock{i + 1}_add")([x, branch])
    for i, f in enumerate((ngf * 2, ngf)):
        x = keras.Sequential([*_conv_norm(f, 3, config, strides=2, transpose=True),
                              keras.layers.ReLU(name="relu")],
                             name=f"up{i + 1}")(x)  # (batch, S / 2**(1-i), .., f)

    x = ReflectionPadding2D(3, name="output_pad")(x)  # (batch, S + 6, S + 6, ngf)
    x = keras.layers.Conv2D(config.output_channels, 7, kernel_initializer=conv_init(config),
                            dtype="float32", name="output_conv")(x)  # (batch, S, S, out_ch)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
