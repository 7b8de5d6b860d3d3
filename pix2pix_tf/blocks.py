"""Building blocks shared by the generator and the discriminator.

The paper (appendix 6.1) writes its networks with two block types:
``Ck`` = Convolution-BatchNorm-ReLU with k filters, and ``CDk`` = Convolution-BatchNorm-
Dropout-ReLU with a dropout rate of 50%. All convolutions are 4x4 with stride 2.

The normalisation and dropout layers are pix2pix's own (:mod:`pix2pix_tf.layers`:
they can stay stochastic at test time); the convolutions are Keras'. The CPU speed paths
(:mod:`pix2pix_tf.fast`) are applied to the built networks by the run, not chosen here.
"""

from __future__ import annotations

import keras

from .config import Pix2PixConfig
from .layers import MODE_TABLE, BatchNorm, NoiseDropout


def conv_init(config: Pix2PixConfig) -> keras.initializers.Initializer:
    """Weights drawn from N(0, 0.02) (appendix 6.2)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=config.init_stddev)


def norm_layer(config: Pix2PixConfig, name: str) -> keras.layers.Layer | None:
    """The configured normalisation layer, or None for ``norm="none"``."""
    if config.norm == "batch":
        stats, _ = MODE_TABLE[config.inference_mode]
        # gamma ~ N(1, 0.02) as in the reference code; momentum 0.9 = PyTorch's 0.1
        return BatchNorm(inference_stats=stats, momentum=0.9, epsilon=1e-5, name=name,
                         synchronized=config.sync_batch_norm,
                         gamma_initializer=keras.initializers.RandomNormal(1.0, config.init_stddev))
    if config.norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return None


def spectral_normalized(conv: keras.layers.Layer) -> keras.layers.Layer:
    """``conv`` wrapped in Keras' SpectralNormalization: its kernel divided by its largest
    singular value at every training call (one power iteration), so the layer is 1-Lipschitz.

    The wrapper computes in float32 whatever the precision policy (the kernel is normalised
    in float32, never rounded to 16 bits); the convolution keeps its own policy. It works with
    the matmul speed path (:class:`~pix2pix_tf.fast.matmul.MatmulConv2D` reads the same kernel).

    Reference: Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks".
    """
    return keras.layers.SpectralNormalization(conv, dtype="float32", name=f"sn_{conv.name}")


def downsample(filters: int, config: Pix2PixConfig, apply_norm: bool = True,
               size: int = 4, strides: int = 2, use_bias: bool | None = None,
               name: str | None = None, spectral_norm: bool = False) -> keras.Sequential:
    """Ck: Conv(4x4, stride 2) - Norm - LeakyReLU(0.2). Halves the spatial size.

    The convolution has no bias under batch norm (the norm's beta replaces it), even in the
    blocks where the norm is left out, as in the authors' code; pass ``use_bias`` to override.
    ``spectral_norm``: wrap the convolution in :func:`spectral_normalized` (D's
    ``config.spectral_norm``).

    Example:
        >>> block = downsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_norm=False)
        >>> block(keras.ops.zeros((1, 64, 64, 3))).shape
        TensorShape([1, 32, 32, 64])
    """
    norm = norm_layer(config, "norm") if apply_norm else None
    if use_bias is None:
        use_bias = config.norm != "batch"
    conv = keras.layers.Conv2D(filters, size, strides=strides, padding="same",
                               kernel_initializer=conv_init(config), use_bias=use_bias, name="conv")
    layers = [spectral_normalized(conv) if spectral_norm else conv]
    if norm is not None:
        layers.append(norm)
    layers.append(keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name="lrelu"))
    return keras.Sequential(layers, name=name)


def upsample(filters: int, config: Pix2PixConfig, apply_dropout: bool = False,
             size: int = 4, name: str | None = None) -> keras.Sequential:
    """Ck / CDk: ConvTranspose(4x4, stride 2) - Norm - [Dropout 0.5] - ReLU. Doubles the size.

    With ``config.upsample="resize"`` the transposed convolution becomes a resize-convolution
    (:func:`resize_conv`), and the rest of the block stays the same.

    Example:
        >>> block = upsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_dropout=True)
        >>> block(keras.ops.zeros((1, 8, 8, 128))).shape
        TensorShape([1, 16, 16, 64])
    """
    norm = norm_layer(config, "norm")
    use_bias = norm is None or config.norm != "batch"
    if config.upsample == "resize":
        layers = resize_conv(filters, config, use_bias=use_bias)
    else:
        layers = [keras.layers.Conv2DTranspose(filters, size, strides=2, padding="same",
                                               kernel_initializer=conv_init(config), use_bias=use_bias,
                                               name="deconv")]
    if norm is not None:
        layers.append(norm)
    if apply_dropout and config.dropout_rate > 0:
        layers.append(NoiseDropout(config.dropout_rate,
                                   at_inference=MODE_TABLE[config.inference_mode][1],
                                   name="dropout"))
    layers.append(keras.layers.ReLU(name="relu"))
    return keras.Sequential(layers, name=name)


def resize_conv(filters: int, config: Pix2PixConfig, use_bias: bool = True, size: int = 3,
                name: str = "resize_conv", dtype=None) -> list[keras.layers.Layer]:
    """[nearest-neighbour 2x resize, Conv(3x3, stride 1)]: doubles the size, no checkerboard.

    A 4x4 stride-2 transposed convolution computes each output pixel from one of four
    sub-kernels, depending on the pixel's row and column parity; unless training makes the
    four agree, the output carries a pattern of period 2 (a "checkerboard"). Resizing first
    and then convolving gives every output pixel the same kernel. Nearest-neighbour rather
    than bilinear: Odena et al. report it worked best, and it keeps the block a plain copy
    followed by a convolution. The convolution's kernel is 3x3 (C_in, C_out), not the
    transposed 4x4 (C_out, C_in), so it has a name of its own.

    Args:
        filters: output channels.
        config: ``init_stddev`` for the weights.
        use_bias: the convolution's bias (off under batch norm).
        size: the convolution's kernel size.
        name: the convolution's name (the resize layer is ``"resize"`` or ``name + "_resize"``).
        dtype: layer dtype (the generator's float32 output layer passes ``"float32"``).

    Returns:
        The two layers, to put in a block.

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=64, upsample="resize")
        >>> keras.Sequential(resize_conv(8, cfg))(keras.ops.zeros((1, 4, 4, 16))).shape
        TensorShape([1, 8, 8, 8])

    Reference: Odena, Dumoulin, Olah 2016, "Deconvolution and Checkerboard Artifacts", Distill.
    """
    extra = {} if dtype is None else {"dtype": dtype}
    resize_name = "resize" if name == "resize_conv" else f"{name}_resize"
    return [keras.layers.UpSampling2D(2, interpolation="nearest", name=resize_name, **extra),
            keras.layers.Conv2D(filters, size, padding="same", kernel_initializer=conv_init(config),
                                use_bias=use_bias, name=name, **extra)]
