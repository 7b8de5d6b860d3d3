"""Benchmark: latency of an exported pix2pix SavedModel and its TFLite files on this machine.

Exports a freshly initialised paper-size generator (weights do not change the cost) or the
generator of ``--run`` twice, with the same weights: as built on this machine (default
``conv_impl="auto"``: on CPU the 4x4 stride-2 convolutions of small maps run as matmuls)
and with TensorFlow's convolution kernels everywhere (``conv_impl="native"``, the plain
path, suffix ``_native``). Then times, interleaved in one process after warm-up:

* ``translate_uint8`` on one 256x256 uint8 image (the serving path, resize included),
* ``serving_default`` on batch 1 and batch 16 (float32, the raw generator),
* with ``--tflite``, one image through each TFLite file ``export_tflite`` writes
  (``--quantize``: float32 ``none``, ``float16``, ``dynamic``, ``int8``), opened with
  ``tflite_interpreter`` (all cores, XNNPACK): ``tflite_{q}_batch1``; and, for comparison,
  the float32 file as converted before (TRANSPOSE_CONV, the matmul path's slices) in
  ``tf.lite.Interpreter``'s default single thread (``tflite_float32_old_batch1``) and the new
  file on one thread (``tflite_float32_1thread_batch1``).

Each TFLite variant also reports its file size (MiB) and its quality against the float32
SavedModel: L1 / PSNR / SSIM (``pix2pix_tf.metrics.image_metrics``) over ``--quality-images``
inputs from ``--data``'s val/ or test/ split (and against the targets there), or over random
inputs without ``--data``. int8 files are calibrated on ``--data``'s train/ inputs (random
inputs without it). ``--ngf 64,32,16`` adds untrained narrower generators
(``lite_generators``: SavedModel batch 1 and the TFLite files).

Prints one JSON object: median and p90 milliseconds per call, images per second, the ratio
of each default SavedModel call to its native twin (> 1 = faster) and of each TFLite call to
``serving_default_batch1``.

Usage:
    python benchmarks/inference_latency.py [--run RUN] [--repeats 20] [--tflite]
        [--quantize none,float16,dynamic,int8] [--data DIR] [--ngf 64,32,16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf.fast.transform import speed_up_network  # noqa: E402
from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.generator import build_generator  # noqa: E402
from pix2pix_tf.layers import set_inference_mode  # noqa: E402
from pix2pix_tf.metrics import image_metrics  # noqa: E402
from pix2pix_tf.run.export import export_saved_model, export_tflite  # noqa: E402
from pix2pix_tf.run.tflite import (calibration_images, convert_generator, run_tflite,  # noqa: E402
                                   tflite_interpreter, usable_cpus)

SSIM_BUDGET = 0.01  # the goal: the fastest form within this SSIM of float32


def _time(fn, repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _mib(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2 ** 20, 1)


def _invoke(interp, x: np.ndarray):
    inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

    def call():
        interp.set_tensor(inp, x)
        interp.invoke()
        return interp.get_tensor(out)

    return call


def _quality(reference: np.ndarray, output: np.ndarray) -> dict:
    m = image_metrics(reference, output)
    return {k: round(float(np.mean(v.numpy())), 5 if k != "psnr" else 2) for k, v in m.items()}


def _split_images(data: str, config: Pix2PixConfig, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """n evaluation (input, target) pairs of data's test/ or val/ split, at the model's size."""
    from pix2pix_tf.data.files import find_test_split
    from pix2pix_tf.data.pipeline import make_dataset

    split = find_test_split(data)
    if split is None:
        raise SystemExit(f"{data}: no test/ or val/ split for the quality images")
    ds, _ = make_dataset(data, split, config, training=False, parallel=False)
    xs, ys = zip(*[(x[0].numpy(), y[0].numpy()) for x, y in ds.take(n)])
    return np.stack(xs), np.stack(ys), f"{data}/{split}"


def _tflite_files(generator, config, tmp: str, tag: str, quantizations, calibration, old: bool) -> dict:
    """Export each TFLite variant; {variant: path}."""
    files = {}
    names = {"none": "float32", "float16": "float16", "dynamic": "dynamic", "int8": "int8"}
    for q in quantizations:
        path = f"{tmp}/{tag}_{names[q]}.tflite"
        files[names[q]] = export_tflite(generator, config, path, "deterministic", quantize=q,
                                        calibration_data=calibration if q == "int8" else None)
    if old:  # the float32 file as export_tflite converted it before (no lite_twin)
        h, w = (v or config.image_size for v in generator.input_shape[1:3])
        set_inference_mode(generator, "deterministic")
        try:
            flat = convert_generator(generator, (h, w, config.input_channels), fast_ops=False)
        finally:
            set_inference_mode(generator, config.inference_mode)
        files["float32_old"] = Path(f"{tmp}/{tag}_float32_old.tflite")
        files["float32_old"].write_bytes(flat)
    return files


def _old_interpreter(path: Path):
    """tf.lite.Interpreter as this benchmark (and the tests) opened files before: default threads (1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    return interp


def _add_tflite(calls: dict, info: dict, files: dict, x1: np.ndarray, threads: int, prefix: str = "") -> dict:
    """Register one timed call per TFLite file (plus the 1-thread twin of float32); returns
    {variant name: interpreter} for the quality pass."""
    interps = {}
    for name, path in files.items():
        if name == "float32_old":
            interp = _old_interpreter(path)
        else:
            interp = tflite_interpreter(path, num_threads=threads)
        key = f"{prefix}tflite_{name}_batch1"
        calls[key] = (_invoke(interp, x1), 1)
        info[key] = {"file_mib": _mib(path)}
        interps[key] = interp
        if name == "float32" and threads != 1:
            key1 = f"{prefix}tflite_float32_1thread_batch1"
            calls[key1] = (_invoke(tflite_interpreter(path, num_threads=1), x1), 1)
            info[key1] = {"file_mib": _mib(path)}
    return interps


def _score(info: dict, interps: dict, serve, quality_x: np.ndarray, quality_y: np.ndarray | None,
           sm_key: str) -> None:
    """Quality of each TFLite variant vs the float32 SavedModel (and vs the targets)."""
    reference = np.concatenate([serve(quality_x[i:i + 1]) for i in range(len(quality_x))])
    if quality_y is not None:
        info.setdefault(sm_key, {})["vs_target"] = _quality(quality_y, reference)
    for key, interp in interps.items():
        out = run_tflite(interp, quality_x)
        info[key]["vs_float32"] = _quality(reference, out)
        if quality_y is not None:
            info[key]["vs_target"] = _quality(quality_y, out)
        one_thread = key.replace("tflite_float32_batch1", "tflite_float32_1thread_batch1")
        if one_thread != key and one_thread in info:  # the same file on one thread
            info[one_thread].update({k: v for k, v in info[key].items() if k.startswith("vs_")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run folder to export (default: untrained paper generator)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=256, help="untrained generator's size")
    parser.add_argument("--tflite", action="store_true", help="also time the TFLite files")
    parser.add_argument("--quantize", default="none,float16,dynamic,int8",
                        help="TFLite files to time (export_tflite's quantize values)")
    parser.add_argument("--data", help="aligned dataset: int8 calibration (train/) and quality "
                                       "images (test/ or val/); default random inputs")
    parser.add_argument("--quality-images", type=int, default=20)
    parser.add_argument("--calibration-count", type=int, default=100)
    parser.add_argument("--ngf", default="",
                        help="comma list: untrained generators of these widths; the first is the "
                             "main one when there is no --run, the others go to lite_generators")
    parser.add_argument("--threads", type=int, default=None, help="TFLite threads (default: all cores)")
    args = parser.parse_args()
    widths = [int(v) for v in args.ngf.split(",") if v.strip()]
    quantizations = [q.strip() for q in args.quantize.split(",") if q.strip()]
    threads = args.threads or usable_cpus()

    if args.run:
        from pix2pix_tf.run.loading import load_run
        model = load_run(args.run)
        generator, config = model.generator, model.config
    else:
        keras.utils.set_random_seed(0)
        config = Pix2PixConfig(image_size=args.image_size, load_size=args.image_size,
                               **({"ngf": widths.pop(0)} if widths else {}))
        generator = speed_up_network(build_generator(config))  # as a run builds it (conv_impl "auto")
    native = build_generator(config)  # the plain path: no speed path, TensorFlow's kernels
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
              "inference_mode": config.inference_mode, "tensorflow": tf.__version__, "cpu_count": os.cpu_count(),
              "ngf": config.ngf}
    info: dict = {}  # per-variant extras: file size, quality
    lite_models = {}
    if args.tflite:
        result["tflite_threads"] = threads
        x1 = f1.numpy()
        if args.data:
            quality_x, quality_y, quality_source = _split_images(args.data, config, args.quality_images)
            calibration = calibration_images(args.data, config, args.calibration_count)
            calibration_source = f"{args.data}/train"
        else:
            quality_x = rng.uniform(-1, 1, (args.quality_images, s, s, 3)).astype(np.float32)
            quality_y, quality_source = None, "random inputs"
            calibration = rng.uniform(-1, 1, (args.calibration_count, s, s, 3)).astype(np.float32)
            calibration_source = "random inputs"
        result["quality"] = {"images": len(quality_x), "source": quality_source,
                             "reference": "the float32 SavedModel (serving_default)"}
        result["calibration"] = {"images": len(calibration), "source": calibration_source}
        files = _tflite_files(generator, config, tmp, "g", quantizations, calibration, old=True)
        interps = _add_tflite(calls, info, files, x1, threads)
        info["serving_default_batch1"] = {"file_mib": _mib(Path(f"{tmp}/sm"))}
        serve = lambda x: sm.signatures["serving_default"](images=tf.constant(x))["output"].numpy()  # noqa: E731
        _score(info, interps, serve, quality_x, quality_y, "serving_default_batch1")
        if "float32" in files:
            interp = interps["tflite_float32_batch1"]
            result["tflite_mb"] = info["tflite_float32_batch1"]["file_mib"]
            ref = calls["serving_default_batch1"][0]()
            result["tflite_max_abs_diff"] = float(np.abs(run_tflite(interp, x1) - ref).max())
        for ngf in widths:  # untrained narrower generators: latency (quality vs their float32)
            keras.utils.set_random_seed(0)
            cfg = config.replace(ngf=ngf)
            g = speed_up_network(build_generator(cfg))
            tag = f"ngf{ngf}"
            sm_g = tf.saved_model.load(str(export_saved_model(g, cfg, f"{tmp}/sm_{tag}")))
            serve_g = lambda x, m=sm_g: m.signatures["serving_default"](images=tf.constant(x))["output"].numpy()  # noqa: E731
            calls[f"{tag}_serving_default_batch1"] = (lambda serve_g=serve_g: serve_g(x1), 1)
            info[f"{tag}_serving_default_batch1"] = {"file_mib": _mib(Path(f"{tmp}/sm_{tag}"))}
            g_files = _tflite_files(g, cfg, tmp, tag, quantizations, calibration, old=False)
            g_interps = _add_tflite(calls, info, g_files, x1, threads, prefix=f"{tag}_")
            _score(info, g_interps, serve_g, quality_x, None, f"{tag}_serving_default_batch1")
            lite_models[tag] = {"ngf": ngf, "params": int(sum(np.prod(v.shape) for v in g.weights))}

    times = {name: [] for name in calls}
    for _ in range(3):  # warm every path up first, then interleave rounds
        for fn, _n in calls.values():
            fn()
    rounds = 4
    per_round = max(1, args.repeats // rounds)
    for _ in range(rounds):
        for name, (fn, _n) in calls.items():
            times[name].extend(_time(fn, per_round, warmup=0))
    variants = {
        name: {"median_ms": round(1000 * statistics.median(t), 1),
               "p90_ms": round(1000 * float(np.percentile(t, 90)), 1),
               "images_per_second": round(calls[name][1] / statistics.median(t), 2),
               **info.get(name, {})}
        for name, t in times.items()}
    for name in list(variants):
        if name + "_native" in variants:
            variants[name]["speedup_vs_native"] = round(
                statistics.median(times[name + "_native"]) / statistics.median(times[name]), 2)
        if "tflite_" in name:  # vs the SavedModel of the same generator at batch 1
            base = name.split("tflite_")[0] + "serving_default_batch1"
            variants[name]["speedup_vs_savedmodel"] = round(
                statistics.median(times[base]) / statistics.median(times[name]), 2)
    if "tflite_float32_batch1" in variants:
        variants["tflite_batch1"] = dict(variants["tflite_float32_batch1"])  # the key before the split
    main_keys = [k for k in variants if not any(k.startswith(t + "_") for t in lite_models)]
    result["variants"] = {k: variants[k] for k in main_keys}
    if lite_models:
        result["lite_generators"] = {
            tag: {**meta, "variants": {k[len(tag) + 1:]: variants[k] for k in variants if k.startswith(tag + "_")}}
            for tag, meta in lite_models.items()}
    if args.tflite:  # the goal: the fastest form within SSIM_BUDGET of float32
        ok = {k: v for k, v in result["variants"].items() if k.startswith(("serving_default_batch1", "tflite_"))
              and 1 - v.get("vs_float32", {}).get("ssim", 1.0) <= SSIM_BUDGET and k != "tflite_batch1"}
        best = min(ok, key=lambda k: ok[k]["median_ms"])
        result["fastest_within_ssim_budget"] = {
            "variant": best, "median_ms": ok[best]["median_ms"], "ssim_budget": SSIM_BUDGET,
            "ssim_vs_float32": ok[best].get("vs_float32", {}).get("ssim", 1.0)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
