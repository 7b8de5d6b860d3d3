"""Building blocks shared by the generator and the discriminator.

The paper (appendix 6.1) writes its networks with two block types:
``Ck`` = Convolution-BatchNorm-ReLU with k filters, and ``CDk`` = Convolution-BatchNorm-
Dropout-ReLU with a dropout rate of 50%. All convolutions are 4x4 with stride 2.

Two layers here differ from their Keras parents only at *inference* time, which is
where pix2pix differs from most networks (section 3.3: "at inference time, we run the
generator net in exactly the same manner as during the training phase"):

* :class:`BatchNorm` can normalise with the statistics of the test batch (the paper),
  with per-image statistics (deterministic and batch-independent), or with the usual
  moving averages.
* :class:`NoiseDropout` can keep dropping units at inference ("dropout as noise").

:func:`set_inference_mode` switches every such layer of a model at once.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import INFERENCE_MODES, Pix2PixConfig

# inference_mode -> (statistics BatchNorm uses, whether dropout stays on)
_MODE_TABLE = {
    "paper": ("batch", True),
    "deterministic": ("instance", False),
    "moving_average": ("moving", False),
}


# BatchNormalization options the fused kernel does not implement; read with getattr because
# older Keras versions lack some of them (keras 3.10-3.13 have no ``renorm``).
_UNFUSABLE_OPTIONS = ("synchronized", "renorm")


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """Batch normalisation whose inference-time statistics are selectable.

    Args:
        inference_stats: "batch" (statistics of the current batch, no update of the moving
            averages), "instance" (statistics of each image alone; equals training-time BN
            at batch size 1) or "moving" (Keras' usual moving averages).
        fused: train with TensorFlow's fused kernel (same results, faster on CPU; not used
            with ``synchronized=True``).

    Training behaviour (``training=True``) is Keras' BatchNormalization.
    """

    def __init__(self, inference_stats: str = "instance", fused: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.inference_stats = inference_stats
        self.fused = fused

    def call(self, inputs, training=None, mask=None):
        if training and self._fusable(inputs, mask):
            return self._fused_training_call(inputs)
        if training or self.inference_stats == "moving":
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)  # statistics in float32 under mixed precision
        axes = [0, 1, 2] if self.inference_stats == "batch" else [1, 2]
        mean, variance = tf.nn.moments(x, axes=axes, keepdims=True)
        y = tf.nn.batch_normalization(x, mean, variance, tf.cast(self.beta, tf.float32),
                                      tf.cast(self.gamma, tf.float32), self.epsilon)
        return tf.cast(y, self.compute_dtype)

    def _fusable(self, inputs, mask) -> bool:
        # Options the fused kernel lacks send the call to Keras' own implementation; an
        # option this Keras version does not have counts as off.
        unknown = any(getattr(self, name, False) for name in _UNFUSABLE_OPTIONS)
        return (self.fused and mask is None and self.trainable and not unknown
                and getattr(self, "scale", False) and getattr(self, "center", False)
                and len(inputs.shape) == 4 and getattr(self, "axis", None) in (-1, 3)
                and inputs.dtype in (tf.float32, tf.float16, tf.bfloat16))

    def _fused_training_call(self, inputs):
        """Training-mode batch norm in one fused kernel (and one for its gradient).

        The same maths as Keras' BatchNormalization (normalise with the batch's mean and
        biased variance, update the moving averages with them) in TensorFlow's
        FusedBatchNormV3, 2-3x faster on CPU than Keras' chain of separate ops.
        """
        y, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=tf.cast(self.gamma, tf.float32), offset=tf.cast(self.beta, tf.float32),
            mean=tf.zeros([0]), variance=tf.zeros([0]), epsilon=self.epsilon, is_training=True)
        n = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), tf.float32)
        variance = variance * (n - 1.0) / tf.maximum(n, 1.0)  # the kernel returns the unbiased one
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        return tf.cast(y, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "inference_stats": self.inference_stats, "fused": self.fused}


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class NoiseDropout(keras.layers.Dropout):
    """Dropout that can stay active at inference time, as the paper's source of noise.

    Args:
        rate: fraction of units dropped.
        at_inference: keep dropping when ``training`` is False (paper mode).
    """

    def __init__(self, rate, at_inference: bool = False, **kwargs):
        super().__init__(rate, **kwargs)
        self.at_inference = at_inference

    def call(self, inputs, training=False):
        return super().call(inputs, training=bool(training) or self.at_inference)

    def get_config(self):
        return {**super().get_config(), "at_inference": self.at_inference}


def walk_layers(layer):
    """Yield ``layer`` and every layer nested in it (Sequential blocks included), depth first."""
    yield layer
    for sub in getattr(layer, "layers", []):
        yield from walk_layers(sub)


def dropout_seed_states(model: keras.Model) -> list:
    """The random-seed state variables of the model's dropout layers.

    Keras keeps them outside TensorFlow's object graph; checkpoints and SavedModels that must
    reproduce (or keep drawing) the dropout noise track them explicitly.
    """
    return [layer.seed_generator.state for layer in walk_layers(model) if isinstance(layer, NoiseDropout)]


def set_inference_mode(model: keras.Model, mode: str) -> keras.Model:
    """Switch every :class:`BatchNorm` and :class:`NoiseDropout` in ``model`` to ``mode``.

    Modes: "paper" (test-batch statistics, dropout on: stochastic), "deterministic"
    (per-image statistics, no dropout) and "moving_average" (Keras' default inference).
    Functions traced before the switch keep the old behaviour: trace (or export) after it.

    Returns:
        The same model, for chaining.
    """
    if mode not in _MODE_TABLE:
        raise ValueError(f"unknown inference mode {mode!r}; choose one of {', '.join(INFERENCE_MODES)}")
    stats, noise = _MODE_TABLE[mode]
    for layer in walk_layers(model):
        if isinstance(layer, BatchNorm):
            layer.inference_stats = stats
        elif isinstance(layer, NoiseDropout):
            layer.at_inference = noise
    for attr in ("predict_function", "test_function"):  # Keras caches traced functions
        if hasattr(model, attr):
            setattr(model, attr, None)
    return model


# Largest input map (height = width) on which the 4x4 stride-2 convolutions run as matmuls.
# Measured on the 2-core CI CPU (benchmarks/train_throughput.py): TensorFlow's oneDNN kernels
# are memory-bound on these small maps with big kernels (up to 32 MB at 1024 -> 512 channels):
# forward + both gradients are 2-4x faster as matmuls up to 32x32 inputs for convolutions
# and up to 8x8 inputs for transposed convolutions (whose overlap-add grows with the map).
MATMUL_MAX_CONV = 32
MATMUL_MAX_DECONV = 8


def cpu_speed_paths() -> bool:
    """Whether the CPU-measured speed paths apply: True when TensorFlow sees no GPU.

    The fused BatchNorm and Adam kernels and the matmul convolutions were measured (and
    tested for equality with Keras) on CPUs only; on a GPU the networks and the optimizer
    are Keras' standard ones.
    """
    return not tf.config.list_physical_devices("GPU")


def _use_matmul(config: Pix2PixConfig) -> bool:
    if config.conv_impl == "auto":
        return cpu_speed_paths()
    return config.conv_impl == "matmul"


class _SmallMapMatmul:
    """Mixin of the two layers below: ``max_matmul_size``, and ``call`` that takes the
    subclass's ``_matmul_call`` on small maps and the parent's kernel elsewhere."""

    default_max_size = 0

    def __init__(self, *args, max_matmul_size: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_matmul_size = self.default_max_size if max_matmul_size is None else max_matmul_size

    def get_config(self):
        return {**super().get_config(), "max_matmul_size": self.max_matmul_size}

    def _matmul_applies(self, inputs) -> bool:
        h, w = inputs.shape[1], inputs.shape[2]
        return (0 < self.max_matmul_size and h is not None and h == w and h <= self.max_matmul_size
                and (h % 2 == 0 or h == 1) and self.kernel_size == (4, 4) and self.strides == (2, 2)
                and self.padding == "same" and self.data_format == "channels_last"
                and self.dilation_rate == (1, 1) and getattr(self, "groups", 1) == 1)

    def call(self, inputs):
        if not self._matmul_applies(inputs):
            return super().call(inputs)
        y = self._matmul_call(inputs)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class MatmulConv2D(_SmallMapMatmul, keras.layers.Conv2D):
    """A Conv2D that runs a 4x4 stride-2 "same" convolution on a small map as one matmul.

    The 16 strided slices of the padded input (batch, S, S, C) are stacked into a
    (batch*S/2*S/2, 16*C) matrix and multiplied by the kernel reshaped to (16*C, filters): the same sums as
    the convolution, in an order TensorFlow runs faster on CPU when S is small and C large.
    The kernel has Conv2D's shape and name, so checkpoints do not depend on the choice.

    Args:
        max_matmul_size: use the matmul when the input map is at most this size (0: never).
    """

    default_max_size = MATMUL_MAX_CONV

    def _matmul_call(self, inputs):
        s, cin = inputs.shape[1], inputs.shape[3]
        out = max(s // 2, 1)
        # "same" padding of a 4x4 stride-2 window: 1 before, 1 after (2 after for a 1x1 map)
        padded = tf.pad(inputs, [[0, 0], [1, 1 + (s == 1)], [1, 1 + (s == 1)], [0, 0]])
        patches = tf.concat([padded[:, ky:ky + 2 * out:2, kx:kx + 2 * out:2, :]
                             for ky in range(4) for kx in range(4)],
                            axis=-1)  # (batch, S/2, S/2, 16*C) in the kernel's (ky, kx, c) order
        y = tf.matmul(tf.reshape(patches, (-1, 16 * cin)),
                      tf.reshape(self.kernel, (16 * cin, self.filters)))  # kernel (4, 4, C, F)
        return tf.reshape(y, (-1, out, out, self.filters))  # (batch, S/2, S/2, F)


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class MatmulConv2DTranspose(_SmallMapMatmul, keras.layers.Conv2DTranspose):
    """A Conv2DTranspose (4x4, stride 2, "same") that runs on a small map as one matmul.

    Every input pixel times the kernel gives a 4x4 block of the output; the blocks are
    computed together as (batch*S*S, C) x (C, 16*F) and overlap-added (each output pixel
    gets 2x2 of them). Same weights (shape (4, 4, F, C)) and results as the parent layer.

    Args:
        max_matmul_size: use the matmul when the input map is at most this size (0: never).
    """

    default_max_size = MATMUL_MAX_DECONV

    def _matmul_call(self, inputs):
        s, cin, f = inputs.shape[1], inputs.shape[3], self.filters
        blocks = tf.matmul(tf.reshape(inputs, (-1, cin)),
                           tf.reshape(self.kernel, (16 * f, cin)), transpose_b=True)
        blocks = tf.reshape(blocks, (-1, s, s, 16 * f))  # input pixel (i, j) -> its (ky, kx, F) block

        def block(ky, kx):  # (batch, S, S, F); 4-D slices only, so TFLite converts it
            return blocks[..., (4 * ky + kx) * f:(4 * ky + kx + 1) * f]

        # full output row 2*i + ky with ky = 2*a + q: phase q of row i + a; same for columns
        phase_rows = []
        for qy in (0, 1):
            phase_cols = []
            for qx in (0, 1):
                acc = 0
                for ay in (0, 1):
                    for ax in (0, 1):
                        acc += tf.pad(block(2 * ay + qy, 2 * ax + qx),
                                      [[0, 0], [ay, 1 - ay], [ax, 1 - ax], [0, 0]])
                phase_cols.append(acc)  # (batch, S+1, S+1, F)
            # interleave the column phases: (batch, S+1, S+1, 2, F) -> (batch, S+1, 2S+2, F)
            phase_rows.append(tf.reshape(tf.stack(phase_cols, axis=3), (-1, s + 1, 2 * s + 2, f)))
        # then the row phases: (batch, S+1, 2, 2S+2, F) -> (batch, 2S+2, 2S+2, F); at most 5-D
        full = tf.reshape(tf.stack(phase_rows, axis=2), (-1, 2 * s + 2, 2 * s + 2, f))
        return full[:, 1:2 * s + 1, 1:2 * s + 1, :]  # "same": crop 1 on each side -> (batch, 2S, 2S, F)


def conv_init(config: Pix2PixConfig) -> keras.initializers.Initializer:
    """Weights drawn from N(0, 0.02) (appendix 6.2)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=config.init_stddev)


def norm_layer(config: Pix2PixConfig, name: str) -> keras.layers.Layer | None:
    """The configured normalisation layer, or None for ``norm="none"``."""
    if config.norm == "batch":
        stats, _ = _MODE_TABLE[config.inference_mode]
        # gamma ~ N(1, 0.02) as in the reference code; momentum 0.9 = PyTorch's 0.1
        return BatchNorm(inference_stats=stats, momentum=0.9, epsilon=1e-5, name=name,
                         synchronized=config.sync_batch_norm, fused=cpu_speed_paths(),
                         gamma_initializer=keras.initializers.RandomNormal(1.0, config.init_stddev))
    if config.norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return None


def downsample(filters: int, config: Pix2PixConfig, apply_norm: bool = True,
               size: int = 4, strides: int = 2, use_bias: bool | None = None,
               name: str | None = None) -> keras.Sequential:
    """Ck: Conv(4x4, stride 2) - Norm - LeakyReLU(0.2). Halves the spatial size.

    The convolution has no bias under batch norm (the norm's beta replaces it), even in the
    blocks where the norm is left out, as in the authors' code; pass ``use_bias`` to override.

    Example:
        >>> block = downsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_norm=False)
        >>> block(keras.ops.zeros((1, 64, 64, 3))).shape
        TensorShape([1, 32, 32, 64])
    """
    norm = norm_layer(config, "norm") if apply_norm else None
    if use_bias is None:
        use_bias = config.norm != "batch"
    layers = [MatmulConv2D(filters, size, strides=strides, padding="same",
                           kernel_initializer=conv_init(config), use_bias=use_bias, name="conv",
                           max_matmul_size=MATMUL_MAX_CONV if _use_matmul(config) else 0)]
    if norm is not None:
        layers.append(norm)
    layers.append(keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name="lrelu"))
    return keras.Sequential(layers, name=name)


def upsample(filters: int, config: Pix2PixConfig, apply_dropout: bool = False,
             size: int = 4, name: str | None = None) -> keras.Sequential:
    """Ck / CDk: ConvTranspose(4x4, stride 2) - Norm - [Dropout 0.5] - ReLU. Doubles the size.

    Example:
        >>> block = upsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_dropout=True)
        >>> block(keras.ops.zeros((1, 8, 8, 128))).shape
        TensorShape([1, 16, 16, 64])
    """
    norm = norm_layer(config, "norm")
    layers = [MatmulConv2DTranspose(filters, size, strides=2, padding="same",
                                    kernel_initializer=conv_init(config),
                                    use_bias=norm is None or config.norm != "batch", name="deconv",
                                    max_matmul_size=MATMUL_MAX_DECONV if _use_matmul(config) else 0)]
    if norm is not None:
        layers.append(norm)
    if apply_dropout and config.dropout_rate > 0:
        layers.append(NoiseDropout(config.dropout_rate,
                                   at_inference=_MODE_TABLE[config.inference_mode][1],
                                   name="dropout"))
    layers.append(keras.layers.ReLU(name="relu"))
    return keras.Sequential(layers, name=name)
