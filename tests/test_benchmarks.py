"""The benchmark scripts run and print the JSON their README documents (smoke tests, slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)  # stdout holds the JSON object and nothing else


def test_train_throughput_json():
    out = _run("train_throughput.py", "--image-size", "64", "--rounds", "2", "--steps", "1",
               "--warmup", "1", "--variants", "plain,default", "--large-batch", "2")
    variants = out["variants"]
    assert set(variants) == {"plain", "default", "plain_b2", "default_b2"}
    assert variants["plain"]["ratio_to_plain"] == 1.0
    for v in variants.values():
        assert v["images_per_second"] > 0 and 0 < v["fraction_of_matmul_peak"] < 1.5
    assert out["flops"]["generator_forward_gflop"] > 0
    assert out["matmul_peak_gflops"]["float32"] > 0


def test_input_pipeline_json():
    out = _run("input_pipeline.py", "--image-size", "64", "--batches", "10", "--rounds", "1",
               "--train-steps", "1")
    assert out["train_images"] == 40
    assert set(out["variants"]) == {"sequential", "parallel", "parallel_cached"}
    assert all(v["images_per_second"] > 0 for v in out["variants"].values())


def test_inference_latency_json():
    out = _run("inference_latency.py", "--image-size", "64", "--repeats", "4")
    assert out["variants"]["translate_uint8_batch1"]["speedup_vs_native"] > 0
    assert out["variants"]["serving_default_batch16"]["images_per_second"] > 0


def test_inference_latency_tflite_json():
    out = _run("inference_latency.py", "--image-size", "64", "--repeats", "4", "--tflite",
               "--quantize", "none,dynamic,int8", "--ngf", "8,4", "--quality-images", "2",
               "--calibration-count", "2", "--data", str(ROOT / "data" / "facades_synthetic"))
    variants = out["variants"]
    assert out["ngf"] == 8 and out["quality"]["images"] == 2 and out["calibration"]["images"] == 2
    for name in ("tflite_float32_batch1", "tflite_dynamic_batch1", "tflite_int8_batch1",
                 "tflite_float32_old_batch1", "tflite_float32_1thread_batch1", "tflite_batch1"):
        v = variants[name]
        assert v["median_ms"] > 0 and v["speedup_vs_savedmodel"] > 0 and v["file_mib"] >= 0, name
        assert {"l1", "psnr", "ssim"} <= set(v["vs_float32"]) and "ssim" in v["vs_target"], name
    assert variants["tflite_float32_batch1"]["vs_float32"]["l1"] < 1e-4
    assert 0.5 < variants["tflite_int8_batch1"]["vs_float32"]["ssim"] <= 1
    assert "ssim" in variants["serving_default_batch1"]["vs_target"]
    lite = out["lite_generators"]["ngf4"]
    assert lite["ngf"] == 4 and lite["variants"]["tflite_int8_batch1"]["median_ms"] > 0
    assert lite["variants"]["serving_default_batch1"]["median_ms"] > 0
    assert out["fastest_within_ssim_budget"]["variant"] in variants


def test_memory_json():
    out = _run("memory.py", "--image-size", "64", "--steps", "1", "--variants", "default")
    run = out["variants"]["default"]
    assert run["exit_code"] == 0 and run["peak_rss_mb"] > out["import_tensorflow_peak_rss_mb"]


def test_end_to_end_json():
    out = _run("end_to_end.py", "--image-size", "64", "--steps", "3", "--rounds", "1",
               "--data", str(ROOT / "data" / "facades_synthetic"))
    entry = out["by_steps"]["3"]
    assert entry["speedup_vs_tutorial"] > 0
    ours = entry["runs"]["pix2pix_tf"][0]
    for phase in ("startup", "checks", "build", "first_step", "steps", "validation",
                  "evaluation", "export", "time_to_first_step", "total"):
        assert ours["timings"][phase] >= 0, phase
    assert ours["timings"]["total"] <= ours["wall"]  # from process start, inside the measured wall
    tutorial = entry["runs"]["tutorial"][0]
    assert tutorial["timings"]["first_step"] > 0 and tutorial["wall"] > 0


def test_quality_levers_json(tmp_path):
    import keras

    inp = keras.Input((None, None, 3))  # a tiny stand-in for VGG19: the perceptual variant's file
    keras.Model(inp, keras.layers.Conv2D(4, 3, padding="same")(inp)).save(tmp_path / "features.keras")
    args = ("--smoke", "--out", str(tmp_path / "runs"), "--perceptual-weights", str(tmp_path / "features.keras"),
            "--variants", "baseline,ema,multiscale,perceptual,combined")
    out = _run("quality_levers.py", *args)
    assert list(out["variants"]) == ["baseline", "ema", "multiscale", "perceptual", "combined"]
    for v in out["variants"].values():
        assert v["status"] == "trained" and v["steps"] == 4
        assert v["l1"] > 0 and v["psnr"] > 0 and v["sharpness"] > 0 and v["seconds_per_step"] > 0
    fields = out["variants"]["multiscale"]["d_receptive_fields"]
    assert fields[0] == out["variants"]["baseline"]["d_receptive_fields"][0] < fields[1]
    assert out["variants"]["ema"]["changes"] == {"ema_decay": 0.999}
    again = _run("quality_levers.py", *args)  # a second call reuses the finished runs
    assert {v["status"] for v in again["variants"].values()} == {"reused"}
    assert again["variants"]["combined"]["l1"] == out["variants"]["combined"]["l1"]
    both = _run("quality_levers.py", "--smoke", "--out", str(tmp_path / "runs"), "--variants", "combined,quality")
    assert both["variants"]["quality"]["status"] == "same config as combined"  # not trained twice
    assert both["variants"]["quality"]["run_dir"] == both["variants"]["combined"]["run_dir"]
    timed = _run("quality_levers.py", "--smoke", "--time-only", "--time-rounds", "2", "--time-steps", "1",
                 "--variants", "ema,multiscale")  # the step timing alone: baseline first, ratios to it
    assert "variants" in timed and timed["variants"] == {}
    steps = timed["step_time"]["variants"]
    assert list(steps) == ["baseline", "ema", "multiscale"]
    assert steps["baseline"]["ratio_to_baseline"] == 1.0
    assert all(v["median_seconds"] > 0 and v["ratio_to_baseline"] > 0 for v in steps.values())


def test_matmul_layers_json():
    out = _run("matmul_layers.py", "--smoke", "--rounds", "1", "--calls", "1")
    assert [(r["layer"], r["map"]) for r in out["layers"]] == [("conv", 8), ("deconv", 4)]
    for r in out["layers"]:
        assert r["native_ms"] > 0 and r["matmul_ms"] > 0 and r["native_over_matmul"] > 0
        assert r["autodiff_ms"] > 0
        # the ratio of the unrounded times; the ms printed are rounded to 0.01
        slack = 0.005 / r["matmul_ms"] * (1 + r["autodiff_ms"] / r["matmul_ms"]) + 0.001
        assert abs(r["autodiff_over_matmul"] - r["autodiff_ms"] / r["matmul_ms"]) <= slack
        assert r["max_relative_difference"] < 1e-5  # the same layer, the same results
        assert r["matmul_used_by_default"] is True

