"""Draw the course's result figures (notebooks/images/*.png) from run folders.

The notebooks show these in their introductions, so a reader sees what a full run gives
before running anything. The runs are longer than the notebooks' quick mode: 2000 steps at
128x128 on the bundled sample (``data/facades_synthetic``, label map -> facade), made with

    for variant in "paper:" "l1:--loss l1" "cgan:--loss cgan" "strong_d:--d-lr-scale 10"; do
        pix2pix-tf train --data data/facades_synthetic --image-size 128 --steps 2000 \\
            --direction AtoB --out RUNS/${variant%%:*} ${variant#*:}
    done
    python notebooks/tools/make_figures.py --runs RUNS

Every figure is a small PNG (tests/test_figures.py keeps each under MAX_BYTES) whose title
says what made it.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "notebooks" / "images"
SAMPLE = ROOT / "data" / "facades_synthetic"
MAX_BYTES = 250_000  # per figure: the repository stays small
ROWS = 3  # test examples per figure
RUNS = ("paper", "l1", "cgan", "strong_d")  # the run folders --runs holds


def _title(fig, text: str) -> None:
    """A title above the figure's own axis titles."""
    fig.suptitle(text, fontsize=9, y=1.04)


def _save(fig, name: str) -> Path:
    """Write ``fig`` as an 8-bit palette PNG (a quarter of an RGB PNG's size for these figures)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72, bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    path = IMAGES / name
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{path}: {size} bytes, over {MAX_BYTES}: draw it smaller")
    print(f"{path.relative_to(ROOT)}: {size // 1000} kB")
    return path


def _test_batch(run: Path):
    """The run's model and ROWS test examples (input, target) of the sample, in [-1, 1]."""
    from pix2pix_tf.data import find_test_split, make_dataset
    from pix2pix_tf.run.loading import load_run

    model = load_run(run)
    ds, _ = make_dataset(SAMPLE, find_test_split(SAMPLE), model.config, training=False, batch_size=ROWS)
    x, y = next(iter(ds))
    return model, x, y


def _outputs(run: Path, x):
    from pix2pix_tf.run.loading import load_run

    return load_run(run).inference_generator(x, training=False)


def sample_pairs() -> None:
    """01: what a paired dataset is (no training)."""
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.course.plotting import show_batch
    from pix2pix_tf.data import find_test_split, make_dataset

    cfg = Pix2PixConfig(image_size=128, load_size=128)
    ds, _ = make_dataset(SAMPLE, find_test_split(SAMPLE), cfg, training=False, batch_size=ROWS)
    x, y = next(iter(ds))
    fig = show_batch(x, y, max_rows=ROWS, size=1.6)
    _title(fig, "the bundled sample: label map (input) and facade (target)")
    _save(fig, "sample_pairs.png")


def unet_diagram() -> None:
    """02: the U-Net the notebook builds (no training)."""
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.course.diagrams import draw_unet

    fig = draw_unet(Pix2PixConfig(image_size=256, load_size=286), width=7.0)
    _save(fig, "unet.png")


def recipes() -> None:
    """09: the five task recipes applied to one photo of the sample (no training)."""
    from pix2pix_tf.course.plotting import show_images
    from pix2pix_tf.datasets.degradations import degrade
    from pix2pix_tf.datasets.recipe_options import TASKS

    photo = np.asarray(Image.open(sorted((SAMPLE / "test").glob("*.jpg"))[0]).convert("RGB"))
    photo = photo[:, photo.shape[1] // 2:]  # the B half: the facade photo
    images = [photo / 127.5 - 1]
    for task in TASKS:
        a = degrade(task, photo, 0).numpy()
        images.append(np.repeat(a, 3, -1) / 127.5 - 1 if a.shape[-1] == 1 else a / 127.5 - 1)
    fig = show_images(images, ["photo (B)", *TASKS], ncols=6, size=1.3)
    _title(fig, "the recipes' inputs (A), each made from the same photo")
    _save(fig, "recipes.png")


def results(runs: Path) -> None:
    """03-06: input | output | target after the full run, and its loss curves."""
    from pix2pix_tf.course.curves import plot_history
    from pix2pix_tf.course.plotting import show_translations

    model, x, y = _test_batch(runs / "paper")
    fig = show_translations(x, model.inference_generator(x, training=False), y, max_rows=ROWS, size=1.6)
    _title(fig, "the paper's pix2pix after 2000 steps (128x128, bundled sample, test images)")
    _save(fig, "results.png")
    fig = plot_history(runs / "paper" / "history.csv", keys=["d_loss", "g_gan", "g_l1"], xlabel="epoch (40 steps)")
    _title(fig, "the same run's losses: D below ln 2 (it tells the pairs apart), G's GAN term above, L1 falling")
    _save(fig, "curves.png")


def objectives(runs: Path) -> None:
    """07: the paper's table 1 as pictures: L1 alone, cGAN alone, both."""
    from pix2pix_tf.course.plotting import show_columns

    _, x, y = _test_batch(runs / "paper")
    columns = {"input": x}
    for label, run in (("L1 only", "l1"), ("cGAN only", "cgan"), ("L1 + cGAN", "paper")):
        columns[label] = _outputs(runs / run, x)
    columns["target"] = y
    fig = show_columns(columns, max_rows=ROWS, size=1.5)
    _title(fig, "the objective ablation after 2000 steps each (128x128, bundled sample)")
    _save(fig, "objectives.png")


def strong_d(runs: Path) -> None:
    """08 (a): D's learning rate x10 against the paper's equal rates."""
    from pix2pix_tf.course.curves import read_history

    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.6))
    for ax, key in zip(axes, ("d_loss", "g_gan")):
        for label, run in (("paper", "paper"), ("D lr x10", "strong_d")):
            history = read_history(runs / run / "history.csv")
            ax.plot(history[key], label=label)
        ax.axhline(np.log(2), ls="--", c="grey", lw=0.8)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch (40 steps)", fontsize=8)
        ax.legend(fontsize=7)
    _title(fig, "D's learning rate x10 against the paper's, 2000 steps each (bundled sample; dashed: ln 2)")
    _save(fig, "strong_d.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, help=f"a folder holding the run folders {', '.join(RUNS)}")
    args = parser.parse_args()
    if args.runs:  # checked before anything is drawn
        missing = [r for r in RUNS if not (args.runs / r / "config.json").is_file()]
        if missing:
            parser.error(f"--runs {args.runs}: no run folder {', '.join(missing)}")
    IMAGES.mkdir(exist_ok=True)
    sample_pairs()
    unet_diagram()
    recipes()
    if args.runs:
        results(args.runs)
        objectives(args.runs)
        strong_d(args.runs)


if __name__ == "__main__":
    main()
