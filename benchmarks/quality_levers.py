"""Benchmark: the quality levers of pix2pix's successors, each alone and combined, at equal steps.

Trains one run per variant on an aligned dataset (``--data DIR`` with ``train/`` and
``test/`` or ``val/``), all from the same seed and base config, one after the other, and
measures each on the test split in the deterministic inference mode:

* L1, PSNR, SSIM (the run's end-of-training test metrics);
* sharpness of the outputs and of the real targets (mean gradient magnitude,
  :func:`pix2pix_tf.course.ablations.sharpness`): below the targets' is blurrier than real;
* seconds per training step (the run's ``summary.json``), the parameters of G and D and
  D's receptive field per scale.

Variants (``--variants``, default all; ``perceptual`` needs ``--perceptual-weights``):

    baseline        the paper (every lever off)
    ema             ema_decay 0.999 (the average of G's weights is evaluated)
    fm              lambda_fm 10 (pix2pixHD feature matching)
    multiscale      num_d 2 (pix2pixHD's multi-scale D)
    hinge           gan_mode hinge
    spectral_norm   spectral normalization of D
    resize          upsample resize (nearest 2x + 3x3 conv in the decoder)
    perceptual      lambda_perceptual 10 with the local VGG19 / .keras file
    quality         the "quality" preset (pix2pix_tf.successors.config.PRESETS); a variant whose changes equal
                    an earlier one's (today quality = combined) reuses its run in the same call
    combined        ema + spectral_norm: the EMA (which improved all three scores alone) with
                    each lever that improved one score alone and fits the preset's step
                    budget (< 1.25x the paper's) next to it (resize-conv and fm do not)
    all_levers      ema + fm + multiscale + spectral_norm + resize (everything at once)
    lite32, lite16  the paper's networks with ngf 32 / 16 (for small exports: issue 15)

Runs live in ``OUT/<variant>/`` (normal run folders); ``OUT/progress.json`` says which are
done. Run it in the background and, if it is killed, run the same command again: finished
variants are reused (matched by config, steps, data and options, as
:func:`pix2pix_tf.course.ablations.run_ablation` does), an interrupted one resumes from its last
checkpoint (every ``--checkpoint-every`` steps), the others are trained.

Usage:
    nohup python benchmarks/quality_levers.py --data ../shared/datasets/edges2things \\
        --steps 2000 --image-size 128 --out runs/quality_levers > quality.json 2> quality.log &
    python benchmarks/quality_levers.py --smoke                      # 4 steps at 32x32, the sample
    python benchmarks/quality_levers.py --time-only --time-rounds 5 --variants quality   # s/step ratios

edges2things files are photo|edges: edges -> photo is ``--direction BtoA`` (the default).

Prints one JSON object (also written to ``OUT/results.json``): the settings and, per
variant, its config changes and measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _jsonout  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "edges2things"
SAMPLE = ROOT / "data" / "facades_synthetic"
PROGRESS = "progress.json"

COMBINED = {"ema_decay": 0.999, "spectral_norm": True}
ALL_LEVERS = {"ema_decay": 0.999, "lambda_fm": 10.0, "num_d": 2, "spectral_norm": True, "upsample": "resize"}


def variants(perceptual_weights: str | None) -> dict[str, dict]:
    """label -> config changes; ``perceptual`` only with a weights file."""
    from pix2pix_tf.successors.config import PRESETS

    table = {
        "baseline": {},
        "ema": {"ema_decay": 0.999},
        "fm": {"lambda_fm": 10.0},
        "multiscale": {"num_d": 2},
        "hinge": {"gan_mode": "hinge"},
        "spectral_norm": {"spectral_norm": True},
        "resize": {"upsample": "resize"},
        "perceptual": {"lambda_perceptual": 10.0, "perceptual_weights": perceptual_weights or ""},
        "quality": dict(PRESETS["quality"]),
        "combined": dict(COMBINED),
        "all_levers": dict(ALL_LEVERS),
        # issue 15's "lite" generators: fewer filters, the paper's objective (speed vs quality)
        "lite32": {"ngf": 32},
        "lite16": {"ngf": 16},
    }
    return table


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_progress(out: Path, progress: dict) -> None:
    from pix2pix_tf.host.writes import atomic_write_text

    atomic_write_text(out / PROGRESS, json.dumps(progress, indent=2) + "\n")


def run_variant(label: str, config, data: Path, out: Path, steps: int, train_kwargs: dict,
                progress: dict) -> dict:
    """Train (or resume, or reuse) one variant's run and return its measures."""
    import keras

    from pix2pix_tf.successors.networks import build_successor_discriminator, receptive_fields
    from pix2pix_tf.course.ablations import RECORD, _find_run, _measure, _run_key, _write_record, run_name
    from pix2pix_tf.run.folder import CHECKPOINTS, SUMMARY
    from pix2pix_tf.run.resume import checkpoint_candidates
    from pix2pix_tf.run.train import train

    key = _run_key(config, data, steps, train_kwargs)
    run_dir = out / run_name(label)
    found = _find_run(out, run_name(label), key)
    status = "reused"
    if found is None:
        state = progress.get(label, {})
        resumable = (state.get("key") == key and state.get("state") == "training"
                     and not (run_dir / SUMMARY).is_file()
                     and checkpoint_candidates(run_dir / CHECKPOINTS)[0])
        progress[label] = {"key": key, "state": "training"}
        _save_progress(out, progress)
        if resumable:
            status = "resumed"
            print(f"{label}: resuming {run_dir}", file=sys.stderr)
            train(config, data, run_dir, steps=steps, resume=True, **train_kwargs)
        else:
            status = "trained"
            print(f"{label}: training {steps} steps -> {run_dir}", file=sys.stderr)
            (run_dir / RECORD).unlink(missing_ok=True)
            train(config, data, run_dir, steps=steps, overwrite=True, **train_kwargs)
        _write_record(run_dir, {"key": key})
        found = run_dir
    record = _read_json(found / RECORD)
    if "measures" not in record:
        record["measures"] = _measure(found, data)
        _write_record(found, record)
    progress[label] = {"key": key, "state": "done", "run_dir": str(found)}
    _save_progress(out, progress)
    summary = _read_json(found / SUMMARY)
    m = record["measures"]
    fields = receptive_fields(build_successor_discriminator(config)) if config.loss != "l1" else None
    keras.backend.clear_session()  # the next variant builds its networks afresh
    ratio = m["sharpness"] / m["target_sharpness"] if m["target_sharpness"] else None
    return {"status": status, "run_dir": str(found), "steps": summary.get("steps"),
            **{k: summary.get("test", {}).get(k) for k in ("l1", "psnr", "ssim")},
            "sharpness": m["sharpness"], "target_sharpness": m["target_sharpness"],
            "sharpness_ratio": None if ratio is None else round(ratio, 4),
            "seconds_per_step": summary.get("seconds_per_step"),
            "wall_seconds": summary.get("wall_seconds"), "d_receptive_fields": fields,
            "g_params": m["g_params"], "d_params": m["d_params"], "test_images": m["test_images"]}


def step_times(configs: dict, rounds: int, steps: int, batch_size: int = 1) -> dict:
    """Seconds per training step of each config, timed interleaved in this process.

    One model per config, each stepping on one fixed random batch (the call ``fit`` makes,
    without the input pipeline); every round times ``steps`` steps of each model in turn, so
    the machine's load falls on all of them alike. Returns per label the median seconds per
    step over the rounds and its ratio to the first label's (the baseline).
    """
    import statistics

    import keras
    import tensorflow as tf

    from pix2pix_tf.fast.transform import speed_up
    from pix2pix_tf.successors.model import model_class

    runners = {}
    for label, config in configs.items():
        size = config.image_size
        x = tf.random.uniform((batch_size, size, size, config.input_channels), -1, 1, seed=1)
        y = tf.random.uniform((batch_size, size, size, config.output_channels), -1, 1, seed=2)
        keras.utils.set_random_seed(config.seed)
        model = model_class(config).from_config_object(config)
        model.compile()
        speed_up(model)  # as a run trains it
        iterator = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
        model.make_train_function()
        float(model.train_function(iterator)["g_total"])  # trace and warm up
        runners[label] = (model.train_function, iterator)
    samples = {label: [] for label in configs}
    for r in range(rounds + 1):  # round 0 warms every model up in turn and is not counted
        for label, (fn, iterator) in runners.items():
            started = time.perf_counter()
            for _ in range(steps):
                logs = fn(iterator)
            float(logs["g_total"])  # waits for the last step
            if r > 0:
                samples[label].append((time.perf_counter() - started) / steps)
    first = statistics.median(next(iter(samples.values())))
    return {label: {"median_seconds": round(statistics.median(v), 4),
                    "ratio_to_" + next(iter(configs)): round(statistics.median(v) / first, 3)}
            for label, v in samples.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="aligned A|B folder (default: edges2things, "
                                                  "else the bundled sample)")
    parser.add_argument("--out", type=Path, help="folder of the runs (required unless --smoke)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--variants", default=None, help="comma-separated labels (default: all)")
    parser.add_argument("--direction", default="BtoA", choices=("AtoB", "BtoA"))
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--n-layers-d", type=int, default=None,
                        help="default 3 (70x70), or the deepest that fits the smallest D scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=250,
                        help="a killed run resumes from its last checkpoint (default every 250 steps)")
    parser.add_argument("--perceptual-weights", default=None,
                        help="a local VGG19 no-top .h5 or a .keras feature extractor (perceptual variant)")
    parser.add_argument("--time-rounds", type=int, default=0,
                        help="also time each variant's train step on a fixed batch, interleaved: "
                             "this many rounds (default 0: off)")
    parser.add_argument("--time-steps", type=int, default=5, help="steps per variant and round")
    parser.add_argument("--time-only", action="store_true",
                        help="only the step timing (needs --time-rounds): no training")
    parser.add_argument("--smoke", action="store_true",
                        help="4 steps at 32x32, ngf/ndf 8, on the bundled sample, in a temporary --out")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.image_size, args.ngf, args.ndf = 4, 32, 8, 8
        args.data = args.data or SAMPLE
    if args.time_only and args.time_rounds <= 0:
        parser.error("--time-only needs --time-rounds N (N > 0)")
    if args.out is None and not args.smoke and not args.time_only:
        parser.error("--out is required (a folder for the runs; rerun with the same --out to resume)")
    data = args.data or (SHARED if SHARED.is_dir() else SAMPLE)

    from pix2pix_tf.config import Pix2PixConfig, default_load_size, max_patchgan_layers
    from pix2pix_tf.successors.config import make_config

    table = variants(args.perceptual_weights)
    labels = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else list(table)
    unknown = [v for v in labels if v not in table]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(table)}")
    skipped = {}
    if "perceptual" in labels and not args.perceptual_weights:
        labels.remove("perceptual")
        skipped["perceptual"] = "no --perceptual-weights file (nothing is downloaded)"
    smallest = args.image_size
    for _ in range(max(table[v].get("num_d", 1) for v in labels) - 1):
        smallest = -(-smallest // 2)
    n_layers_d = args.n_layers_d if args.n_layers_d is not None else min(3, max_patchgan_layers(smallest))
    base = Pix2PixConfig(image_size=args.image_size, load_size=default_load_size(args.image_size),
                         direction=args.direction, batch_size=args.batch_size, ngf=args.ngf, ndf=args.ndf,
                         n_layers_d=n_layers_d, seed=args.seed)
    train_kwargs = {"export": False, "verbose": 0, "eval_modes": ("deterministic",),
                    "checkpoint_every": args.checkpoint_every}

    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="quality_levers_") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        progress = _read_json(out / PROGRESS)
        defaults = Pix2PixConfig().to_dict()
        result = {"data": str(data), "direction": args.direction, "image_size": args.image_size,
                  "steps": args.steps, "seed": args.seed, "out": str(out),
                  "base_config": {k: v for k, v in base.to_dict().items() if v != defaults[k]},
                  "inference_mode": "deterministic", "variants": {}, "skipped": skipped,
                  "python": platform.python_version(), "tensorflow": tf.__version__,
                  "keras": keras.__version__, "cpus": os.cpu_count()}
        t0 = time.perf_counter()
        measured = {}  # changes -> label: "quality" and "combined" are one config today, trained once
        for label in ([] if args.time_only else labels):
            changes = json.dumps(table[label], sort_keys=True)
            same = measured.get(changes)
            if same is not None:
                entry = {**result["variants"][same], "status": f"same config as {same}"}
                entry.pop("changes")
            else:
                config = make_config(**{**base.to_dict(), **table[label]})  # the successors' for a lever
                entry = run_variant(label, config, data, out, args.steps, train_kwargs, progress)
                measured[changes] = label
            result["variants"][label] = {"changes": table[label], **entry}
            print(f"{label}: {entry['status']}, L1 {entry['l1']:.4f}, PSNR {entry['psnr']:.2f}, "
                  f"SSIM {entry['ssim']:.3f}, sharpness x{entry['sharpness_ratio']}, "
                  f"{entry['seconds_per_step']} s/step", file=sys.stderr)
        if args.time_rounds > 0:
            timed = ["baseline", *(v for v in labels if v != "baseline")]  # ratios to the paper's step
            result["step_time"] = {"rounds": args.time_rounds, "steps_per_round": args.time_steps,
                                   "batch_size": args.batch_size,
                                   "variants": step_times({v: make_config(**{**base.to_dict(), **table[v]}) for v in timed},
                                                          args.time_rounds, args.time_steps,
                                                          args.batch_size)}
        result["seconds"] = round(time.perf_counter() - t0, 1)
        if args.out is not None:
            from pix2pix_tf.host.writes import atomic_write_text

            atomic_write_text(out / "results.json", json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    _jsonout.reserve()
    _jsonout.emit(main())
