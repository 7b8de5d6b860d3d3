"""The paper's ablations (pix2pix_tf.run.ablations): variant tables, runs and their reuse, sharpness."""

from __future__ import annotations

import json
import math
import shutil

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from conftest import SAMPLE_DATA, make_pair, write_image
from pix2pix_tf.run import ablations
from pix2pix_tf.run.ablations import (GENERATOR_ABLATION, OBJECTIVE_ABLATION, PATCH_ABLATION,
                                  UNCONDITIONAL_ABLATION, AblationError, ablation_table,
                                  discriminator_receptive_field, run_ablation, run_name, sharpness,
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


def test_run_names():
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
