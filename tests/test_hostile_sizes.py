"""Hostile sizes and odd files: refused up front in one line, or listed and left out.

- ``make-pairs --size`` / ``combine --size`` / ``make-sample --size`` beyond this machine's
  memory: refused before anything is written (the estimate of :mod:`pix2pix_tf.host.memory`).
- an image whose header promises more pixels than can be decoded here: refused (or left out
  with ``--skip-bad-files``) from its header, by train, evaluate and predict, without PIL's
  decompression-bomb warning or exception.
- ``predict --aligned`` on an image too narrow to split: listed, the others translated.
- EXIF orientation: train, evaluate and predict see a photo as viewers show it.
- ``predict`` of a run folder with checkpoints only, and of folders with broken links.

The huge images are tiny PNG files whose header claims a huge size (nothing big is decoded);
the available memory is fixed (monkeypatched) so that messages are exact on any machine.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from conftest import make_pair, write_image
from pix2pix_tf.host import memory as resources
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.data import DataError, make_dataset, read_image, read_image_size, split_pairs
from pix2pix_tf.data.checks import check_pairs
from pix2pix_tf.data.files import list_pairs
from pix2pix_tf.data import images
from pix2pix_tf.data.images import decode_image_oriented
from pix2pix_tf.datasets.combine import combine_folders
from pix2pix_tf.datasets.recipes import make_pairs
from pix2pix_tf.errors import ResourceError
from clirun import assert_refused, run
from treesnap import changed, snapshot

CFG = Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)
GB = 1000 ** 3
TINY = ["--image-size", 64, "--ngf", 8, "--ndf", 8, "--steps", 1, "--quiet", "--no-export"]


@pytest.fixture
def eight_gb(monkeypatch):
    """This machine has 8 GB available, for every check (train's config estimate too)."""
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 8 * GB)


def forged_png(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR then claims ``width`` x ``height`` (CRC recomputed).

    Its header reads as a huge image; decoding it would fail (or allocate the claimed size),
    so a test passes only when the header check refuses it first.
    """
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # after the signature, length and "IHDR"
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def exif_image(path: Path, shown: np.ndarray, orientation: int = 6) -> Path:
    """Write ``shown`` (as viewers should show it) stored turned, with that EXIF Orientation.

    Orientation 6 means "turn the stored pixels 90 degrees clockwise to show them", so the
    stored pixels are ``shown`` turned counter-clockwise. JPEG at quality 100 (or PNG).
    """
    assert orientation == 6
    stored = np.rot90(shown, k=1)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(stored)).save(path, exif=exif, quality=100, subsampling=0)
    with Image.open(path) as im:  # the file really is what a phone writes: viewers turn it
        assert np.asarray(ImageOps.exif_transpose(im)).shape == shown.shape
    return path


def blocks(h: int, w: int, seed: int = 0) -> np.ndarray:
    """An (h, w, 3) image of flat 8x8 blocks: survives JPEG nearly exactly, and is not symmetric."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.kron(small, np.ones((8, 8, 1), np.uint8))


def mean_abs(a, b) -> float:
    return float(np.mean(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32))))


def pairs_dir(root: Path, n_train: int = 3, n_test: int = 1, side: int = 64) -> Path:
    """A dataset of aligned A|B PNG pairs, ``side`` x ``side`` halves."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            write_image(root / split / f"{i}.png", make_pair(rng, side, side))
    return root


# ------------------------------------------------------------------ --size beyond memory (3)
@pytest.mark.parametrize("kind", ["make-pairs", "combine", "make-sample"])
def test_a_size_beyond_memory_is_refused_before_anything_is_written(kind, tmp_path, capsys, eight_gb):
    rng = np.random.default_rng(1)
    for folder in ("photos", "A", "B"):
        write_image(tmp_path / folder / "p.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    argv = {"make-pairs": ["make-pairs", "--task", "colorize", "--src", tmp_path / "photos"],
            "combine": ["combine", "--a", tmp_path / "A", "--b", tmp_path / "B"],
            "make-sample": ["make-sample"]}[kind]
    before = snapshot(tmp_path)
    result = run(capsys, *argv, "--out", tmp_path / "out", "--size", 100000)
    line = assert_refused(result, f"pix2pix-tf {kind}: error: --size 100000: ", "100000x100000",
                          "needs about", "more than half of the 8.0 GB this machine has available")
    assert result[3] < 10, result[3]  # before TensorFlow is imported
    assert changed(before, snapshot(tmp_path)) == [], line


def test_the_library_refuses_a_size_beyond_memory_too(tmp_path, eight_gb):
    rng = np.random.default_rng(1)
    for folder in ("photos", "A", "B"):
        write_image(tmp_path / folder / "p.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    before = snapshot(tmp_path)
    with pytest.raises(ResourceError, match=r"^size = 100000: making pairs of 100000x100000 images"):
        make_pairs("colorize", tmp_path / "photos", tmp_path / "out", size=100000, verbose=0)
    with pytest.raises(ResourceError, match=r"^size=100000: combining images resized to 100000x100000"):
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", size=100000)
    assert changed(before, snapshot(tmp_path)) == []
    # the bound is the estimate against half of the available memory
    need = resources.square_images_memory_bytes(100000, 8)
    assert need == resources.parallel_workers(8) * 100000 ** 2 * resources.SQUARE_BYTES_PER_PIXEL
    resources.check_data_memory(need, "fits", available=2 * need)
    with pytest.raises(ResourceError):
        resources.check_data_memory(need, "does not fit", available=2 * need - 2)


# ------------------------------------------------------------------ huge image headers (4)
def test_a_huge_training_image_is_refused_from_its_header_before_the_run_folder(tmp_path, capsys,
                                                                               eight_gb):
    data = pairs_dir(tmp_path / "data")
    (data / "train" / "huge.png").write_bytes(forged_png(20000, 20000))
    before = snapshot(tmp_path)
    line = assert_refused(run(capsys, "train", "--data", data, "--out", tmp_path / "run", *TINY),
                          f"{data / 'train' / 'huge.png'}: decoding its 20000x20000 pixels needs "
                          "about 16.0 GB of memory, more than half of the 8.0 GB this machine has "
                          "available")
    assert "DecompressionBomb" not in line
    assert not (tmp_path / "run").exists()
    assert changed(before, snapshot(tmp_path)) == []


def test_skip_bad_files_leaves_a_huge_image_out_with_the_usual_warning(tmp_path, capsys, eight_gb):
    data = pairs_dir(tmp_path / "data")
    (data / "train" / "huge.png").write_bytes(forged_png(20000, 20000))
    pairs = split_pairs(data, "train", skip_bad=True, config=CFG)
    assert [a.name for a, _ in pairs] == ["0.png", "1.png", "2.png"]
    err = capsys.readouterr().err
    assert "skipped 1 bad pair(s) of 4" in err and "huge.png: decoding its 20000x20000 pixels" in err
    ds, n = make_dataset(data, "train", CFG, training=False, skip_bad=True)
    assert n == 3 and sum(1 for _ in ds) == 3


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop", "none"])
def test_the_header_only_check_refuses_a_huge_image_in_every_preprocess(tmp_path, preprocess,
                                                                        eight_gb):
    """check_pairs(decode=False), the check of already listed pairs, reads every header."""
    data = pairs_dir(tmp_path / "data")
    (data / "train" / "huge.png").write_bytes(forged_png(20000, 20000))
    config = CFG.replace(preprocess=preprocess, image_size=64, load_size=64 if preprocess == "none" else 72)
    with pytest.raises(DataError, match=r"huge\.png: decoding its 20000x20000 pixels"):
        check_pairs(list_pairs(data, "train"), config, decode=False)


def test_separate_b_files_are_bounded_too(tmp_path, eight_gb):
    rng = np.random.default_rng(0)
    for i in range(2):
        write_image(tmp_path / "d" / "train" / "A" / f"{i}.png", rng.integers(0, 256, (32, 32, 3), np.uint8))
        write_image(tmp_path / "d" / "train" / "B" / f"{i}.png", rng.integers(0, 256, (32, 32, 3), np.uint8))
    (tmp_path / "d" / "train" / "B" / "1.png").write_bytes(forged_png(30000, 10000))
    with pytest.raises(DataError, match=r"B/1\.png: decoding its 30000x10000 pixels"):
        split_pairs(tmp_path / "d", "train", config=CFG)


def test_pil_bomb_limit_gives_no_warning_and_no_exception(tmp_path, monkeypatch):
    """Above PIL's limit (a warning) and above twice it (an exception): our bound decides."""
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 10 ** 15)
    limit = Image.MAX_IMAGE_PIXELS
    for side in (10000, 20000):  # 100 and 400 megapixels
        path = tmp_path / f"big{side}.png"
        path.write_bytes(forged_png(side, side))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_image_size(path) == (side, side)
    assert Image.MAX_IMAGE_PIXELS == limit  # PIL's own limit is left as it was


def test_evaluate_refuses_a_huge_test_image_and_writes_nothing(trained_run, tmp_path, capsys, eight_gb):
    root = trained_run[0]
    data = tmp_path / "data"
    shutil.copytree(root / "data", data)
    (data / "test" / "huge.png").write_bytes(forged_png(20000, 20000))
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "evaluate", "--model", root / "run", "--data", data, "--out",
                       tmp_path / "ev"), "huge.png: decoding its 20000x20000 pixels")
    assert changed(before, snapshot(tmp_path)) == []


def test_predict_lists_a_huge_input_and_translates_the_others(trained_run, tmp_path, capsys, eight_gb):
    root = trained_run[0]
    src = tmp_path / "in"
    shutil.copytree(root / "data" / "test", src)
    (src / "huge.png").write_bytes(forged_png(20000, 20000))
    code, out, err, _ = run(capsys, "predict", "--model", root / "run", "--input", src,
                            "--out", tmp_path / "out")
    assert code == 0, err
    assert f"skipped: {src / 'huge.png'}: decoding its 20000x20000 pixels needs about 16.0 GB" in err
    assert "wrote 2 image(s)" in out and "skipped 1" in out
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["000.png", "001.png"]
    # the only input: one line, exit 2, nothing left
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "predict", "--model", root / "run", "--input", src / "huge.png",
                       "--out", tmp_path / "out2"), "huge.png: decoding its 20000x20000 pixels")
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ predict --aligned, too narrow (5)
def test_predict_aligned_lists_a_too_narrow_image_and_translates_the_others(trained_run, tmp_path,
                                                                            capsys):
    root = trained_run[0]
    src = tmp_path / "in"
    shutil.copytree(root / "data" / "test", src)
    write_image(src / "thin.png", np.zeros((40, 1, 3), np.uint8))
    code, out, err, _ = run(capsys, "predict", "--model", root / "run", "--input", src, "--out",
                            tmp_path / "out", "--aligned")
    assert code == 0, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("skipped: ")] == [
        f"skipped: {src / 'thin.png'}: image of 1x40 is too narrow to split into A|B halves side "
        "by side (aligned inputs need a width of at least 2)"]
    for name in ("000.png", "001.png"):  # each the input half (40x40) of a 40x80 A|B file
        assert tf.io.decode_png((tmp_path / "out" / name).read_bytes()).shape == (40, 40, 3)


def test_predict_with_no_usable_input_is_one_line_and_leaves_nothing(trained_run, tmp_path, capsys):
    root = trained_run[0]
    src = tmp_path / "in"
    write_image(src / "thin.png", np.zeros((40, 1, 3), np.uint8))
    write_image(src / "thin2.png", np.zeros((30, 1, 3), np.uint8))
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "predict", "--model", root / "run", "--input", src, "--out",
                       tmp_path / "out", "--aligned"),
                   f"{src}: none of the 2 inputs could be translated; first: {src / 'thin.png'}: "
                   "image of 1x40 is too narrow")
    assert_refused(run(capsys, "predict", "--model", root / "run", "--input", src / "thin2.png",
                       "--out", tmp_path / "out", "--aligned"), "thin2.png: image of 1x30 is too narrow")
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ EXIF orientation (10)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied_as_pil_does(tmp_path, orientation):
    stored = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "x.png"  # lossless: the pixels compare exactly
    Image.fromarray(stored).save(path, exif=exif)
    with Image.open(path) as im:
        shown = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(read_image(path, channels=3).numpy(), shown)
    graph = tf.function(lambda data: decode_image_oriented(data, channels=3))
    assert np.array_equal(graph(tf.constant(path.read_bytes())).numpy().astype(np.uint8), shown)
    assert read_image_size(path) == shown.shape[:2]


def test_predict_applies_the_exif_orientation_of_a_jpeg(trained_run, tmp_path, capsys):
    root = trained_run[0]
    shown = blocks(80, 40)  # viewers show it 40 wide, 80 high; it is stored 80 wide, 40 high
    src = exif_image(tmp_path / "in" / "phone.jpg", shown)
    assert read_image_size(src) == (80, 40)
    code, out, err, _ = run(capsys, "predict", "--model", root / "run", "--input", src, "--out",
                            tmp_path / "out", "--side-by-side")
    assert code == 0, err
    written = tf.io.decode_jpeg((tmp_path / "out" / "phone.jpg").read_bytes()).numpy()
    assert written.shape == (80, 80, 3)  # input | output, each 40 wide and 80 high
    # the input half is the photo as shown (up to the JPEG output's 4:2:0 chroma), not
    # turned or mirrored some other way
    error = mean_abs(written[:, :40], shown)
    assert error < 12, error
    for other in (np.rot90(shown, 2), shown[::-1], shown[:, ::-1]):
        assert mean_abs(written[:, :40], other) > 4 * error


@pytest.mark.parametrize("training, cache", [(False, False), (True, True), (True, False)])
def test_the_training_loader_applies_the_exif_orientation_of_a_jpeg(tmp_path, training, cache, monkeypatch):
    """An A|B JPEG stored sideways (Orientation 6) loads as shown: A left, B right, 64x64 each.

    The orientation travels with the path from the header the checks read: no decode looks
    it up in the file's bytes again."""
    shown = blocks(64, 128)
    data = tmp_path / "data"
    for i in range(2):
        exif_image(data / "train" / f"{i}.jpg", np.roll(shown, 8 * i, axis=0))
    config = CFG.replace(preprocess="none", load_size=64, random_mirror=False)
    assert read_image_size(data / "train" / "0.jpg") == (64, 128)

    def looked_up(data):
        raise AssertionError("the orientation was read from the bytes again")

    monkeypatch.setattr(images, "exif_orientation", looked_up)
    ds, n = make_dataset(data, "train", config, training=training, batch_size=1, cache=cache)
    x, y = next(iter(ds))
    assert x.shape == y.shape == (1, 64, 64, 3)
    got = [(x[0].numpy() + 1) * 127.5, (y[0].numpy() + 1) * 127.5]
    first = [np.roll(shown, 8 * i, axis=0) for i in range(2)]
    match = [max(mean_abs(got[0], s[:, :64]), mean_abs(got[1], s[:, 64:])) for s in first]
    assert min(match) < 4, match  # one of the two files (training shuffles), as shown


# ------------------------------------------------------------------ predict of a run without saved_model (12)
def test_predict_translates_with_a_run_that_has_only_checkpoints(trained_run, tmp_path, capsys):
    root = trained_run[0]
    run_dir = tmp_path / "run"
    shutil.copytree(root / "run", run_dir, ignore=shutil.ignore_patterns("saved_model"))
    assert not (run_dir / "saved_model").exists()
    for model, out in ((run_dir, "from_run"), (root / "run" / "saved_model", "from_saved_model")):
        code, _, err, _ = run(capsys, "predict", "--model", model, "--input", root / "data" / "test",
                              "--out", tmp_path / out, "--aligned")
        assert code == 0, err
    for name in ("000.png", "001.png"):
        a = tf.io.decode_png((tmp_path / "from_run" / name).read_bytes()).numpy()
        b = tf.io.decode_png((tmp_path / "from_saved_model" / name).read_bytes()).numpy()
        assert a.shape == b.shape == (40, 40, 3)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # the same generator and mode
    code, _, err, _ = run(capsys, "predict", "--model", run_dir, "--input", root / "data" / "test",
                          "--out", tmp_path / "native", "--size-mode", "native")
    assert code == 0, err
    # a folder that is neither still says so in one line
    assert_refused(run(capsys, "predict", "--model", tmp_path / "from_run", "--input",
                       root / "data" / "test", "--out", tmp_path / "o"),
                   "not a SavedModel folder (no saved_model.pb) nor a run folder")


# ------------------------------------------------------------------ broken links (13)
def test_predict_lists_dangling_and_looping_links(trained_run, tmp_path, capsys):
    root = trained_run[0]
    src = tmp_path / "in"
    shutil.copytree(root / "data" / "test", src)
    os.symlink(tmp_path / "gone.jpg", src / "dangling.jpg")
    os.symlink("loop_b.jpg", src / "loop_a.jpg")
    os.symlink("loop_a.jpg", src / "loop_b.jpg")
    code, out, err, _ = run(capsys, "predict", "--model", root / "run", "--input", src, "--out",
                            tmp_path / "out")
    assert code == 0, err
    skipped = sorted(line for line in err.splitlines() if line.startswith("skipped: "))
    assert skipped == [
        f"skipped: {src / 'dangling.jpg'}: dangling link (its target {tmp_path / 'gone.jpg'} does not exist)",
        f"skipped: {src / 'loop_a.jpg'}: link loop (following it comes back to a link on the way, never to a file)",
        f"skipped: {src / 'loop_b.jpg'}: link loop (following it comes back to a link on the way, never to a file)"]
    assert "wrote 2 image(s)" in out and "skipped 3" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
        "000.png", "001.png"]


def test_predict_of_broken_links_only_is_one_line(trained_run, tmp_path, capsys):
    root = trained_run[0]
    src = tmp_path / "in"
    src.mkdir()
    os.symlink(tmp_path / "gone.jpg", src / "dangling.jpg")
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "predict", "--model", root / "run", "--input", src, "--out",
                       tmp_path / "out"), f"{src / 'dangling.jpg'}: dangling link")
    assert_refused(run(capsys, "predict", "--model", root / "run", "--input", src / "dangling.jpg",
                       "--out", tmp_path / "out"), f"{src / 'dangling.jpg'}: dangling link")
    assert changed(before, snapshot(tmp_path)) == []
