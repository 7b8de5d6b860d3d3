"""4x4 stride-2 convolutions on small maps as one matmul: a CPU speed path, the same results.

:class:`MatmulConv2D` and :class:`MatmulConv2DTranspose` are Keras' Conv2D and
Conv2DTranspose (same weights, same names, same checkpoints) that take a matmul on maps up to
``max_matmul_size`` and the parent's kernel elsewhere. The paper's blocks
(:mod:`pix2pix_tf.blocks`) build Keras' layers; :func:`pix2pix_tf.fast.transform.speed_up`
turns them into these, with ``max_matmul_size=0`` (never) unless :func:`use_matmul` says so
for the run's ``conv_impl`` (:class:`~pix2pix_tf.run.options.RunOptions`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from . import cpu_speed_paths

# Largest input map (height = width) on which the 4x4 stride-2 convolutions run as matmuls.
# Measured on the 2-core CI CPU (benchmarks/train_throughput.py): TensorFlow's oneDNN kernels
# are memory-bound on these small maps with big kernels (up to 32 MB at 1024 -> 512 channels):
# forward + both gradients are faster as matmuls up to 32x32 inputs for convolutions
# and up to 16x16 inputs for transposed convolutions (whose overlap-add grows with the map:
# at 32x32 it ties with TensorFlow's kernel, at 64x64 it is slower).
MATMUL_MAX_CONV = 32
MATMUL_MAX_DECONV = 16


# Fewest rows of the small operand for which times_weight / times_weight_t take their own
# gradients: below it (1x1 to 2x2 maps at batch 1) TensorFlow's are as fast or faster.
HANDWRITTEN_GRAD_MIN_ROWS = 16


def _rows_allow_handwritten(x, rows_per_image: int) -> bool:
    """Whether ``x``'s rows reach the minimum; with the batch unknown when traced, one image's
    rows (the batch is at least 1)."""
    rows = x.shape[0] if x.shape[0] is not None else rows_per_image
    return rows >= HANDWRITTEN_GRAD_MIN_ROWS


@tf.custom_gradient
def _times_weight(x, w):
    def grad(dy):  # dy (M, N)
        return (tf.transpose(tf.matmul(w, dy, transpose_b=True)),  # (M, K)
                tf.matmul(x, dy, transpose_a=True))  # (K, N)
    return tf.matmul(x, w), grad


@tf.custom_gradient
def _times_weight_t(x, w):
    def grad(dy):  # dy (M, N)
        return tf.matmul(dy, w), tf.matmul(dy, x, transpose_a=True)  # (M, K), (N, K)
    return tf.transpose(tf.matmul(w, x, transpose_b=True)), grad


def times_weight(x, w, rows_per_image: int = HANDWRITTEN_GRAD_MIN_ROWS):
    """``x @ w`` for a small (M, K) ``x`` and a big (K, N) weight matrix ``w``.

    Same result and gradients as ``tf.matmul``, but from 16 rows on the input gradient is
    computed as ``(w @ dy^T)^T``: oneDNN's matmul with the big operand transposed
    (``dy @ w^T``) is up to 1.7x slower here than with the small one transposed
    (``benchmarks/matmul_layers.py``, its ``autodiff`` variant). ``rows_per_image``: M for
    one image, used when the batch is unknown at tracing.
    """
    if _rows_allow_handwritten(x, rows_per_image):
        return _times_weight(x, w)
    return tf.matmul(x, w)


def times_weight_t(x, w, rows_per_image: int = HANDWRITTEN_GRAD_MIN_ROWS):
    """``x @ w^T`` for a small (M, K) ``x`` and a big (N, K) weight matrix ``w``; from 16 rows
    on computed as ``(w @ x^T)^T`` (see :func:`times_weight`: the big operand is not the
    transposed one)."""
    if _rows_allow_handwritten(x, rows_per_image):
        return _times_weight_t(x, w)
    return tf.matmul(x, w, transpose_b=True)


# conv_impl (a run option: pix2pix_tf.run.options.CONV_IMPLS) -> whether to take the matmuls;
# None: where the CPU speed paths apply
_MATMUL_FOR = {"auto": None, "native": False, "matmul": True}


def use_matmul(conv_impl: str = "auto") -> bool:
    """Whether the networks run small-map convolutions as matmuls for the run option
    ``conv_impl``: "auto" on a CPU (:func:`~pix2pix_tf.fast.cpu_speed_paths`), "matmul"
    always, "native" never.

    Raises:
        ValueError: another ``conv_impl``.
    """
    if conv_impl not in _MATMUL_FOR:
        raise ValueError(f"unknown conv_impl {conv_impl!r}; choose one of {', '.join(_MATMUL_FOR)}")
    matmul = _MATMUL_FOR[conv_impl]
    return cpu_speed_paths() if matmul is None else matmul


class SmallMapMatmul:
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
class MatmulConv2D(SmallMapMatmul, keras.layers.Conv2D):
    """A Conv2D that runs a 4x4 stride-2 "same" convolution on a small map as one matmul.

    The 16 window taps of the padded input (batch, S, S, C) are stacked into a
    (batch*S/2*S/2, 16*C) matrix and multiplied by the kernel reshaped to (16*C, filters): the same sums as
    the convolution, in an order TensorFlow runs faster on CPU when S is small and C large.
    Tap (ky, kx) of every output pixel is a channel block of the padded input's
    space-to-depth map, so each is a plain slice whose gradient is a pad (stride-2 slices of
    the input had the slow StridedSliceGrad; ``benchmarks/matmul_layers.py`` times the layers).
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
        # padded pixel (2*i + dy, 2*j + dx) is pixel (i, j), channels (dy, dx, c), of this map
        blocks = tf.nn.space_to_depth(padded, 2)  # (batch, S/2 + 1, S/2 + 1, 4*C)

        def tap(ky, kx):  # padded[:, ky::2, kx::2, :] over the S/2 output pixels: (batch, S/2, S/2, C)
            return tf.slice(blocks, [0, ky // 2, kx // 2, (2 * (ky % 2) + kx % 2) * cin],
                            [-1, out, out, cin])

        patches = tf.concat([tap(ky, kx) for ky in range(4) for kx in range(4)],
                            axis=-1)  # (batch, S/2, S/2, 16*C) in the kernel's (ky, kx, c) order
        y = times_weight(tf.reshape(patches, (-1, 16 * cin)),
                         tf.reshape(self.kernel, (16 * cin, self.filters)),  # kernel (4, 4, C, F)
                         rows_per_image=out * out)
        return tf.reshape(y, (-1, out, out, self.filters))  # (batch, S/2, S/2, F)


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class MatmulConv2DTranspose(SmallMapMatmul, keras.layers.Conv2DTranspose):
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
        blocks = times_weight_t(tf.reshape(inputs, (-1, cin)),
                                tf.reshape(self.kernel, (16 * f, cin)),  # kernel (4, 4, F, C)
                                rows_per_image=s * s)
        blocks = tf.reshape(blocks, (-1, s, s, 16 * f))  # input pixel (i, j) -> its (ky, kx, F) block

        taps = tf.split(blocks, 16, axis=-1)  # its gradient is one concat, not 16 slice gradients

        def block(ky, kx):  # (batch, S, S, F)
            return taps[4 * ky + kx]

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
        return tf.slice(full, [0, 1, 1, 0], [-1, 2 * s, 2 * s, f])  # "same": crop 1 on each side
