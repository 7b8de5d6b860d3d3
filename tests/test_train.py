import csv
import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.config import ConfigError
from pix2pix_tf.data import make_dataset
from pix2pix_tf.model import Pix2Pix
from pix2pix_tf.run import callbacks as cb
from pix2pix_tf.run.folder import RunDirError
from pix2pix_tf.run.loading import load_run
from pix2pix_tf.run.train import train


def _overfit(config, steps=100):
    """Train on one fixed batch; return (model, history, L1 before, L1 after)."""
    keras.utils.set_random_seed(0)
    model = Pix2Pix.from_config_object(config)
    model.compile()
    x = tf.random.uniform((1, 64, 64, 3), -1, 1, seed=1)
    y = -x  # a per-pixel mapping the U-Net can learn quickly

    def l1():
        return float(tf.reduce_mean(tf.abs(model.generator(x, training=True) - y)))

    before = l1()
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    hist = model.fit(ds, steps_per_epoch=steps // 2, epochs=2, verbose=0).history
    return model, hist, before, l1()


def test_a_few_steps_on_one_batch_reduce_l1(tiny_config):
    model, hist, before, after = _overfit(tiny_config.replace(learning_rate=2e-3))
    assert after < 0.7 * before, (before, after)
    assert hist["g_l1"][1] < hist["g_l1"][0]
    assert set(hist) == {"d_loss", "d_real", "d_fake", "g_gan", "g_l1", "g_total"}
    assert model.step == 100
    # d_loss is the halved sum; g_total = g_gan + 100 * g_l1 (per step, so also as means)
    np.testing.assert_allclose(hist["d_loss"][1], 0.5 * (hist["d_real"][1] + hist["d_fake"][1]), rtol=1e-4)
    np.testing.assert_allclose(hist["g_total"][1], hist["g_gan"][1] + 100 * hist["g_l1"][1], rtol=1e-4)


def test_alternating_update_also_learns(tiny_config):
    model, _, before, after = _overfit(tiny_config.replace(learning_rate=2e-3, gan_update="alternating"))
    assert after < 0.7 * before, (before, after)
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 100


def test_run_directory_contents(trained_run):
    root, summary, cfg = trained_run
    run = root / "run"
    for name in ("config.json", "history.csv", "summary.json", "saved_model/saved_model.pb",
                 "images/epoch_0001.png", "images/epoch_0002.png",
                 "checkpoints/ckpt-8.index", "checkpoints/ckpt-4.index"):
        assert (run / name).exists(), name
    assert len(list((run / "logs" / "train").iterdir())) == 1
    assert summary["steps"] == 8 and summary["epochs_run"] == 2
    assert summary["seconds_per_step"] > 0 and summary["images_per_second"] > 0
    assert set(summary["test"]) == {"l1", "psnr", "ssim"}
    by_mode = summary["test_by_inference_mode"]
    assert set(by_mode) == {cfg.inference_mode}  # one mode by default: the config's
    assert summary["test"] == by_mode[cfg.inference_mode]
    timings = summary["timings"]
    for phase in ("checks", "build", "input_pipeline", "first_step", "steps", "validation",
                  "snapshots", "checkpoints", "evaluation", "export", "time_to_first_step", "total"):
        assert timings[phase] >= 0, phase
    assert timings["first_step"] > 0 and timings["export"] > 0 and timings["checkpoints"] > 0
    assert timings["time_to_first_step"] < timings["total"]
    assert "startup" not in timings  # only the CLI knows when its process started
    assert json.loads((run / "summary.json").read_text())["steps"] == 8
    lines = (run / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,") and "val_l1" in lines[0] and len(lines) == 3
    grid = tf.io.decode_png((run / "images" / "epoch_0002.png").read_bytes())
    assert grid.shape == (2 * 64, 3 * 64, 3)  # 2 test images: input | output | target


def test_test_metrics_reused_from_the_last_validation_equal_a_fresh_evaluate(trained_run):
    root, summary, cfg = trained_run
    model = load_run(root / "run")  # the final weights, in the config's inference mode
    test_ds, _ = make_dataset(root / "data", "test", cfg)
    fresh = model.evaluate(test_ds, verbose=0, return_dict=True)
    for name, value in summary["test"].items():
        np.testing.assert_allclose(value, float(fresh[name]), rtol=1e-5, err_msg=name)


def test_eval_modes_scores_each_mode_asked_for(trained_run, tmp_path):
    root, _, cfg = trained_run
    summary = train(cfg, root / "data", tmp_path / "run", steps=3, steps_per_epoch=2, verbose=0,
                    export=False, eval_modes=("deterministic", "paper"))
    by_mode = summary["test_by_inference_mode"]
    assert set(by_mode) == {"deterministic", "paper"}
    assert by_mode["deterministic"]["l1"] != by_mode["paper"]["l1"]  # each mode really traced
    assert summary["timings"]["evaluation"] > 0  # 3 steps end mid-epoch: nothing to reuse


def test_resume_restores_weights_optimizer_and_step(trained_run, tmp_path):
    root, _, cfg = trained_run
    run = shutil.copytree(root / "run", tmp_path / "run")  # keep the shared run at step 8
    model = load_run(run)
    assert model.step == 8
    assert int(model.d_optimizer.iterations) == 8
    moments = [v for v in model.g_optimizer.variables if "momentum" in v.path]
    assert moments and any(float(tf.reduce_max(tf.abs(v))) > 0 for v in moments)
    summary = train(None, root / "data", run, steps=12, resume=True, steps_per_epoch=4,
                    verbose=0, export=False)
    assert summary["start_step"] == 8 and summary["steps"] == 12
    assert (run / "checkpoints" / "ckpt-12.index").exists()
    assert len((run / "history.csv").read_text().splitlines()) == 4  # appended one epoch
    resumed = load_run(run)
    assert resumed.step == 12 and int(resumed.d_optimizer.iterations) == 12


def test_refuses_to_overwrite_a_run(trained_run):
    root, _, cfg = trained_run
    with pytest.raises(RunDirError, match="--resume .* or --overwrite"):
        train(cfg, root / "data", root / "run", steps=1, verbose=0)
    with pytest.raises(RunDirError, match="differs .* image_size"):
        train(cfg.replace(image_size=32, load_size=36), root / "data", root / "run", steps=1,
              resume=True, verbose=0)


def test_overwrite_removes_only_run_files(trained_run, tmp_path):
    root, _, cfg = trained_run
    run = shutil.copytree(root / "run", tmp_path / "run")
    (run / "my_notes.txt").write_text("keep me")
    (run / "my_figures").mkdir()
    train(cfg, root / "data", run, steps=2, steps_per_epoch=2, overwrite=True, verbose=0, export=False)
    assert (run / "my_notes.txt").read_text() == "keep me" and (run / "my_figures").is_dir()
    assert sorted(p.name for p in (run / "checkpoints").glob("*.index")) == ["ckpt-2.index"]
    assert not (run / "saved_model").exists()  # the old export was a run file: removed


def test_epoch_end_checkpoints_keep_a_time_floor(trained_run, tmp_path):
    """A short run with short epochs saves at the end, not at every epoch end; 0 restores that."""
    root, _, cfg = trained_run
    floor = train(cfg, root / "data", tmp_path / "floor", steps=6, steps_per_epoch=2, verbose=0,
                  export=False)  # default: 300 s between epoch-end checkpoints
    assert sorted(p.name for p in (tmp_path / "floor" / "checkpoints").glob("*.index")) == ["ckpt-6.index"]
    assert floor["checkpoints_saved"] == 1 and floor["epochs_run"] == 3
    every = train(cfg, root / "data", tmp_path / "every", steps=6, steps_per_epoch=2, verbose=0,
                  export=False, checkpoint_min_seconds=0)
    assert sorted(p.name for p in (tmp_path / "every" / "checkpoints").glob("*.index")) == [
        "ckpt-2.index", "ckpt-4.index", "ckpt-6.index"]
    assert every["checkpoints_saved"] == 3
    with pytest.raises(ConfigError, match="checkpoint_min_seconds must be >= 0"):
        train(cfg, root / "data", tmp_path / "bad", steps=2, verbose=0, checkpoint_min_seconds=-1)
    assert not (tmp_path / "bad").exists()


def test_validation_and_snapshots_run_within_their_budget(trained_run, tmp_path):
    """Budget 0: only the first and the last epoch are validated and snapshot; 1: every epoch."""
    root, _, cfg = trained_run

    def val_rows(run):
        with open(run / "history.csv", newline="") as f:
            return [row["val_l1"] for row in csv.DictReader(f)]

    lean = train(cfg, root / "data", tmp_path / "lean", steps=8, steps_per_epoch=2, verbose=0,
                 export=False, validation_budget=0)
    assert lean["epochs_run"] == 4 and lean["epochs_validated"] == 2
    assert sorted(p.name for p in (tmp_path / "lean" / "images").glob("*.png")) == [
        "epoch_0001.png", "epoch_0004.png"]
    rows = val_rows(tmp_path / "lean")
    assert [v != "NA" for v in rows] == [True, False, False, True]
    # the end-of-run test metrics are the last validation's (same weights, same mode)
    assert lean["test"]["l1"] == pytest.approx(float(rows[-1]), rel=1e-6)
    assert lean["timings"]["validation"] > 0 and lean["timings"]["snapshots"] > 0
    logged = {e.step for f in (tmp_path / "lean" / "logs" / "validation").rglob("events.*")
              for e in tf.compat.v1.train.summary_iterator(str(f)) for v in e.summary.value
              if v.tag == "l1"}
    assert logged == {2, 8}  # TensorBoard's validation curve: the validated epochs' steps

    every = train(cfg, root / "data", tmp_path / "every", steps=8, steps_per_epoch=2, verbose=0,
                  export=False, validation_budget=1)
    assert every["epochs_validated"] == 4
    assert len(list((tmp_path / "every" / "images").glob("epoch_*.png"))) == 4
    assert "NA" not in val_rows(tmp_path / "every")
    with pytest.raises(ConfigError, match="validation_budget must be >= 0"):
        train(cfg, root / "data", tmp_path / "bad", steps=2, verbose=0, validation_budget=-0.5)
    assert not (tmp_path / "bad").exists()


def test_epoch_report_waits_its_cost_over_the_budget(monkeypatch):
    """With reports costing 1 s and a budget of 0.1, the next one comes 10 s after the last;
    the first and the last epoch always get one, and so does an epoch that stops training."""
    clock = [0.0]
    monkeypatch.setattr(cb.time, "perf_counter", lambda: clock[0])

    class OneSecondSnapshot:  # stands in for ImageSnapshot: a report costs 1 s of the clock
        def __init__(self):
            self.taken = []

        def set_model(self, model):
            pass

        def on_epoch_end(self, epoch, logs=None):
            clock[0] += 1.0
            self.taken.append(epoch)

    class Trainee:
        stop_training = False

    snapshot = OneSecondSnapshot()
    report = cb.EpochReport(None, snapshot, budget=0.1)
    report.set_model(Trainee())
    report.set_params({"epochs": 10})
    report.on_train_begin()
    for epoch in range(10):  # an epoch takes 3 s
        clock[0] += 3.0
        report.on_epoch_end(epoch, {})
    assert snapshot.taken == [0, 4, 8, 9]
    assert (report.reports, report.skipped) == (4, 6)
    report.model.stop_training = True  # StopAtStep ended the run early: this epoch is the last
    report.on_epoch_end(10, {})
    assert snapshot.taken[-1] == 10
    with pytest.raises(ValueError, match="budget"):
        cb.EpochReport(budget=float("nan"))
