"""Shared fixtures: tiny configs and tiny aligned datasets written to tmp folders."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.config import Pix2PixConfig

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO / "data" / "facades_synthetic"


@pytest.fixture
def tiny_config() -> Pix2PixConfig:
    """64x64 images, narrow networks: the paper's layout at a test-friendly size."""
    return Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)


def write_image(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 HxWxC array as PNG or JPEG by the file's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = tf.constant(array, dtype=tf.uint8)
    data = tf.io.encode_png(t) if path.suffix.lower() == ".png" else tf.io.encode_jpeg(t, quality=95)
    path.write_bytes(data.numpy())
    return path


def make_pair(rng: np.random.Generator, h: int = 40, w: int = 40) -> np.ndarray:
    """An aligned A|B array whose B is a deterministic function of A (colour inversion)."""
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return np.concatenate([a, 255 - a], axis=1)


@pytest.fixture
def pair_dir(tmp_path) -> Path:
    """A dataset folder with 6 train and 2 test aligned PNG pairs (40x80)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "pairs"
    for split, n in (("train", 6), ("test", 2)):
        for i in range(n):
            write_image(root / split / f"{i:03d}.png", make_pair(rng))
    return root


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One short run (8 steps at 64x64) shared by the tests that need a trained model.

    Returns (root, summary, config) with root/data (6 train + 2 test pairs) and root/run.
    Tests that change the run copy it first.
    """
    from pix2pix_tf.run.train import train

    root = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for i in range(n):
            write_image(root / "data" / split / f"{i:03d}.png", make_pair(rng))
    cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)
    # a checkpoint at each of the 2 epoch ends (ckpt-4, ckpt-8): resume tests need both
    summary = train(cfg, root / "data", root / "run", steps=8, steps_per_epoch=4, verbose=0,
                    checkpoint_min_seconds=0)
    return root, summary, cfg


@pytest.fixture(scope="session")
def facades_run(tmp_path_factory) -> Path:
    """A 2-step run (64x64, ngf 8) on the bundled label-map sample: its snapshot in
    RUN/images shows label maps as inputs (the web export's default palette reads them)."""
    from pix2pix_tf.run.train import train

    run = tmp_path_factory.mktemp("facades") / "run"
    train(Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8), SAMPLE_DATA, run,
          steps=2, steps_per_epoch=2, verbose=0, export=False)
    return run


CHROMIUM = os.environ.get("PIX2PIX_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def playwright():
    """One Playwright (sync API) for the whole session, for tests that drive Chromium.

    Playwright's sync API refuses to start while another sync session is open in the same
    thread, so the browser tests of every module share this one. Skips without Playwright or
    Chromium, unless PIX2PIX_REQUIRE_BROWSER=1 (CI): then it fails.
    """
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install playwright)"
    if missing is None and not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium, or set PIX2PIX_CHROMIUM)"
    if missing:
        if os.environ.get("PIX2PIX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PIX2PIX_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    with sync_playwright() as p:
        yield p
