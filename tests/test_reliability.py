"""Crash and resume, checkpoints under kills, the NaN guard and determinism.

The runs that need op determinism or a kill happen in subprocesses (determinism is
process-wide in TensorFlow), driven through the real command line.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_pair, write_image
from pix2pix_tf.apps import cli
from pix2pix_tf.run.callbacks import TrainingDiverged
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.model import Pix2Pix
from pix2pix_tf.run.loading import load_run
from pix2pix_tf.run.train import train

MODEL = ["--image-size", "64", "--ngf", "16", "--ndf", "16"]  # config flags: not with --resume
RUN = ["--steps-per-epoch", "4", "--quiet", "--no-export", "--keep-checkpoints", "50"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliability") / "data"
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for i in range(n):
            write_image(root / split / f"{i:03d}.png", make_pair(rng))
    return root


def _cmd(data, out, *extra, resume=False):
    return [sys.executable, "-m", "pix2pix_tf.apps.cli", "train", "--data", str(data), "--out", str(out),
            *(["--resume"] if resume else MODEL), *RUN, *extra]


def _run(cmd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _ckpt_steps(run):
    return sorted(int(p.name.split("-")[1].split(".")[0]) for p in (run / "checkpoints").glob("ckpt-*.index"))


def _weights(path):
    reader = tf.train.load_checkpoint(str(path))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if "generator" in k or "optimizer" in k or "dropout_seeds" in k}


def _kill_when(proc, run, min_step, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        steps = _ckpt_steps(run) if (run / "checkpoints").is_dir() else []
        if steps and steps[-1] >= min_step:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return steps[-1]
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    pytest.fail(f"run ended or stalled before checkpoint {min_step}: {proc.poll()}")


@pytest.mark.slow  # about a minute: three training processes, one killed; CI runs the slow tests too
def test_killed_run_resumes_to_the_same_weights_and_is_deterministic(data, tmp_path):
    total = 40
    # uninterrupted reference, deterministic, checkpoint every 2 steps
    _run(_cmd(data, tmp_path / "ref", "--steps", str(total), "--deterministic", "--checkpoint-every", "2"))
    # the same run killed with SIGKILL mid-way, then resumed
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(data, killed, "--steps", str(total), "--deterministic",
                                 "--checkpoint-every", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    last = _kill_when(proc, killed, 6)
    assert proc.returncode == -signal.SIGKILL
    assert 6 <= last < total
    state = tf.train.get_checkpoint_state(str(killed / "checkpoints"))
    registered = int(state.model_checkpoint_path.rsplit("-", 1)[1])
    _run(_cmd(data, killed, "--steps", str(total), "--deterministic", "--checkpoint-every", "2",
              resume=True))
    summary = json.loads((killed / "summary.json").read_text())
    # the resume starts from the newest checkpoint the manager had registered when the kill
    # came: ckpt-{last} itself, or the one before it when the kill fell between writing
    # ckpt-{last}'s files and recording it in checkpoints/checkpoint
    assert registered in (last, last - 2)
    assert summary["start_step"] == registered and summary["steps"] == total
    ref = _weights(tmp_path / "ref" / "checkpoints" / f"ckpt-{total}")
    res = _weights(killed / "checkpoints" / f"ckpt-{total}")
    assert ref.keys() == res.keys() and len(ref) > 50
    diffs = {k: float(np.max(np.abs(ref[k].astype(np.float64) - res[k].astype(np.float64)))) for k in ref}
    assert max(diffs.values()) == 0.0, sorted(diffs.items(), key=lambda kv: -kv[1])[:5]
    print(f"killed after ckpt-{last}, resumed from step {summary['start_step']} to {total}; "
          f"{len(diffs)} variables, max |difference| {max(diffs.values())}")
    # determinism: a second uninterrupted run gives bit-identical losses
    _run(_cmd(data, tmp_path / "again", "--steps", "12", "--deterministic"))
    # header + the losses of the first 3 epochs of 4 steps, exact text (not the val_* columns:
    # a run validates its last epoch, and epoch 3 is the last of "again" only)
    def losses(run):
        rows = (tmp_path / run / "history.csv").read_text().splitlines()
        n = len([c for c in rows[0].split(",") if not c.startswith("val_")])
        return [",".join(row.split(",")[:n]) for row in rows[:4]]

    assert losses("again") == losses("ref")


def test_kills_during_frequent_saves_leave_a_loadable_checkpoint(data, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    seen = []
    for attempt, min_step in enumerate((3, 9)):
        cmd = _cmd(data, run, "--checkpoint-every", "1", "--steps", "400", resume=attempt > 0)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        seen.append(_kill_when(proc, run, min_step))
        model = load_run(run)  # the newest complete checkpoint loads
        assert model.step >= seen[-1] - 1
        assert all(np.isfinite(v.numpy()).all() for v in model.generator.weights)
    assert seen[1] > seen[0]


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(data, tmp_path, monkeypatch):
    original = Pix2Pix.train_step

    def poisoned(self, batch):
        logs = original(self, batch)
        bad = self.g_optimizer.iterations >= 6
        v = self.generator.trainable_variables[0]
        v.assign(tf.where(bad, v * np.nan, v))  # the weights really go bad
        return {k: tf.where(bad, tf.constant(np.nan, v.dtype), t) if k == "g_total" else t
                for k, t in logs.items()}

    monkeypatch.setattr(Pix2Pix, "train_step", poisoned)
    cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)
    with pytest.raises(TrainingDiverged, match=r"diverged at step 6: g_total=nan.*ckpt-4"):
        train(cfg, data, tmp_path / "run", steps=20, steps_per_epoch=4, checkpoint_every=2, verbose=0)
    run = tmp_path / "run"
    assert _ckpt_steps(run) == [2, 4]  # step 6 was never saved
    model = load_run(run)
    assert model.step == 4
    assert all(np.isfinite(v.numpy()).all() for v in model.generator.weights)
    assert not (run / "saved_model").exists()
    # the command line exits non-zero (3) with a one-line message
    code = cli.main(["train", "--data", str(data), "--out", str(tmp_path / "cli"), "--steps", "20",
                     "--image-size", "64", "--ngf", "8", "--ndf", "8", "--steps-per-epoch", "4",
                     "--checkpoint-every", "2", "--quiet"])
    assert code == 3
