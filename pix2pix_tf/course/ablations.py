"""The paper's ablations: what the L1 term, the cGAN term and the PatchGAN's size each do.

Section 4.2 (table 1, figure 4) trains one generator with L1 alone, the cGAN alone and
both (:data:`LAMBDA_SWEEP` goes between them: the L1 weight lambda from 0 to 1000);
section 4.4 (table 3, figure 6) changes the discriminator's patch from 1x1
(PixelGAN) through 16x16 and 70x70 to 286x286 (ImageGAN at 256x256); figure 5 removes
the U-Net's skip connections. Each ablation here is an ordered ``{label: config changes}``
dict; :func:`run_ablation` trains one run per variant with :func:`pix2pix_tf.run.train.train`
(same seed, data and steps for all), and returns one row of numbers per variant:

* test L1 / PSNR / SSIM, the paper's kind of per-pixel scores;
* :func:`sharpness` of the outputs next to that of the real targets: L1 alone gives
  blurry outputs (less gradient than the real images), a GAN term sharper ones (section
  4.2: "L1 alone leads to reasonable but blurry results");
* the discriminator's receptive field and both networks' parameter counts, and the
  training seconds.

:func:`ablation_table` formats the rows as markdown and :func:`show_ablation` draws the
outputs of every run for the same test images, one row per variant (figures 4 and 6);
:func:`plot_lambda_sweep` draws the test L1 and the sharpness of a lambda sweep against lambda.

Each run lives in ``OUT/<label>/`` (a normal run directory plus ``ablation.json``); a
second call with the same config, steps and data reuses it instead of training again,
also when another label already trained the same config (the paper's L1+cGAN with a 70x70
PatchGAN is in both ablations).

Example:
    >>> base = Pix2PixConfig(image_size=128, load_size=143)
    >>> rows = run_ablation(OBJECTIVE_ABLATION, base, "data/facades_synthetic",
    ...                     "runs/ablations", steps=300)  # doctest: +SKIP
    >>> print(ablation_table(rows))  # doctest: +SKIP
    >>> fig = show_ablation(rows, "data/facades_synthetic", count=4)  # doctest: +SKIP

Reference: Isola et al. 2017, sections 4.2-4.4, tables 1 and 3, figures 4-6.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from . import plotting
from ..host import manifests
from ..host import writes as safety
from ..config import Pix2PixConfig, Pix2PixError
from ..data import find_test_split, make_dataset
from ..successors.config import make_config
from ..successors.networks import build_successor_discriminator, receptive_field
from ..losses import objective_terms
from ..run.folder import ABLATION_RECORD, SUMMARY, load_run_config
from ..run.loading import load_run
from ..run.options import KEPT_ON_RESUME, RunOptions, run_options
from ..run.train import train

# label -> config changes. Each variant names every field it is about, so the other
# ablation's choice in the base config cannot change what its label says.
OBJECTIVE_ABLATION = {  # figure 4 and table 1: with a 70x70 PatchGAN (the base config's D)
    "L1": {"loss": "l1"},  # lambda * L1 alone: no discriminator
    "cGAN": {"loss": "cgan"},  # lambda = 0: the conditional GAN alone
    "L1+cGAN": {"loss": "l1+cgan"},  # the paper's objective (equation 4)
}
UNCONDITIONAL_ABLATION = {  # the rest of table 1: D does not see the input image
    "GAN": {"loss": "gan"},
    "L1+GAN": {"loss": "l1+gan"},
}
PATCH_ABLATION = {  # figure 6 and table 3: with L1+cGAN (the base config's objective)
    "1x1 (PixelGAN)": {"net_d": "pixel"},
    "16x16": {"net_d": "patch", "n_layers_d": 1},
    "70x70": {"net_d": "patch", "n_layers_d": 3},  # the paper's default
    "286x286": {"net_d": "patch", "n_layers_d": 5},  # the "ImageGAN" at 256x256
}
_PAPER_D = {"net_d": "patch", "n_layers_d": 3}  # the 70x70 PatchGAN
SUCCESSOR_LEVERS = {  # not in the paper: changes from its successors, each alone (all off by default)
    "EMA of G": {"ema_decay": 0.999},  # serve an average of G's weights (progressive GANs and later)
    "feature matching": {"lambda_fm": 10.0},  # pix2pixHD: G matches D's features of real pairs
    "2-scale D": {"num_d": 2},  # pix2pixHD: a second PatchGAN on the pair at half size
    "hinge loss": {"gan_mode": "hinge"},  # SAGAN / BigGAN's GAN loss
    "spectral norm": {"spectral_norm": True},  # Miyato et al. 2018: D's layers 1-Lipschitz
    "resize-convolution": {"upsample": "resize"},  # Odena et al. 2016: no checkerboard
}


def lambda_sweep(lambdas: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Variants that change only the L1 weight lambda of equation 4: ``{"lambda=10": changes}``.

    Every variant keeps the cGAN term and the paper's 70x70 PatchGAN. lambda = 0 is the
    cGAN alone, spelled ``loss="cgan"`` (``lambda_l1`` is then unused): with a base config
    that has the 70x70 D it is :data:`OBJECTIVE_ABLATION`'s "cGAN" run, and lambda = 100 its
    "L1+cGAN" run, so :func:`run_ablation` reuses those.

    Args:
        lambdas: the weights, each >= 0 (order kept).

    Raises:
        AblationError: a negative or repeated weight.

    Example:
        >>> sweep = lambda_sweep([0, 100])
        >>> sweep["lambda=0"]
        {'loss': 'cgan', 'net_d': 'patch', 'n_layers_d': 3}
        >>> sweep["lambda=100"]
        {'loss': 'l1+cgan', 'lambda_l1': 100.0, 'net_d': 'patch', 'n_layers_d': 3}

    Reference: Isola et al. 2017, section 3.1, equation 4.
    """
    variants = {}
    for lam in lambdas:
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not (math.isfinite(lam) and lam >= 0):
            raise AblationError(f"lambda {lam!r}: the L1 weight must be a finite number >= 0")
        label = f"lambda={lam:g}"
        if label in variants:
            raise AblationError(f"lambda {lam:g} is in the sweep twice")
        changes = {"loss": "cgan"} if lam == 0 else {"loss": "l1+cgan", "lambda_l1": float(lam)}
        variants[label] = {**changes, **_PAPER_D}
    return variants


# the L1 weight of equation 4 from 0 (the cGAN alone) through the paper's 100 to 1000
# (L1 dominates: close to L1 alone), with the cGAN term on and the paper's 70x70 PatchGAN
LAMBDA_SWEEP = lambda_sweep((0, 1, 10, 100, 1000))
GENERATOR_ABLATION = {  # figure 5: the same layers with and without skip connections
    "encoder-decoder": {"net_g": "encoder_decoder"},
    "U-Net": {"net_g": "unet"},
}

RECORD = ABLATION_RECORD  # in each run folder: what it was trained with, and its measures
_RUN_CONTROL = ("resume", "overwrite")  # run_ablation decides these


class AblationError(Pix2PixError):
    """An ablation cannot be run as asked (a variant does not fit, no test split, ...)."""


# ------------------------------------------------------------------------------ sharpness
def sharpness(images) -> tf.Tensor:
    """Mean gradient magnitude of each image: how much detail (or noise) it has.

    The images (in [-1, 1]) are turned to gray in [0, 1]; the differences to the next
    pixel down and to the right (:func:`tf.image.image_gradients`) give the change of
    intensity per pixel, and the length of that gradient is averaged over the image.
    A blurred copy scores lower than its original and a flat image 0; one-pixel stripes
    and checkerboards (a GAN artefact) score high, which a centred (Sobel) derivative
    would miss. Compare outputs with the real targets of the same images: below them
    means blurrier than real, above them more high-frequency content than real (sharp
    detail or artefacts: look at the images).

    Args:
        images: (batch, H, W, C) tensor or array in [-1, 1], C = 1 or 3.

    Returns:
        (batch,) float32 tensor.

    Example:
        >>> round(float(sharpness(tf.zeros((1, 8, 8, 3)))[0]), 6)  # flat: no gradient
        0.0

    Reference: Isola et al. 2017, sections 4.2-4.4 (L1 "blurry", cGAN "sharp").
    """
    x = (tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0) + 1.0) / 2.0
    if x.shape[-1] == 3:
        x = tf.image.rgb_to_grayscale(x)  # (batch, H, W, 1)
    dy, dx = tf.image.image_gradients(x)  # (batch, H, W, 1) each; 0 on the last row / column
    return tf.reduce_mean(tf.sqrt(dy ** 2 + dx ** 2), axis=[1, 2, 3])


# ------------------------------------------------------------------------------ variants
def variant_configs(variants: Mapping[str, Mapping[str, Any]],
                    base_config: Pix2PixConfig) -> dict[str, Pix2PixConfig]:
    """The config of every variant: ``base_config`` with the variant's changes (validated).

    Raises:
        AblationError: a variant's changes give a config whose discriminator cannot be
            built at the base image size (e.g. 286x286 at 64x64), naming the variant.
        ConfigError: a change names an unknown field or a bad value.

    Example:
        >>> cfgs = variant_configs(OBJECTIVE_ABLATION, Pix2PixConfig(image_size=64, load_size=72))
        >>> [c.loss for c in cfgs.values()]
        ['l1', 'cgan', 'l1+cgan']
    """
    if not variants:
        raise AblationError("no variants to run")
    configs, slugs = {}, {}
    for label, changes in variants.items():
        slug = run_name(label)
        if slug in slugs:
            raise AblationError(f"variants {slugs[slug]!r} and {label!r} would share the run "
                                f"folder {slug!r}: rename one")
        slugs[slug] = label
        configs[label] = make_config(**{**base_config.to_dict(), **changes})  # the successors' for a lever
        try:
            discriminator_receptive_field(configs[label])  # a too-deep D fails here, not mid-run
        except Pix2PixError as e:
            raise AblationError(f"variant {label!r}: {e}") from None
    return configs


def discriminator_receptive_field(config: Pix2PixConfig) -> int | None:
    """Pixels one discriminator logit sees (1, 16, 70, 286), or None when the loss has no D.

    Builds the discriminator of ``config`` to measure it (see
    :func:`pix2pix_tf.discriminator.receptive_field`).

    Reference: Isola et al. 2017, section 4.4 and table 3.
    """
    if not objective_terms(config.loss)[1]:
        return None
    return receptive_field(build_successor_discriminator(config))  # the full-size scale's


def l1_weight(config: Pix2PixConfig) -> float:
    """The weight lambda of the L1 term in the generator's objective: 0 when the loss has none.

    Example:
        >>> base = Pix2PixConfig(image_size=64, load_size=72)
        >>> [l1_weight(c) for c in variant_configs(LAMBDA_SWEEP, base).values()]
        [0.0, 1.0, 10.0, 100.0, 1000.0]

    Reference: Isola et al. 2017, section 3.1, equation 4.
    """
    return float(config.lambda_l1) if objective_terms(config.loss)[0] else 0.0


def run_name(label: str) -> str:
    """The run folder name of a variant label: ``"1x1 (PixelGAN)"`` -> ``"1x1_pixelgan"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    if not slug:
        raise AblationError(f"variant label {label!r} has no letters or digits to name its run folder")
    return slug


# ------------------------------------------------------------------------------ running
def run_ablation(variants: Mapping[str, Mapping[str, Any]], base_config: Pix2PixConfig,
                 data_dir: str | Path, out_dir: str | Path, steps: int, *, retrain: bool = False,
                 log: Callable[[str], None] | None = print, **train_kwargs) -> list[dict]:
    """Train every variant of an ablation (or reuse its run) and measure it on the test split.

    All variants share ``base_config``'s seed, so they start from the same weights (where
    the networks are the same) and see the same images in the same order.

    Args:
        variants: ``{label: config changes}``, e.g. :data:`OBJECTIVE_ABLATION`.
        base_config: the config the changes apply to (sizes, widths, direction, seed).
        data_dir: aligned dataset folder with ``train/`` and ``test/`` or ``val/``.
        out_dir: one run folder per variant is made in it: ``out_dir/<run_name(label)>``.
        steps: generator updates per variant.
        retrain: train again even where a matching run exists.
        log: called with one line per variant (None: silent).
        **train_kwargs: run options passed to :func:`pix2pix_tf.run.train.train`: fields of
            :class:`~pix2pix_tf.run.options.RunOptions`, or ``options``, a RunOptions whose
            non-default fields count as given (``export`` defaults to False and ``verbose``
            to 0 here); they are part of what must match for reuse.

    Returns:
        One dict per variant, in order: ``label``, ``changes``, ``run_dir``, ``trained``
        (False: reused), ``steps``, ``d_receptive_field`` (None without a D), ``g_params``,
        ``d_params`` (trainable; None without a D), ``l1``, ``psnr``, ``ssim`` (test split,
        the config's inference mode), ``sharpness`` and ``target_sharpness`` (means over the
        test split, see :func:`sharpness`), ``test_images`` and ``seconds`` (training wall
        time, graph tracing included).

    Raises:
        AblationError: no test split, a variant that does not fit (see
            :func:`variant_configs`), or a ``resume`` / ``overwrite`` argument.
        TypeError: a keyword that is not a run option (named).

    Reference: Isola et al. 2017, sections 4.2 and 4.4.
    """
    for name in _RUN_CONTROL:
        if name in train_kwargs:
            raise AblationError(f"run_ablation decides {name!r} itself (pass retrain=True to train again)")
    given = train_kwargs.pop("options", None)
    if given is not None:  # a RunOptions: its fields that are not the defaults, under the keywords
        defaults = RunOptions().to_dict()
        chosen = run_options(given, caller="run_ablation").to_dict()
        train_kwargs = {**{k: v for k, v in chosen.items() if v != defaults[k]}, **train_kwargs}
    train_kwargs = {"export": False, "verbose": 0, **train_kwargs}
    run_options(caller="run_ablation", **{"steps": steps, **train_kwargs})  # refuse bad options up front
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if find_test_split(data_dir) is None:
        raise AblationError(f"{data_dir}: no test/ or val/ split to measure the variants on")
    configs = variant_configs(variants, base_config)
    say = log or (lambda line: None)
    rows = []
    for label, config in configs.items():
        key = _run_key(config, data_dir, steps, train_kwargs)
        run_dir = None if retrain else _find_run(out_dir, run_name(label), key)
        trained = run_dir is None
        if trained:
            run_dir = out_dir / run_name(label)
            say(f"{label}: training {steps} steps -> {run_dir}")
            (run_dir / RECORD).unlink(missing_ok=True)  # a stale record must not outlive its run
            train(config, data_dir, run_dir, steps=steps, overwrite=True, **train_kwargs)
            _write_record(run_dir, {"key": key})
        else:
            say(f"{label}: reusing {run_dir}")
        record = json.loads((run_dir / RECORD).read_text())
        if "measures" not in record:
            record["measures"] = _measure(run_dir, data_dir)
            _write_record(run_dir, record)
        summary = json.loads((run_dir / SUMMARY).read_text())
        rows.append({"label": label, "changes": dict(variants[label]), "run_dir": str(run_dir),
                     "trained": trained, "steps": summary["steps"], **record["measures"],
                     **{k: summary["test"].get(k) for k in ("l1", "psnr", "ssim")},
                     "seconds": summary["wall_seconds"]})
    return rows


def _run_key(config: Pix2PixConfig, data_dir: Path, steps: int, train_kwargs: dict) -> dict:
    """What a run folder must have been trained with to be reused (JSON-comparable).

    The run options a run keeps (precision, conv_impl) sit with the config's fields, where
    records written before they were run options hold them: those runs are reused too.
    """
    options = {k: v for k, v in sorted(train_kwargs.items())
               if k not in ("verbose", "export", *KEPT_ON_RESUME)}
    kept = run_options(**{k: v for k, v in train_kwargs.items() if k in KEPT_ON_RESUME}).kept_on_resume()
    return json.loads(json.dumps({"config": {**config.to_dict(), **kept}, "steps": steps,
                                  "data_dir": str(data_dir.resolve()), "train": options}, default=str))


def _find_run(out_dir: Path, name: str, key: dict) -> Path | None:
    """A finished run in ``out_dir`` trained with ``key``: ``out_dir/name`` first, then any other."""
    if not out_dir.is_dir():
        return None
    others = sorted(p for p in out_dir.iterdir() if p.is_dir() and p.name != name)
    for run in (out_dir / name, *others):
        try:
            record = json.loads((run / RECORD).read_text())
        except (OSError, ValueError):
            continue
        if record.get("key") == key and (run / SUMMARY).is_file():
            return run
    return None


def _write_record(run_dir: Path, record: dict) -> None:
    """Write the variant's record into its run folder (atomically; listed in the run's manifest)."""
    if manifests.read_manifest(run_dir) is not None:
        manifests.record_written(run_dir, [RECORD])
    safety.atomic_write_text(run_dir / RECORD, json.dumps(record, indent=2) + "\n")


def _trainable(model) -> int:
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))


def _measure(run_dir: Path, data_dir: Path, batch_size: int = 8) -> dict:
    """Receptive field, parameter counts and mean sharpness of outputs and targets on the test split."""
    model = load_run(run_dir)
    config = model.config
    has_d = objective_terms(config.loss)[1]
    ds, n = make_dataset(data_dir, find_test_split(data_dir), config, training=False,
                         batch_size=batch_size)
    fake, real = [], []
    for x, y in ds:
        fake.append(sharpness(model.inference_generator(x, training=False)))
        real.append(sharpness(y))
    return {"d_receptive_field": receptive_field(model.discriminator) if has_d else None,
            "g_params": _trainable(model.generator),
            "d_params": _trainable(model.discriminator) if has_d else None,
            "sharpness": float(tf.reduce_mean(tf.concat(fake, 0))),
            "target_sharpness": float(tf.reduce_mean(tf.concat(real, 0))),
            "test_images": n}


# ------------------------------------------------------------------------------ reporting
def _count(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def ablation_table(rows: Sequence[dict]) -> str:
    """The rows of :func:`run_ablation` as a markdown table, plus a row for the real targets.

    Columns: variant, D's receptive field, G / D parameters, test L1 (lower is better),
    PSNR (dB) and SSIM (higher is better), sharpness (and its ratio to the real targets'),
    training seconds.

    Example:
        >>> row = {"label": "L1", "d_receptive_field": None, "g_params": 54_000, "d_params": None,
        ...        "l1": 0.25, "psnr": 14.2, "ssim": 0.41, "sharpness": 0.02,
        ...        "target_sharpness": 0.04, "seconds": 12.0}
        >>> print(ablation_table([row]))
        | variant | D field | G params | D params | L1 | PSNR | SSIM | sharpness (x real) | train s |
        | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
        | L1 | - | 54.0k | - | 0.2500 | 14.20 | 0.410 | 0.0200 (0.50x) | 12 |
        | real targets | | | | | | | 0.0400 (1.00x) | |
    """
    if not rows:
        raise AblationError("no rows to tabulate")
    lines = ["| variant | D field | G params | D params | L1 | PSNR | SSIM | sharpness (x real) | train s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        field = "-" if r["d_receptive_field"] is None else f"{r['d_receptive_field']}x{r['d_receptive_field']}"
        ratio = r["sharpness"] / r["target_sharpness"] if r["target_sharpness"] else float("nan")
        lines.append(f"| {r['label']} | {field} | {_count(r['g_params'])} | {_count(r['d_params'])} "
                     f"| {r['l1']:.4f} | {r['psnr']:.2f} | {r['ssim']:.3f} "
                     f"| {r['sharpness']:.4f} ({ratio:.2f}x) | {r['seconds']:.0f} |")
    real = float(np.mean([r["target_sharpness"] for r in rows]))
    lines.append(f"| real targets | | | | | | | {real:.4f} (1.00x) | |")
    return "\n".join(lines)


def ablation_outputs(rows: Sequence[dict], data_dir: str | Path, count: int = 4):
    """Every run's outputs for the same first ``count`` test images.

    Args:
        rows: from :func:`run_ablation` (their runs must share image size and direction).
        data_dir: the dataset the runs were trained on.
        count: how many test images.

    Returns:
        ``(inputs, targets, {label: outputs})``, numpy arrays (count, S, S, C) in [-1, 1].
    """
    configs = [load_run_config(r["run_dir"]) for r in rows]
    shapes = {(c.image_size, c.direction, c.input_channels, c.output_channels) for c in configs}
    if len(shapes) != 1:
        raise AblationError("the runs differ in image size, direction or channels; "
                            "their outputs cannot be shown for the same inputs")
    ds, _ = make_dataset(data_dir, find_test_split(data_dir), configs[0], training=False,
                         batch_size=count)
    x, y = next(iter(ds))
    outputs = {r["label"]: load_run(r["run_dir"]).inference_generator(x, training=False).numpy() for r in rows}
    return x.numpy(), y.numpy(), outputs


def show_ablation(rows: Sequence[dict], data_dir: str | Path, count: int = 4, size: float = 2.0,
                  title: str | None = None):
    """The same test images through every variant: one row per variant (figures 4 and 6).

    Rows, top to bottom: the inputs, each variant's outputs (named on the left), the
    targets; one column per test image.

    Returns:
        The matplotlib figure (``(len(rows) + 2) * count`` axes).

    Reference: Isola et al. 2017, figures 4 and 6.
    """
    inputs, targets, outputs = ablation_outputs(rows, data_dir, count)
    names = ["input", *outputs, "target"]
    images = [*inputs, *[img for out in outputs.values() for img in out], *targets]
    n = len(inputs)
    fig = plotting.show_images(images, ncols=n, size=size, suptitle=title)
    for r, name in enumerate(names):
        fig.axes[r * n].set_ylabel(name, fontsize=10)
    fig.tight_layout()
    return fig


def plot_lambda_sweep(rows: Sequence[dict], size: tuple[float, float] = (9.0, 3.4)):
    """Test L1 and sharpness (relative to the real targets) against the L1 weight lambda.

    Lambda is read from each run's config (:func:`l1_weight`: 0 for a loss without the L1
    term). The x axis is logarithmic from 1 up and linear between 0 and 1 (``symlog``), so
    that lambda = 0 has a place next to 1, 10, 100, 1000.

    Args:
        rows: from :func:`run_ablation`, e.g. of :data:`LAMBDA_SWEEP` (any order).
        size: figure size in inches.

    Returns:
        The matplotlib figure: two axes, test L1 (left) and sharpness x real (right, with a
        dashed line at 1.0, the real images).

    Reference: Isola et al. 2017, section 4.2 (lambda = 100 balances the two terms).
    """
    import matplotlib.pyplot as plt

    if not rows:
        raise AblationError("no rows to plot")
    points = sorted(((l1_weight(load_run_config(r["run_dir"])), r) for r in rows), key=lambda p: p[0])
    lambdas = [lam for lam, _ in points]
    if len(set(lambdas)) != len(lambdas):
        raise AblationError(f"two runs share a lambda ({lambdas}): one line needs one run per lambda")
    fig, axes = plt.subplots(1, 2, figsize=size)
    series = (("test L1 (lower: closer per pixel)", [r["l1"] for _, r in points]),
              ("sharpness (x real)", [r["sharpness"] / r["target_sharpness"] for _, r in points]))
    for ax, (name, values) in zip(axes, series):
        ax.plot(lambdas, values, "o-")  # the ticks name the lambdas
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xticks(lambdas)
        ax.set_xticklabels([f"{lam:g}" for lam in lambdas])
        ax.set_xlabel("lambda (weight of L1)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.25)
    axes[1].axhline(1.0, ls="--", c="gray", label="real images")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
