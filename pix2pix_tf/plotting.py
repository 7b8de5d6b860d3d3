"""Matplotlib figures of the notebook course: pairs, batches, translations, curves, patches.

Every function returns a :class:`matplotlib.figure.Figure` (made with ``pyplot``, so a
notebook shows it at the end of the cell; call ``plt.close(fig)`` in scripts). Images may
be tensors or arrays, one image (H, W, C) or (H, W), in either of the package's ranges:

* floating point images are taken to be in [-1, 1] (the generator's tanh range);
* ``uint8`` images in [0, 255].

Pass ``value_range=(0, 255)`` for float images in [0, 255], such as the output of
:func:`pix2pix_tf.data.decode_pair`.

Example:
    >>> fig = show_pair(np.zeros((64, 64, 3)), np.ones((64, 64, 3)), titles=("A", "B"))
    >>> len(fig.axes)
    2
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

__all__ = ["to_display", "show_images", "show_pair", "show_batch", "show_translations",
           "plot_history", "draw_receptive_field", "show_patch_logits"]


def to_display(image, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """One image as a float array in [0, 1] for ``imshow``: (H, W, 3) or (H, W) for gray.

    Args:
        image: tensor or array (H, W, C) with C in 1, 3, 4, or (H, W).
        value_range: (low, high) of the input; default (0, 255) for uint8, (-1, 1) otherwise.

    Returns:
        float32 array clipped to [0, 1]; a single channel is squeezed to (H, W).
    """
    arr = np.asarray(image.numpy() if hasattr(image, "numpy") else image)
    if value_range is None:
        value_range = (0, 255) if arr.dtype == np.uint8 else (-1, 1)
    lo, hi = value_range
    out = (arr.astype(np.float32) - lo) / float(hi - lo)
    out = np.clip(out, 0.0, 1.0)
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    if out.ndim not in (2, 3):
        raise ValueError(f"expected one image (H, W[, C]), got shape {arr.shape}")
    return out


def _imshow(ax, image, title=None, value_range=None):
    img = to_display(image, value_range)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def show_images(images: Sequence, titles: Sequence[str] | None = None, ncols: int | None = None,
                value_range: tuple[float, float] | None = None, size: float = 2.6,
                suptitle: str | None = None):
    """A grid of images, one axis per image (unused grid cells are removed).

    Args:
        images: a sequence of images, or a batch tensor (N, H, W, C).
        titles: one title per image, or None.
        ncols: columns of the grid (default: all in one row, at most 6).
        value_range: see :func:`to_display`.
        size: inches per image.
        suptitle: a title over the whole figure.

    Returns:
        The figure; ``len(fig.axes) == len(images)``.
    """
    images = list(images)
    n = len(images)
    if n == 0:
        raise ValueError("show_images needs at least one image")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images")
    ncols = min(n, ncols or min(n, 6))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _imshow(ax, images[i], titles[i] if titles else None, value_range)
        else:
            fig.delaxes(ax)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_pair(a, b, titles: Sequence[str] = ("input", "target"),
              value_range: tuple[float, float] | None = None, size: float = 3.0):
    """Two images side by side, e.g. the A and B halves of one training pair."""
    return show_images([a, b], list(titles), ncols=2, value_range=value_range, size=size)


def _rows(columns: Sequence, column_titles: Sequence[str], max_rows: int | None,
          value_range, size: float, row_titles: Sequence[str] | None = None):
    columns = [list(c) for c in columns]
    n = min(len(c) for c in columns)
    if max_rows is not None:
        n = min(n, max_rows)
    images, titles = [], []
    for r in range(n):
        for c, col in enumerate(columns):
            images.append(col[r])
            t = column_titles[c] if r == 0 else None
            if row_titles is not None and c == 0:
                t = f"{t}\n{row_titles[r]}" if t else row_titles[r]
            titles.append(t or "")
    return show_images(images, titles, ncols=len(columns), value_range=value_range, size=size)


def show_batch(inputs, targets, max_rows: int | None = 4,
               titles: Sequence[str] = ("input", "target"),
               value_range: tuple[float, float] | None = None, size: float = 2.4):
    """One row per example of a batch: input | target.

    Args:
        inputs, targets: batches (N, H, W, C), e.g. one element of :func:`make_dataset`.
        max_rows: show at most this many examples.
    """
    return _rows([inputs, targets], titles, max_rows, value_range, size)


def show_translations(inputs, outputs, targets, max_rows: int | None = 4,
                      titles: Sequence[str] = ("input", "output", "target"),
                      row_titles: Sequence[str] | None = None,
                      value_range: tuple[float, float] | None = None, size: float = 2.4):
    """One row per example: input | generator output | target (the paper's figures).

    Args:
        row_titles: an extra caption per row (e.g. its L1), shown above the input.
    """
    return _rows([inputs, outputs, targets], titles, max_rows, value_range, size, row_titles)


# ------------------------------------------------------------------------------ curves
_GROUPS = (
    ("discriminator", ("d_loss", "d_real", "d_fake")),
    ("generator: GAN term", ("g_gan",)),
    ("L1 ([-1, 1] units)", ("g_l1", "val_l1", "l1")),
    ("generator: total = GAN + lambda L1", ("g_total",)),
    ("validation PSNR (dB)", ("val_psnr", "psnr")),
    ("validation SSIM", ("val_ssim", "ssim")),
)


def _read_history(history) -> dict[str, list[float]]:
    if hasattr(history, "history"):  # keras.callbacks.History
        history = history.history
    if isinstance(history, (str, Path)):
        with open(history, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"{history}: no rows")
        return {k: [float(r[k]) for r in rows if r.get(k) not in (None, "")] for k in rows[0]}
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a dict, a keras History or a CSV path, not {type(history).__name__}")
    return {k: [float(v) for v in vals] for k, vals in history.items()}


def plot_history(history, keys: Sequence[str] | None = None, x: Sequence[float] | None = None,
                 xlabel: str = "epoch", size: tuple[float, float] = (4.0, 3.0)):
    """Loss and metric curves, one line per key, grouped into panels of comparable scale.

    Args:
        history: ``{name: [value per epoch]}``, a ``keras.callbacks.History`` or the path of
            a ``history.csv`` written by ``keras.callbacks.CSVLogger`` (its ``epoch``
            column becomes the x axis).
        keys: which series to draw (default: all except ``epoch``/``step``).
        x: x values (default: 1, 2, ...; or the ``step`` / ``epoch`` series if present).
        xlabel: label of the x axis.

    Returns:
        The figure: one axis per non-empty group (discriminator losses, GAN term, L1, total,
        PSNR, SSIM, then one for anything else), one ``Line2D`` per key.
    """
    data = _read_history(history)
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
            ax.plot(xs, y, marker="o" if len(y) < 20 else None, ms=3, label=k)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        fig.delaxes(ax)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------- discriminator
def draw_receptive_field(image, size: int, center: tuple[int, int] | None = None,
                         value_range: tuple[float, float] | None = None,
                         title: str | None = None, figsize: float = 4.0):
    """The image with a ``size`` x ``size`` square: the window one PatchGAN logit sees.

    Args:
        image: (H, W, C) image.
        size: side of the square in pixels (e.g. ``receptive_field(discriminator)`` = 70).
        center: (row, col) of the square's centre; default the image centre.

    Returns:
        The figure; its one axis holds the square as a ``matplotlib.patches.Rectangle``.
    """
    img = to_display(image, value_range)
    h, w = img.shape[:2]
    cy, cx = center if center is not None else (h // 2, w // 2)
    fig, ax = plt.subplots(figsize=(figsize, figsize))
    _imshow(ax, image, title or f"{size}x{size} receptive field of one logit", value_range)
    ax.add_patch(Rectangle((cx - size / 2 - 0.5, cy - size / 2 - 0.5), size, size,
                           fill=False, edgecolor="red", linewidth=2))
    ax.plot([cx], [cy], "r+", ms=8)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    fig.tight_layout()
    return fig


def show_patch_logits(image, logits, title: str = "D's patch logits",
                      value_range: tuple[float, float] | None = None, size: float = 3.5):
    """An image next to the discriminator's logit map for it, as a heat map.

    Args:
        image: (H, W, C) image the discriminator judged (e.g. the generated output).
        logits: (P, P), (P, P, 1) or (1, P, P, 1) patch logits; > 0 means "real".

    Returns:
        The figure: the image, the heat map (drawn over the image's extent, one cell per
        patch) and its colour bar: three axes.
    """
    arr = np.asarray(logits.numpy() if hasattr(logits, "numpy") else logits, dtype=np.float32)
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise ValueError(f"expected one map of logits (P, P), got shape {np.shape(logits)}")
    img = to_display(image, value_range)
    h, w = img.shape[:2]
    fig, (ax_img, ax_map) = plt.subplots(1, 2, figsize=(2 * size + 0.8, size))
    _imshow(ax_img, image, "image", value_range)
    lim = max(float(np.abs(arr).max()), 1e-6)
    im = ax_map.imshow(arr, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(0, w, h, 0),
                       interpolation="nearest")
    ax_map.set_title(f"{title} ({arr.shape[0]}x{arr.shape[1]})", fontsize=10)
    ax_map.set_xticks([])
    ax_map.set_yticks([])
    fig.colorbar(im, ax=ax_map, fraction=0.046, pad=0.04, label="logit (> 0: real)")
    fig.tight_layout()
    return fig
