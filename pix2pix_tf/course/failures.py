"""Failures on purpose: the variants, measures and figures of notebook 08 (when GANs go wrong).

Each classic failure of GAN training has a symptom that can be measured, not only seen:

* **D overpowers G** (:data:`STRONG_D`): D's loss falls towards 0 while G's GAN term
  climbs; read the curves of a run with :func:`load_curves` and ``curves.plot_history``
  (its dashed ln 2 line is the loss of a D that cannot tell real from fake);
* **no L1 term** (:data:`NO_L1`): colour blotches and artefacts; the pictures say it;
* **checkerboard** (:data:`CHECKERBOARD`): power at the period-2 frequencies of the output
  (:func:`checkerboard_energy`, :func:`power_spectrum`, :func:`show_spectra`);
* **moving-average BatchNorm at batch 1**: washed-out outputs
  (:func:`outputs_by_inference_mode`);
* **ignoring the input** (:data:`COLLAPSE`): outputs that barely change from one input
  to the next (:func:`spread_across_inputs`).

The variants are ``{label: config changes}`` tables like those of
:mod:`pix2pix_tf.course.ablations`, and :func:`pix2pix_tf.course.ablations.run_ablation` trains
them (reusing the paper's run, which every table shares).

Example:
    >>> images = np.zeros((1, 8, 8, 1))
    >>> images[0, ::2, ::2] = 1.0  # a 2x2 period pattern: all of its power is at Nyquist
    >>> float(checkerboard_energy(images)[0])
    1.0
    >>> spread_across_inputs(np.stack([images[0], images[0]]))  # the same output twice
    0.0
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..run.folder import HISTORY, SUMMARY

# label -> config changes (pix2pix_tf.course.ablations' format); each table starts with the paper
PAPER = {"paper": {"loss": "l1+cgan", "d_lr_scale": 1.0, "upsample": "transpose"}}
STRONG_D = {**PAPER, "D lr x10": {"d_lr_scale": 10.0}}  # D learns 10x faster than G
NO_L1 = {**PAPER, "no L1 (cGAN only)": {"loss": "cgan"}}  # lambda = 0: the GAN term alone
CHECKERBOARD = {**PAPER, "resize-conv": {"upsample": "resize"}}  # the fix, trained
COLLAPSE = {**PAPER, "GAN only, no skips": {"loss": "gan", "net_g": "encoder_decoder"}}

# ------------------------------------------------------------------------------ curves
def load_curves(run_dir: str | Path) -> dict[str, list[float]]:
    """A run's ``history.csv`` as ``{name: values}``, with a ``step`` series for the x axis.

    Each row of the history is the mean over one Keras epoch (``steps_per_epoch`` steps);
    ``step`` is the generator update at the end of it, read from the run's summary.

    Args:
        run_dir: a finished run folder (``history.csv`` and ``summary.json``).

    Returns:
        ``{"step": [...], "d_loss": [...], "g_gan": [...], ...}`` ready for
        :func:`pix2pix_tf.course.curves.plot_history`.

    Raises:
        FileNotFoundError: the run has no history (it did not finish an epoch).
    """
    from .curves import read_history

    run_dir = Path(run_dir)
    try:
        curves = read_history(run_dir / HISTORY)
    except ValueError as e:  # a header and no epoch
        raise FileNotFoundError(str(e)) from None
    rows = len(curves.pop("epoch"))
    try:
        steps = int(json.loads((run_dir / SUMMARY).read_text())["steps"])
    except (OSError, ValueError, KeyError):
        steps = rows
    curves["step"] = [round((i + 1) * steps / rows) for i in range(rows)]
    return curves


def same_ylim(figs: Sequence) -> None:
    """Give the panels with the same title in several figures the same y range (to compare)."""
    limits: dict[str, list[float]] = {}
    for fig in figs:
        for ax in fig.axes:
            lo, hi = ax.get_ylim()
            got = limits.setdefault(ax.get_title(), [lo, hi])
            got[0], got[1] = min(got[0], lo), max(got[1], hi)
    for fig in figs:
        for ax in fig.axes:
            ax.set_ylim(*limits[ax.get_title()])


# ------------------------------------------------------------------------- checkerboard
def _batch(images) -> np.ndarray:
    """(N, H, W, C) float64 from one image (H, W[, C]) or a batch, tensor or array."""
    arr = np.asarray(images.numpy() if hasattr(images, "numpy") else images, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None, :, :, None]
    elif arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"expected images (H, W[, C]) or (N, H, W, C), got shape {arr.shape}")
    return arr


def checkerboard_energy(images) -> np.ndarray:
    """Fraction of each image's variance at the period-2 frequencies (the checkerboard).

    The three patterns of period 2 pixels (alternating rows, alternating columns, and the
    checkerboard itself) are the Nyquist frequencies of the image's spectrum. A 4x4
    stride-2 transposed convolution computes pixels of different row/column parity with
    different weights, so its output puts power there; natural images put almost none
    (a random image: about 3 / (H * W)).

    Args:
        images: one image (H, W[, C]) or a batch (N, H, W, C), any range.

    Returns:
        float64 array (N,) in [0, 1]: power at the three Nyquist frequencies over the power
        at all frequencies but 0 (channels summed); 0 for a constant image.

    Example:
        >>> rows = np.tile([[1.0], [-1.0]], (4, 4))  # 8x8, alternating rows
        >>> checkerboard_energy(rows).round(3).tolist()
        [1.0]
    """
    x = _batch(images)
    x = x - x.mean(axis=(1, 2), keepdims=True)  # drop the DC term
    h, w = x.shape[1:3]
    i, j = np.arange(h)[:, None], np.arange(w)[None, :]
    patterns = [np.broadcast_to((-1.0) ** i, (h, w)), np.broadcast_to((-1.0) ** j, (h, w)),
                (-1.0) ** (i + j)]  # each of squared norm h * w
    power = sum(np.einsum("nhwc,hw->nc", x, p) ** 2 for p in patterns).sum(axis=1) / (h * w)
    total = (x ** 2).sum(axis=(1, 2, 3))
    return np.where(total > 0, power / np.where(total > 0, total, 1.0), 0.0)


def power_spectrum(image) -> np.ndarray:
    """The 2-D power spectrum of one image (channels averaged) as log10 shares, zero frequency centred.

    Each value is the share of the image's variance at that frequency, so spectra of images
    with different contrast can be compared on one colour scale. Period-2 patterns show as
    bright points in the corners and at the middle of the edges; a pattern of period 4
    halfway from the centre to them, and so on.

    Args:
        image: one image (H, W[, C]).

    Returns:
        float64 array (H, W): ``log10(share + 1e-12)`` after ``fftshift``; the mean is
        removed first, so the centre (frequency 0) is at the floor, -12.
    """
    x = _batch(image)
    if x.shape[0] != 1:
        raise ValueError(f"power_spectrum takes one image, got a batch of {x.shape[0]}")
    gray = x[0].mean(axis=-1)
    gray = gray - gray.mean()
    power = np.abs(np.fft.fftshift(np.fft.fft2(gray))) ** 2
    return np.log10(power / max(power.sum(), 1e-30) + 1e-12)


def stretch(image) -> np.ndarray:
    """Contrast-stretch an image to [-1, 1] around its mean (+-3 std), to see faint patterns."""
    x = _batch(image)[0]
    return np.clip((x - x.mean()) / (3.0 * x.std() + 1e-12), -1.0, 1.0)


def show_spectra(images: Sequence, titles: Sequence[str], stretched: bool = False,
                 size: float = 2.6, suptitle: str | None = None):
    """Images above their power spectra (one colour scale), with each one's checkerboard energy.

    Args:
        images: images (H, W[, C]) in [-1, 1].
        titles: one per image; the checkerboard energy is added below it.
        stretched: show the images contrast-stretched (:func:`stretch`), for untrained
            networks whose outputs are almost flat.
        size: inches per panel.
        suptitle: a title over the figure.

    Returns:
        The figure (2 * len(images) axes).
    """
    import matplotlib.pyplot as plt

    from .plotting import to_display

    images = list(images)
    if len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    # room for the two-line titles above the images and the labels under the spectra
    fig, axes = plt.subplots(2, len(images), figsize=(size * len(images), 2 * size + 1.0), squeeze=False)
    spectra = [power_spectrum(image) for image in images]
    top = max(float(s.max()) for s in spectra)
    for k, (image, title, spectrum) in enumerate(zip(images, titles, spectra)):
        shown = to_display(stretch(image) if stretched else image)
        axes[0, k].imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1,
                          interpolation="nearest")
        energy = float(checkerboard_energy(image)[0])
        axes[0, k].set_title(f"{title}\nperiod-2 power {100 * energy:.1f}%", fontsize=9)
        # one colour scale for all: 5 decades below the brightest frequency of any image
        axes[1, k].imshow(spectrum, cmap="inferno", vmin=top - 5, vmax=top, interpolation="nearest")
        # under the spectrum, not above it: a title there runs into the image above (issue 26)
        axes[1, k].set_xlabel("power spectrum (log)", fontsize=9)
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------- ignoring the input
def spread_across_inputs(outputs) -> float:
    """How much a batch of outputs differ from one another: the std across the batch, averaged.

    For every pixel and channel, the standard deviation of its value over the N outputs,
    then the mean over pixels and channels. Outputs that ignore their inputs (the same image
    whatever the input) score 0; compare with the same measure on the targets.

    Args:
        outputs: (N, H, W, C) with N >= 2, e.g. G's outputs for N different test inputs.

    Returns:
        A float >= 0, in the images' units ([-1, 1] images: at most 1).
    """
    x = _batch(outputs)
    if x.shape[0] < 2:
        raise ValueError("spread_across_inputs needs a batch of at least 2 outputs")
    return float(x.std(axis=0).mean())


# ------------------------------------------------------------------- inference modes
def outputs_by_inference_mode(run_dir: str | Path, data_dir: str | Path,
                              modes: Sequence[str] = ("deterministic", "paper", "moving_average"),
                              count: int = 4, batch_size: int = 1):
    """One trained generator's outputs for the same test images under several inference modes.

    Args:
        run_dir: a run folder.
        data_dir: the dataset it was trained on (its test split, else val).
        modes: inference modes (:data:`pix2pix_tf.config.INFERENCE_MODES`).
        count: how many test images.
        batch_size: images per generator call; 1 (the default) is how a model serves one
            image at a time, where moving-average BatchNorm goes wrong.

    Returns:
        ``(inputs, targets, {mode: outputs})``, numpy arrays (count, S, S, C) in [-1, 1].
    """
    from ..data import find_test_split, make_dataset
    from ..layers import set_inference_mode
    from ..run.loading import load_run

    model = load_run(run_dir)
    ds, _ = make_dataset(data_dir, find_test_split(data_dir), model.config, training=False,
                         batch_size=count)
    x, y = (t.numpy() for t in next(iter(ds)))
    outputs = {}
    generator = model.inference_generator  # G's EMA when the run kept one
    for mode in modes:
        set_inference_mode(generator, mode)
        outputs[mode] = np.concatenate([generator(x[i:i + batch_size], training=False).numpy()
                                        for i in range(0, len(x), batch_size)])
    set_inference_mode(generator, model.config.inference_mode)
    return x, y, outputs


def summarize_outputs(outputs: Mapping[str, np.ndarray], targets) -> dict[str, dict[str, float]]:
    """Per set of outputs: L1 to the targets, the pixel std (contrast) and the spread across inputs.

    Returns:
        ``{name: {"l1", "std", "spread"}}`` plus a ``"targets"`` entry (L1 0).
    """
    targets = _batch(targets)
    table = {}
    for name, out in {**outputs, "targets": targets}.items():
        out = _batch(out)
        table[name] = {"l1": float(np.abs(out - targets).mean()), "std": float(out.std()),
                       "spread": spread_across_inputs(out)}
    return table


__all__ = ["PAPER", "STRONG_D", "NO_L1", "CHECKERBOARD", "COLLAPSE", "load_curves", "same_ylim",
           "checkerboard_energy", "power_spectrum", "stretch", "show_spectra",
           "spread_across_inputs", "outputs_by_inference_mode", "summarize_outputs"]
