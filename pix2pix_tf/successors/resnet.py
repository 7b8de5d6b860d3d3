"""CycleGAN's ResNet generator (Zhu et al. 2017, after Johnson et al. 2016), which the
pix2pix authors' code offers as ``--netG resnet_9blocks``; not the paper's network.

``net_g="resnet_6blocks"`` / ``"resnet_9blocks"``: two stride-2 downsamplings, N residual
blocks at 1/4 resolution, two upsamplings. It is built from the paper's blocks and norm
layers (:mod:`pix2pix_tf.blocks`), and takes the same ``upconv`` as the paper's generators.
"""

from __future__ import annotations

import keras

from ..blocks import conv_init, norm_layer, transposed_conv
from ..generator import image_input
from ..layers import MODE_TABLE, NoiseDropout
from .config import SuccessorConfig


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


def _conv_norm(filters: int, size: int, config: SuccessorConfig, strides: int = 1,
               transpose: bool = False, suffix: str = "", upconv=transposed_conv) -> list[keras.layers.Layer]:
    """[Conv or ConvTranspose, Norm]: no conv bias under batch norm (its beta replaces it).

    Stride-1 convolutions follow a :class:`ReflectionPadding2D` and pad nothing themselves;
    stride-2 ones halve (or, transposed, double) the size with "same" padding; the
    transposed ones come from ``upconv``.
    """
    norm = norm_layer(config, f"norm{suffix}")
    use_bias = norm is None or config.norm != "batch"
    if transpose:
        convs = upconv(filters, config, use_bias=use_bias, size=size, name=f"deconv{suffix}")
    else:
        convs = [keras.layers.Conv2D(filters, size, strides=strides, padding="same" if strides > 1 else "valid",
                                     kernel_initializer=conv_init(config), use_bias=use_bias,
                                     name=f"conv{suffix}")]
    return convs if norm is None else [*convs, norm]


def residual_block(filters: int, config: SuccessorConfig, name: str | None = None) -> keras.Sequential:
    """The residual branch F of a ResNet block; the block outputs x + F(x).

    F = ReflectPad1 - Conv3x3 - Norm - ReLU - [Dropout] - ReflectPad1 - Conv3x3 - Norm, with
    dropout (``config.dropout_rate``) kept on as in the reference's pix2pix setting.

    Example:
        >>> branch = residual_block(16, SuccessorConfig(image_size=64, load_size=64))
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


def build_resnet_generator(config: SuccessorConfig, n_blocks: int = 9,
                           name: str = "resnet_9blocks_generator",
                           shape: tuple[int, int] | None = None, upconv=transposed_conv) -> keras.Model:
    """The ResNet generator: c7s1-64, d128, d256, N x R256, u128, u64, c7s1-out -> tanh.

    Args:
        config: image_size (divisible by 4), channels, ngf, norm, dropout and init.
        n_blocks: residual blocks at 1/4 resolution (6 for 128x128, 9 for 256x256).
        name: model name.

    Returns:
        A model (batch, S, S, input_channels) -> (batch, S, S, output_channels), float32 tanh.

    Example:
        >>> cfg = SuccessorConfig(image_size=64, load_size=64, ngf=8, net_g="resnet_6blocks")
        >>> build_resnet_generator(cfg, n_blocks=6).output_shape
        (None, 64, 64, 3)

    Reference: Johnson et al. 2016, section 3 and supplementary material; the authors'
    pix2pix code (``--netG resnet_9blocks``).
    """
    ngf = config.ngf
    inputs = image_input(config, shape, config.input_channels, "input_image")

    x = keras.Sequential([ReflectionPadding2D(3, name="pad"), *_conv_norm(ngf, 7, config),
                          keras.layers.ReLU(name="relu")], name="stem")(inputs)  # (batch, S, S, ngf)
    for i, f in enumerate((ngf * 2, ngf * 4)):
        x = keras.Sequential([*_conv_norm(f, 3, config, strides=2), keras.layers.ReLU(name="relu")],
                             name=f"down{i + 1}")(x)  # (batch, S / 2**(i+1), .., f)
    for i in range(n_blocks):  # (batch, S/4, S/4, 4 * ngf) throughout
        branch = residual_block(ngf * 4, config, name=f"resblock{i + 1}")(x)
        x = keras.layers.Add(name=f"resblock{i + 1}_add")([x, branch])
    for i, f in enumerate((ngf * 2, ngf)):
        x = keras.Sequential([*_conv_norm(f, 3, config, strides=2, transpose=True, upconv=upconv),
                              keras.layers.ReLU(name="relu")],
                             name=f"up{i + 1}")(x)  # (batch, S / 2**(1-i), .., f)

    x = ReflectionPadding2D(3, name="output_pad")(x)  # (batch, S + 6, S + 6, ngf)
    x = keras.layers.Conv2D(config.output_channels, 7, kernel_initializer=conv_init(config),
                            dtype="float32", name="output_conv")(x)  # (batch, S, S, out_ch)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
