"""Core tier: the random jitter (Isola et al. 2017, appendix 6.2): resize to 286x286, take a
random 256x256 crop, mirror with probability 0.5; the input and the target always get the
SAME crop and mirror; evaluation images are not jittered.

The crops are read back from images whose pixels encode their own coordinates. Only public
top-level names of the package are used (``random_jitter``, ``make_dataset``).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import Pix2PixConfig, make_dataset, random_jitter

PAPER = Pix2PixConfig()
SMALL = Pix2PixConfig(image_size=64, load_size=72)


def coordinate_image(size: int, seed: int = 0) -> np.ndarray:
    """(size, size, 3) float32 in [0, 255]: channel 0 encodes the row, 1 the column, 2 noise."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    noise = np.random.default_rng(seed).uniform(0, 255, (size, size))
    return np.stack([rows * 255 / (size - 1), cols * 255 / (size - 1), noise], -1).astype(np.float32)


def read_window(out: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The source rows and columns of a crop of coordinate_image(size)."""
    rows = np.rint(out[:, :, 0] * (size - 1) / 255).astype(int)
    cols = np.rint(out[:, :, 1] * (size - 1) / 255).astype(int)
    assert (rows == rows[:, :1]).all() and (cols == cols[:1, :]).all()  # a rectangular window
    return rows[:, 0], cols[0, :]


def jitter(x: np.ndarray, y: np.ndarray, cfg: Pix2PixConfig, seed, resized: bool = True):
    a, b = random_jitter(tf.constant(x), tf.constant(y), cfg, tf.constant(seed), resized=resized)
    return a.numpy(), b.numpy()


def crop_and_flip(cfg: Pix2PixConfig, seed) -> tuple[int, int, bool]:
    """(top, left, mirrored) of the jitter random_jitter draws for ``seed``."""
    x = coordinate_image(cfg.load_size)
    out, _ = jitter(x, x, cfg, seed)
    rows, cols = read_window(out, cfg.load_size)
    assert (np.diff(rows) == 1).all()  # rows are never flipped
    mirrored = bool(cols[0] > cols[-1])
    assert (np.diff(cols) == (-1 if mirrored else 1)).all()
    return int(rows[0]), int(cols.min()), mirrored


# ------------------------------------------------------------------------------ shapes
def test_paper_jitter_gives_256_crops_of_any_input():
    assert (PAPER.image_size, PAPER.load_size, PAPER.random_mirror) == (256, 286, True)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (200, 300, 3)).astype(np.float32)
    y = rng.uniform(0, 255, (200, 300, 1)).astype(np.float32)  # channel counts may differ
    a, b = jitter(x, y, PAPER, [0, 1], resized=False)
    assert a.shape == (256, 256, 3) and b.shape == (256, 256, 1)
    assert a.min() >= 0 and a.max() <= 255


@pytest.mark.parametrize("seed", [[0, 0], [0, 1], [5, 9], [123, 4]])
def test_crop_is_a_window_of_the_286_image(seed):
    x = coordinate_image(286, seed=seed[0])
    out, _ = jitter(x, x, PAPER, seed)
    assert out.shape == (256, 256, 3)
    rows, cols = read_window(out, 286)
    top, left = rows[0], cols.min()
    assert 0 <= top <= 30 and 0 <= left <= 30
    window = x[top:top + 256, left:left + 256]
    if cols[0] > cols[-1]:
        window = window[:, ::-1]  # mirrored
    np.testing.assert_array_equal(out, window)  # noise channel included: nothing resampled


# ------------------------------------------------------------------------------ input and target together
@pytest.mark.parametrize("seed", [[0, 0], [0, 1], [1, 2], [7, 3], [42, 42]])
def test_input_and_target_get_the_same_crop_and_mirror(seed):
    """target = 255 - input pixel for pixel; any difference in crop or flip breaks it."""
    x = coordinate_image(286, seed=seed[1])
    a, b = jitter(x, 255 - x, PAPER, seed)
    np.testing.assert_array_equal(b, 255 - a)
    # and a one-channel target cut from the same place
    a1, b1 = jitter(x, x[..., 2:3], PAPER, seed)
    np.testing.assert_array_equal(b1, a1[..., 2:3])


def test_pair_relation_survives_the_full_resize_crop_mirror():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (256, 256, 3)).astype(np.float32)
    for s in range(4):
        a, b = jitter(x, 255 - x, PAPER, [s, 11], resized=False)
        # both are resized to 286 and rounded to whole values; the rounding of an exact .5
        # may differ by one level, nothing else may
        assert np.abs(b - (255 - a)).max() <= 1.0
        assert np.mean(b != 255 - a) < 0.01


# ------------------------------------------------------------------------------ randomness
def test_mirroring_has_probability_one_half_and_crops_cover_the_range():
    draws = [crop_and_flip(SMALL, [s, 3]) for s in range(200)]
    mirrored = sum(m for _, _, m in draws)
    assert 70 <= mirrored <= 130  # Binomial(200, 0.5): mean 100, sd 7
    tops = [t for t, _, _ in draws]
    lefts = [left for _, left, _ in draws]
    slack = SMALL.load_size - SMALL.image_size  # 8: offsets 0..8
    assert min(tops) == 0 and max(tops) == slack
    assert min(lefts) == 0 and max(lefts) == slack
    assert len(set(zip(tops, lefts))) > 40


def test_no_mirror_when_random_mirror_is_off():
    cfg = SMALL.replace(random_mirror=False)
    assert not any(crop_and_flip(cfg, [s, 3])[2] for s in range(40))


def test_the_seed_decides_the_jitter():
    assert crop_and_flip(PAPER, [4, 2]) == crop_and_flip(PAPER, [4, 2])
    assert len({crop_and_flip(PAPER, [4, s]) for s in range(8)}) > 1


# ------------------------------------------------------------------------------ test mode
def _write_pair_files(folder, n: int = 2, size: int = 72) -> list[np.ndarray]:
    """A|B files whose A is a coordinate image and B = 255 - A."""
    folder.mkdir(parents=True)
    images = []
    for i in range(n):
        a = np.rint(coordinate_image(size, seed=i)).astype(np.uint8)
        ab = np.concatenate([a, 255 - a], axis=1)
        (folder / f"{i:03d}.png").write_bytes(tf.io.encode_png(tf.constant(ab)).numpy())
        images.append(a)
    return images


def test_no_jitter_in_test_mode(tmp_path):
    """The test split is resized to image_size whole: no crop (the image's first and last rows
    and columns are still there), no mirror, the same output every pass."""
    _write_pair_files(tmp_path / "data" / "test")
    ds, n = make_dataset(tmp_path / "data", "test", SMALL)
    assert n == 2
    first = [(x.numpy(), y.numpy()) for x, y in ds]
    second = [(x.numpy(), y.numpy()) for x, y in ds]
    assert len(first) == 2
    for (x, y), (x2, y2) in zip(first, second):
        assert x.shape == (1, 64, 64, 3) and y.shape == (1, 64, 64, 3)
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        rows, cols = x[0, :, 0, 0], x[0, 0, :, 1]  # in [-1, 1]
        # whole image: a crop of 64 from 72 could not reach both ends (-1 and 1) of the range
        assert rows[0] < -0.95 and rows[-1] > 0.95
        assert cols[0] < -0.95 and cols[-1] > 0.95  # and not mirrored
        assert (np.diff(rows) > 0).all() and (np.diff(cols) > 0).all()
        np.testing.assert_allclose(y, -x, atol=1e-4)  # B = 255 - A  ->  y = -x


def test_training_split_is_jittered(tmp_path):
    """Control for the test above: the same files through the training pipeline are cropped
    (not every crop reaches both ends of the range) and some are mirrored."""
    _write_pair_files(tmp_path / "data" / "train", n=4)
    ds, _ = make_dataset(tmp_path / "data", "train", SMALL, cache=False, parallel=False)
    whole = mirrored = 0
    for x, y in ds.take(24):
        x = x.numpy()
        rows, cols = x[0, :, 0, 0], x[0, 0, :, 1]
        whole += rows[0] < -0.95 and rows[-1] > 0.95
        mirrored += cols[0] > cols[-1]
        np.testing.assert_allclose(y.numpy(), -x, atol=1e-6)  # same crop and flip for y
    assert whole == 0  # a 64 crop of 72 never spans both ends
    assert 0 < mirrored < 24
