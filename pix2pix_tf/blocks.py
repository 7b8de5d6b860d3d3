"""Building blocks shared by the generator and the discriminator (paper appendix 6.1).

``Ck`` = Convolution-BatchNorm-ReLU with k filters, ``CDk`` = Convolution-BatchNorm-Dropout-ReLU
with 50% dropout; all convolutions 4x4, stride 2. Norm and dropout are pix2pix's own layers
(:mod:`pix2pix_tf.layers`: they can stay stochastic at test time). The CPU speed paths
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


def downsample(filters: int, config: Pix2PixConfig, apply_norm: bool = True,
               size: int = 4, strides: int = 2, use_bias: bool | None = None,
               name: str | None = None, wrap_conv=None) -> keras.Sequential:
    """Ck: Conv(4x4, stride 2) - Norm - LeakyReLU(0.2). Halves the spatial size.

    No bias under batch norm (beta replaces it), even where the norm is left out, as in the authors'
    code; ``use_bias`` overrides. ``wrap_conv`` wraps the convolution (the successors: spectral norm).

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
    layers = [conv if wrap_conv is None else wrap_conv(conv)]
    if norm is not None:
        layers.append(norm)
    layers.append(keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name="lrelu"))
    return keras.Sequential(layers, name=name)


def transposed_conv(filters: int, config: Pix2PixConfig, use_bias: bool = True, size: int = 4,
                    name: str = "deconv", dtype=None) -> list[keras.layers.Layer]:
    """[ConvTranspose(4x4, stride 2, "same")]: the paper's ``upconv``, which doubles the size.

    The successors' resize-convolution is another ``upconv`` (:mod:`pix2pix_tf.successors`).
    """
    extra = {} if dtype is None else {"dtype": dtype}
    return [keras.layers.Conv2DTranspose(filters, size, strides=2, padding="same", use_bias=use_bias,
                                         kernel_initializer=conv_init(config), name=name, **extra)]


def upsample(filters: int, config: Pix2PixConfig, apply_dropout: bool = False,
             size: int = 4, name: str | None = None, upconv=transposed_conv) -> keras.Sequential:
    """Ck / CDk: ``upconv`` (:func:`transposed_conv`) - Norm - [Dropout 0.5] - ReLU. Doubles the size.

    Example:
        >>> block = upsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_dropout=True)
        >>> block(keras.ops.zeros((1, 8, 8, 128))).shape
        TensorShape([1, 16, 16, 64])
    """
    norm = norm_layer(config, "norm")
    use_bias = norm is None or config.norm != "batch"
    layers = upconv(filters, config, use_bias=use_bias, size=size)
    if norm is not None:
        layers.append(norm)
    if apply_dropout and config.dropout_rate > 0:
        layers.append(NoiseDropout(config.dropout_rate,
                                   at_inference=MODE_TABLE[config.inference_mode][1],
                                   name="dropout"))
    layers.append(keras.layers.ReLU(name="relu"))
    return keras.Sequential(layers, name=name)
