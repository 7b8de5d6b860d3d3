"""Benchmark: time to result, whole processes: ``pix2pix-tf train`` vs the tutorial's program.

A student waits for the whole command, from Enter to the last image and the SavedModel, not
for the steady-state step. This script runs whole processes side by side, interleaved
(``ours, tutorial`` in one round, ``tutorial, ours`` in the next: the machine is small and
shared, so only ratios measured in one sitting mean something):

* ``pix2pix_tf``: ``python -m pix2pix_tf.apps.cli train --data D --out R --steps N
  --direction BtoA --quiet`` with the defaults otherwise (snapshots, TensorBoard, checkpoints,
  test metrics, SavedModel); its phases come from the run's own ``summary.json: timings``;
* ``tutorial``: ``benchmarks/tutorial_run.py`` (the tensorflow.org tutorial's program:
  same data, steps, image size and batch 1; it writes images and TensorBoard scalars, no
  test metrics, no SavedModel); its phases are what it prints;
* ``before`` (with ``--before-checkout PATH``): the same ``train`` command run from another
  checkout of this package (``PYTHONPATH=PATH``), e.g. the commit before a change. Older
  versions wrote no ``timings``: its phases are derived from ``wall_seconds`` and
  ``seconds_per_step`` (``steps``, ``fit_other`` = the rest of ``fit``, ``outside_fit`` =
  the process's wall time minus ``fit``).

Data: ``--data DIR`` (an aligned A|B folder with ``train/`` and ``test/`` or ``val/``), or
by default the first ``--train-images`` (100) and ``--test-images`` (10) files of
``../shared/datasets/edges2things`` (train / val) copied to a temporary folder; without
that folder, the bundled synthetic sample (a smoke run, not a measurement).

Usage:
    python benchmarks/end_to_end.py                                   # 200 and 1000 steps, 2 rounds
    python benchmarks/end_to_end.py --steps 200 --rounds 2 --before-checkout /tmp/old
    python benchmarks/end_to_end.py --image-size 64 --steps 3 --rounds 1   # smoke

Prints one JSON object: per step count, each process's wall seconds and phases, the
medians, and ``speedup_vs_tutorial`` = tutorial's median wall / ours (> 1: we finish first).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _jsonout  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "edges2things"
SAMPLE = ROOT / "data" / "facades_synthetic"


def subset(source: Path, dest: Path, n_train: int, n_test: int) -> Path:
    """The first n_train / n_test files of source's train / val (or test) split, copied."""
    test = "test" if (source / "test").is_dir() else "val"
    for split, to, n in (("train", "train", n_train), (test, "test", n_test)):
        (dest / to).mkdir(parents=True)
        for path in sorted((source / split).iterdir())[:n]:
            shutil.copy(path, dest / to / path.name)
    return dest


def run_ours(data: Path, out: Path, steps: int, size: int, pythonpath: str | None = None) -> dict:
    cmd = [sys.executable, "-m", "pix2pix_tf.apps.cli", "train", "--data", str(data), "--out", str(out),
           "--steps", str(steps), "--direction", "BtoA", "--image-size", str(size),
           "--load-size", str(size + size * 30 // 256), "--quiet"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out.parent)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    timings = summary.get("timings")
    if timings is None:  # an older version: derive what its summary allows
        fit = summary["wall_seconds"]
        steps_s = summary["seconds_per_step"] * max(0, steps - 1)
        timings = {"steps": steps_s, "fit_other": fit - steps_s, "outside_fit": wall - fit}
    return {"wall": round(wall, 2), "seconds_per_step": summary["seconds_per_step"],
            "test": summary.get("test"), "timings": timings}


def run_tutorial(data: Path, out: Path, steps: int, size: int) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "tutorial_run.py"), "--data", str(data),
           "--out", str(out), "--steps", str(steps), "--image-size", str(size)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    printed = json.loads(proc.stdout)
    return {"wall": round(wall, 2), "seconds_per_step": printed["seconds_per_step"],
            "timings": printed["timings"]}


def medians(runs: list[dict]) -> dict:
    phases = sorted({k for r in runs for k in r["timings"]})
    return {"wall": round(statistics.median(r["wall"] for r in runs), 2),
            "seconds_per_step": round(statistics.median(r["seconds_per_step"] for r in runs), 4),
            "timings": {k: round(statistics.median(r["timings"].get(k, 0.0) for r in runs), 2)
                        for k in phases}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--train-images", type=int, default=100)
    parser.add_argument("--test-images", type=int, default=10)
    parser.add_argument("--before-checkout", type=Path,
                        help="also run `train` from this checkout (PYTHONPATH), as 'before'")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="end_to_end_") as tmp:
        tmp = Path(tmp)
        if args.data:
            data, source = args.data, str(args.data)
        elif SHARED.is_dir():
            data = subset(SHARED, tmp / "data", args.train_images, args.test_images)
            source = f"{SHARED} (first {args.train_images} train, {args.test_images} val as test)"
        else:
            data, source = SAMPLE, f"{SAMPLE} (the bundled sample: a smoke run)"
        variants = ["pix2pix_tf", "tutorial"] + (["before"] if args.before_checkout else [])
        result = {"python": platform.python_version(), "cpus": os.cpu_count(), "data": source,
                  "image_size": args.image_size, "batch_size": 1, "rounds": args.rounds,
                  "variants": variants, "by_steps": {}}
        for steps in args.steps:
            runs = {v: [] for v in variants}
            for r in range(args.rounds):
                for v in (variants if r % 2 == 0 else list(reversed(variants))):
                    out = tmp / f"{v}_{steps}_{r}"
                    if v == "tutorial":
                        runs[v].append(run_tutorial(data, out, steps, args.image_size))
                    else:
                        runs[v].append(run_ours(data, out, steps, args.image_size,
                                                str(args.before_checkout) if v == "before" else None))
                    print(f"{steps} steps, round {r}, {v}: {runs[v][-1]['wall']} s", file=sys.stderr)
                    shutil.rmtree(out, ignore_errors=True)
            med = {v: medians(runs[v]) for v in variants}
            entry = {"runs": runs, "median": med,
                     "speedup_vs_tutorial": round(med["tutorial"]["wall"] / med["pix2pix_tf"]["wall"], 3),
                     "step_speedup_vs_tutorial": round(med["tutorial"]["seconds_per_step"]
                                                       / med["pix2pix_tf"]["seconds_per_step"], 3)}
            if args.before_checkout:
                entry["before_speedup_vs_tutorial"] = round(med["tutorial"]["wall"] / med["before"]["wall"], 3)
                entry["speedup_vs_before"] = round(med["before"]["wall"] / med["pix2pix_tf"]["wall"], 3)
            result["by_steps"][str(steps)] = entry
    return result


if __name__ == "__main__":
    _jsonout.reserve()
    _jsonout.emit(main())
