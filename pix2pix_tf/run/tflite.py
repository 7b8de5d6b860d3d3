"""TensorFlow Lite: conversion, the interpreter with fast settings, int8 calibration images.

* :func:`convert_generator` writes the flatbuffer (float32, float16, dynamic or int8) from
  :func:`pix2pix_tf.fast.lite.lite_twin`; :func:`~pix2pix_tf.run.export.export_tflite` marks
  and saves it.
* :func:`tflite_interpreter` is the one place this package opens a .tflite file: every core
  (TFLite's Python interpreter otherwise runs on one thread) and the XNNPACK delegate
  (TFLite's default CPU delegate for float32 and int8 models).
* :func:`calibration_images` reads the images a full-integer (int8) export is calibrated on:
  the input side of a dataset's ``train/`` pairs, preprocessed as at inference.
* :func:`run_tflite` translates a batch, one image at a time (the files take batch 1).

Every file takes and gives float32 in [-1, 1], int8 ones included (a QUANTIZE op at the
input, a DEQUANTIZE at the output): callers never handle scales and zero points, and one
piece of code runs any of the files.

Measured (``benchmarks/inference_latency.py``, trained paper generator at 256x256, 2-core
AVX-512 CPU busy with other work): float32 at 0.95x the SavedModel's speed (0.44x before the
twin and the threads); "dynamic" (int8 weights, activations quantized per call) 3.4x with
SSIM 0.9999 against float32; "int8" 3.5x with SSIM 0.991 (100 calibration images). Both
quantized forms run their convolutions as int8 matmuls (VNNI) in XNNPACK.

Example:
    >>> interpreter = tflite_interpreter("runs/demo/g.tflite")  # doctest: +SKIP
    >>> run_tflite(interpreter, np.zeros((2, 256, 256, 3), np.float32)).shape  # doctest: +SKIP
    (2, 256, 256, 3)
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import Pix2PixConfig, Pix2PixError
from ..host.native_stderr import native_stderr_filtered

#: default number of images a ``--quantize int8`` export is calibrated on
CALIBRATION_COUNT = 100

#: Notices an int8 export writes straight to file descriptor 2 (past TensorFlow's log level),
#: dropped by :func:`~pix2pix_tf.host.native_stderr.native_stderr_filtered`: the converter's
#: quantizer prints its settings on every full-integer conversion, and the first uint8 op of
#: the calibration reads says oneDNN falls back to TensorFlow's own kernel on this CPU.
INT8_EXPORT_MESSAGES = tuple(re.compile(p) for p in (
    r"fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, "
    r"output_inference_type: \w+",
    r"[IWEF]\d{4} +[\d:.]+ +\d+ util\.cc:\d+\] oneDNN supports DT_UINT8 only on platforms "
    r"with AVX-512\. Falling back to the default Eigen-based implementation if present\.",
))


def usable_cpus() -> int:
    """The cores this process may run on (its affinity mask; os.cpu_count() where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _interpreter_class():
    """tf.lite.Interpreter (same version as the converter that wrote our files); the LiteRT
    package's (``ai_edge_litert``) where TensorFlow no longer has one."""
    interpreter = getattr(getattr(tf, "lite", None), "Interpreter", None)
    if interpreter is not None:
        return interpreter
    from ai_edge_litert.interpreter import Interpreter  # pragma: no cover (TF >= 2.22?)
    return Interpreter


def tflite_interpreter(model: str | Path | bytes, num_threads: int | None = None):
    """A TFLite interpreter, tensors allocated, set up to run fast on this CPU.

    Args:
        model: a .tflite path or the flatbuffer's bytes.
        num_threads: CPU threads for the interpreter and its XNNPACK delegate; default
            :func:`usable_cpus` (TFLite's Python interpreter otherwise uses one).

    Returns:
        The interpreter (``tf.lite.Interpreter``), ready for ``set_tensor`` / ``invoke``.

    Example:
        >>> interpreter = tflite_interpreter("g.tflite", num_threads=2)  # doctest: +SKIP
    """
    threads = usable_cpus() if num_threads is None else int(num_threads)
    if threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    source = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else \
        {"model_path": os.fspath(model)}
    with warnings.catch_warnings():  # tf.lite.Interpreter's "deprecated, use LiteRT" notice
        warnings.simplefilter("ignore", UserWarning)
        # the default op resolver applies XNNPACK to float32 and int8 graphs, with these threads
        interpreter = _interpreter_class()(num_threads=threads, **source)
    interpreter.allocate_tensors()
    return interpreter


def run_tflite(interpreter, images: np.ndarray) -> np.ndarray:
    """Translate float32 (batch, H, W, C_in) in [-1, 1] one image at a time; (batch, H, W, C_out).

    The files :func:`~pix2pix_tf.run.export.export_tflite` writes take and give float32
    (int8 ones quantize inside); an int8 / uint8 input or output is (de)quantized here.
    """
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    results = []
    for x in np.asarray(images, np.float32):
        x = x[None]
        if inp["dtype"] != np.float32:
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])
        if out["dtype"] != np.float32:
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        results.append(y[0])
    return np.stack(results)


def calibration_images(data_dir: str | Path, config: Pix2PixConfig, count: int = CALIBRATION_COUNT,
                       shape: tuple[int, int] | None = None) -> np.ndarray:
    """Inputs to calibrate an int8 export on: ``count`` pairs of ``data_dir/train``, input side.

    Pairs are taken evenly spread over the sorted split (all of them when it has fewer),
    read as training reads them (``config``: direction, dataset_mode, channels) and
    preprocessed as at inference (resized to the model's size, no jitter, [-1, 1]).
    Unreadable files are left out with a warning.

    Args:
        data_dir: an aligned dataset folder with ``train/`` (the run's own data).
        config: the run's config.
        count: images to use (at least 1).
        shape: (H, W) of the model's input; default config.image_size square.

    Returns:
        float32 (n, H, W, C_in), n <= count.

    Raises:
        Pix2PixError (DataError): no train/ split, or no usable image in it; one line naming the folder.
    """
    from ..data.checks import check_pairs
    from ..data.files import list_pairs
    from ..data.pipeline import make_dataset

    if count < 1:
        raise Pix2PixError(f"--calibration-count must be at least 1, got {count}")
    pairs = list_pairs(data_dir, "train")  # DataError: no folder, no train/, no images
    if len(pairs) > count:
        pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, count).round().astype(int)]
    with contextlib.redirect_stderr(io.StringIO()) as warning:  # one line when none is usable
        pairs = check_pairs(pairs, config, skip_bad=True)  # DataError when none is usable
    sys.stderr.write(warning.getvalue())  # "skipped N bad pair(s)", when some were
    ds, _ = make_dataset(data_dir, "train", config, training=False, pairs=pairs, parallel=False)
    h, w = shape or (config.image_size, config.image_size)
    images = []
    with native_stderr_filtered(INT8_EXPORT_MESSAGES):
        for x, _ in ds:  # (1, H', W', C_in) in [-1, 1]
            if tuple(x.shape[1:3]) != (h, w):
                x = tf.clip_by_value(tf.image.resize(x, (h, w), method="bicubic", antialias=True),
                                     -1.0, 1.0)
            images.append(x[0].numpy())
    return np.stack(images).astype(np.float32)


def convert_generator(generator, input_shape: tuple[int, int, int], quantize: str = "none",
                      calibration: np.ndarray | None = None, fast_ops: bool = True) -> bytes:
    """The generator (in its current inference mode) as a TFLite flatbuffer, batch 1.

    Args:
        generator: a Keras generator.
        input_shape: (H, W, C_in) of the file's input.
        quantize: "none" (float32), "float16" (half-size weights, float32 compute),
            "dynamic" (int8 weights; activations quantized at run time) or "int8" (int8
            weights and activations, calibrated on ``calibration``; float32 input and output).
        calibration: float32 (n, H, W, C_in) in [-1, 1], for "int8".
        fast_ops: convert :func:`~pix2pix_tf.fast.lite.lite_twin` (same weights, no
            TRANSPOSE_CONV) rather than the generator as built.

    Returns:
        The flatbuffer (not yet marked as ours: :func:`~pix2pix_tf.run.export.mark_tflite`).
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from ..fast.lite import lite_twin

    model = lite_twin(generator) if fast_ops else generator
    # Freeze the Keras 3 variables into constants first: converting the function with live
    # variables leaves VAR_HANDLE/READ_VARIABLE ops whose values never reach the file.
    fn = tf.function(lambda images: model(images, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([1, *input_shape], tf.float32, name="images"))
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [convert_variables_to_constants_v2(concrete)])
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        if calibration is None or len(calibration) == 0:
            raise Pix2PixError("int8 quantization needs calibration images")
        images = np.asarray(calibration, np.float32)
        if images.shape[1:] != tuple(input_shape):
            raise Pix2PixError(f"calibration images are {images.shape[1:]}; the model takes "
                               f"{tuple(input_shape)}")
        # activation ranges: min / max of each tensor over these inputs (TFLite's calibration)
        converter.representative_dataset = lambda: ([x[None]] for x in images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # inference_input_type / inference_output_type stay float32: a QUANTIZE op at the
        # input and a DEQUANTIZE at the output keep the file's interface the float32 one's
    with warnings.catch_warnings(), native_stderr_filtered(INT8_EXPORT_MESSAGES):
        warnings.simplefilter("ignore", UserWarning)  # "Statistics for quantized inputs were expected ..."
        return converter.convert()
