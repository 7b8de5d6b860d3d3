"""The paper's ablations (pix2pix_tf.course.ablations): variant tables, runs and their reuse, sharpness."""

from __future__ import annotations

import json
import math
import shutil

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from conftest import SAMPLE_DATA, make_pair, write_image
from pix2pix_tf.course import ablations
from pix2pix_tf.course.ablations import (GENERATOR_ABLATION, LAMBDA_SWEEP, OBJECTIVE_ABLATION,
                                  PATCH_ABLATION, UNCONDITIONAL_ABLATION, AblationError,
                                  ablation_table, discriminator_receptive_field, l1_weight,
                                  lambda_sweep, plot_lambda_sweep, run_ablation, run_name, sharpness,
                                  show_ablation, variant_configs)
from pix2pix_tf.config import ConfigError, Pix2PixConfig
from pix2pix_tf.data import read_image

TWO = {"L1": {"loss": "l1"}, "L1+cGAN": {"loss": "l1+cgan"}}
STEPS = 2


# ---------------------------------------------------------------------------- variants
def test_patch_ablation_gives_the_paper_receptive_fields_at_128():
    cfgs = variant_configs(PATCH_ABLATION, Pix2PixConfig(image_size=128, load_size=128, ngf=4, ndf=4))
    assert list(cfgs) == ["1x1 (PixelGAN)", "16x16", "70x70", "286x286"]
    assert [discriminator_receptive_field(c) for c in cfgs.values()] == [1, 16, 70, 286]
    assert {c.loss for c in cfgs.values()} == {"l1+cgan"}  # table 3 is run with L1+cGAN


def test_patch_labels_hold_whatever_d_the_base_config_has():
    base = Pix2PixConfig(image_size=128, load_size=128, ngf=4, ndf=4, net_d="pixel", n_layers_d=1)
    cfgs = variant_configs(PATCH_ABLATION, base)
    assert [discriminator_receptive_field(c) for c in cfgs.values()] == [1, 16, 70, 286]


def test_objective_ablation_changes_only_the_loss():
    base = Pix2PixConfig(image_size=64, load_size=72, ngf=4, ndf=4, n_layers_d=1)
    cfgs = variant_configs({**OBJECTIVE_ABLATION, **UNCONDITIONAL_ABLATION}, base)
    assert {k: c.loss for k, c in cfgs.items()} == {
        "L1": "l1", "cGAN": "cgan", "L1+cGAN": "l1+cgan", "GAN": "gan", "L1+GAN": "l1+gan"}
    assert {k: discriminator_receptive_field(c) for k, c in cfgs.items()} == {
        "L1": None, "cGAN": 16, "L1+cGAN": 16, "GAN": 16, "L1+GAN": 16}  # L1 alone has no D
    for c in cfgs.values():
        assert c.replace(loss=base.loss) == base


def test_generator_ablation_removes_the_skips():
    cfgs = variant_configs(GENERATOR_ABLATION, Pix2PixConfig(image_size=64, load_size=72))
    assert [c.net_g for c in cfgs.values()] == ["encoder_decoder", "unet"]


def test_286_at_64_is_refused_before_anything_is_trained(tiny_config, pair_dir, tmp_path):
    # 64 / 2**5 = 2 < 3: the 286x286 PatchGAN has no room for a logit at 64x64
    with pytest.raises(AblationError, match=r"'286x286'.*n_layers_d"):
        run_ablation(PATCH_ABLATION, tiny_config, pair_dir, tmp_path / "abl", steps=1, log=None)
    assert not (tmp_path / "abl").exists()


def test_bad_changes_and_arguments_are_refused(tiny_config, pair_dir, tmp_path):
    with pytest.raises(ConfigError, match="'loss'"):
        variant_configs({"typo": {"loss": "l2+cgan"}}, tiny_config)
    with pytest.raises(AblationError, match="same|share"):
        variant_configs({"L1 cGAN": {}, "L1+cGAN": {}}, tiny_config)
    with pytest.raises(AblationError, match="overwrite"):
        run_ablation(TWO, tiny_config, pair_dir, tmp_path / "abl", steps=1, overwrite=True)
    shutil.rmtree(pair_dir / "test")
    with pytest.raises(AblationError, match="no test/ or val/"):
        run_ablation(TWO, tiny_config, pair_dir, tmp_path / "abl", steps=1)


def test_lambda_sweep_changes_only_the_l1_weight_with_the_70x70_d():
    # a base with another D and another lambda: the sweep's labels must still hold
    base = Pix2PixConfig(image_size=64, load_size=72, ngf=4, ndf=4, n_layers_d=1, lambda_l1=7.0)
    cfgs = variant_configs(LAMBDA_SWEEP, base)
    assert list(cfgs) == ["lambda=0", "lambda=1", "lambda=10", "lambda=100", "lambda=1000"]
    assert [l1_weight(c) for c in cfgs.values()] == [0.0, 1.0, 10.0, 100.0, 1000.0]
    assert [c.loss for c in cfgs.values()] == ["cgan"] + ["l1+cgan"] * 4  # the cGAN term always on
    assert {discriminator_receptive_field(c) for c in cfgs.values()} == {70}
    paper_d = base.replace(n_layers_d=3)
    for c in cfgs.values():  # nothing else moves: loss and lambda_l1 undo every difference
        assert c.replace(loss=paper_d.loss, lambda_l1=paper_d.lambda_l1) == paper_d


def test_lambda_sweep_ends_are_the_objective_ablation_runs():
    """With the paper's D in the base, lambda=0 is "cGAN" and lambda=100 "L1+cGAN": the same configs."""
    base = Pix2PixConfig(image_size=64, load_size=72, ngf=4, ndf=4)
    sweep, objective = variant_configs(LAMBDA_SWEEP, base), variant_configs(OBJECTIVE_ABLATION, base)
    assert sweep["lambda=0"] == objective["cGAN"]
    assert sweep["lambda=100"] == objective["L1+cGAN"]
    others = [c for k, c in sweep.items() if k not in ("lambda=0", "lambda=100")]
    assert not any(c == o for c in others for o in objective.values())


def test_lambda_sweep_of_other_weights():
    sweep = lambda_sweep([50, 0.5, 0])
    assert list(sweep) == ["lambda=50", "lambda=0.5", "lambda=0"]  # in the order given
    assert sweep["lambda=0.5"] == {"loss": "l1+cgan", "lambda_l1": 0.5, "net_d": "patch", "n_layers_d": 3}
    assert sweep["lambda=0"] == LAMBDA_SWEEP["lambda=0"]
    assert [run_name(k) for k in sweep] == ["lambda_50", "lambda_0_5", "lambda_0"]
    for bad in ([-1], [float("nan")], [float("inf")], ["10"], [True]):
        with pytest.raises(AblationError, match="finite number >= 0"):
            lambda_sweep(bad)
    with pytest.raises(AblationError, match="twice"):
        lambda_sweep([10, 10.0])


def test_l1_weight():
    base = Pix2PixConfig(image_size=64, load_size=72, lambda_l1=25.0)
    assert [l1_weight(base.replace(loss=loss)) for loss in ("l1+cgan", "l1", "l1+gan", "cgan", "gan")] == [
        25.0, 25.0, 25.0, 0.0, 0.0]


def test_run_names():
    assert [run_name(k) for k in LAMBDA_SWEEP] == ["lambda_0", "lambda_1", "lambda_10", "lambda_100",
                                                   "lambda_1000"]
    assert [run_name(k) for k in PATCH_ABLATION] == ["1x1_pixelgan", "16x16", "70x70", "286x286"]
    assert run_name("L1+cGAN") == "l1_cgan"


# ---------------------------------------------------------------------------- sharpness
def _sample_image() -> tf.Tensor:
    path = sorted((SAMPLE_DATA / "test").glob("*.jpg"))[0]
    img = tf.cast(read_image(path, channels=3), tf.float32) / 127.5 - 1.0  # (H, 2W, 3) in [-1, 1]
    return img[None]


def _blur(images: tf.Tensor, size: int) -> tf.Tensor:
    return tf.nn.avg_pool2d(images, size, strides=1, padding="SAME")


def test_sharpness_ranks_blurred_images_below_their_original():
    img = _sample_image()
    s = sharpness(tf.concat([img, _blur(img, 3), _blur(img, 7)], 0)).numpy()
    assert s.shape == (3,)
    assert s[0] > s[1] > s[2] > 0
    assert s[2] < 0.6 * s[0]


def test_sharpness_values():
    assert sharpness(tf.zeros((2, 16, 16, 3))).numpy() == pytest.approx([0.0, 0.0], abs=1e-6)
    # a ramp from -1 to 1 across 32 columns: gray rises 1/31 per pixel, 0 past the last column
    ramp = tf.tile(tf.linspace(-1.0, 1.0, 32)[None, None, :, None], [1, 32, 1, 1])
    assert sharpness(ramp).numpy()[0] == pytest.approx(1 / 32, rel=1e-5)
    assert sharpness(tf.tile(ramp, [1, 1, 1, 3])).numpy()[0] == pytest.approx(1 / 32, rel=1e-3)
    # one-pixel stripes (the period of checkerboard artefacts) count fully, 0 -> 1 per pixel
    stripes = tf.tile(tf.constant([-1.0, 1.0])[None, None, :, None], [1, 8, 4, 1])  # (1, 8, 8, 1)
    assert sharpness(stripes).numpy()[0] == pytest.approx(7 / 8)
    assert sharpness(stripes) > 3 * sharpness(_blur(stripes, 3))


# ---------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    """Two variants trained for 2 steps at 64x64 (narrow, shallow U-Net); (data, out, base, rows)."""
    root = tmp_path_factory.mktemp("ablation")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 3)):
        for i in range(n):
            write_image(root / "data" / split / f"{i:03d}.png", make_pair(rng))
    base = Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8, unet_depth=3)
    lines = []
    rows = run_ablation(TWO, base, root / "data", root / "out", steps=STEPS, log=lines.append)
    assert len(lines) == 2 and all("training" in line for line in lines)
    return root / "data", root / "out", base, rows


def _no_training(*args, **kwargs):
    raise AssertionError("train() called: the run should have been reused")


def test_run_ablation_trains_one_run_per_variant(ablation):
    _, out, _, rows = ablation
    assert [r["label"] for r in rows] == ["L1", "L1+cGAN"]
    assert sorted(p.name for p in out.iterdir()) == ["l1", "l1_cgan"]
    for r, loss in zip(rows, ("l1", "l1+cgan")):
        run = out / run_name(r["label"])
        assert r["run_dir"] == str(run) and r["trained"] is True and r["steps"] == STEPS
        assert json.loads((run / "config.json").read_text())["loss"] == loss
        assert json.loads((run / "summary.json").read_text())["steps"] == STEPS
        assert not (run / "saved_model").exists()  # export is off by default here
        assert r["test_images"] == 3 and r["seconds"] > 0
        for k in ("l1", "psnr", "ssim", "sharpness", "target_sharpness"):
            assert math.isfinite(r[k]), k
    l1, both = rows
    assert l1["d_receptive_field"] is None and l1["d_params"] is None  # L1 alone: no D
    assert both["d_receptive_field"] == 70 and both["d_params"] > 0
    assert l1["g_params"] == both["g_params"] > 0  # the same generator
    assert l1["target_sharpness"] == both["target_sharpness"]  # the same test images
    assert l1["l1"] == pytest.approx(json.loads((out / "l1" / "summary.json").read_text())["test"]["l1"])


def test_second_call_reuses_the_runs(ablation, monkeypatch):
    data, out, base, rows = ablation
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(ablations, "train", _no_training)
    lines = []
    again = run_ablation(TWO, base, data, out, steps=STEPS, log=lines.append)
    assert [r["trained"] for r in again] == [False, False]
    assert all("reusing" in line for line in lines)
    assert [{**r, "trained": True} for r in again] == rows
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_same_config_under_another_label_reuses_that_run(ablation, monkeypatch):
    data, out, base, rows = ablation
    monkeypatch.setattr(ablations, "train", _no_training)
    (row,) = run_ablation({"paper (70x70)": {"net_d": "patch", "n_layers_d": 3}}, base, data, out,
                          steps=STEPS, log=None)
    assert row["run_dir"] == rows[1]["run_dir"] and not row["trained"]
    assert not (out / "paper_70x70").exists()


def test_other_steps_or_retrain_train_again(ablation, tmp_path, monkeypatch):
    data, out, base, _ = ablation
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    calls = []
    real_train = ablations.train
    monkeypatch.setattr(ablations, "train", lambda *a, **k: calls.append(k["steps"]) or real_train(*a, **k))
    (row,) = run_ablation({"L1": TWO["L1"]}, base, data, copy, steps=STEPS + 1, log=None)
    assert calls == [STEPS + 1] and row["trained"] and row["steps"] == STEPS + 1
    assert json.loads((copy / "l1" / "summary.json").read_text())["steps"] == STEPS + 1
    (row,) = run_ablation({"L1": TWO["L1"]}, base, data, copy, steps=STEPS + 1, log=None)
    assert calls == [STEPS + 1] and not row["trained"]  # the new run is reused in turn
    run_ablation({"L1": TWO["L1"]}, base, data, copy, steps=STEPS + 1, retrain=True, log=None)
    assert calls == [STEPS + 1] * 2


# ---------------------------------------------------------------------------- reporting
def test_table_holds_every_label_and_number(ablation):
    _, _, _, rows = ablation
    table = ablation_table(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows) + 1 and lines[0].startswith("| variant |")
    assert len({line.count("|") for line in lines}) == 1  # every row has every column
    for r, line in zip(rows, lines[2:]):
        assert line.startswith(f"| {r['label']} |")
        for value in (f"{r['l1']:.4f}", f"{r['psnr']:.2f}", f"{r['ssim']:.3f}", f"{r['sharpness']:.4f}"):
            assert value in line
    assert "| - | " in lines[2] and "| 70x70 |" in lines[3]  # L1 has no D
    assert lines[-1].startswith("| real targets |") and f"{rows[0]['target_sharpness']:.4f}" in lines[-1]


def test_show_ablation_one_row_per_variant_on_the_same_images(ablation):
    data, _, _, rows = ablation
    fig = show_ablation(rows, data, count=2)
    try:
        assert len(fig.axes) == (len(rows) + 2) * 2
        assert [fig.axes[i * 2].get_ylabel() for i in range(4)] == ["input", "L1", "L1+cGAN", "target"]
    finally:
        plt.close(fig)
    inputs, targets, outputs = ablations.ablation_outputs(rows, data, count=2)
    assert inputs.shape == targets.shape == (2, 64, 64, 3)
    assert list(outputs) == ["L1", "L1+cGAN"] and all(o.shape == (2, 64, 64, 3) for o in outputs.values())
    assert not np.allclose(outputs["L1"], outputs["L1+cGAN"])


def test_lambda_sweep_reuses_the_paper_run_and_trains_the_others(ablation, tmp_path, monkeypatch):
    """Two lambdas of the sweep after the fixture's runs: lambda=100 is its L1+cGAN run."""
    data, out, base, rows = ablation
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    trained = []
    real_train = ablations.train
    monkeypatch.setattr(ablations, "train",
                        lambda config, *a, **k: trained.append(config.lambda_l1) or real_train(config, *a, **k))
    some = {k: LAMBDA_SWEEP[k] for k in ("lambda=1000", "lambda=100")}
    sweep = run_ablation(some, base, data, copy, steps=STEPS, log=None)
    assert [r["trained"] for r in sweep] == [True, False] and trained == [1000.0]
    assert sweep[1]["run_dir"] == str(copy / "l1_cgan")  # the fixture's L1+cGAN, not lambda_100/
    assert not (copy / "lambda_100").exists()
    config = json.loads((copy / "lambda_1000" / "config.json").read_text())
    assert (config["loss"], config["lambda_l1"], config["n_layers_d"]) == ("l1+cgan", 1000.0, 3)
    _, _, outputs = ablations.ablation_outputs(sweep, data, count=2)
    assert not np.allclose(outputs["lambda=1000"], outputs["lambda=100"])  # the weight changed the training
    table = ablation_table(sweep)
    assert [line.split(" | ")[0] for line in table.splitlines()[2:4]] == ["| lambda=1000", "| lambda=100"]
    fig = plot_lambda_sweep(sweep)
    try:
        left, right = fig.axes
        for ax, want in ((left, [r["l1"] for r in sweep[::-1]]),
                         (right, [r["sharpness"] / r["target_sharpness"] for r in sweep[::-1]])):
            x, y = ax.lines[0].get_data()
            assert list(x) == [100.0, 1000.0]  # sorted by lambda, read from each run's config
            assert list(y) == pytest.approx(want)
            assert ax.get_xscale() == "symlog"
        assert [t.get_text() for t in left.get_xticklabels()] == ["100", "1000"]
    finally:
        plt.close(fig)
    with pytest.raises(AblationError, match="share a lambda"):
        plot_lambda_sweep([sweep[1], {**sweep[1], "label": "again"}])
