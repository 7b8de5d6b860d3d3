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
