"""Benchmark: latency of an exported pix2pix SavedModel (and its TFLite twin) on this machine.

Exports a freshly initialised paper-size generator (weights do not change the cost) or the
generator of ``--run`` twice, with the same weights: as built on this machine (default
``conv_impl="auto"``: on CPU the 4x4 stride-2 convolutions of small maps run as matmuls)
and with TensorFlow's convolution kernels everywhere (``conv_impl="native"``, the plain
path, suffix ``_native``). Then times, interleaved in one process after warm-up:

* ``translate_uint8`` on one 256x256 uint8 image (the serving path, resize included),
* ``serving_default`` on batch 1 and batch 16 (float32, the raw generator),
* the TFLite interpreter on one image (``--tflite``).

Prints one JSON object: median and p90 milliseconds per call, images per second, and the
ratio of each default call to its native twin (> 1 = faster).

Usage:
    python benchmarks/inference_latency.py [--run RUN] [--repeats 20] [--tflite]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.run.export import export_saved_model, export_tflite  # noqa: E402
from pix2pix_tf.generator import build_generator  # noqa: E402


def _time(fn, repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run folder to export (default: untrained paper generator)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=256, help="untrained generator's size")
    parser.add_argument("--tflite", action="store_true", help="also time the TFLite interpreter")
    args = parser.parse_args()

    if args.run:
        from pix2pix_tf.run.folder import load_run
        model = load_run(args.run)
        generator, config = model.generator, model.config
    else:
        keras.utils.set_random_seed(0)
        config = Pix2PixConfig(image_size=args.image_size, load_size=args.image_size)
        generator = build_generator(config)
    native = build_generator(config.replace(conv_impl="native"))
    native.set_weights(generator.get_weights())
    s = config.image_size
    tmp = tempfile.mkdtemp()
    sm = tf.saved_model.load(str(export_saved_model(generator, config, f"{tmp}/sm")))
    sm_native = tf.saved_model.load(str(export_saved_model(native, config, f"{tmp}/sm_native")))
    rng = np.random.default_rng(0)
    u8 = tf.constant(rng.integers(0, 256, (1, s, s, 3), dtype=np.uint8))
    f1 = tf.constant(rng.uniform(-1, 1, (1, s, s, 3)).astype(np.float32))
    f16 = tf.constant(rng.uniform(-1, 1, (16, s, s, 3)).astype(np.float32))
    calls = {
        "translate_uint8_batch1": (lambda: sm.signatures["translate_uint8"](images=u8)["output"].numpy(), 1),
        "serving_default_batch1": (lambda: sm.signatures["serving_default"](images=f1)["output"].numpy(), 1),
        "serving_default_batch16": (lambda: sm.signatures["serving_default"](images=f16)["output"].numpy(), 16),
    }
    for name, (_, n) in list(calls.items()):
        sig, arg = name.rsplit("_batch", 1)[0], {1: u8 if "uint8" in name else f1, 16: f16}[n]
        calls[name + "_native"] = (lambda sig=sig, arg=arg: sm_native.signatures[sig](images=arg)["output"].numpy(), n)
    result = {"image_size": s, "repeats": args.repeats, "source": args.run or "untrained paper generator",
              "inference_mode": config.inference_mode, "tensorflow": tf.__version__, "cpu_count": os.cpu_count()}
    if args.tflite:
        path = export_tflite(generator, config, f"{tmp}/g.tflite")
        interp = tf.lite.Interpreter(model_path=str(path))
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

        def tflite_call():
            interp.set_tensor(inp, f1.numpy())
            interp.invoke()
            return interp.get_tensor(out)

        calls["tflite_batch1"] = (tflite_call, 1)
        result["tflite_mb"] = round(path.stat().st_size / 2 ** 20, 1)
        ref = sm.signatures["serving_default"](images=f1)["output"].numpy()
        result["tflite_max_abs_diff"] = float(np.abs(tflite_call() - ref).max())

    times = {name: [] for name in calls}
    for _ in range(3):  # warm every path up first, then interleave rounds
        for fn, _n in calls.values():
            fn()
    rounds = 4
    per_round = max(1, args.repeats // rounds)
    for _ in range(rounds):
        for name, (fn, _n) in calls.items():
            times[name].extend(_time(fn, per_round, warmup=0))
    result["variants"] = {
        name: {"median_ms": round(1000 * statistics.median(t), 1),
               "p90_ms": round(1000 * float(np.percentile(t, 90)), 1),
               "images_per_second": round(calls[name][1] / statistics.median(t), 2)}
        for name, t in times.items()}
    for name in list(result["variants"]):
        if name + "_native" in result["variants"]:
            result["variants"][name]["speedup_vs_native"] = round(
                statistics.median(times[name + "_native"]) / statistics.median(times[name]), 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
