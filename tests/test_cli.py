"""The pix2pix-tf command line, run as a user would: in subprocesses."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import SAMPLE_DATA, make_pair, write_image


def cli(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "pix2pix_tf.apps.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def assert_clean_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


@pytest.mark.parametrize("flags,fragment", [
    (["--steps", "0"], "--steps: must be > 0"),
    (["--steps", "-3"], "--steps: must be > 0"),
    (["--batch-size", "0"], "--batch-size: must be > 0"),
    (["--learning-rate", "-0.0001"], "--learning-rate: must be > 0"),
    (["--direction", "up"], "--direction: invalid choice"),
    (["--image-size", "abc"], "--image-size: 'abc' is not a valid int"),
    (["--steps", "5", "--epochs", "2"], "not allowed with argument"),
    (["--validation-budget", "-0.1"], "--validation-budget: must be >= 0"),
    (["--checkpoint-min-seconds", "nan"], "--checkpoint-min-seconds: must be a finite number"),
])
def test_bad_flags(tmp_path, flags, fragment):
    assert_clean_error(cli("train", "--data", tmp_path, *flags), fragment)


def test_bad_values_and_folders(tmp_path):
    assert_clean_error(cli("train", "--data", tmp_path / "missing", "--out", tmp_path / "r"),
                       "missing: data folder not found")
    assert_clean_error(cli("train", "--data", tmp_path, "--out", tmp_path / "r"),
                       "no 'train/' split folder")
    write_image(tmp_path / "d" / "train" / "a.png", make_pair(np.random.default_rng(0)))
    (tmp_path / "d" / "train" / "broken.jpg").write_text("not a jpeg")
    assert_clean_error(cli("train", "--data", tmp_path / "d", "--out", tmp_path / "r", "--image-size", "64"),
                       "broken.jpg: not a readable JPEG/PNG image")
    assert not (tmp_path / "r").exists()  # nothing half-written
    (tmp_path / "d" / "train" / "broken.jpg").unlink()
    assert_clean_error(cli("train", "--data", tmp_path / "d", "--image-size", "66"),
                       "'image_size' = 66", "divisible by 4")
    assert_clean_error(cli("predict", "--model", tmp_path, "--input", tmp_path, "--out", tmp_path / "o"),
                       "not a SavedModel folder")


def test_make_sample_is_deterministic(tmp_path):
    for name in ("a", "b"):
        r = cli("make-sample", "--out", tmp_path / name, "--train", 3, "--test", 2, "--size", 64, "--seed", 1)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.strip().splitlines()[-1])["train"] == 3
    # the manifest (.pix2pix-tf.json, new with issue 13) records a creation time: images only
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*")
                   if p.name != ".pix2pix-tf.json")
    assert len(files) == 5
    assert (tmp_path / "a" / ".pix2pix-tf.json").is_file()
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_train_then_predict_on_the_bundled_sample(tmp_path):
    run = tmp_path / "run"
    r = cli("train", "--data", SAMPLE_DATA, "--out", run, "--steps", 6, "--steps-per-epoch", 3,
            "--image-size", 64, "--ngf", 8, "--ndf", 8, "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("config.json", "history.csv", "summary.json", "saved_model/saved_model.pb",
                 "images/epoch_0002.png", "checkpoints/ckpt-6.index"):
        assert (run / name).exists(), name
    assert json.loads((run / "config.json").read_text())["load_size"] == 72  # 64 * 286 / 256
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6
    assert summary["timings"]["startup"] > 0  # the CLI knows when its process started
    # the process ends at once after train (os._exit): all was printed and written before
    assert "run written to" in r.stdout
    events = {(v.tag, e.step) for f in (run / "logs").rglob("events.*")
              for e in tf.compat.v1.train.summary_iterator(str(f)) for v in e.summary.value}
    assert ("input | output | target", 6) in events and ("l1", 6) in events

    # predict: a folder of aligned test files, plus one unreadable file that is skipped
    src = tmp_path / "inputs"
    src.mkdir()
    for f in sorted((SAMPLE_DATA / "test").iterdir())[:2]:
        (src / f.name).write_bytes(f.read_bytes())
    (src / "zz_broken.png").write_bytes(b"\x89PNG truncated")
    r = cli("predict", "--model", run, "--input", src, "--out", tmp_path / "out", "--aligned",
            "--side-by-side")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "zz_broken.png" in r.stderr and "skipped 1" in r.stdout
    outs = sorted(p for p in (tmp_path / "out").iterdir() if p.name != ".pix2pix-tf.json")  # + manifest
    assert [p.stem for p in outs] == [p.stem for p in sorted(src.iterdir())[:2]]
    src_img = tf.io.decode_image(next(src.glob(outs[0].stem + ".*")).read_bytes())
    out_img = tf.io.decode_png(outs[0].read_bytes())
    h, w = src_img.shape[0], src_img.shape[1] // 2
    assert out_img.shape == (h, 2 * w, 3)  # input half | output, at the file's own size

    # resume a finished run to more steps, then refuse to clobber it
    r = cli("train", "--data", SAMPLE_DATA, "--out", run, "--steps", 8, "--steps-per-epoch", 4,
            "--resume", "--quiet", "--no-export")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run / "summary.json").read_text())["steps"] == 8
    assert_clean_error(cli("train", "--data", SAMPLE_DATA, "--out", run, "--steps", 2),
                       "run folder exists", "--resume", "--overwrite")


def test_export_and_evaluate_commands(trained_run, tmp_path):
    root, _, _ = trained_run
    r = cli("export", "--run", root / "run", "--out", tmp_path / "g.tflite", "--format", "tflite",
            "--quantize", "float16")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "g.tflite").stat().st_size > 10_000
    r = cli("export", "--run", root / "run", "--out", tmp_path / "sm", "--inference-mode", "paper")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path / "sm" / "assets.extra" / "pix2pix_config.json").read_text())[
        "inference_mode"] == "paper"
    r = cli("evaluate", "--model", root / "run", "--data", root / "data", "--out", tmp_path / "ev")
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["images"] == 2 and 0 < metrics["l1"] < 2 and metrics["psnr"] > 0
    assert (tmp_path / "ev" / "best.png").exists() and (tmp_path / "ev" / "worst.png").exists()
    assert_clean_error(cli("evaluate", "--model", tmp_path, "--data", root / "data"),
                       "neither a SavedModel folder nor a run folder")
    assert_clean_error(cli("export", "--run", root / "run", "--out", tmp_path / "p.tflite",
                           "--format", "tflite", "--inference-mode", "paper"),
                       "deterministic inference mode")


def test_make_pairs_command(tmp_path, capsys):
    from pix2pix_tf.apps import cli as cli_module

    src = tmp_path / "photos"
    rng = np.random.default_rng(4)
    for i in range(10):
        write_image(src / f"p{i}.jpg", rng.integers(0, 256, (40 + i, 60, 3), dtype=np.uint8))
    (src / "broken.jpg").write_bytes(b"nope")
    code = cli_module.main(["make-pairs", "--task", "superres", "--src", str(src), "--out",
                            str(tmp_path / "pairs"), "--size", "32", "--opt", "factor=2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    info = json.loads(captured.out.strip().splitlines()[-1])
    assert (info["train"], info["val"], info["test"], info["skipped"]) == (8, 1, 1, 1)
    assert info["options"]["factor"] == 2 and "broken.jpg" in captured.err
    img = tf.io.decode_jpeg((tmp_path / "pairs" / "train" / "p0.jpg").read_bytes())
    assert img.shape == (32, 64, 3)
    code = cli_module.main(["make-pairs", "--task", "superres", "--src", str(src), "--out",
                            str(tmp_path / "p2"), "--opt", "factor=3"])
    assert code == 2 and "factor" in capsys.readouterr().err.strip().splitlines()[-1]
    code = cli_module.main(["make-pairs", "--task", "edges", "--src", str(src), "--out",
                            str(tmp_path / "p3"), "--opt", "sigma"])
    assert code == 2 and "expected NAME=VALUE" in capsys.readouterr().err
