"""The bad-input matrix: what we accept (and convert) and what we refuse, with which message.

Extend it by adding a row to HANDLED (a builder that writes a dataset the pipeline must accept)
or to REFUSED (a builder plus the CLI flags and the message fragment the one-line error must
contain). Refused inputs exit with status 2, print no traceback and write no run folder.
"""

import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_pair, write_image
from pix2pix_tf.apps import cli
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.data import make_dataset
from pix2pix_tf.run.train import train

CFG = Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)
RNG = np.random.default_rng(7)


def palette_png(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """A colour-type-3 (palette) PNG, written by hand: TensorFlow only writes RGB(A)/gray."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    h, w = indices.shape
    raw = b"".join(b"\x00" + row.astype(np.uint8).tobytes() for row in indices)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", palette.astype(np.uint8).tobytes()) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _base(root, n=3):
    for i in range(n):
        write_image(root / "train" / f"ok{i}.png", make_pair(RNG))
    return root


def _with(name, array=None, raw=None):
    def build(root):
        _base(root)
        path = root / "train" / name
        if raw is not None:
            path.write_bytes(raw)
        else:
            write_image(path, array)
        return root
    return build


def _separate(root):
    for i in range(3):
        pair = make_pair(RNG, 30, 30)
        write_image(root / "train" / "A" / f"{i}.png", pair[:, :30])
        write_image(root / "train" / "B" / f"{i}.jpg", pair[:, 30:])
    return root


def _combine_layout(root):
    for i in range(3):
        write_image(root / "A" / "train" / f"{i}.png", RNG.integers(0, 256, (20, 25, 3), dtype=np.uint8))
        write_image(root / "B" / "train" / f"{i}.png", RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    return root


HANDLED = {
    "grayscale image": _with("gray.png", RNG.integers(0, 256, (40, 80, 1), dtype=np.uint8)),
    "RGBA PNG": _with("rgba.png", RNG.integers(0, 256, (40, 80, 4), dtype=np.uint8)),
    "16-bit PNG": _with("deep.png", RNG.integers(0, 65536, (40, 80, 3), dtype=np.uint16)),
    "palette PNG": _with("palette.png", raw=palette_png(RNG.integers(0, 4, (40, 80)),
                                                        RNG.integers(0, 256, (4, 3)))),
    "smaller than the crop (upscaled)": _with("tiny.png", RNG.integers(0, 256, (10, 20, 3), dtype=np.uint8)),
    "very large (8000x4000)": _with("huge.jpg", np.full((4000, 8000, 3), 90, np.uint8)),
    "non-square aligned (two 100x30 halves)": _with("wide.png", RNG.integers(0, 256, (30, 200, 3), dtype=np.uint8)),
    "A/ and B/ folders inside the split": _separate,
    "A/train and B/train (combine_A_and_B layout)": _combine_layout,
}


SEPARATE_FILES = {"A/ and B/ folders inside the split", "A/train and B/train (combine_A_and_B layout)"}


@pytest.mark.parametrize("case", list(HANDLED))
def test_handled_inputs_load_as_rgb_in_range(case, tmp_path):
    root = HANDLED[case](tmp_path / "data")
    ds, n = make_dataset(root, "train", CFG, training=False, batch_size=1)
    seen = 0
    for x, y in ds:
        assert x.shape == y.shape == (1, 64, 64, 3), case
        assert np.isfinite(x.numpy()).all() and -1 <= float(tf.reduce_min(x)) <= float(tf.reduce_max(x)) <= 1
        seen += 1
    files_per_pair = 2 if case in SEPARATE_FILES else 1
    assert seen == n == len(list((tmp_path / "data").rglob("*.*"))) // files_per_pair


def test_one_run_trains_on_all_handled_inputs_together(tmp_path):
    root = tmp_path / "data"
    for case, build in HANDLED.items():
        if case in SEPARATE_FILES:  # another layout: its own dataset
            continue
        build(root)
    summary = train(CFG, root, tmp_path / "run", steps=3, steps_per_epoch=3, verbose=0, export=False)
    assert summary["steps"] == 3 and summary["train_images"] == 10


def _zero(root):
    return _with("zero.jpg", raw=b"")(root)


def _truncated(root):
    _base(root)
    path = write_image(root / "train" / "cut.jpg", make_pair(RNG, 64, 64))
    path.write_bytes(path.read_bytes()[:700])
    return root


def _mismatch(root):
    _separate(root)
    (root / "train" / "B" / "1.jpg").rename(root / "train" / "B" / "one.jpg")
    return root


def _empty(root):
    (root / "train").mkdir(parents=True)
    return root


def _no_images(root):
    (root / "train").mkdir(parents=True)
    (root / "train" / "readme.txt").write_text("no images here")
    return root


def _no_split(root):
    (root / "val").mkdir(parents=True)
    return root


REFUSED = {
    "missing data folder": (lambda root: root, [], "data folder not found"),
    "empty folder": (_empty, [], "train: empty"),
    "folder with no images": (_no_images, [], "1 entry but no .jpg/.jpeg/.png images"),
    "missing split (no train/)": (_no_split, [], "no 'train/' split folder (found: val)"),
    "zero-byte file": (_zero, [], "zero.jpg: empty file (0 bytes)"),
    "truncated JPEG": (_truncated, [], "cut.jpg: not a readable JPEG/PNG image"),
    "text file named .jpg": (_with("notes.jpg", raw=b"just some text"), [], "notes.jpg: not a readable JPEG/PNG image"),
    "odd-width aligned image": (_with("odd.png", np.zeros((40, 81, 3), np.uint8)), [], "odd.png: width 81 is odd"),
    "A and B names do not match": (_mismatch, [], "A and B file names do not match: 1 only in"),
    "size not compatible with the U-Net depth": (_base, ["--image-size", "66"], "'image_size' = 66"),
    "unet depth too deep for the size": (_base, ["--image-size", "64", "--unet-depth", "7"], "divisible by 2**unet_depth = 128"),
    "zero steps": (_base, ["--steps", "0"], "--steps: must be > 0"),
    "negative steps": (_base, ["--steps", "-5"], "--steps: must be > 0"),
    "zero epochs": (_base, ["--epochs", "0"], "--epochs: must be > 0"),
    "zero batch size": (_base, ["--batch-size", "0"], "--batch-size: must be > 0"),
    "negative batch size": (_base, ["--batch-size", "-2"], "--batch-size: must be > 0"),
    "zero learning rate": (_base, ["--learning-rate", "0"], "--learning-rate: must be > 0"),
    "negative learning rate": (_base, ["--learning-rate", "-0.001"], "--learning-rate: must be > 0"),
    "batch larger than the data": (_base, ["--batch-size", "8"], "3 images, fewer than batch_size=8"),
    "unknown direction": (_base, ["--direction", "AtoC"], "--direction: invalid choice: 'AtoC'"),
    "unknown inference mode": (_base, ["--inference-mode", "eval"], "--inference-mode: invalid choice"),
    "unknown precision": (_base, ["--precision", "float8"],
                          "argument --precision: invalid choice: 'float8'"),
    "unknown strategy": (_base, ["--strategy", "horovod"],
                         "argument --strategy: invalid choice: 'horovod'"),
    "TPU strategy without a TPU": (_base, ["--strategy", "tpu"], "--strategy tpu: no TPU found"),
    "unknown flag": (_base, ["--fp8"], "unrecognized arguments: --fp8"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_inputs_exit_2_with_one_line(case, tmp_path, capsys):
    build, flags, message = REFUSED[case]
    root = build(tmp_path / "data")
    out = tmp_path / "run"
    argv = ["train", "--data", str(root), "--out", str(out), "--steps", "2", "--quiet", *flags]
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, (case, err)
    assert err and message in err[-1], (case, err[-1:])
    assert "Traceback" not in "\n".join(err)
    assert not out.exists(), f"{case}: a run folder was written"
    print(f"[{case}] {err[-1]}")


def test_skip_bad_files_trains_and_counts_them(tmp_path, capsys):
    root = _truncated(tmp_path / "data")
    (root / "train" / "zero.jpg").write_bytes(b"")
    summary = train(CFG, root, tmp_path / "run", steps=2, verbose=0, export=False, skip_bad_files=True)
    assert summary["train_images"] == 3
    err = capsys.readouterr().err
    assert "skipped 2 bad pair(s) of 5" in err
