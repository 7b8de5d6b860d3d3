"""Benchmark: quality per minute of training, per recipe, by judges that do not reward blur.

Each recipe is a set of ``pix2pix-tf train`` flags. For every recipe and seed the script

1. **trains** a run (``OUT/runs/<recipe>_s<seed>``) that keeps a checkpoint every
   ``--checkpoint-every`` steps;
2. **times** the recipes side by side: short runs of ``--time-steps`` steps, one recipe after
   the other, ``--time-rounds`` times (A B C A B C ...), on an otherwise idle machine; a
   recipe's seconds per step and start-up time are the medians over rounds, and its wall time
   at step ``s`` is ``startup + s * seconds_per_step``. (The long runs may share the CPU with
   each other; their own clocks are not used, so the curves do not depend on what else ran.)
3. **judges** every checkpoint with :mod:`quality_judges` (segmentation score with a
   segmenter trained once and kept in ``OUT/judge``, L1/PSNR/SSIM, sharpness; the
   two-sample realism test at the checkpoints named by ``--realism-every``), cached per
   checkpoint in ``OUT/judged/``;
4. **compares**: the reference is the paper's defaults at ``--reference-step``. Scores move
   between checkpoints about as much as they gain from step 1000 to 2000, so every curve is
   a trailing mean over ``--window`` checkpoints (and the mean over seeds), the reference's
   too. A recipe *reaches the reference* at the first checkpoint where each measure named by
   ``--reach-on`` (default: mean class IoU) is at least the reference's; its *time to
   quality* is the wall time there, and the ratio to the reference's wall time. Every
   judge's value is reported at half and at all of the reference's wall time.

Output: one JSON object on stdout and in ``OUT/results.json``, and the curves (mean IoU
and L1 against minutes, one line per recipe and seed) in ``OUT/curves.png``.

Usage:
    python benchmarks/quality_per_minute.py --data runs/facades400 --out runs/qpm \\
        --recipes paper,paper_bf16,quality,b4_bf16_lr2x --seeds 0,1 --train --time --judge
    python benchmarks/quality_per_minute.py --smoke      # a few steps on the bundled sample

Make the dataset with ``pix2pix-tf make-sample --out runs/facades400 --train 400 --test 200
--size 128 --seed 1`` and pass ``--sample-seed 1`` (label maps -> facades: the segmentation
score needs label maps; the sample's exact ones are drawn again from its seed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _jsonout  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "facades_synthetic"

# recipe -> flags of `pix2pix-tf train` on top of the common ones (image size, steps, seed)
RECIPES = {
    "paper": "",
    "paper_bf16": "--precision mixed_bfloat16",
    "quality": "--preset quality",
    "quality_bf16": "--preset quality --precision mixed_bfloat16",
    "lr2x": "--learning-rate 0.0004",
    "ttur": "--d-lr-scale 4",
    "ema": "--ema-decay 0.999",
    "batch4": "--batch-size 4",
    "bf16_lr2x": "--precision mixed_bfloat16 --learning-rate 0.0004",
    "b4_bf16_lr2x": "--batch-size 4 --learning-rate 0.0004 --precision mixed_bfloat16",
}
# recipes whose step is the same program as another's, only with other constants (learning
# rates): timed as that one, so the machine's time goes to the steps that differ
SAME_STEP = {"lr2x": "paper", "ttur": "paper", "bf16_lr2x": "paper_bf16"}


def cpu_flags() -> list[str]:
    """The CPU's vector and matrix extensions that matter for speed (from /proc/cpuinfo)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16")
    return [f for f in wanted if f in flags]


def train_command(recipe: str, data: Path, out: Path, steps: int, seed: int, size: int,
                  checkpoint_every: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "pix2pix_tf", "train", "--data", str(data), "--out", str(out),
           "--image-size", str(size), "--steps", str(steps), "--seed", str(seed),
           "--checkpoint-every", str(checkpoint_every), "--keep-checkpoints", "1000",
           "--checkpoint-min-seconds", "0", "--no-export", "--quiet", *shlex.split(RECIPES[recipe])]
    return cmd + ["--resume"] if resume else cmd


def train_runs(recipes, seeds, data: Path, out: Path, steps: dict, size: int, every: int,
               jobs: int) -> None:
    """Train each recipe and seed that has no finished run yet (resuming an interrupted one)."""
    pending = []
    for recipe in recipes:
        for seed in seeds:
            run = out / "runs" / f"{recipe}_s{seed}"
            if (run / "summary.json").is_file():
                continue
            pending.append(train_command(recipe, data, run, steps[recipe], seed, size, every,
                                         resume=(run / "checkpoints").is_dir()))
    running = []
    while pending or running:
        while pending and len(running) < jobs:
            cmd = pending.pop(0)
            print("training:", " ".join(cmd[2:]), file=sys.stderr)
            running.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
        running[0].wait()
        if running[0].returncode:
            raise SystemExit(f"training failed ({running[0].returncode}): {' '.join(running[0].args)}")
        running.pop(0)


def time_recipes(recipes, data: Path, size: int, steps: int, rounds: int) -> dict:
    """Seconds per step and start-up seconds of each recipe, medians over interleaved rounds
    (a recipe in :data:`SAME_STEP` gets the figures of the recipe it names)."""
    timed = list(dict.fromkeys(SAME_STEP.get(r, r) for r in recipes))
    samples = {r: [] for r in timed}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for recipe in timed:
                run = Path(tmp) / f"{recipe}_{i}"
                cmd = train_command(recipe, data, run, steps, 0, size, steps, resume=False)
                done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if done.returncode:
                    raise SystemExit(f"timing {recipe} failed ({done.returncode}): "
                                     f"{done.stderr.strip().splitlines()[-1:]}")
                summary = json.loads((run / "summary.json").read_text())
                shutil.rmtree(run)  # a checkpoint each: do not fill the disk over the rounds
                t = summary["timings"]
                samples[recipe].append({"seconds_per_step": summary["seconds_per_step"],
                                        "startup": t["time_to_first_step"] + t["startup"],
                                        "precision": summary["precision"]})
                print(f"timed {recipe} round {i}: {summary['seconds_per_step']:.4f} s/step, "
                      f"start-up {samples[recipe][-1]['startup']:.1f} s", file=sys.stderr)
    result = {}
    for recipe, rows in samples.items():
        result[recipe] = {"seconds_per_step": float(np.median([r["seconds_per_step"] for r in rows])),
                          "startup_seconds": float(np.median([r["startup"] for r in rows])),
                          "precision": rows[0]["precision"],
                          "rounds": [round(r["seconds_per_step"], 4) for r in rows]}
    for recipe in recipes:
        if recipe not in result:
            result[recipe] = dict(result[SAME_STEP[recipe]], timed_as=SAME_STEP[recipe])
    base = result.get("paper")
    if base:
        for recipe in result.values():
            recipe["step_time_vs_paper"] = recipe["seconds_per_step"] / base["seconds_per_step"]
    return result


def judge_runs(runs: list[Path], data: Path, out: Path, realism_every: int,
               sample_seed: int | None) -> dict:
    """run name -> {step: judges' scores}, cached per checkpoint in OUT/judged/."""
    import quality_judges as qj

    judged_dir = out / "judged"
    judged_dir.mkdir(parents=True, exist_ok=True)
    judges, scores = None, {}
    for run in runs:
        cache = judged_dir / f"{run.name}.json"
        done = json.loads(cache.read_text()) if cache.is_file() else {}
        for step in qj.checkpoint_steps(run):
            realism = step % realism_every == 0
            if str(step) in done and ("two_sample" in done[str(step)] or not realism):
                continue
            model = qj.load_run_at(run, step)
            if judges is None:
                judges = qj.Judges(data, model.config, out / "judge", sample_seed=sample_seed)
            done[str(step)] = judges(model, realism=realism)
            print(f"judged {run.name} step {step}: mIoU {done[str(step)]['segmentation']['mean_iou']:.3f}",
                  file=sys.stderr)
            cache.write_text(json.dumps(done, indent=1) + "\n")
        scores[run.name] = {int(k): v for k, v in done.items()}
    if judges is None:  # everything cached: still report the judge's ceiling
        info = out / "judge" / qj.SEGMENTER_INFO
        scores["_segmenter"] = json.loads(info.read_text()) if info.is_file() else None
    else:
        scores["_segmenter"] = judges.segmenter_info
    return scores


def _mean_curve(per_seed: list[dict], key, window: int = 1) -> dict[int, float]:
    """step -> mean over seeds of key(scores), each seed's value first averaged over its last
    ``window`` checkpoints up to that step (a trailing mean: no later checkpoint is used), at
    the steps every seed has from the ``window``-th checkpoint on."""
    steps = sorted(set.intersection(*(set(s) for s in per_seed)))
    return {st: float(np.mean([np.mean([key(s[t]) for t in steps[i + 1 - window:i + 1]])
                               for s in per_seed]))
            for i, st in enumerate(steps) if i + 1 >= window}


MEASURES = {
    "mean_iou": lambda r: r["segmentation"]["mean_iou"],
    "pixel_acc": lambda r: r["segmentation"]["pixel_acc"],
    "class_acc": lambda r: r["segmentation"]["class_acc"],
    "l1": lambda r: r["l1"],
    "psnr": lambda r: r["psnr"],
    "ssim": lambda r: r["ssim"],
    "sharpness_ratio": lambda r: r["sharpness_ratio"],
    "segmenter_distance": lambda r: r["segmenter_distance"],
}


def compare(scores: dict, timing: dict, recipes, seeds, reference_step: int, window: int = 3,
            reach_on: tuple[str, ...] = ("mean_iou",)) -> dict:
    """Per recipe: its curves, the wall time at each step, its time to the reference and its
    scores at half and at all of the reference's wall time.

    A GAN's scores move from one checkpoint to the next by about as much as they gain
    between 1000 and 2000 steps, so each curve is a trailing mean over ``window``
    checkpoints and over the seeds, the reference (the paper's defaults at
    ``reference_step``) too. A recipe reaches the reference at the first checkpoint where
    each measure of ``reach_on`` is at least the reference's.
    """
    ref_runs = [scores[f"paper_s{s}"] for s in seeds if f"paper_s{s}" in scores]
    reference = {k: _mean_curve(ref_runs, f, window)[reference_step] for k, f in MEASURES.items()}
    reference["single_checkpoint"] = {k: [float(f(r[reference_step])) for r in ref_runs]
                                      for k, f in MEASURES.items()}
    with_realism = [r[reference_step]["two_sample"] for r in ref_runs if "two_sample" in r[reference_step]]
    for key in ("auc", "log_loss"):
        if with_realism:
            reference[f"two_sample_{key}"] = [t[key] for t in with_realism]
    ref_seconds = timing["paper"]["startup_seconds"] + reference_step * timing["paper"]["seconds_per_step"]
    table = {}
    for recipe in recipes:
        per_seed = [scores[f"{recipe}_s{s}"] for s in seeds if f"{recipe}_s{s}" in scores]
        if not per_seed or recipe not in timing:
            continue
        t = timing[recipe]
        curves = {k: _mean_curve(per_seed, f, window) for k, f in MEASURES.items()}
        minutes = {st: (t["startup_seconds"] + st * t["seconds_per_step"]) / 60 for st in curves["mean_iou"]}
        reached = [st for st in curves["mean_iou"]
                   if all(curves[k][st] >= reference[k] for k in reach_on)]
        first = reached[0] if reached else None
        row = {"seeds": len(per_seed), "steps_per_second_vs_paper": 1 / t["step_time_vs_paper"],
               "reaches_reference_at_step": first,
               "minutes_to_reference": None if first is None else minutes[first],
               "time_vs_reference": None if first is None else minutes[first] * 60 / ref_seconds}
        for label, budget in (("at_half_the_reference_time", ref_seconds / 2),
                              ("at_the_reference_time", ref_seconds)):
            within = [st for st in minutes if minutes[st] * 60 <= budget * 1.001]
            if within:
                st = within[-1]
                row[label] = {"step": st, "minutes": minutes[st],
                              **{k: curves[k][st] for k in MEASURES}}
                realism = [r[st]["two_sample"] for r in per_seed if "two_sample" in r.get(st, {})]
                if realism:
                    row[label]["two_sample_auc"] = float(np.mean([x["auc"] for x in realism]))
                    row[label]["two_sample_log_loss"] = float(np.mean([x["log_loss"] for x in realism]))
        row["curves"], row["minutes"] = curves, minutes
        table[recipe] = row
    return {"window": window, "reach_on": list(reach_on), "reference": reference,
            "reference_minutes": ref_seconds / 60, "recipes": table}


def plot(comparison: dict, path: Path, recipes=None) -> None:
    """The trailing-mean curves of three judges against minutes, one line per recipe; dotted:
    the reference, dashed: half the reference's time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("mean_iou", "segmentation score: mean IoU (higher is better)"),
              ("l1", "L1 to the target (lower is better; rewards blur)"),
              ("segmenter_distance", "segmenter-feature distance (lower is better)"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    reference, half = comparison["reference"], comparison["reference_minutes"] / 2
    for n, (recipe, row) in enumerate(comparison["recipes"].items()):
        if recipes and recipe not in recipes:
            continue
        steps = sorted(row["minutes"])
        style = {"color": f"C{n % 10}", "lw": 2.2 if recipe == "paper" else 1.3,
                 "ls": "-" if n < 10 else "--"}
        for ax, (key, _) in zip(axes, panels):
            ax.plot([row["minutes"][st] for st in steps], [row["curves"][key][st] for st in steps],
                    label=f"{recipe} ({row['seeds']} seed{'s' if row['seeds'] > 1 else ''})", **style)
    for ax, (key, title) in zip(axes, panels):
        ax.axhline(reference[key], color="k", ls=":", lw=1)
        ax.axvline(half, color="k", ls="--", lw=0.8)
        ax.set_xlabel("minutes of training on this CPU")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"mean over seeds of a trailing mean over {comparison['window']} checkpoints; "
                 "dotted: the paper's defaults at 2000 steps; dashed: half their time", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("runs/quality_per_minute"))
    p.add_argument("--recipes", default="paper,paper_bf16,quality,b4_bf16_lr2x")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--steps", default="2000", help="steps per run: N, or recipe=N,... (others 2000)")
    p.add_argument("--sample-seed", type=int, default=None,
                   help="--data is `make-sample --seed N`'s: judge against its exact class maps")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--reference-step", type=int, default=2000)
    p.add_argument("--realism-every", type=int, default=400)
    p.add_argument("--window", type=int, default=3, help="checkpoints in each trailing mean")
    p.add_argument("--reach-on", default="mean_iou",
                   help="measures that must reach the reference's (comma-separated; "
                        "mean_iou, pixel_acc, class_acc, psnr, ssim)")
    p.add_argument("--jobs", type=int, default=1, help="trainings at once (--train)")
    p.add_argument("--time-steps", type=int, default=60)
    p.add_argument("--time-rounds", type=int, default=3)
    p.add_argument("--train", action="store_true")
    p.add_argument("--time", action="store_true")
    p.add_argument("--judge", action="store_true")
    p.add_argument("--smoke", action="store_true", help="4-step runs at 32x32 on the bundled sample")
    args = p.parse_args(argv)
    if args.smoke:
        args.data = args.data or SAMPLE
        args.sample_seed = 0 if args.data == SAMPLE else args.sample_seed
        args.image_size, args.checkpoint_every, args.reference_step = 32, 2, 4
        args.steps, args.time_steps, args.time_rounds, args.realism_every = "4", 3, 1, 4
        args.window = 1
        args.seeds, args.recipes = "0", "paper,paper_bf16"
        args.train = args.time = args.judge = True
    if args.data is None:
        p.error("--data is required (a dataset with label maps; see the module's docstring)")
    recipes = args.recipes.split(",")
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown or "paper" not in recipes:
        p.error(f"--recipes: {', '.join(unknown) or 'paper is the reference and must be included'}"
                f"{' unknown; use ' + ', '.join(RECIPES) if unknown else ''}")
    higher_is_better = ("mean_iou", "pixel_acc", "class_acc", "psnr", "ssim")
    bad = [m for m in args.reach_on.split(",") if m not in higher_is_better]
    if bad:
        p.error(f"--reach-on: {', '.join(bad)}: use {', '.join(higher_is_better)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    steps = {r: 2000 for r in recipes}
    for part in args.steps.split(","):
        name, _, value = part.rpartition("=")
        for r in ([name] if name else recipes):
            steps[r] = int(value)

    _jsonout.reserve()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.train:
        train_runs(recipes, seeds, args.data, args.out, steps, args.image_size,
                   args.checkpoint_every, args.jobs)
    timing_path = args.out / "timing.json"
    if args.time:
        timing = time_recipes(recipes, args.data, args.image_size, args.time_steps, args.time_rounds)
        timing_path.write_text(json.dumps(timing, indent=2) + "\n")
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
    result = {"benchmark": "quality_per_minute", "machine": {
        "cpu": platform.processor() or platform.machine(), "cpu_flags": cpu_flags(),
        "cores": os.cpu_count()}, "data": str(args.data), "image_size": args.image_size,
        "recipes": {r: RECIPES[r] for r in recipes}, "steps": steps, "timing": timing}
    if args.judge:
        runs = [args.out / "runs" / f"{r}_s{s}" for r in recipes for s in seeds
                if (args.out / "runs" / f"{r}_s{s}").is_dir()]
        scores = judge_runs(runs, args.data, args.out, args.realism_every, args.sample_seed)
        result["segmenter"] = scores.pop("_segmenter")
        if timing:
            result["comparison"] = compare(scores, timing, recipes, seeds, args.reference_step,
                                           args.window, tuple(args.reach_on.split(",")))
            plot(result["comparison"], args.out / "curves.png")
            result["curves"] = str(args.out / "curves.png")
        result["scores"] = scores
    (args.out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    _jsonout.emit({k: v for k, v in result.items() if k != "scores"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
