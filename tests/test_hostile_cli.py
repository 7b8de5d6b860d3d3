"""Hostile command lines (issue 13): every refusal is one line, exit 2, and changes nothing.

Each case checks the exit status, that stderr is exactly one line naming the flag or the
file, that there is no traceback, and (with treesnap) that nothing outside the folder the
command may write changed and nothing half-written is left.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_pair, write_image
from clirun import assert_refused, run
from treesnap import changed, snapshot


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64k", read_only: bool = False):
    """A real small file system at ``path`` (we run as root); skip when mounting fails."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or 'not root?'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)


def no_temporaries(root: Path) -> None:
    left = [p for p in root.rglob("*") if p.name.startswith(".pix2pix-tf-tmp-")]
    assert not left, left
    empty = [p for p in root.rglob("*") if p.is_file() and p.stat().st_size == 0]
    assert not empty, empty


@pytest.fixture
def pairs(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("test", 1)):
        for i in range(n):
            write_image(tmp_path / "data" / split / f"{i}.png", make_pair(rng))
    return tmp_path / "data"


@pytest.fixture
def photos(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    for i in range(4):
        write_image(tmp_path / "photos" / f"p{i}.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    return tmp_path / "photos"


@pytest.fixture
def ab(tmp_path) -> tuple[Path, Path]:
    rng = np.random.default_rng(2)
    for name in ("1", "2", "3"):
        write_image(tmp_path / "A" / f"{name}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
        write_image(tmp_path / "B" / f"{name}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    return tmp_path / "A", tmp_path / "B"


def command(kind: str, out, trained_run=None, photos=None, ab=None, *extra) -> list:
    """The argv of one data-writing command with --out ``out``."""
    if kind == "predict":
        root = trained_run[0]
        return ["predict", "--model", root / "run", "--input", root / "data" / "test", "--out", out, *extra]
    if kind == "make-sample":
        return ["make-sample", "--out", out, "--train", 2, "--test", 1, "--size", 32, *extra]
    if kind == "make-pairs":
        return ["make-pairs", "--task", "colorize", "--src", photos, "--out", out, "--size", 16, *extra]
    return ["combine", "--a", ab[0], "--b", ab[1], "--out", out, *extra]


COMMANDS = ["predict", "make-sample", "make-pairs", "combine"]


# ------------------------------------------------------------------------ parser errors
@pytest.mark.parametrize("argv,fragment", [
    (["train", "--data", "d", "--bogus-flag"], "unrecognized arguments: --bogus-flag"),
    (["train", "--data", "d", "--steps", "abc"], "argument --steps: 'abc' is not a valid int"),
    (["train", "--data", "d", "--direction", "up"], "argument --direction: invalid choice"),
    (["train", "--data", "d", "--seed", "-1"], "argument --seed: must be in 0..4294967295, got -1"),
    (["train", "--data", "d", "--seed", str(2 ** 32)], "argument --seed"),
    (["train", "--data", "d", "--lambda-l1", "inf"], "argument --lambda-l1/--lambda_L1: must be a finite number"),
    (["train", "--data", "d", "--init-stddev", "inf"], "argument --init-stddev: must be a finite number"),
    (["train", "--data", "d", "--learning-rate", "nan"], "argument --learning-rate: must be a finite"),
    (["train", "--data", "d", "--n-layers-d", "-2"], "argument --n-layers-d/--n_layers_D: must be >= 0"),
    (["make-sample", "--seed", "-1"], "argument --seed: must be in 0..4294967295"),
    (["make-sample", "--size", "20"], "argument --size: must be a multiple of 16 (at least 16), got 20"),
    (["make-sample", "--size", "8"], "argument --size: must be >= 16"),
    (["make-sample", "--test", "-1"], "argument --test: must be >= 0"),
    (["make-pairs", "--task", "colorize", "--src", "s", "--out", "o", "--seed", "-1"], "argument --seed"),
    (["make-pairs", "--task", "sketch", "--src", "s", "--out", "o"], "argument --task: invalid choice"),
    (["combine", "--a", "a", "--b", "b", "--out", "o", "--format", "gif"], "argument --format"),
    (["predict", "--model", "m", "--input", "i"], "required: --out"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_parser_errors_are_one_line_without_usage(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    line = assert_refused(run(capsys, *argv), fragment)
    assert "usage:" not in line
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ config refused early
@pytest.mark.parametrize("flags,fragment", [
    (["--seed", "-1"], "--seed"),
    (["--n-layers-d", "50"], "'n_layers_d' = 50: too deep for image_size 256"),
    (["--lambda-l1", "inf"], "--lambda-l1"),
    (["--init-stddev", "inf"], "--init-stddev"),
    (["--image-size", "65536"], "image_size = 65536"),
    (["--ngf", "100000"], "ngf = 100000"),
    (["--batch-size", "100000000"], "batch_size = 100000000"),
    (["--load-size", "1000000000"], "load_size = 1000000000"),
])
def test_bad_configs_are_refused_before_anything_is_written(pairs, tmp_path, capsys, flags, fragment):
    before = snapshot(tmp_path)
    result = run(capsys, "train", "--data", pairs, "--out", tmp_path / "run", *flags)
    line = assert_refused(result, fragment)
    if "needs about" in line:
        assert "this machine has" in line
    assert result[3] < 20, result[3]
    assert not (tmp_path / "run").exists()
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("case", ["missing", "folder", "not_json", "not_object", "not_utf8",
                                  "unknown_field", "nan", "wrong_type", "huge_int"])
def test_config_file_problems_name_the_file(pairs, tmp_path, capsys, case):
    path = tmp_path / "cfg.json"
    fragment = {"missing": "config file not found", "folder": "is a folder",
                "not_json": "not valid JSON", "not_object": "not a JSON object",
                "not_utf8": "not UTF-8", "unknown_field": "unknown config field(s): learning_rat",
                "nan": "'lambda_l1' = nan: must be a finite number",
                "wrong_type": "'image_size' = '64': must be an integer",
                "huge_int": "not valid JSON"}[case]
    if case == "folder":
        path.mkdir()
    elif case != "missing":
        path.write_bytes({"not_json": b"{image_size: 64", "not_object": b"[1, 2]",
                          "not_utf8": b'{"seed": "\xff\xfe"}', "unknown_field": b'{"learning_rat": 1}',
                          "nan": b'{"lambda_l1": NaN}', "wrong_type": b'{"image_size": "64"}',
                          "huge_int": b'{"ngf": ' + b"9" * 5000 + b"}"}[case])
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "train", "--data", pairs, "--out", tmp_path / "run", "--config", path),
                   f"{path}: ", fragment)
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ unusable --out
@pytest.mark.parametrize("kind", COMMANDS)
@pytest.mark.parametrize("where", ["file", "under_file", "read_only"])
def test_unusable_out_is_refused(kind, where, trained_run, photos, ab, tmp_path, capsys):
    (tmp_path / "a_file").write_text("mine")
    if where == "read_only":
        stack = contextlib.ExitStack()
        stack.enter_context(tmpfs(tmp_path / "ro", read_only=True))
        out, fragment = tmp_path / "ro" / "out", "is not writable"
    else:
        stack = contextlib.nullcontext()
        out = tmp_path / "a_file" if where == "file" else tmp_path / "a_file" / "out"
        fragment = "is a file" if where == "file" else "lies under a file"
    with stack:
        before = snapshot(tmp_path)
        assert_refused(run(capsys, *command(kind, out, trained_run, photos, ab)), f"--out {out}", fragment)
        assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ non-empty --out
@pytest.mark.parametrize("kind", COMMANDS)
def test_foreign_out_is_refused_even_with_overwrite(kind, trained_run, photos, ab, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "train").mkdir(parents=True)
    (out / "notes.txt").write_text("precious")
    (out / "train" / "0000.jpg").write_bytes(b"precious too")
    before = snapshot(tmp_path)
    for extra in ([], ["--overwrite"]):
        assert_refused(run(capsys, *command(kind, out, trained_run, photos, ab, *extra)),
                       f"--out {out}: not empty", "not written by pix2pix-tf")
        assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("kind", COMMANDS)
def test_own_out_needs_overwrite_and_foreign_files_survive_it(kind, trained_run, photos, ab, tmp_path,
                                                              capsys):
    out = tmp_path / "out"
    argv = command(kind, out, trained_run, photos, ab)
    assert run(capsys, *argv)[0] == 0
    before = snapshot(tmp_path)
    assert_refused(run(capsys, *argv), str(out), "--overwrite")
    assert changed(before, snapshot(tmp_path)) == []
    (out / "zz_mine.txt").write_text("not yours")  # a foreign file in our folder
    result = run(capsys, *argv, "--overwrite")
    assert result[0] == 0, result
    assert (out / "zz_mine.txt").read_text() == "not yours"
    no_temporaries(out)


def test_output_name_taken_by_a_foreign_file_is_refused_up_front(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, "make-sample", "--out", out, "--train", 1, "--test", 0, "--size", 16)[0] == 0
    (out / "train" / "0001.jpg").write_bytes(b"somebody's photo")
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "make-sample", "--out", out, "--train", 2, "--test", 0, "--size", 16,
                       "--overwrite"), f"{out / 'train' / '0001.jpg'}: exists and was not written")
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ name collisions
def test_make_pairs_collisions_are_listed_and_nothing_is_written(tmp_path, capsys):
    src = tmp_path / "photos"
    rng = np.random.default_rng(3)
    for name in ("a.png", "a.jpg", "a_png.jpg", "b.jpg", "b.JPG", "c.png"):
        write_image(src / name, rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    before = snapshot(tmp_path)
    line = assert_refused(run(capsys, "make-pairs", "--task", "colorize", "--src", src, "--out",
                              tmp_path / "out", "--size", 16), "2 output name collision(s)")
    assert "a.png and a_png.jpg would both be written as a_png.jpg" in line
    assert "b.JPG and b.jpg would both be written as b_jpg.jpg" in line
    assert changed(before, snapshot(tmp_path)) == []


def test_predict_collisions_are_listed(trained_run, tmp_path, capsys):
    root = trained_run[0]
    src = tmp_path / "in"
    src.mkdir()
    first = sorted((root / "data" / "test").iterdir())[0]
    (src / "x.png").write_bytes(first.read_bytes())
    (src / "X.png").write_bytes(first.read_bytes())
    before = snapshot(tmp_path)
    assert_refused(run(capsys, "predict", "--model", root / "run", "--input", src, "--out", tmp_path / "o"),
                   "X.png and x.png would both be written as X.png")
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ full disk
@pytest.mark.parametrize("kind", COMMANDS)
def test_full_disk_leaves_nothing_half_written(kind, trained_run, photos, ab, tmp_path, capsys):
    extra = {"make-sample": ["--train", 20, "--size", 64], "make-pairs": ["--size", 128]}.get(kind, [])
    if kind == "predict":  # large inputs: each output is bigger than the disk
        big = tmp_path / "big"
        rng = np.random.default_rng(5)
        for i in range(3):
            write_image(big / f"{i}.png", rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    with tmpfs(tmp_path / "disk", size="16k"):
        out = tmp_path / "disk" / "out"
        argv = command(kind, out, trained_run, photos, ab)
        if kind == "predict":
            argv[argv.index("--input") + 1] = big
        if kind == "make-sample":
            argv = [a for a in argv if a not in ("--size", 32)]
        before = snapshot(tmp_path, exclude=tmp_path / "disk")
        line = assert_refused(run(capsys, *argv, *extra), "disk full")
        assert str(out) in line
        assert not out.exists()  # the files and folders the call created are gone again
        assert list((tmp_path / "disk").iterdir()) == []
        assert changed(before, snapshot(tmp_path, exclude=tmp_path / "disk")) == []


# ------------------------------------------------------------------------ a real process
def test_a_refusal_in_a_real_process_prints_one_line_and_no_tensorflow_logs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    exe = [sys.executable, "-m", "pix2pix_tf.apps.cli"]
    cases = [(["train", "--data", "nowhere", "--seed", "-1"], "argument --seed"),
             # after TensorFlow is imported: its start-up lines must stay out of stderr too
             (["train", "--data", tmp_path / "nowhere", "--out", tmp_path / "run"], "data folder not found"),
             (["predict", "--model", tmp_path, "--input", tmp_path, "--out", tmp_path / "o"],
              "not a SavedModel folder")]
    for argv, fragment in cases:
        r = subprocess.run([*exe, *map(str, argv)], capture_output=True, text=True, timeout=120,
                           env=env, cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.splitlines()) == 1, r.stderr
        assert fragment in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
