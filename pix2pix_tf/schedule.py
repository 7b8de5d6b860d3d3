"""The learning-rate schedule (paper section 3.3 and the authors' code).

The paper trains with Adam at a constant 0.0002. The authors' code (``--n_epochs N
--n_epochs_decay M``) then decays it linearly to 0 over M more epochs. Here that is two config
fields, so a run's ``config.json`` records it: ``lr_policy`` ("constant", the paper, or "linear")
and ``lr_decay_start`` (the fraction of the run's steps after which the decay starts), which
:func:`learning_rate` turns into the optimizer's rate. The CLI's ``--n-epochs`` /
``--n-epochs-decay`` become these fields in :mod:`pix2pix_tf.apps.epochs`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Pix2PixConfig


def learning_rate(config: Pix2PixConfig, total_steps: int | None = None, scale: float = 1.0):
    """What ``keras.optimizers.Adam(learning_rate=...)`` takes: a number or a :class:`LinearDecayAfter`.

    ``config.learning_rate * scale`` for the "constant" policy; for "linear", a schedule holding it for
    ``round(total_steps * lr_decay_start)`` steps, then decaying to 0 at ``total_steps`` (the run's
    length in optimizer steps; without it, the rate stays constant). D's optimizer passes
    ``scale=config.d_lr_scale``.

    Example:
        >>> learning_rate(Pix2PixConfig())
        0.0002
        >>> s = learning_rate(Pix2PixConfig(lr_policy="linear", lr_decay_start=0.6), total_steps=50)
        >>> s.start, s.decay_steps
        (30, 20)
        >>> [round(float(s(step)), 6) for step in (0, 30, 40, 50, 60)]
        [0.0002, 0.0002, 0.0001, 0.0, 0.0]

    Reference: Isola et al. 2017, section 3.3 (Adam, lr 0.0002); the decay is the authors' code.
    """
    lr = config.learning_rate * scale
    if config.lr_policy == "linear" and total_steps:
        start = int(round(total_steps * config.lr_decay_start))
        return LinearDecayAfter(lr, start, max(total_steps - start, 1))
    return lr


# Registered as "pix2pix_tf>LinearDecayAfter", the name saved optimizer configs use:
# keep the package and the class name, or configs written before a rename stop loading.
@keras.saving.register_keras_serializable(package="pix2pix_tf")
class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``lr`` (paper: 2e-4) for ``start`` steps, then linear decay to 0 over ``decay_steps``.

    Example: see :func:`learning_rate`.

    Reference: the authors' pix2pix code (``--lr_policy linear``), not the paper.
    """

    def __init__(self, lr: float, start: int, decay_steps: int):
        self.lr, self.start, self.decay_steps = lr, start, decay_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        frac = tf.clip_by_value((step - self.start) / float(self.decay_steps), 0.0, 1.0)
        return self.lr * (1.0 - frac)

    def get_config(self):
        return {"lr": self.lr, "start": self.start, "decay_steps": self.decay_steps}
