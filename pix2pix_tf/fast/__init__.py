"""Speed paths, each behind a switch; nothing here is needed to read the paper.

* :mod:`.adam`: FusedAdam, Keras' Adam with one fused kernel per weight update.
* :mod:`.batchnorm`: training-mode batch norm in TensorFlow's fused kernel.
* :mod:`.matmul`: small-map 4x4 stride-2 convolutions as matmuls.
* :mod:`.precision`: float32 / mixed bfloat16 / mixed float16 policies (``config.precision``).
* :mod:`.distribute`: tf.distribute strategies (``--strategy``).

The first three were measured (and tested equal to Keras) on CPUs: they apply only when
TensorFlow sees no GPU (:func:`cpu_speed_paths`); on a GPU the networks and optimizers are
Keras' standard ones.
"""

from __future__ import annotations

import tensorflow as tf


def cpu_speed_paths() -> bool:
    """Whether the CPU-measured speed paths apply: True when TensorFlow sees no GPU."""
    return not tf.config.list_physical_devices("GPU")
