"""Benchmark: training throughput (images/s) of every speed variant vs the plain float32 path.

Variants, each a separate model timed interleaved in ONE process (the machines are shared
and noisy, so per-round ratios measured side by side are what counts):

* ``tutorial``: the TensorFlow tutorial's recipe (see ``train_step_vs_tutorial.py``).
* ``plain``: ``Pix2Pix`` with every optimization off: float32, Keras' own Adam and batch
  norm, TensorFlow's convolution kernels everywhere (``conv_impl="native"``), no XLA.
* ``fused_adam``: plain + :class:`pix2pix_tf.fast.adam.FusedAdam` (one kernel per weight
  update) + the fused batch-norm kernel (:class:`pix2pix_tf.fast.batchnorm.FusedBatchNorm`).
* ``default``: what ``pix2pix-tf train`` runs on this machine: fused_adam and, on CPU, the
  4x4 stride-2 convolutions of small maps as matmuls (``conv_impl="auto"``, see fast/matmul.py).
* ``default_xla``: the same, train step compiled with XLA (``jit_compile=True``).
* ``mixed_bfloat16``: default + bfloat16 compute (float32 weights).
* ``mixed_float16``: default + float16 compute with loss scaling (GPU only: skipped on CPU).
* ``plain_bN`` / ``default_bN``: the same at a larger batch (``--large-batch``).

Each step is one call of the model's train function on a tf.data iterator of a fixed
batch (exactly what ``fit`` calls), so the input pipeline is not part of it (see
``input_pipeline.py``). Achieved GFLOP/s use the issue's count of a training step:
3 x (generator forward + 2 x discriminator forward) per image, forward FLOPs counted by
TensorFlow's profiler; the matmul peak is measured in the same run (float32 and bf16).

Usage:
    python benchmarks/train_throughput.py                      # 256x256, 4 rounds x 3 steps
    python benchmarks/train_throughput.py --image-size 64 --rounds 2 --steps 2   # smoke test
    python benchmarks/train_throughput.py --variants plain,fused_adam

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _jsonout  # noqa: E402

if __name__ == "__main__":
    _jsonout.reserve()

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.profiler import model_analyzer, option_builder  # noqa: E402

from pix2pix_tf.fast.transform import speed_up  # noqa: E402
from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.model import Pix2Pix  # noqa: E402

from train_step_vs_tutorial import TutorialRecipe  # noqa: E402

ALL_VARIANTS = ("tutorial", "plain", "fused_adam", "default", "default_xla", "mixed_bfloat16",
                "mixed_float16")
DEFAULT_VARIANTS = ("tutorial", "plain", "fused_adam", "default", "default_xla", "mixed_bfloat16")


def forward_gflops(fn, *specs) -> float:
    """FLOPs of one call of ``fn`` on inputs of ``specs``, counted by TF's profiler."""
    graph = tf.function(fn).get_concrete_function(*specs).graph
    opts = (option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
            .with_empty_output().build())
    return model_analyzer.profile(graph=graph, options=opts).total_float_ops / 1e9


def matmul_peak(dtype, n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an n x n matmul in ``dtype``."""
    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    f = tf.function(lambda: tf.matmul(a, a))
    f().numpy()
    best = min(_timed(lambda: f().numpy()) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_runner(variant: str, cfg: Pix2PixConfig, batch: int):
    """A function run(n) doing n training steps of ``variant`` at ``batch``."""
    size = cfg.image_size
    x = tf.random.uniform((batch, size, size, 3), -1, 1, seed=1)
    y = tf.random.uniform((batch, size, size, 3), -1, 1, seed=2)
    if variant == "tutorial":
        recipe = TutorialRecipe(size, cfg.generator_depth)

        def run_tutorial(n: int) -> float:
            for _ in range(n):
                out = recipe.train_step(x, y)
            return float(out[0]) if isinstance(out, (tuple, list)) else 0.0
        return run_tutorial
    # the run options of the variant (pix2pix_tf.run.options.RunOptions: precision, conv_impl)
    precision = {"mixed_bfloat16": "mixed_bfloat16", "mixed_float16": "mixed_float16"}.get(variant, "float32")
    conv_impl = "native" if variant in ("plain", "fused_adam") else "auto"
    vcfg = cfg.replace(batch_size=batch)
    keras.utils.set_random_seed(0)
    model = Pix2Pix.from_config_object(vcfg, precision=precision)
    model.compile(jit_compile=variant == "default_xla")
    if variant != "plain":  # plain: Keras' Adam and batch norm, every optimization off
        speed_up(model, conv_impl)  # fused_adam: conv_impl native, so FusedAdam and fused batch norm only
    iterator = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
    model.make_train_function()
    train_function = model.train_function

    def run(n: int) -> float:
        for _ in range(n):
            logs = train_function(iterator)
        return float(logs["g_total"])  # waits for the step to finish
    return run


def summarize(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 4), "min": round(min(samples), 4),
            "max": round(max(samples), 4)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--steps", type=int, default=3, help="steps per variant per round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help=f"comma-separated, from {', '.join(ALL_VARIANTS)}")
    p.add_argument("--large-batch", type=int, default=4, help="also time plain and default at "
                   "this batch (0: skip)")
    args = p.parse_args(argv)

    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(ALL_VARIANTS))
    if unknown:
        p.error(f"unknown variant(s): {', '.join(unknown)}")
    gpu = bool(tf.config.list_physical_devices("GPU"))
    skipped = {}
    if "mixed_float16" in variants and not gpu:
        variants.remove("mixed_float16")
        skipped["mixed_float16"] = "no GPU: float16 convolutions are emulated on CPU"
    cfg = Pix2PixConfig(image_size=args.image_size, load_size=args.image_size)
    jobs = [(v, 1) for v in variants]
    if args.large_batch > 1:
        jobs += [(v, args.large_batch) for v in ("plain", "default") if v in variants]

    runners = {}
    for variant, batch in jobs:
        name = variant if batch == 1 else f"{variant}_b{batch}"
        runners[name] = (make_runner(variant, cfg, batch), batch)
        runners[name][0](args.warmup)  # trace, compile, first allocations
    seconds = {name: [] for name in runners}
    ratios = {name: [] for name in runners}
    for _ in range(args.rounds):
        per_image = {}
        for name, (run, batch) in runners.items():
            dt = _timed(lambda: run(args.steps)) / args.steps
            seconds[name].append(dt)
            per_image[name] = dt / batch
        base = per_image.get("plain")
        if base:
            for name in runners:
                ratios[name].append(base / per_image[name])

    size = cfg.image_size
    spec_in = tf.TensorSpec((1, size, size, 3))
    probe = Pix2Pix.from_config_object(cfg)
    g_fwd = forward_gflops(lambda a: probe.generator(a, training=True), spec_in)
    d_fwd = forward_gflops(lambda a, b: probe.discriminator([a, b], training=True), spec_in, spec_in)
    step_gflop = 3 * (g_fwd + 2 * d_fwd)
    peak = {"float32": round(matmul_peak(tf.float32)), "bfloat16": round(matmul_peak(tf.bfloat16))}

    results = {}
    for name, (_, batch) in runners.items():
        s = statistics.median(seconds[name])
        gflops = step_gflop * batch / s
        peak_key = "bfloat16" if "bfloat16" in name else "float32"
        results[name] = {
            "batch": batch,
            "seconds_per_step": summarize(seconds[name]),
            "images_per_second": round(batch / s, 3),
            "ratio_to_plain": round(statistics.median(ratios[name]), 3) if ratios[name] else None,
            "achieved_gflops": round(gflops, 1),
            "fraction_of_matmul_peak": round(gflops / peak[peak_key], 3),
        }
    return {
        "benchmark": "train_throughput",
        "image_size": size,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "flops": {"generator_forward_gflop": round(g_fwd, 2),
                  "discriminator_forward_gflop": round(d_fwd, 2),
                  "train_step_gflop_per_image": round(step_gflop, 1),
                  "formula": "3 x (G forward + 2 x D forward)"},
        "matmul_peak_gflops": peak,
        "variants": results,
        "skipped": skipped,
        "ratio_note": "ratio_to_plain = median over rounds of (plain s/image) / (variant s/image), "
                      "measured in the same round; > 1 is faster",
        "device": "GPU" if gpu else "CPU",
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


if __name__ == "__main__":
    _jsonout.emit(main())
