"""The generator rewritten for TensorFlow Lite: the same weights, ops that XNNPACK runs fast.

TFLite runs float32 and int8 models on CPUs through XNNPACK. Three things in our generators
run slowly there (measured at 256x256 on a 2-core AVX-512 CPU, ``benchmarks/inference_latency.py``):

* ``TRANSPOSE_CONV``: XNNPACK's stride-2 4x4 transposed convolution ran 2-4x slower than
  TensorFlow's, and at 5 GFLOP/s with 3 output channels (the U-Net's last layer: 24-42 ms
  for 0.2 GFLOP). :class:`SubpixelConv2DTranspose` computes the same sums as one ordinary
  convolution with 4x the output channels and a pixel shuffle (``DEPTH_TO_SPACE``), which
  XNNPACK runs at its convolution speed.
* the CPU matmul speed path (:mod:`.matmul`) reaches the file as hundreds of PAD /
  STRIDED_SLICE / FULLY_CONNECTED ops; in TFLite plain ``CONV_2D`` is as fast.
* int8: XNNPACK runs SQUARED_DIFFERENCE (the norm's variance) in float32 only, so every
  norm split the int8 graph (28 partitions instead of 15, 70 ms instead of 44);
  :class:`LiteBatchNorm` squares with SUB and MUL.

:func:`lite_twin` clones a generator with these changes; :func:`pix2pix_tf.run.export.export_tflite`
converts the twin. Its output equals the generator's to float rounding (about 1e-6).

Reference: Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an
Efficient Sub-Pixel Convolutional Neural Network" (a stride-s transposed convolution is a
stride-1 convolution with s*s times the channels followed by a pixel shuffle).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ..layers import BatchNorm
from .matmul import MatmulConv2D


def _phase_taps(size: int, pad: int, phase: int) -> tuple[int, list[int]]:
    """Along one axis of a stride-2 transposed convolution: output pixel ``2*m + phase`` sums
    ``x[m + origin + j] * w[taps[j]]`` for j = 0, 1, ...; returns (origin, taps).

    ``pad`` is the transposed convolution's "same" padding before the first pixel.
    """
    # y[o] = sum over (i, k) with o = 2*i + k - pad of x[i] * w[k]; here o = 2*m + phase
    offsets = {(phase + pad - k) // 2: k for k in range(size) if (phase + pad - k) % 2 == 0}
    origin = min(offsets)
    return origin, [offsets[d] for d in range(origin, origin + len(offsets))]


def _axis_layout(size: int) -> tuple[int, int, int, list[int], list[list[int]]]:
    """(pad before, pad after, window, crop origin of each phase, kernel index of each phase's
    window taps, ``size`` = a zero tap) for one axis of a 2x "same" transposed convolution."""
    pad = max(size - 2, 0) // 2  # TensorFlow's "same": (size - stride) // 2 before
    phases = [_phase_taps(size, pad, q) for q in (0, 1)]
    window = max(len(taps) for _, taps in phases)
    before = -min(origin for origin, _ in phases)
    crops = [origin + before for origin, _ in phases]
    after = max(crops) + window - 1 - before
    taps = [t + [size] * (window - len(t)) for _, t in phases]  # shorter phase: zero taps
    return before, after, window, crops, taps


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class SubpixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """A stride-2 "same" Conv2DTranspose computed as one convolution and a pixel shuffle.

    Output pixel (2m + a, 2n + b) of a stride-2 transposed convolution depends on a small
    window of the input through the sub-kernel of its phase (a, b): for a 4x4 kernel, a 2x2
    window. The four sub-kernels side by side make one (2, 2, C_in, 4 * F) convolution over
    the input padded by one pixel; each phase's (H, W) block is cropped from its (H+1, W+1)
    output at its own origin, and ``depth_to_space`` interleaves the four. Same weights
    (kernel (kh, kw, F, C_in)), same results (to float rounding) and the same FLOPs as the
    parent, in ops that run fast in TFLite/XNNPACK. Other strides and paddings use the parent.

    Example:
        >>> layer = SubpixelConv2DTranspose(5, 4, strides=2, padding="same")
        >>> layer(tf.zeros((1, 6, 8, 3))).shape
        TensorShape([1, 12, 16, 5])
    """

    def _subpixel_applies(self) -> bool:
        return (self.strides == (2, 2) and self.padding == "same" and self.output_padding is None
                and self.dilation_rate == (1, 1) and self.data_format == "channels_last")

    def call(self, inputs):
        if not self._subpixel_applies():
            return super().call(inputs)
        (ty, by, wy, cy, taps_y), (tx, bx, wx, cx, taps_x) = (_axis_layout(k) for k in self.kernel_size)
        f = self.filters
        # a zero row and column at index kh / kw stand for the missing taps of a shorter phase
        kernel = tf.pad(tf.cast(self.kernel, self.compute_dtype), [[0, 1], [0, 1], [0, 0], [0, 0]])
        sub_kernels = [tf.gather(tf.gather(kernel, taps_y[a], axis=0), taps_x[b], axis=1)
                       for a in (0, 1) for b in (0, 1)]  # each (wy, wx, F, C_in)
        kernel = tf.transpose(tf.concat(sub_kernels, axis=2), (0, 1, 3, 2))  # (wy, wx, C_in, 4F)
        h, w = tf.shape(inputs)[1], tf.shape(inputs)[2]
        padded = tf.pad(inputs, [[0, 0], [ty, by], [tx, bx], [0, 0]])
        y = tf.nn.conv2d(padded, kernel, 1, "VALID")  # (batch, H + 1, W + 1, 4F) for a 4x4 kernel
        phases = [y[:, cy[a]:cy[a] + h, cx[b]:cx[b] + w, (2 * a + b) * f:(2 * a + b + 1) * f]
                  for a in (0, 1) for b in (0, 1)]  # each (batch, H, W, F)
        y = tf.nn.depth_to_space(tf.concat(phases, axis=-1), 2)  # (batch, 2H, 2W, F)
        if self.use_bias:
            y = y + tf.cast(self.bias, y.dtype)
        return self.activation(y) if self.activation is not None else y


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class LiteBatchNorm(BatchNorm):
    """:class:`~pix2pix_tf.layers.BatchNorm` whose per-image / per-batch statistics at
    inference are computed with ops XNNPACK runs in int8 too: ``(x - mean) ** 2`` as SUB and
    MUL rather than SQUARED_DIFFERENCE (float32 only in XNNPACK). Same results."""

    def call(self, inputs, training=None, mask=None):
        if training or self.inference_stats == "moving":
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)
        axes = [0, 1, 2] if self.inference_stats == "batch" else [1, 2]
        centred = x - tf.reduce_mean(x, axis=axes, keepdims=True)
        variance = tf.reduce_mean(centred * centred, axis=axes, keepdims=True)
        scale = tf.math.rsqrt(variance + self.epsilon) * tf.cast(self.gamma, tf.float32)
        y = centred * scale + tf.cast(self.beta, tf.float32)
        return tf.cast(y, self.compute_dtype)


def _lite_layer(layer: keras.layers.Layer) -> keras.layers.Layer | None:
    """The TFLite-friendly replacement of one layer (unbuilt), or None to share it as it is."""
    if isinstance(layer, keras.layers.Conv2DTranspose):  # MatmulConv2DTranspose included
        cfg = {k: v for k, v in layer.get_config().items() if k != "max_matmul_size"}
        return SubpixelConv2DTranspose.from_config(cfg)
    if isinstance(layer, MatmulConv2D):
        return MatmulConv2D.from_config({**layer.get_config(), "max_matmul_size": 0})
    if isinstance(layer, BatchNorm) and not isinstance(layer, LiteBatchNorm):  # FusedBatchNorm too
        return LiteBatchNorm.from_config(layer.get_config())
    return None


def lite_twin(generator: keras.Model) -> keras.Model:
    """The generator with TFLite-friendly layers (see the module docstring), same weights.

    Transposed convolutions become :class:`SubpixelConv2DTranspose`, matmul-path
    convolutions plain Conv2D, batch norms :class:`LiteBatchNorm` (in the inference mode the
    generator is in now: switch it with :func:`~pix2pix_tf.layers.set_inference_mode`
    first); other layers (dropout, activations) are shared with ``generator``. The weights
    are copied: train the original, not the twin.

    Example:
        >>> from pix2pix_tf.config import Pix2PixConfig
        >>> from pix2pix_tf.generator import build_generator
        >>> g = build_generator(Pix2PixConfig(image_size=64, load_size=64, ngf=8))
        >>> x = tf.random.uniform((1, 64, 64, 3), -1, 1)
        >>> float(tf.reduce_max(tf.abs(lite_twin(g)(x) - g(x)))) < 1e-4
        True
    """
    pairs = []

    def clone(layer):
        new = _lite_layer(layer)
        if new is None:
            return layer
        pairs.append((layer, new))
        return new

    twin = keras.models.clone_model(generator, clone_function=clone, recursive=True)
    for old, new in pairs:
        new.set_weights(old.get_weights())
    return twin


__all__ = ["LiteBatchNorm", "SubpixelConv2DTranspose", "lite_twin"]
