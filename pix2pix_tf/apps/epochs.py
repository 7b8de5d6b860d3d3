"""``--n-epochs N --n-epochs-decay M``: the authors' code's epoch schedule as config fields.

The schedule itself (constant, then linear decay to 0) is :mod:`pix2pix_tf.schedule`'s.
"""

from __future__ import annotations

from ..config import Pix2PixConfig
from ..errors import Pix2PixError


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
