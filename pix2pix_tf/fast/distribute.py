"""tf.distribute strategies for training on several GPUs, machines or a TPU.

``make_strategy(name)`` returns the strategy under whose ``scope()`` the model and both
optimizers are built (:func:`pix2pix_tf.run.train.train` does this). The batch size in the
config is the *global* batch: each of N replicas gets ``batch_size / N`` images, its
losses are divided by N and the gradients summed across replicas
(:meth:`pix2pix_tf.model.Pix2Pix.train_step`), so N replicas at batch b give the same
update as one replica at batch N*b. With batch norm that holds exactly only with
``sync_batch_norm=True`` (statistics over the global batch); otherwise each replica
normalises with its own images' statistics.

Names:
    none         the default (one device)
    mirrored     all local GPUs (or the devices given), synchronous all-reduce
    multiworker  several machines, from the TF_CONFIG environment variable
    tpu          a Cloud TPU (Colab TPU runtime)
    auto         tpu if one is attached, mirrored if more than one GPU, else none

Example:
    >>> strategy = make_strategy("none")  # "mirrored" on a machine with several GPUs
    >>> strategy.num_replicas_in_sync
    1
"""

from __future__ import annotations

import tensorflow as tf

from ..config import STRATEGIES, Pix2PixError


class StrategyError(Pix2PixError):
    """The requested distribution strategy cannot run here."""


def _tpu_strategy() -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as e:
        raise StrategyError(f"--strategy tpu: no TPU found ({str(e).splitlines()[0]})") from None
    return tf.distribute.TPUStrategy(resolver)


def make_strategy(name: str = "none", devices: list[str] | None = None) -> tf.distribute.Strategy:
    """The tf.distribute strategy called ``name`` (see the module docstring).

    Args:
        name: one of :data:`STRATEGIES`.
        devices: for "mirrored": the devices to use (default: all GPUs, else the CPU).
    """
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "auto":
        try:
            return _tpu_strategy()
        except StrategyError:
            pass
        return make_strategy("mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "none")
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy()


def check_global_batch(strategy: tf.distribute.Strategy, batch_size: int) -> None:
    """Raise :class:`StrategyError` unless the global batch splits evenly over the replicas."""
    n = strategy.num_replicas_in_sync
    if batch_size % n:
        raise StrategyError(f"batch_size {batch_size} is the global batch and must be a multiple of "
                            f"the {n} replicas (e.g. --batch-size {n})")
