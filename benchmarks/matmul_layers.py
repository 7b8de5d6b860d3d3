"""Benchmark: the CPU matmul path of each small-map layer of the U-Net vs TensorFlow's kernels.

:mod:`pix2pix_tf.fast.matmul` runs the 4x4 stride-2 convolutions and transposed convolutions
on small maps as one matmul each (``MATMUL_MAX_CONV``, ``MATMUL_MAX_DECONV``). This script
times, for every such layer of the paper's 256x256 generator and a few larger maps, what one
training step asks of the layer: the forward pass and both gradients (input and kernel),
with the layer's ``max_matmul_size`` at 0 (TensorFlow's oneDNN kernels) and at the map size
(the matmul path), interleaved in one process, batch 1, float32. A third variant,
``autodiff``, is the matmul path with plain ``tf.matmul`` and TensorFlow's own gradients in
place of :func:`~pix2pix_tf.fast.matmul.times_weight` / ``times_weight_t`` (whose gradients
never make the big weight matrix the transposed operand of a matmul): the form the path had
before, kept here so the two are compared in the same run.

The ratio ``native / matmul`` above 1 means the matmul path is faster; the thresholds in
``pix2pix_tf/fast/matmul.py`` are the largest maps where it stays above 1. ``autodiff / matmul``
above 1 means the hand-written gradients pay.

Usage:
    python benchmarks/matmul_layers.py                       # the U-Net's layers at 256x256
    python benchmarks/matmul_layers.py --rounds 2 --calls 1 --smoke

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _jsonout  # noqa: E402

_jsonout.reserve()

# (kind, input map size, input channels, output channels): the U-Net at 256x256 (ngf 64)
# from the 32x32 encoder layer down and the decoder up to 32x32, plus one larger map each
UNET_LAYERS = [
    ("conv", 64, 128, 256), ("conv", 32, 256, 512), ("conv", 16, 512, 512), ("conv", 8, 512, 512),
    ("conv", 4, 512, 512), ("conv", 2, 512, 512),
    ("deconv", 1, 512, 512), ("deconv", 2, 1024, 512), ("deconv", 4, 1024, 512),
    ("deconv", 8, 1024, 512), ("deconv", 16, 1024, 256), ("deconv", 32, 512, 128),
]
SMOKE_LAYERS = [("conv", 8, 16, 8), ("deconv", 4, 16, 8)]


@contextlib.contextmanager
def plain_matmuls():
    """While tracing: the matmul path with ``tf.matmul`` and TensorFlow's own gradients."""
    import tensorflow as tf

    from pix2pix_tf.fast import matmul

    saved = matmul.times_weight, matmul.times_weight_t
    matmul.times_weight = lambda x, w, rows_per_image=None: tf.matmul(x, w)
    matmul.times_weight_t = lambda x, w, rows_per_image=None: tf.matmul(x, w, transpose_b=True)
    try:
        yield
    finally:
        matmul.times_weight, matmul.times_weight_t = saved


VARIANTS = ("native", "matmul", "autodiff")


def layer_variants(kind: str, size: int, cin: int, cout: int):
    """The same layer (same weights) with the native kernels, the matmul path, and the matmul
    path with TensorFlow's own matmul gradients; each a traced step (forward + both gradients)."""
    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.fast.matmul import MatmulConv2D, MatmulConv2DTranspose

    cls = MatmulConv2D if kind == "conv" else MatmulConv2DTranspose
    x = tf.constant(np.random.default_rng(0).standard_normal((1, size, size, cin)), tf.float32)
    layers = {name: cls(cout, 4, strides=2, padding="same", use_bias=False,
                        max_matmul_size=0 if name == "native" else size) for name in VARIANTS}
    for layer in layers.values():
        layer(x)
        layer.kernel.assign(layers["native"].kernel)
    steps = {}
    for name, layer in layers.items():
        @tf.function
        def step(t, layer=layer):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = layer(t)
                loss = tf.reduce_sum(y * y)
            return (y, *tape.gradient(loss, [t, layer.kernel]))
        with plain_matmuls() if name == "autodiff" else contextlib.nullcontext():
            step.get_concrete_function(x)  # traced here, so "autodiff" keeps tf.matmul
        steps[name] = step
    got = {n: [v.numpy() for v in steps[n](x)] for n in VARIANTS}
    err = max(float(np.abs(a - b).max() / (np.abs(a).max() + 1e-12))
              for n in VARIANTS[1:] for a, b in zip(got["native"], got[n]))
    return x, steps, err


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median reported)")
    parser.add_argument("--calls", type=int, default=5, help="calls per round and variant")
    parser.add_argument("--smoke", action="store_true", help="two tiny layers (a test of the script)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from pix2pix_tf.fast.matmul import MATMUL_MAX_CONV, MATMUL_MAX_DECONV

    rows = []
    for kind, size, cin, cout in (SMOKE_LAYERS if args.smoke else UNET_LAYERS):
        x, steps, err = layer_variants(kind, size, cin, cout)
        for step in steps.values():
            step(x)  # warm-up
        times = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                start = time.perf_counter()
                for _ in range(args.calls):
                    step(x)[-1].numpy()
                times[name].append((time.perf_counter() - start) / args.calls)
        ms = {name: statistics.median(v) * 1000 for name, v in times.items()}
        limit = MATMUL_MAX_CONV if kind == "conv" else MATMUL_MAX_DECONV
        rows.append({"layer": kind, "map": size, "in_channels": cin, "out_channels": cout,
                     "native_ms": round(ms["native"], 2), "matmul_ms": round(ms["matmul"], 2),
                     "autodiff_ms": round(ms["autodiff"], 2),
                     "native_over_matmul": round(ms["native"] / ms["matmul"], 3),
                     "autodiff_over_matmul": round(ms["autodiff"] / ms["matmul"], 3),
                     "matmul_used_by_default": size <= limit,
                     "max_relative_difference": float(f"{err:.2e}")})
        print(f"{kind} {size}x{size} {cin}->{cout}: native {ms['native']:.1f} ms, matmul "
              f"{ms['matmul']:.1f} ms, autodiff {ms['autodiff']:.1f} ms", file=sys.stderr)
    return {"what": "forward + input and kernel gradients of one layer, batch 1, float32",
            "rounds": args.rounds, "calls_per_round": args.calls,
            "max_matmul_size": {"conv": MATMUL_MAX_CONV, "deconv": MATMUL_MAX_DECONV},
            "python": platform.python_version(), "tensorflow": tf.__version__, "cpus": os.cpu_count(),
            "layers": rows}


if __name__ == "__main__":
    _jsonout.emit(main())
