"""Benchmark: peak resident memory (RSS) of a pix2pix training run at 256x256.

Each variant is a separate ``pix2pix-tf train`` process (a few steps on the bundled
sample, no export) whose peak RSS is read from the kernel (``os.wait4`` rusage), next to
the peak of a process that only imports TensorFlow, so the run's own share shows.

Variants: ``default`` (float32, batch 1), ``mixed_bfloat16``, ``conv_native`` (TF's
convolution kernels everywhere), ``batch4``. Weights + Adam state alone are
(54.4 M + 2.8 M) x 3 x 4 bytes = 687 MB at 256x256.

Usage:
    python benchmarks/memory.py                    # 256x256, 6 steps per variant
    python benchmarks/memory.py --image-size 64 --steps 2   # smoke test

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "facades_synthetic"
VARIANTS = {
    "default": [],
    "mixed_bfloat16": ["--precision", "mixed_bfloat16"],
    "conv_native": ["--conv-impl", "native"],
    "batch4": ["--batch-size", "4"],
}


def peak_rss_mb(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; return (peak RSS in MB, wall seconds, exit status)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode:
        sys.stderr.write(err[-2000:])
    return usage.ru_maxrss / 1024, time.perf_counter() - t, proc.returncode  # ru_maxrss is in KiB


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--data", default=str(SAMPLE), help="dataset folder (default: the bundled sample)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    args = p.parse_args(argv)

    baseline, _, _ = peak_rss_mb([sys.executable, "-c", "import tensorflow, keras"])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants.split(","):
            cmd = [sys.executable, "-m", "pix2pix_tf", "train", "--data", args.data,
                   "--out", str(Path(tmp) / name), "--steps", str(args.steps), "--no-export",
                   "--quiet", "--image-size", str(args.image_size), *VARIANTS[name]]
            rss, wall, code = peak_rss_mb(cmd)
            results[name] = {"peak_rss_mb": round(rss), "over_import_mb": round(rss - baseline),
                             "wall_seconds": round(wall, 1), "exit_code": code,
                             "flags": " ".join(VARIANTS[name])}
    return {
        "benchmark": "memory",
        "image_size": args.image_size,
        "steps": args.steps,
        "import_tensorflow_peak_rss_mb": round(baseline),
        "weights_and_adam_state_mb_at_256": round((54_413_955 + 2_768_705) * 3 * 4 / 1e6),
        "variants": results,
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
