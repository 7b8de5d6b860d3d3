"""Tests for the procedural "synthetic facades" paired dataset."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.datasets.synthetic import make_pair, render_facade, write_sample
from pix2pix_tf.datasets.synthetic_layout import LABEL_COLORS

_LUMA = np.array([0.299, 0.587, 0.114])


def _class_mask(labels: np.ndarray, name: str) -> np.ndarray:
    return np.all(labels == np.array(LABEL_COLORS[name], dtype=np.uint8), axis=-1)


def _n_colors(img: np.ndarray) -> int:
    return len(np.unique(img.reshape(-1, 3), axis=0))


def _files(root, split):
    return sorted((root / split).iterdir())


def test_label_colors_are_distinct_rgb_triples():
    colors = list(LABEL_COLORS.values())
    assert {"sky", "wall", "window", "door", "balcony", "cornice"} <= set(LABEL_COLORS)
    assert len(set(colors)) == len(colors)
    for c in colors:
        assert len(c) == 3 and all(0 <= v <= 255 for v in c)


@pytest.mark.parametrize("size", [64, 256])
def test_shapes_dtypes_and_pair_halves(size):
    labels, photo = render_facade(7, size)
    assert labels.shape == photo.shape == (size, size, 3)
    assert labels.dtype == photo.dtype == np.uint8
    pair = make_pair(7, size)
    assert pair.shape == (size, 2 * size, 3) and pair.dtype == np.uint8
    np.testing.assert_array_equal(pair[:, :size], labels)
    np.testing.assert_array_equal(pair[:, size:], photo)


@pytest.mark.parametrize("size", [16, 64, 256])
def test_labels_use_only_palette_colors(size):
    palette = np.array(list(LABEL_COLORS.values()), dtype=np.uint8)
    for seed in range(8):
        labels, _ = render_facade(seed, size)
        present = np.unique(labels.reshape(-1, 3), axis=0)
        for c in present:
            assert (palette == c).all(axis=1).any(), f"seed {seed}: colour {c} not in LABEL_COLORS"
        if size >= 64:
            for name in ("sky", "wall", "window"):
                assert _class_mask(labels, name).any(), f"seed {seed}: no {name} pixels"
            # the ground floor always has at least one door
            assert _class_mask(labels, "door").any()


def test_layout_is_a_facade():
    """Sky is on top, the bottom row is wall/ground/door, and some seeds have balconies."""
    with_balcony = 0
    for seed in range(12):
        labels, _ = render_facade(seed, 128)
        assert _class_mask(labels[:1], "sky").all()
        assert not _class_mask(labels[-1:], "sky").any()
        with_balcony += bool(_class_mask(labels, "balcony").any())
    assert 0 < with_balcony < 12


def test_render_is_deterministic():
    a_labels, a_photo = render_facade(123, 64)
    b_labels, b_photo = render_facade(123, 64)
    np.testing.assert_array_equal(a_labels, b_labels)
    np.testing.assert_array_equal(a_photo, b_photo)
    np.testing.assert_array_equal(make_pair(5, 64), make_pair(5, 64))


def test_different_seeds_give_different_images():
    pairs = [make_pair(s, 64) for s in range(6)]
    assert len({p.tobytes() for p in pairs}) == 6
    assert len({p[:, :64].tobytes() for p in pairs}) == 6  # the layouts differ, not only the noise


def test_photo_is_photo_like():
    for seed in range(6):
        labels, photo = render_facade(seed, 256)
        assert _n_colors(photo) > 20 * _n_colors(labels)
        luma = photo.astype(np.float64) @ _LUMA
        window = luma[_class_mask(labels, "window")].mean()
        wall = luma[_class_mask(labels, "wall")].mean()
        assert window < wall - 5, f"seed {seed}: window {window:.1f} not darker than wall {wall:.1f}"
        # the sky is a gradient (darker/bluer on top), not a flat colour
        sky_rows = photo[_class_mask(labels, "sky").all(axis=1)].astype(np.float64)
        assert sky_rows.shape[0] >= 4
        assert sky_rows[0].mean() < sky_rows[-1].mean()


def test_photo_follows_the_labels():
    """Pixels of one class look alike and classes differ: the photo is learnable from A."""
    labels, photo = render_facade(3, 256)
    photo = photo.astype(np.float64)
    means = {n: photo[_class_mask(labels, n)].mean(axis=0) for n in ("sky", "wall", "window")}
    assert np.abs(means["sky"] - means["wall"]).max() > 15
    assert np.abs(means["window"] - means["wall"]).max() > 15


def test_size_too_small_is_rejected():
    with pytest.raises(ValueError, match="size"):
        render_facade(0, 8)


def test_write_sample_files_and_sizes(tmp_path):
    info = write_sample(tmp_path / "ds", n_train=3, n_test=2, size=32, seed=1)
    assert info == {"train": 3, "test": 2, "size": 32, "seed": 1, "out_dir": str(tmp_path / "ds")}
    train, test = _files(tmp_path / "ds", "train"), _files(tmp_path / "ds", "test")
    assert [p.name for p in train] == ["0000.jpg", "0001.jpg", "0002.jpg"]
    assert [p.name for p in test] == ["0000.jpg", "0001.jpg"]
    for p in train + test:
        img = tf.io.decode_image(p.read_bytes()).numpy()
        assert img.shape == (32, 64, 3) and img.dtype == np.uint8


def test_write_sample_png_is_lossless(tmp_path):
    write_sample(tmp_path, n_train=2, n_test=0, size=48, seed=4, image_format="png")
    files = _files(tmp_path, "train")
    assert [p.name for p in files] == ["0000.png", "0001.png"]
    assert not (tmp_path / "test").exists()  # no empty split folder: train would refuse it
    palette = np.array(list(LABEL_COLORS.values()), dtype=np.uint8)
    for p in files:
        img = tf.io.decode_image(p.read_bytes()).numpy()
        assert img.shape == (48, 96, 3)
        left = np.unique(img[:, :48].reshape(-1, 3), axis=0)
        assert all((palette == c).all(axis=1).any() for c in left)


def test_write_sample_is_deterministic_and_splits_differ(tmp_path):
    kwargs = dict(n_train=3, n_test=3, size=32, seed=11)
    write_sample(tmp_path / "a", **kwargs)
    write_sample(tmp_path / "b", **kwargs)
    for split in ("train", "test"):
        a, b = _files(tmp_path / "a", split), _files(tmp_path / "b", split)
        assert [p.name for p in a] == [p.name for p in b]
        for pa, pb in zip(a, b):
            assert pa.read_bytes() == pb.read_bytes()
    train = {p.read_bytes() for p in _files(tmp_path / "a", "train")}
    test = {p.read_bytes() for p in _files(tmp_path / "a", "test")}
    assert len(train) == 3 and len(test) == 3
    assert not train & test
    # a different dataset seed gives different files
    write_sample(tmp_path / "c", n_train=1, n_test=0, size=32, seed=12)
    assert (tmp_path / "c/train/0000.jpg").read_bytes() != (tmp_path / "a/train/0000.jpg").read_bytes()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_train=0), "n_train"),
        (dict(n_test=-1), "n_test"),
        (dict(size=8), "size"),
        (dict(size=40), "multiple of 16"),
        (dict(image_format="bmp"), "image_format"),
        (dict(quality=0), "quality"),
    ],
)
def test_write_sample_rejects_bad_arguments(tmp_path, kwargs, match):
    args = dict(n_train=1, n_test=0, size=16) | kwargs
    with pytest.raises(ValueError, match=match):
        write_sample(tmp_path / "bad", **args)
    assert not (tmp_path / "bad").exists()


def test_write_sample_accepts_jpeg_spelling(tmp_path):
    write_sample(tmp_path, n_train=1, n_test=1, size=16, image_format="JPEG", quality=80)
    assert (tmp_path / "train" / "0000.jpg").exists() and (tmp_path / "test" / "0000.jpg").exists()


def test_make_sample_without_test_images_writes_no_test_folder_and_trains(tmp_path, capsys):
    """``make-sample --test 0`` then ``train``: no empty test/ that train refuses, and the
    run trains without a test split; replacing a sample that had one removes its test/."""
    import json

    from pix2pix_tf.apps import cli

    data = tmp_path / "data"
    assert cli.main(["make-sample", "--out", str(data), "--train", "2", "--test", "1",
                     "--size", "64"]) == 0
    assert (data / "test" / "0000.jpg").is_file()
    assert cli.main(["make-sample", "--out", str(data), "--train", "2", "--test", "0",
                     "--size", "64", "--overwrite"]) == 0
    assert sorted(p.name for p in data.iterdir()) == [".pix2pix-tf.json", "train"]
    capsys.readouterr()
    run = tmp_path / "run"
    code = cli.main(["train", "--data", str(data), "--out", str(run), "--steps", "1",
                     "--image-size", "64", "--ngf", "8", "--ndf", "8", "--quiet", "--no-export"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 1 and summary["test_split"] is None and summary["test_images"] == 0
