"""The successors' networks, built from the paper's (:mod:`pix2pix_tf.generator`,
:mod:`pix2pix_tf.discriminator`) with other parts:

* ``upsample="resize"``: every transposed convolution of G becomes a nearest-neighbour 2x
  resize and a 3x3 convolution (:func:`resize_conv`; Odena et al. 2016);
* ``spectral_norm``: every convolution of D is spectrally normalised (Miyato et al. 2018);
* ``num_d > 1``: pix2pixHD's multi-scale D, the same PatchGAN on the pair at full, 1/2 and
  1/4 size, one list of logits (Wang et al. 2018);
* :func:`discriminator_features`: D's intermediate features, for feature matching.

With every lever off these build exactly the paper's networks (same layers and names).
"""

from __future__ import annotations

import re

import keras

from ..blocks import conv_init, transposed_conv
from ..discriminator import (discriminator_inputs, discriminator_name, is_pixelgan,
                             patchgan, pixelgan, window)
from ..generator import build_generator
from ..layers import walk_layers
from .config import SuccessorConfig
from .resnet import build_resnet_generator


def resize_conv(filters: int, config: SuccessorConfig, use_bias: bool = True, size: int = 3,
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
        >>> cfg = SuccessorConfig(image_size=64, load_size=64, upsample="resize")
        >>> keras.Sequential(resize_conv(8, cfg))(keras.ops.zeros((1, 4, 4, 16))).shape
        TensorShape([1, 8, 8, 8])

    Reference: Odena, Dumoulin, Olah 2016, "Deconvolution and Checkerboard Artifacts", Distill.
    """
    extra = {} if dtype is None else {"dtype": dtype}
    resize_name = "resize" if name == "resize_conv" else f"{name}_resize"
    return [keras.layers.UpSampling2D(2, interpolation="nearest", name=resize_name, **extra),
            keras.layers.Conv2D(filters, size, padding="same", kernel_initializer=conv_init(config),
                                use_bias=use_bias, name=name, **extra)]


def resize_upconv(filters: int, config: SuccessorConfig, use_bias: bool = True, size: int = 4,
                  name: str = "deconv", dtype=None) -> list[keras.layers.Layer]:
    """The generators' ``upconv`` for ``upsample="resize"``: :func:`resize_conv` (3x3) in place
    of the transposed convolution ``name`` ("deconv" -> "resize_conv", "output_deconv" ->
    "output_conv": the names runs have always had)."""
    name = name.replace("output_deconv", "output_conv").replace("deconv", "resize_conv")
    return resize_conv(filters, config, use_bias=use_bias, name=name, dtype=dtype)


def build_successor_generator(config: SuccessorConfig, name: str | None = None,
                              shape: tuple[int, int] | None = None, skip_connections: bool = True) -> keras.Model:
    """The generator ``config.net_g`` (the paper's, or CycleGAN's ResNet: :mod:`.resnet`), with
    resize-convolutions when ``upsample="resize"``.

    Example:
        >>> g = build_successor_generator(SuccessorConfig(image_size=32, load_size=32, ngf=4, upsample="resize"))
        >>> g.get_layer("up1").get_layer("resize_conv").kernel_size
        (3, 3)
    """
    upconv = resize_upconv if getattr(config, "upsample", "transpose") == "resize" else transposed_conv
    if config.net_g.startswith("resnet"):  # CycleGAN's (successors.resnet)
        if not skip_connections:
            raise ValueError(f"skip_connections=False applies to U-Nets, not net_g {config.net_g!r}")
        n_blocks = {"resnet_6blocks": 6, "resnet_9blocks": 9}[config.net_g]
        return build_resnet_generator(config, n_blocks, name or f"{config.net_g}_generator", shape=shape,
                                      upconv=upconv)
    return build_generator(config, skip_connections, name=name, shape=shape, upconv=upconv)


def spectral_normalized(conv: keras.layers.Layer) -> keras.layers.Layer:
    """``conv`` wrapped in Keras' SpectralNormalization: its kernel divided by its largest
    singular value at every training call (one power iteration), so the layer is 1-Lipschitz.

    The wrapper computes in float32 whatever the precision policy (the kernel is normalised
    in float32, never rounded to 16 bits); the convolution keeps its own policy. It works with
    the matmul speed path (:class:`~pix2pix_tf.fast.matmul.MatmulConv2D` reads the same kernel).

    Reference: Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks".
    """
    return keras.layers.SpectralNormalization(conv, dtype="float32", name=f"sn_{conv.name}")


def scale_prefix(scale: int) -> str:
    """Layer-name prefix of a multi-scale D's scale: "" for full size (the paper's names), "scale1_" ..."""
    return f"scale{scale}_" if scale else ""


def build_successor_discriminator(config: SuccessorConfig, name: str | None = None,
                                  shape: tuple[int, int] | None = None) -> keras.Model:
    """The paper's D (:func:`pix2pix_tf.discriminator.build_discriminator`), spectrally
    normalised when ``spectral_norm``, and at ``num_d`` scales.

    Returns:
        D as the paper's for ``num_d=1``; else a model returning a list of logits, one per
        scale (full size first), named ``"multiscale_..."``.

    Example:
        >>> build_successor_discriminator(SuccessorConfig(image_size=64, load_size=64, num_d=2)).output_shape
        [(None, 6, 6, 1), (None, 2, 2, 1)]

    Reference: Wang et al. 2018 (pix2pixHD), section 3.2; Miyato et al. 2018.
    """
    num_d = getattr(config, "num_d", 1)
    wrap_conv = spectral_normalized if getattr(config, "spectral_norm", False) else None
    inputs, x = discriminator_inputs(config, shape)
    size = min(x.shape[1:3])
    for _ in range(num_d - 1):  # the smallest scale sets the limit
        size = -(-size // 2)
    config.check_patchgan_depth(size, "" if num_d == 1 else f" at D's smallest scale ({size} pixels, num_d {num_d})")
    one_scale = pixelgan if is_pixelgan(config) else patchgan
    logits = []
    for i in range(num_d):  # pix2pixHD: the same D on ever smaller copies of the pair
        if i > 0:  # 3x3 average pooling, stride 2, padding not counted, as pix2pixHD (whose pad
            # is 1 pixel on each side; TF's "same" pads 1 at the bottom and right: same sizes)
            x = keras.layers.AveragePooling2D(3, strides=2, padding="same",
                                              name=f"{scale_prefix(i)}downsample")(x)  # (batch, S/2**i, ..)
        logits.append(one_scale(x, config, prefix=scale_prefix(i), wrap_conv=wrap_conv))  # (batch, P_i, P_i, 1)
    name = name or discriminator_name(config, "multiscale_" if num_d > 1 else "")
    return keras.Model(inputs, logits[0] if num_d == 1 else logits, name=name)


# ------------------------------------------------------------------ D's intermediate features
def feature_layer_names(config: SuccessorConfig) -> list[list[str]]:
    """Per scale of D, the names of its LeakyReLU blocks, whose outputs feature matching compares.

    Example:
        >>> feature_layer_names(SuccessorConfig(image_size=64, load_size=64, num_d=2, n_layers_d=2))
        [['down1', 'down2', 'lrelu_s1'], ['scale1_down1', 'scale1_down2', 'scale1_lrelu_s1']]
    """
    names = (["pixel1", "pixel2"] if is_pixelgan(config)
             else [f"down{i + 1}" for i in range(config.n_layers_d)] + ["lrelu_s1"])
    return [[scale_prefix(s) + n for n in names] for s in range(config.num_d)]


def discriminator_features(discriminator: keras.Model, config: SuccessorConfig) -> keras.Model:
    """A model sharing D's layers and weights that returns D's logits and its features.

    Calling it runs D once: ``{"logits": ..., "features": [[block outputs of scale 0], ...]}``,
    ``logits`` as D returns them (one tensor, or a list for a multi-scale D). Used by the
    successors' step when ``lambda_fm > 0`` (pix2pixHD feature matching,
    :func:`pix2pix_tf.successors.losses.feature_matching_loss`).

    Example:
        >>> cfg = SuccessorConfig(image_size=32, load_size=32, ndf=4, n_layers_d=2)
        >>> d = build_successor_discriminator(cfg)
        >>> out = discriminator_features(d, cfg)([keras.ops.zeros((1, 32, 32, 3))] * 2)
        >>> [tuple(f.shape) for f in out["features"][0]]
        [(1, 16, 16, 4), (1, 8, 8, 8), (1, 7, 7, 16)]
    """
    features = [[discriminator.get_layer(name).output for name in scale]  # each block's output in D's graph
                for scale in feature_layer_names(config)]
    logits = discriminator.outputs[0] if len(discriminator.outputs) == 1 else list(discriminator.outputs)
    return keras.Model(discriminator.input, {"logits": logits, "features": features},
                       name=f"{discriminator.name}_features")


# ------------------------------------------------------------------ receptive fields
def _scale_of(name: str) -> int:
    """The scale a multi-scale D's layer belongs to, from its :func:`scale_prefix` (also after
    a wrapper's own prefix: ``sn_scale1_logits``)."""
    m = re.match(r"(?:\w*?_)?scale(\d+)_", name)
    return int(m.group(1)) if m else 0


def receptive_field(model: keras.Model) -> int:
    """The window one logit of D's full-size scale sees, in pixels (70 for the paper's D)."""
    return receptive_fields(model)[0]


def receptive_fields(model: keras.Model) -> list[int]:
    """Per scale of a (multi-scale) D, the window of the full-size image one logit sees, in pixels.

    Scale i sees the pair after i 3x3 stride-2 average poolings: each doubles the step
    between the pixels D's convolutions look at and widens the window by the pooling's own
    reach, so the 70x70 PatchGAN sees 70, 3 + 69 * 2 = 141 and 7 + 69 * 4 = 283 pixels.

    Example:
        >>> cfg = SuccessorConfig(image_size=64, load_size=64, ndf=4, num_d=3, n_layers_d=2)
        >>> receptive_fields(build_successor_discriminator(cfg))  # the 34x34 PatchGAN at 3 scales
        [34, 69, 139]

    Reference: Wang et al. 2018 (pix2pixHD), section 3.2: "the discriminator operating at the
    coarsest scale has the largest receptive field".
    """
    n = len(model.outputs)
    if n == 1:
        return [window(walk_layers(model))]
    fields = []
    for i in range(n):
        pools = [model.get_layer(f"{scale_prefix(j)}downsample") for j in range(1, i + 1)]  # before scale i
        own = [layer for layer in model.layers if _scale_of(layer.name) == i and layer not in pools]
        fields.append(window(sub for layer in pools + own for sub in walk_layers(layer)))
    return fields
