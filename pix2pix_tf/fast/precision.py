"""Numeric precision of training and inference: float32, mixed bfloat16, mixed float16.

Mixed precision computes convolutions in 16 bits while the weights, the optimizer state,
batch-norm statistics, the generator's tanh output, the discriminator's logits and every
loss stay float32. ``mixed_float16`` needs loss scaling (see :class:`~pix2pix_tf.model.Pix2Pix`);
``mixed_bfloat16`` has float32's range and needs none.

``"auto"`` picks, per machine:

* an NVIDIA GPU of compute capability >= 8.0 (A100, L4, H100): ``mixed_bfloat16``;
* an older GPU with tensor cores (>= 7.0: V100, T4): ``mixed_float16``;
* a CPU with AMX-BF16 (Intel Sapphire Rapids and later): ``mixed_bfloat16``;
* anything else, including CPUs with only AVX512_BF16: ``float32``. On such a CPU
  (the 2-core AMD EPYC of our CI) TensorFlow's bfloat16 convolutions and their gradients
  are no faster than float32 (``benchmarks/train_throughput.py`` measures it), so bf16
  would cost precision and buy nothing.

Example:
    >>> with precision_scope("mixed_bfloat16"):
    ...     layer = keras.layers.Conv2D(8, 3)
    >>> layer.compute_dtype, layer.variable_dtype
    ('bfloat16', 'float32')
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import keras
import tensorflow as tf

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


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
    return "mixed_bfloat16" if "amx_bf16" in _cpu_flags() else "float32"


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
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)

