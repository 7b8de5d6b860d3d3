"""Benchmark: images/s of the tf.data input pipeline alone vs what the train step consumes.

The training pipeline of :func:`pix2pix_tf.data.make_dataset` (decode JPEG/PNG, split A|B,
resize to load_size, random crop + mirror, normalise, batch, prefetch) is iterated on its
own, in three variants timed interleaved in one process:

* ``sequential``: one element at a time, no cache (``parallel=False, cache=False``);
* ``parallel``: decode and jitter on all cores (``num_parallel_calls=AUTOTUNE``), no cache;
* ``parallel_cached``: the default where the decoded, resized images fit in memory: the
  deterministic part (decode + resize to load_size, rounded to uint8) is cached, only the
  random crop and mirror run each epoch.

The train step's rate is measured in the same run (the default model, float32, batch 1,
on a fixed batch), and each variant's rate is reported as a multiple of it: the target is
a pipeline at least 10x faster than training consumes, so it never starves the model.

Usage:
    python benchmarks/input_pipeline.py --data ../shared/datasets/edges2things   # 256x256
    python benchmarks/input_pipeline.py --image-size 64 --batches 20             # bundled sample

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

import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf.fast.transform import speed_up  # noqa: E402
from pix2pix_tf.config import Pix2PixConfig, default_load_size  # noqa: E402
from pix2pix_tf.data import make_dataset, split_pairs  # noqa: E402
from pix2pix_tf.model import Pix2Pix  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "facades_synthetic"
VARIANTS = {"sequential": dict(parallel=False, cache=False),
            "parallel": dict(parallel=True, cache=False),
            "parallel_cached": dict(parallel=True, cache=True)}


def images_per_second(iterator, batches: int, batch_size: int) -> float:
    t = time.perf_counter()
    for _ in range(batches):
        x, _ = next(iterator)
    x.numpy()
    return batches * batch_size / (time.perf_counter() - t)


def train_step_rate(cfg: Pix2PixConfig, steps: int) -> float:
    """Images/s of the default model's train step on a fixed batch (no input pipeline)."""
    keras.utils.set_random_seed(0)
    model = Pix2Pix.from_config_object(cfg)
    model.compile()
    speed_up(model)  # as a run trains it
    s = cfg.image_size
    batch = (tf.zeros((cfg.batch_size, s, s, 3)), tf.zeros((cfg.batch_size, s, s, 3)))
    it = iter(tf.data.Dataset.from_tensors(batch).repeat())
    model.make_train_function()
    float(model.train_function(it)["g_total"])  # trace
    t = time.perf_counter()
    for _ in range(steps):
        logs = model.train_function(it)
    float(logs["g_total"])
    return steps * cfg.batch_size / (time.perf_counter() - t)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(SAMPLE))
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--batches", type=int, default=100, help="batches per variant per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--train-steps", type=int, default=5)
    p.add_argument("--direction", default="BtoA")
    args = p.parse_args(argv)

    cfg = Pix2PixConfig(image_size=args.image_size, load_size=default_load_size(args.image_size),
                        batch_size=args.batch_size, direction=args.direction)
    pairs = split_pairs(args.data, "train")
    iterators = {}
    for name, kwargs in VARIANTS.items():
        ds, _ = make_dataset(args.data, "train", cfg, pairs=pairs, **kwargs)
        iterators[name] = iter(ds)
    # warm-up: one full pass for every variant (fills the cache of the cached one)
    warm = {name: images_per_second(it, max(len(pairs) // args.batch_size, 1), args.batch_size)
            for name, it in iterators.items()}
    rates = {name: [] for name in iterators}
    for _ in range(args.rounds):
        for name, it in iterators.items():
            rates[name].append(images_per_second(it, args.batches, args.batch_size))
    train_rate = train_step_rate(cfg, args.train_steps)
    return {
        "benchmark": "input_pipeline",
        "data": str(args.data),
        "train_images": len(pairs),
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "train_step_images_per_second": round(train_rate, 2),
        "variants": {name: {"images_per_second": round(statistics.median(r), 1),
                            "first_pass_images_per_second": round(warm[name], 1),
                            "times_train_rate": round(statistics.median(r) / train_rate, 1)}
                     for name, r in rates.items()},
        "target": "pipeline >= 10x the train step's rate",
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
    }


if __name__ == "__main__":
    _jsonout.emit(main())
