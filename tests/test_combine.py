"""pix2pix_tf.datasets.combine and `pix2pix-tf combine`: real pixels out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import write_image
from pix2pix_tf.apps.cli import main
from pix2pix_tf.data import DataError, make_dataset
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.datasets.combine import combine_folders, match_pairs


def _read(path: Path) -> np.ndarray:
    return tf.io.decode_image(path.read_bytes(), expand_animations=False).numpy()


def _noise(seed: int, h: int, w: int, c: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["combine", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_png_pairs_are_exact_and_sizes_follow_a(tmp_path):
    a = {"1": _noise(1, 12, 16), "2": _noise(2, 12, 16)}
    b = {"1": _noise(3, 12, 16), "2": _noise(4, 6, 8)}  # 2: B smaller -> resized to A's size
    for name in a:
        write_image(tmp_path / "A" / f"{name}.png", a[name])
        write_image(tmp_path / "B" / f"{name}.png", b[name])
    info = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert info["pairs"] == 2 and info["resized"] == 1 and info["splits"] == {}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".pix2pix-tf.json", "1.png", "2.png"]
    one = _read(tmp_path / "out" / "1.png")
    assert one.shape == (12, 32, 3)
    np.testing.assert_array_equal(one[:, :16], a["1"])  # left half is A, bit for bit
    np.testing.assert_array_equal(one[:, 16:], b["1"])  # right half is B
    two = _read(tmp_path / "out" / "2.png")
    assert two.shape == (12, 32, 3)
    np.testing.assert_array_equal(two[:, :16], a["2"])
    nearest = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out2", resize_method="nearest")
    assert nearest["resized"] == 1
    two = _read(tmp_path / "out2" / "2.png")
    np.testing.assert_array_equal(two[::2, 16::2], b["2"])  # 2x nearest upscale repeats B's pixels


def test_jpg_kept_mixed_extensions_gray_and_rgba_become_rgb(tmp_path):
    flat_a = np.full((16, 16, 3), (220, 40, 40), np.uint8)
    flat_b = np.full((16, 16, 3), (40, 40, 220), np.uint8)
    write_image(tmp_path / "A" / "x.jpg", flat_a)
    write_image(tmp_path / "B" / "x.png", flat_b)  # same stem, other extension
    write_image(tmp_path / "A" / "g.jpeg", np.full((16, 16, 1), 100, np.uint8))  # grayscale
    write_image(tmp_path / "B" / "g.png", np.dstack([flat_b, np.full((16, 16), 7, np.uint8)]))  # RGBA
    combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".pix2pix-tf.json", "g.jpeg", "x.jpg"]  # A's extension
    x = _read(tmp_path / "out" / "x.jpg").astype(int)
    assert x.shape == (16, 32, 3)
    assert np.abs(x[:, :16] - flat_a).max() <= 3 and np.abs(x[:, 16:] - flat_b).max() <= 3  # JPEG
    g = _read(tmp_path / "out" / "g.jpeg").astype(int)
    assert g.shape == (16, 32, 3)  # gray A -> RGB, RGBA B -> RGB (alpha dropped)
    assert np.abs(g[:, :16] - 100).max() <= 3 and np.abs(g[:, 16:] - flat_b).max() <= 3


def test_split_folders_are_mirrored_size_and_format_options_and_trainer_reads_it(tmp_path, capsys):
    for split, names in (("train", ["a", "b", "c"]), ("test", ["d"])):
        for i, name in enumerate(names):
            write_image(tmp_path / "A" / split / f"{name}.jpg", _noise(i, 20, 30))
            write_image(tmp_path / "B" / split / f"{name}.png", _noise(i + 10, 40, 10))
    code, out, err = _run(capsys, "--a", tmp_path / "A", "--b", tmp_path / "B", "--out", tmp_path / "data",
                          "--size", 16, "--format", "png")
    assert code == 0, err
    info = json.loads(out)
    assert info["splits"] == {"train": 3, "test": 1} and info["pairs"] == 4 and info["format"] == "png"
    assert sorted(p.name for p in (tmp_path / "data" / "train").iterdir()) == ["a.png", "b.png", "c.png"]
    assert _read(tmp_path / "data" / "test" / "d.png").shape == (16, 32, 3)
    ds, n = make_dataset(tmp_path / "data", "train", Pix2PixConfig(image_size=16, load_size=18, batch_size=1))
    x, y = next(iter(ds))
    assert n == 3 and x.shape == y.shape == (1, 16, 16, 3)


def test_names_only_in_a_or_b_are_counted_and_listed(tmp_path, capsys):
    for name in ("1", "2", "3", "4", "5", "6"):
        write_image(tmp_path / "A" / f"{name}.png", _noise(0, 4, 4))
    for name in ("1", "2", "zz"):
        write_image(tmp_path / "B" / f"{name}.jpg", _noise(0, 4, 4))
    code, out, err = _run(capsys, "--a", tmp_path / "A", "--b", tmp_path / "B", "--out", tmp_path / "out")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("pix2pix-tf combine: error: ")
    assert f"4 only in {tmp_path / 'A'} (3.png, 4.png, 5.png and 1 more)" in err
    assert f"1 only in {tmp_path / 'B'} (zz.jpg)" in err
    assert not (tmp_path / "out").exists()  # checked before anything is written


def test_unreadable_image_is_named_and_nothing_is_left(tmp_path, capsys):
    for name in ("1", "2", "3"):
        write_image(tmp_path / "A" / f"{name}.png", _noise(0, 8, 8))
        write_image(tmp_path / "B" / f"{name}.png", _noise(1, 8, 8))
    (tmp_path / "B" / "2.png").write_bytes(b"\x89PNG not really")
    code, out, err = _run(capsys, "--a", tmp_path / "A", "--b", tmp_path / "B", "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1
    assert f"1 of 3 pairs have an unreadable image, nothing written; first: {tmp_path / 'B' / '2.png'}" in err
    assert not (tmp_path / "out").exists()  # the two good pairs written were removed again


@pytest.mark.parametrize("case", ["empty_a", "missing_b", "split_mismatch", "same_stem_twice"])
def test_folder_errors_name_the_folder(tmp_path, capsys, case):
    a, b = tmp_path / "A", tmp_path / "B"
    write_image(b / "1.png", _noise(0, 4, 4))
    if case == "empty_a":
        a.mkdir()
        expected = f"{a}: empty"
    elif case == "missing_b":
        write_image(a / "1.png", _noise(0, 4, 4))
        b = tmp_path / "nope"
        expected = f"{b}: B folder not found"
    elif case == "split_mismatch":
        write_image(a / "train" / "1.png", _noise(0, 4, 4))
        write_image(a / "val" / "1.png", _noise(0, 4, 4))
        write_image(b / "train" / "1.png", _noise(0, 4, 4))
        expected = f"{a} has train/, val/ but {b} has train/"
    else:
        write_image(a / "1.png", _noise(0, 4, 4))
        write_image(a / "1.jpg", _noise(0, 4, 4))
        expected = "1.jpg and 1.png have the same name"
    code, _, err = _run(capsys, "--a", a, "--b", b, "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and expected in err, err


def test_out_dir_not_empty_needs_overwrite(tmp_path, capsys):
    write_image(tmp_path / "A" / "1.png", _noise(0, 4, 4))
    write_image(tmp_path / "B" / "1.png", _noise(1, 4, 4))
    out = tmp_path / "out"
    write_image(out / "old.png", _noise(2, 4, 4))
    args = ["--a", tmp_path / "A", "--b", tmp_path / "B", "--out", out]
    code, _, err = _run(capsys, *args)
    assert code == 2 and f"{out}: not empty (1 entries, e.g. old.png)" in err
    # issue 13: --overwrite no longer deletes files pix2pix-tf did not write
    code, _, err = _run(capsys, *args, "--overwrite")
    assert code == 2 and "not written by pix2pix-tf" in err
    assert sorted(p.name for p in out.iterdir()) == ["old.png"]
    # a folder combine wrote itself needs --overwrite, which replaces its pairs, stale ones go
    ours = tmp_path / "ours"
    args = ["--a", tmp_path / "A", "--b", tmp_path / "B", "--out", ours]
    assert _run(capsys, *args)[0] == 0
    (tmp_path / "A" / "1.png").rename(tmp_path / "A" / "9.png")
    (tmp_path / "B" / "1.png").rename(tmp_path / "B" / "9.png")
    code, _, err = _run(capsys, *args)
    assert code == 2 and "--overwrite" in err
    code, _, err = _run(capsys, *args, "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in ours.iterdir()) == [".pix2pix-tf.json", "9.png"]  # the stale 1.png is gone
    (tmp_path / "A" / "9.png").rename(tmp_path / "A" / "1.png")
    (tmp_path / "B" / "9.png").rename(tmp_path / "B" / "1.png")
    code, _, err = _run(capsys, "--a", tmp_path / "A", "--b", tmp_path / "B", "--out", tmp_path / "A",
                        "--overwrite")
    assert code == 2 and "is also an input folder" in err
    assert (tmp_path / "A" / "1.png").is_file()


def test_bad_arguments(tmp_path):
    write_image(tmp_path / "A" / "1.png", _noise(0, 4, 4))
    write_image(tmp_path / "B" / "1.png", _noise(1, 4, 4))
    for kwargs, match in (({"image_format": "gif"}, "image_format"), ({"size": 0}, "size"),
                          ({"jpeg_quality": 101}, "jpeg_quality"),
                          ({"resize_method": "lanczos"}, "resize_method")):
        with pytest.raises(DataError, match=match):
            combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", **kwargs)
    pairs = match_pairs(tmp_path / "A", tmp_path / "B")
    assert pairs == [(tmp_path / "A" / "1.png", tmp_path / "B" / "1.png")]
