"""Training curves of the notebook course: a run's history read back, and drawn as panels of
comparable scale with the ln 2 line of a discriminator that cannot tell real from fake.

:func:`read_history` takes a ``keras.callbacks.History``, a dict or a run's ``history.csv``
(an epoch that was not validated reads as nan); :func:`plot_history` draws one line per key
and, on the panels of D's losses and G's GAN term, a dashed line at :data:`LN2`. Kept apart
from the image figures (:mod:`pix2pix_tf.course.plotting`, whose
:func:`~pix2pix_tf.course.plotting.save_figure` saves these too) because what a curve means
(which losses are cross-entropies, what a run's config says about its GAN loss) is read from
the run, not from pixels.

Example:
    >>> fig = plot_history({"d_loss": [0.8, 0.7], "g_l1": [0.3, 0.2]})
    >>> [ax.get_title() for ax in fig.axes]
    ['discriminator', 'L1 ([-1, 1] units)']
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from ..run.folder import CONFIG

__all__ = ["read_history", "plot_history", "LN2"]

_GROUPS = (
    ("discriminator", ("d_loss", "d_real", "d_fake")),
    ("generator: GAN term", ("g_gan",)),
    ("L1 ([-1, 1] units)", ("g_l1", "val_l1", "l1")),
    ("generator: total = GAN + lambda L1", ("g_total",)),
    ("validation PSNR (dB)", ("val_psnr", "psnr")),
    ("validation SSIM", ("val_ssim", "ssim")),
)


def read_history(history) -> dict[str, list[float]]:
    """``{name: values}`` from a keras History, a dict, or a ``history.csv`` path (ValueError: empty).

    In a ``history.csv``, an epoch that was not validated has ``NA`` in the ``val_*`` columns
    (``pix2pix-tf train`` validates within a time budget): it reads as nan, so every column
    keeps one value per epoch; :func:`plot_history` leaves those points out.
    """
    if hasattr(history, "history"):  # keras.callbacks.History
        history = history.history
    if isinstance(history, (str, Path)):
        with open(history, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"{history}: no rows")
        return {k: [math.nan if r[k] == "NA" else float(r[k]) for r in rows
                    if r.get(k) not in (None, "")] for k in rows[0]}
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a dict, a keras History or a CSV path, not {type(history).__name__}")
    return {k: [float(v) for v in vals] for k, vals in history.items()}


#: ln 2 = -log(0.5): the cross-entropy of a discriminator that outputs 0.5 on every patch
LN2 = math.log(2.0)
# the history keys that are cross-entropies of D's verdicts (vanilla GAN loss): each is ln 2
# when D outputs 0.5 everywhere (d_loss too, at the paper's d_loss_weight 0.5: it halves the
# sum of d_real and d_fake)
_CROSS_ENTROPY_KEYS = ("d_loss", "d_real", "d_fake", "g_gan")


def _run_has_cross_entropy_gan(history) -> bool:
    """False if ``history`` is a run's history.csv whose config.json says the GAN loss is
    not the cross-entropy ("lsgan") or that there is no GAN term (loss "l1"); else True."""
    if not isinstance(history, (str, Path)):
        return True
    config = Path(history).with_name(CONFIG)
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    if not isinstance(settings, dict):
        return True
    return settings.get("gan_mode", "vanilla") == "vanilla" and settings.get("loss") != "l1"


def plot_history(history, keys: Sequence[str] | None = None, x: Sequence[float] | None = None,
                 xlabel: str = "epoch", size: tuple[float, float] = (4.0, 3.0),
                 ln2: bool | None = None):
    """Loss and metric curves, one line per key, grouped into panels of comparable scale.

    The panels of D's losses and of G's GAN term get a dashed line at ln 2 ~ 0.693: the
    value of each of those cross-entropies when D outputs 0.5 on every patch, i.e. cannot
    tell real from fake. Curves that hover around it are a balanced game; D's loss far
    below it with G's GAN term climbing means D is winning.

    Args:
        history: ``{name: [value per epoch]}``, a ``keras.callbacks.History`` or the path of
            a ``history.csv`` written by ``keras.callbacks.CSVLogger`` (its ``epoch``
            column becomes the x axis).
        keys: which series to draw (default: all except ``epoch``/``step``).
        x: x values (default: 1, 2, ...; or the ``step`` / ``epoch`` series if present).
        xlabel: label of the x axis.
        ln2: draw the ln 2 line. None (default): draw it, unless ``history`` is a run's
            ``history.csv`` whose ``config.json`` (beside it) has ``gan_mode="lsgan"``
            (least squares: the reference value is not ln 2) or ``loss="l1"`` (no GAN
            term). True / False: always / never.

    Returns:
        The figure: one axis per non-empty group (discriminator losses, GAN term, L1, total,
        PSNR, SSIM, then one for anything else), one ``Line2D`` per key, plus the ln 2 line
        (``gid="ln2"``) on the discriminator and GAN-term axes.

    Example:
        >>> fig = plot_history({"d_loss": [0.7, 0.6], "g_gan": [0.8, 1.0], "g_l1": [0.4, 0.3]})
        >>> [[line.get_gid() or line.get_label() for line in ax.get_lines()] for ax in fig.axes]
        [['d_loss', 'ln2'], ['g_gan', 'ln2'], ['g_l1']]
        >>> plt.close(fig)
    """
    if ln2 is None:
        ln2 = _run_has_cross_entropy_gan(history)
    data = read_history(history)
    if x is None:
        for name in ("step", "epoch"):
            if name in data:
                x = data[name]
                if name == "epoch" and x and min(x) == 0:
                    x = [v + 1 for v in x]  # CSVLogger counts from 0
                xlabel = name
                break
    keys = [k for k in (keys if keys is not None else data) if k not in ("epoch", "step")]
    missing = [k for k in keys if k not in data]
    if missing:
        raise KeyError(f"not in the history: {', '.join(missing)} (have: {', '.join(data)})")
    if not keys:
        raise ValueError("nothing to plot")
    panels, used = [], set()
    for title, names in _GROUPS:
        members = [k for k in keys if k in names]
        if members:
            panels.append((title, members))
            used.update(members)
    rest = [k for k in keys if k not in used]
    if rest:
        panels.append(("other", rest))

    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax, (title, members) in zip(axes.flat, panels):
        for k in members:
            y = data[k]
            xs = list(x)[:len(y)] if x is not None else list(range(1, len(y) + 1))
            kept = [(u, v) for u, v in zip(xs, y) if not math.isnan(v)]  # epochs not validated
            xs, y = [u for u, _ in kept], [v for _, v in kept]
            ax.plot(xs, y, marker="o" if len(y) < 20 else None, ms=3, label=k)
        if ln2 and any(k in _CROSS_ENTROPY_KEYS for k in members):
            ax.axhline(LN2, color="0.35", linestyle="--", linewidth=1, gid="ln2",
                       label="ln 2: D says 0.5")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        fig.delaxes(ax)
    fig.tight_layout()
    return fig
