"""The learning-rate schedule, in one place (paper section 3.3 and the authors' code).

The paper trains with Adam at a constant learning rate of 0.0002. The authors' code adds a
second phase: ``--n_epochs N --n_epochs_decay M`` keeps the rate for N epochs, then decays
it linearly to 0 over M more. Here that schedule is two config fields, so a run folder's
``config.json`` says which schedule it trained with:

* ``config.lr_policy``: "constant" (the paper) or "linear" (constant, then linear decay);
* ``config.lr_decay_start``: the fraction of the run's steps after which the decay starts.

From the command line to the optimizer:

* :func:`epoch_schedule` turns ``--n-epochs N --n-epochs-decay M`` into those fields and
  the run's length in epochs;
* :func:`learning_rate` turns the config and the run's length in steps into what
  ``keras.optimizers.Adam(learning_rate=...)`` takes (``pix2pix_tf.model.make_optimizer``);
* :class:`LinearDecayAfter` is that schedule, evaluated by the optimizer at every step.
"""

from __future__ import annotations

import functools

from .config import Pix2PixConfig
from .errors import Pix2PixError


def learning_rate(config: Pix2PixConfig, total_steps: int | None = None, scale: float = 1.0):
    """The learning rate an optimizer should use: a number, or a :class:`LinearDecayAfter`.

    Args:
        config: ``learning_rate``, ``lr_policy`` and ``lr_decay_start`` come from here.
        total_steps: the run's length in optimizer steps; the "linear" policy needs it and
            falls back to the constant rate without it.
        scale: multiplies the rate (and the schedule): D's optimizer passes
            ``config.d_lr_scale``.

    Returns:
        ``config.learning_rate`` for the "constant" policy; for "linear", a schedule that
        holds it for ``round(total_steps * lr_decay_start)`` steps and then decays to 0 at
        ``total_steps``.

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
        return _linear_decay_after()(lr, start, max(total_steps - start, 1))
    return lr


def epoch_schedule(config: Pix2PixConfig | None, n_epochs: int | None,
                   n_epochs_decay: int | None) -> tuple[Pix2PixConfig | None, int]:
    """The authors' epoch schedule as config fields: N epochs at the initial rate, then M of decay.

    Args:
        config: the run's config (None when resuming: only the epoch count is wanted).
        n_epochs: epochs at the initial rate (``--n-epochs``).
        n_epochs_decay: epochs of linear decay to 0 afterwards (``--n-epochs-decay``);
            None = as many as ``n_epochs``; 0 = no decay (the paper's constant rate).

    Returns:
        ``(config, epochs)``: the config with ``lr_policy="linear"`` and
        ``lr_decay_start = N / (N + M)`` (unchanged when M is 0), and N + M.

    Raises:
        Pix2PixError: ``n_epochs`` missing, or a negative ``n_epochs_decay``.

    Example:
        >>> cfg, epochs = epoch_schedule(Pix2PixConfig(), 100, 100)
        >>> epochs, cfg.lr_policy, cfg.lr_decay_start
        (200, 'linear', 0.5)
    """
    if n_epochs is None:
        raise Pix2PixError("--n-epochs-decay needs --n-epochs")
    decay = n_epochs if n_epochs_decay is None else n_epochs_decay
    if decay < 0:
        raise Pix2PixError(f"--n-epochs-decay must be >= 0, got {decay}")
    epochs = n_epochs + decay
    if config is not None and decay:
        config = config.replace(lr_policy="linear", lr_decay_start=n_epochs / epochs)
    return config, epochs


def __getattr__(name: str):
    """Define :class:`LinearDecayAfter` on first use (PEP 562).

    It subclasses a Keras class, so defining it imports TensorFlow; the CLI imports this
    module for :func:`epoch_schedule` before it has checked what the user typed, and a
    refusal there must not wait for TensorFlow. ``from pix2pix_tf.schedule import
    LinearDecayAfter`` (as :mod:`pix2pix_tf.model` does) defines and registers it.
    """
    if name == "LinearDecayAfter":
        return _linear_decay_after()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _linear_decay_after():
    """Define and register :class:`LinearDecayAfter` (once)."""
    import keras
    import tensorflow as tf

    # Registered as "pix2pix_tf>LinearDecayAfter", the name saved optimizer configs use:
    # keep the package and the class name, or configs written before a rename stop loading.
    @keras.saving.register_keras_serializable(package="pix2pix_tf")
    class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
        """Constant ``lr`` for ``start`` steps, then linear decay to 0 over ``decay_steps``.

        Args:
            lr: the initial learning rate (paper: 2e-4).
            start: optimizer steps at the constant rate.
            decay_steps: steps over which the rate falls linearly to 0 (and stays there).

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

    LinearDecayAfter.__qualname__ = "LinearDecayAfter"  # as if defined at module level
    return LinearDecayAfter
