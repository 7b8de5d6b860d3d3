"""The PatchGAN discriminator (paper section 3.2.2, appendix 6.1.2).

D sees the input image and a real or generated output concatenated on channels (a
*conditional* GAN) and classifies every N x N patch as real or fake. The 70x70
PatchGAN is C64-C128-C256-C512 followed by a 1-channel convolution: at 256x256 it
outputs a 30x30 map of logits, each looking at a 70x70 window of the image.

``net_d="patch"`` with ``n_layers_d`` picks the patch size (paper figure 6, table 3):
1 -> 16x16, 3 -> 70x70, 5 -> 286x286 (the "ImageGAN" at 256); 0 is kept as another name
for ``net_d="pixel"``, the 1x1 PixelGAN. With an unconditional loss ("gan", "l1+gan",
paper table 1) D sees the output image alone.

Two of pix2pixHD's levers (Wang et al. 2018; off by default) live here too:
``num_d > 1`` builds a multi-scale D (the same PatchGAN on the pair at full, 1/2 and 1/4
size, one list of logits), and :func:`discriminator_features` exposes D's intermediate
features for feature matching. ``spectral_norm`` wraps D's convolutions in spectral
normalization (Miyato et al. 2018).
"""

from __future__ import annotations

import re

import keras

from .blocks import conv_init, downsample, norm_layer, spectral_normalized
from .layers import walk_layers
from .config import ConfigError, Pix2PixConfig, filter_schedule
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
        256x256, P = S for the PixelGAN. With ``num_d > 1``: a list of logits, one per
        scale (full size first), named ``"multiscale_..."``.

    Example:
        >>> d = build_discriminator(Pix2PixConfig(image_size=64, load_size=64))
        >>> d.output_shape
        (None, 6, 6, 1)
        >>> build_discriminator(Pix2PixConfig(image_size=64, load_size=64, loss="gan")).input_shape
        (None, 64, 64, 3)
        >>> build_discriminator(Pix2PixConfig(image_size=64, load_size=64, num_d=2)).output_shape
        [(None, 6, 6, 1), (None, 2, 2, 1)]

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2; multi-scale: Wang et al.
    2018 (pix2pixHD), section 3.2.
    """
    h, w = shape or (config.image_size, config.image_size)
    size = min(h, w)
    for _ in range(config.num_d - 1):  # the smallest scale sets the limit
        size = -(-size // 2)
    pixel = config.net_d == "pixel" or config.n_layers_d == 0
    if not pixel and size // 2 ** config.n_layers_d < 3:
        # n stride-2 convs, then two 4x4 stride-1 convs that each take 1 pixel off the map
        at = "" if config.num_d == 1 else f" at D's smallest scale (num_d {config.num_d})"
        raise ConfigError(
            f"config field 'n_layers_d' = {config.n_layers_d}: too deep for image_size {size}{at}; "
            "the PatchGAN needs image_size / 2**n_layers_d >= 3 to output a logit", field="n_layers_d")
    conditional = discriminator_is_conditional(config)
    tar = keras.Input((h, w, config.output_channels), name="target_image")
    if conditional:
        inp = keras.Input((h, w, config.input_channels), name="input_image")
        inputs = [inp, tar]
        x = keras.layers.Concatenate(name="condition")(inputs)  # (batch, S, S, in+out)
    else:
        inputs = x = tar  # (batch, S, S, out)
    one_scale = pixelgan if pixel else patchgan
    if config.num_d == 1:
        logits = one_scale(x, config)  # the paper
    else:
        logits = []
        for i in range(config.num_d):  # pix2pixHD: the same D on ever smaller copies of the pair
            if i > 0:  # 3x3 average pooling, stride 2, padding not counted, as pix2pixHD (whose pad
                # is 1 pixel on each side; TF's "same" pads 1 at the bottom and right: same sizes)
                x = keras.layers.AveragePooling2D(3, strides=2, padding="same",
                                                  name=f"{scale_prefix(i)}downsample")(x)  # (batch, S/2**i, ..)
            logits.append(one_scale(x, config, prefix=scale_prefix(i)))  # (batch, P_i, P_i, 1)
    if name is None:
        name = ("" if conditional else "unconditional_") + ("multiscale_" if config.num_d > 1 else "") \
            + ("pixelgan" if pixel else "patchgan") + "_discriminator"
    return keras.Model(inputs, logits, name=name)


def scale_prefix(scale: int) -> str:
    """Layer-name prefix of a multi-scale D's scale: "" for full size (the paper's names), "scale1_" ..."""
    return f"scale{scale}_" if scale else ""


def _conv(config: Pix2PixConfig, *args, **kwargs) -> keras.layers.Layer:
    """A Conv2D of D, spectrally normalised when ``config.spectral_norm``."""
    conv = keras.layers.Conv2D(*args, kernel_initializer=conv_init(config), **kwargs)
    return spectral_normalized(conv) if config.spectral_norm else conv


def pixelgan(x, config: Pix2PixConfig, prefix: str = ""):
    """PixelGAN: C64 - C128 - logit, all 1x1 convolutions (no norm on the first).

    ``prefix``: prepended to the layer names (a multi-scale D's :func:`scale_prefix`).
    """
    sn = config.spectral_norm
    x = downsample(config.ndf, config, apply_norm=False, size=1, strides=1, use_bias=True,
                   name=f"{prefix}pixel1", spectral_norm=sn)(x)  # (batch, S, S, ndf)
    x = downsample(config.ndf * 2, config, size=1, strides=1, name=f"{prefix}pixel2",
                   spectral_norm=sn)(x)  # (.., 2 * ndf)
    return _conv(config, 1, 1, dtype="float32", name=f"{prefix}logits")(x)  # (batch, S, S, 1)


def patchgan(x, config: Pix2PixConfig, prefix: str = ""):
    """The PatchGAN on the (input, output) pair ``x``: one logit per overlapping patch.

    ``n_layers_d`` stride-2 Ck blocks (no norm on the first), one stride-1 Ck block and a
    stride-1 1-channel convolution. With the paper's ``n_layers_d=3``: C64-C128-C256-C512, each
    logit sees a 70x70 patch of the pair (:func:`receptive_field`), and a 256x256 pair gives
    30x30 logits.

    Args:
        x: the conditioned pair, (batch, S, S, C_in + C_out) (or the image alone for an
            unconditional D).
        config: ``ndf``, ``n_layers_d``, ``norm``, ``leaky_slope``, ``init_stddev``,
            ``spectral_norm``.
        prefix: prepended to the layer names (a multi-scale D's :func:`scale_prefix`).

    Returns:
        The patch logits, float32, (batch, S / 2**n_layers_d - 2, .., 1).

    Reference: Isola et al. 2017, section 3.2.2 and appendix 6.1.2.
    """
    filters = filter_schedule(config.ndf, config.n_layers_d + 1)
    for i, f in enumerate(filters[:-1]):  # stride-2 blocks: C64-C128-C256
        x = downsample(f, config, apply_norm=i > 0, use_bias=True if i == 0 else None,
                       name=f"{prefix}down{i + 1}",
                       spectral_norm=config.spectral_norm)(x)  # (batch, S/2**(i+1), ..)

    # one stride-1 block (C512) and the stride-1 1-channel output, each 4x4 with padding 1
    x = keras.layers.ZeroPadding2D(1, name=f"{prefix}pad1")(x)
    x = _conv(config, filters[-1], 4, strides=1, use_bias=config.norm != "batch",
              name=f"{prefix}conv_s1")(x)  # (batch, S/8 - 1, ..)
    norm = norm_layer(config, f"{prefix}norm_s1")
    if norm is not None:
        x = norm(x)
    x = keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name=f"{prefix}lrelu_s1")(x)
    x = keras.layers.ZeroPadding2D(1, name=f"{prefix}pad2")(x)
    return _conv(config, 1, 4, strides=1, dtype="float32", name=f"{prefix}logits")(x)  # (batch, S/8 - 2, .., 1)


# ------------------------------------------------------------------ D's intermediate features
def feature_layer_names(config: Pix2PixConfig) -> list[list[str]]:
    """Per scale of D, the names of its LeakyReLU blocks, whose outputs feature matching compares.

    Example:
        >>> feature_layer_names(Pix2PixConfig(image_size=64, load_size=64, num_d=2, n_layers_d=2))
        [['down1', 'down2', 'lrelu_s1'], ['scale1_down1', 'scale1_down2', 'scale1_lrelu_s1']]
    """
    pixel = config.net_d == "pixel" or config.n_layers_d == 0
    names = (["pixel1", "pixel2"] if pixel
             else [f"down{i + 1}" for i in range(config.n_layers_d)] + ["lrelu_s1"])
    return [[scale_prefix(s) + n for n in names] for s in range(config.num_d)]


def discriminator_features(discriminator: keras.Model, config: Pix2PixConfig) -> keras.Model:
    """A model sharing D's layers and weights that returns D's logits and its features.

    Calling it runs D once: ``{"logits": ..., "features": [[block outputs of scale 0], ...]}``,
    ``logits`` as D returns them (one tensor, or a list for a multi-scale D). Used by the
    model's step when ``lambda_fm > 0`` (pix2pixHD feature matching,
    :func:`pix2pix_tf.losses.feature_matching_loss`).

    Args:
        discriminator: from :func:`build_discriminator` with ``config``.
        config: its config (the block names come from it: :func:`feature_layer_names`).

    Example:
        >>> cfg = Pix2PixConfig(image_size=32, load_size=32, ndf=4, n_layers_d=2)
        >>> out = discriminator_features(build_discriminator(cfg), cfg)([keras.ops.zeros((1, 32, 32, 3))] * 2)
        >>> [tuple(f.shape) for f in out["features"][0]]
        [(1, 16, 16, 4), (1, 8, 8, 8), (1, 7, 7, 16)]
    """
    features = [[discriminator.get_layer(name).output for name in scale]  # each block's output in D's graph
                for scale in feature_layer_names(config)]
    logits = discriminator.outputs[0] if len(discriminator.outputs) == 1 else list(discriminator.outputs)
    return keras.Model(discriminator.input, {"logits": logits, "features": features},
                       name=f"{discriminator.name}_features")


# ------------------------------------------------------------------ receptive fields
def _window(layers) -> int:
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
    """Size in pixels of the input window that one output logit sees.

    Walks the model's convolutions in order and applies ``rf = rf + (k - 1) * jump``,
    ``jump *= stride``. Returns 70 for the paper's discriminator; for a multi-scale D, the
    full-size scale's (:func:`receptive_fields` gives every scale's).
    """
    if len(model.outputs) > 1:
        return receptive_fields(model)[0]
    return _window(walk_layers(model))


def _scale_of(name: str) -> int:
    """The scale a multi-scale D's layer belongs to, from its :func:`scale_prefix` (also after
    a wrapper's own prefix: ``sn_scale1_logits``)."""
    m = re.match(r"(?:\w*?_)?scale(\d+)_", name)
    return int(m.group(1)) if m else 0


def receptive_fields(model: keras.Model) -> list[int]:
    """Per scale of a (multi-scale) D, the window of the full-size image one logit sees, in pixels.

    Scale i sees the pair after i 3x3 stride-2 average poolings: each doubles the step
    between the pixels D's convolutions look at and widens the window by the pooling's own
    reach, so the 70x70 PatchGAN sees 70, 3 + 69 * 2 = 141 and 7 + 69 * 4 = 283 pixels.

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=64, ndf=4, num_d=3, n_layers_d=2)
        >>> receptive_fields(build_discriminator(cfg))  # the 34x34 PatchGAN at 3 scales
        [34, 69, 139]

    Reference: Wang et al. 2018 (pix2pixHD), section 3.2: "the discriminator operating at the
    coarsest scale has the largest receptive field".
    """
    n = len(model.outputs)
    if n == 1:
        return [_window(walk_layers(model))]
    fields = []
    for i in range(n):
        pools = [model.get_layer(f"{scale_prefix(j)}downsample") for j in range(1, i + 1)]  # before scale i
        own = [layer for layer in model.layers if _scale_of(layer.name) == i and layer not in pools]
        fields.append(_window(sub for layer in pools + own for sub in walk_layers(layer)))
    return fields

