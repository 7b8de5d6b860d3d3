"""Matplotlib figures of the notebook course: pairs, batches, translations, snapshots, patches.

Every function returns a :class:`matplotlib.figure.Figure` (made with ``pyplot``, so a
notebook shows it at the end of the cell; call ``plt.close(fig)`` in scripts), and
:func:`save_figure` writes any of them as PNG, SVG or PDF in one call. Images may
be tensors or arrays, one image (H, W, C) or (H, W), in either of the package's ranges:

* floating point images are taken to be in [-1, 1] (the generator's tanh range);
* ``uint8`` images in [0, 255].

Pass ``value_range=(0, 255)`` for float images in [0, 255], such as the output of
:func:`pix2pix_tf.data.decode_pair`.

The training curves (a run's history, the ln 2 line) are :mod:`pix2pix_tf.course.curves`;
:func:`save_figure` saves those figures too.

Example:
    >>> fig = show_pair(np.zeros((64, 64, 3)), np.ones((64, 64, 3)), titles=("A", "B"))
    >>> len(fig.axes)
    2
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from ..host import writes as safety

__all__ = ["to_display", "show_images", "show_pair", "show_batch", "show_translations",
           "show_columns", "snapshot_strip", "draw_receptive_field", "show_patch_logits", "save_figure"]


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


def show_columns(columns: Mapping[str, Sequence], max_rows: int | None = 4,
                 row_titles: Sequence[str] | None = None,
                 value_range: tuple[float, float] | None = None, size: float = 2.4):
    """One row per example, one titled column per entry of ``columns``: compare variants.

    Args:
        columns: ``{column title: images}``, e.g. ``{"input": x, "paper": g1, "target": y}``;
            each a batch (N, H, W, C) or a list of images.
        max_rows: show at most this many examples.
        row_titles: an extra caption per row, shown above its first image.

    Returns:
        The figure: ``rows * len(columns)`` axes, row by row.

    Example:
        >>> x = np.zeros((2, 8, 8, 3))
        >>> fig = show_columns({"input": x, "A": x, "B": -x, "target": x})
        >>> len(fig.axes), fig.axes[1].get_title()
        (8, 'A')
    """
    if not columns:
        raise ValueError("show_columns needs at least one column")
    return _rows(list(columns.values()), list(columns), max_rows, value_range, size, row_titles)


# -------------------------------------------------------------------------- snapshots
_EPOCH_PNG = re.compile(r"epoch_(\d+)\.png")


def _snapshot_files(run_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of the ImageSnapshot PNGs of a run folder (or of its images/ folder)."""
    folder = run_dir / "images" if (run_dir / "images").is_dir() else run_dir
    found = sorted((int(m.group(1)), p) for p in folder.glob("epoch_*.png")
                   if (m := _EPOCH_PNG.fullmatch(p.name)))
    if not found:
        raise FileNotFoundError(f"{folder}: no epoch_*.png snapshots (ImageSnapshot writes them "
                                "at each epoch end of a run)")
    return found


def _snapshot_tiles(path: Path, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input, output and target tile of test image ``row`` in one snapshot PNG, in [0, 1]."""
    grid = plt.imread(path)[..., :3]  # (rows*S, 3*S, 3) floats in [0, 1]; alpha dropped
    height, width = grid.shape[:2]
    side = width // 3
    if width % 3 or side == 0 or height % side:
        raise ValueError(f"{path}: {height}x{width} is not rows of input | output | target "
                         "square tiles")
    rows = height // side
    if not -rows <= row < rows:
        raise IndexError(f"{path}: row {row} out of range; the snapshots show {rows} test "
                         f"images (rows 0..{rows - 1})")
    band = grid[(row % rows) * side:(row % rows + 1) * side]  # (S, 3S, 3)
    return band[:, :side], band[:, side:2 * side], band[:, 2 * side:]


def snapshot_strip(run_dir, row: int = 0, max_epochs: int | None = None, ncols: int = 12,
                   size: float = 1.8):
    """Is it learning? The output for one fixed test image after each epoch, in one strip.

    Reads the PNGs that :class:`pix2pix_tf.run.callbacks.ImageSnapshot` writes at each
    epoch end (``images/epoch_0001.png`` ...: one row per test image, each row input |
    output | target tiles of the same size) and lines up the output tile of test image
    ``row`` from every epoch, between the input (left) and the target (right).

    Args:
        run_dir: a run folder (or its ``images/`` folder).
        row: which test image of the snapshots (0 = the first row).
        max_epochs: show at most this many epochs, evenly spaced, always with the first and
            the last (default: every epoch).
        ncols: tiles per line; a longer strip wraps onto further lines.
        size: inches per tile.

    Returns:
        The figure: axes input, one per epoch shown (titled "epoch N"), target, in order.

    Raises:
        FileNotFoundError: no snapshot PNGs in the folder.
        IndexError: ``row`` is not a row of the snapshots.
        ValueError: a PNG is not rows of three square tiles; ``max_epochs`` < 1.

    Example:
        >>> fig = snapshot_strip("runs/course", max_epochs=10)  # doctest: +SKIP
    """
    if max_epochs is not None and max_epochs < 1:
        raise ValueError(f"max_epochs must be at least 1, got {max_epochs}")
    run_dir = Path(run_dir)
    snapshots = _snapshot_files(run_dir)
    if max_epochs is not None and len(snapshots) > max_epochs:
        picks = np.unique(np.round(np.linspace(0, len(snapshots) - 1, max_epochs)).astype(int))
        snapshots = [snapshots[i] for i in picks]
    outputs = [(epoch, _snapshot_tiles(path, row)[1]) for epoch, path in snapshots]
    source, _, target = _snapshot_tiles(snapshots[-1][1], row)
    images = [source, *(tile for _, tile in outputs), target]
    titles = ["input", *(f"epoch {epoch}" for epoch, _ in outputs), "target"]
    return show_images(images, titles, ncols=min(len(images), max(1, ncols)), value_range=(0, 1),
                       size=size, suptitle=f"test image {row}: the output after each epoch")


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


# ---------------------------------------------------------------------------- saving
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
# no creation date in SVG / PDF files: saving the same figure again writes the same bytes
_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}


def save_figure(fig, path, dpi: int = 150) -> Path:
    """Save a figure as PNG, SVG or PDF, chosen by the suffix of ``path``: one call for slides.

    The parent folder is created. The file is rendered in memory, then written to a
    temporary file in the same folder and renamed over ``path``: a save that fails leaves
    no half-written file (and an earlier ``path`` untouched).

    Args:
        fig: a matplotlib figure, e.g. what any function of this module returns.
        path: where to write; ``.png``, ``.svg`` or ``.pdf`` (any case).
        dpi: resolution of a PNG (and of images embedded in SVG / PDF).

    Returns:
        ``path`` as a Path.

    Raises:
        ValueError: another suffix (nothing is written).
        WriteError: the file cannot be written (the message names it and why).

    Example:
        >>> fig = show_images([np.zeros((8, 8, 3))])
        >>> save_figure(fig, "figures/zeros.svg").read_bytes().lstrip()[:5]
        b'<?xml'
        >>> save_figure(fig, "zeros.jpg")
        Traceback (most recent call last):
        ...
        ValueError: zeros.jpg: save_figure writes .png, .svg or .pdf (chosen by the suffix), not '.jpg'
        >>> plt.close(fig)
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: save_figure writes .png, .svg or .pdf (chosen by the suffix), "
                         f"not {path.suffix or 'no suffix'!r}")
    buffer = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": "pix2pix-tf"}):  # SVG ids from a fixed salt, not random
        fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_NO_DATE.get(fmt))
    with safety.os_errors_as(path.parent, "cannot create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    return safety.atomic_write_bytes(path, buffer.getvalue())
