"""Numeric precision of training and inference: float32, mixed bfloat16, mixed float16.

Mixed precision computes convolutions in 16 bits while the weights, the optimizer state,
batch-norm statistics, the generator's tanh output, the discriminator's logits and every
loss stay float32. ``mixed_float16`` needs loss scaling (see :class:`~pix2pix_tf.model.Pix2Pix`);
``mixed_bfloat16`` has float32's range and needs none.

``"auto"`` picks, per machine:

* an NVIDIA GPU of compute capability >= 8.0 (A100, L4, H100): ``mixed_bfloat16``;
* an older GPU with tensor cores (>= 7.0: V100, T4): ``mixed_float16``;
* a CPU with AVX512_BF16 or AMX-BF16: ``mixed_bfloat16`` if a convolution with both its
  gradients, timed once per process (:func:`cpu_bf16_speedup`, about half a second), runs at
  least ``BF16_MIN_SPEEDUP`` (1.3x) faster in bfloat16 than in float32; else ``float32``.
  The flag alone does not tell: on the 2-core AMD EPYC of our CI, with the same flags, whole
  training steps ran 2.3x slower in bf16 than float32 in one sitting and 1.5x faster in
  another (``benchmarks/train_throughput.py``, ``mixed_bfloat16`` row), so bf16 is taken only
  where it pays;
* any other CPU: ``float32``.

The choice is a run option (``precision`` of :class:`~pix2pix_tf.run.options.RunOptions`,
``--precision``), not a config field: it changes how the networks compute, not what they
are. Its default is ``float32`` (the paper's maths, the same results on every machine);
``auto`` is asked for by name.

Example:
    >>> with precision_scope("mixed_bfloat16"):
    ...     layer = keras.layers.Conv2D(8, 3)
    >>> layer.compute_dtype, layer.variable_dtype
    ('bfloat16', 'float32')
"""

from __future__ import annotations

import contextlib
import functools
import time
from pathlib import Path

import tensorflow as tf

from ..model import dtype_policy

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")  # with "auto": run.options.PRECISIONS

# How much faster than float32 the probe must run in bfloat16 for "auto" to take it on a CPU:
# bf16 costs precision, so a gain within the probe's noise is not worth it.
BF16_MIN_SPEEDUP = 1.3


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def _conv_probe(dtype: str):
    """A call running a 4x4 convolution with both its gradients in ``dtype`` (32x32x256 ->
    256 channels, batch 1: about 6 GFLOP, shaped like the PatchGAN's layers), traced and warm."""
    x = tf.cast(tf.random.stateless_normal((1, 32, 32, 256), seed=(1, 2)), dtype)
    w = tf.cast(tf.random.stateless_normal((4, 4, 256, 256), seed=(3, 4)) * 0.05, dtype)

    @tf.function
    def step(x, w):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = tf.nn.conv2d(x, w, 1, "SAME")
            loss = tf.reduce_sum(tf.cast(y, tf.float32))
        return tape.gradient(loss, [x, w])

    def call():
        step(x, w)[1].numpy()
    call()  # trace and warm up
    return call


def _fastest(call, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return min(seconds)


@functools.lru_cache(maxsize=1)
def cpu_bf16_speedup(repeats: int = 3) -> float | None:
    """float32 time / bfloat16 time of the same convolution step on this CPU (> 1: bf16 is
    faster), measured once per process; None when the CPU has neither AVX512_BF16 nor AMX-BF16.

    The two are timed in alternation, each keeping its fastest call, so load from other
    processes slows both alike.
    """
    if not {"avx512_bf16", "amx_bf16"} & _cpu_flags():
        return None
    with tf.device("/CPU:0"):
        probes = {dtype: _conv_probe(dtype) for dtype in ("float32", "bfloat16")}
        best = {dtype: float("inf") for dtype in probes}
        for _ in range(2):
            for dtype, call in probes.items():
                best[dtype] = min(best[dtype], _fastest(call, repeats))
    return best["float32"] / best["bfloat16"]


def auto_precision() -> str:
    """The policy ``"auto"`` stands for on this machine (see the module docstring)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        except (RuntimeError, ValueError):
            cc = None
        if cc and cc >= (8, 0):
            return "mixed_bfloat16"
        if cc and cc >= (7, 0):
            return "mixed_float16"
        return "float32"
    speedup = cpu_bf16_speedup()
    return "mixed_bfloat16" if speedup is not None and speedup >= BF16_MIN_SPEEDUP else "float32"


def resolve_precision(precision: str) -> str:
    """``"auto"`` -> a concrete policy name; other names are checked and returned."""
    if precision == "auto":
        return auto_precision()
    if precision not in POLICIES:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(POLICIES)}, auto")
    return precision


@contextlib.contextmanager
def precision_scope(precision: str):
    """Build layers under ``precision`` (a policy name or "auto"); restore the global policy after."""
    with dtype_policy(resolve_precision(precision)):
        yield

