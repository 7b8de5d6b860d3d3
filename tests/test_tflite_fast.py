"""TFLite speed path: sub-pixel transposed convolutions, the interpreter helper, int8 export."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import write_image
from pix2pix_tf.fast.transform import speed_up_network
from pix2pix_tf.apps import cli
from pix2pix_tf.config import Pix2PixConfig, Pix2PixError
from pix2pix_tf.data.files import DataError
from pix2pix_tf.data.pipeline import make_dataset
from pix2pix_tf.fast.lite import LiteBatchNorm, SubpixelConv2DTranspose, lite_twin
from pix2pix_tf.generator import build_generator
from pix2pix_tf.layers import BatchNorm, set_inference_mode, walk_layers
from pix2pix_tf.metrics import image_metrics
from pix2pix_tf.run import tflite as tfl
from pix2pix_tf.run.export import export_tflite, is_our_tflite
from pix2pix_tf.run.loading import load_run

REPO = Path(__file__).resolve().parents[1]

# int8 vs float32 TFLite on the trained_run's 2 test images (noise, like its 6 train images,
# which calibrate it): measured mean |diff| 0.0092, max 0.086, SSIM drop 0.0122 (TF 2.21,
# Keras 3.15); asserted with about 3x / 2.5x headroom. (The 256x256 edges2things model:
# L1 0.011, SSIM drop 0.009 over 100 calibration images; benchmarks/README.md.)
INT8_MEAN_ABS_DIFF = 0.03
INT8_SSIM_DROP = 0.03


def op_counts(flatbuffer: bytes) -> Counter:
    """{TFLite builtin op name: count} of a flatbuffer's main subgraph."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    return Counter(names[codes[op.opcodeIndex]] for op in model.subgraphs[0].operators)


@pytest.mark.parametrize("size", [2, 3, 4, 5])
@pytest.mark.parametrize("hw", [(1, 1), (5, 7), (6, 6)])
def test_subpixel_transposed_conv_equals_keras(size, hw):
    keras.utils.set_random_seed(size)
    ref = keras.layers.Conv2DTranspose(6, size, strides=2, padding="same", activation="relu")
    x = tf.random.normal((2, *hw, 4))
    ref(x)
    ref.bias.assign(tf.random.normal((6,)))
    layer = SubpixelConv2DTranspose.from_config(ref.get_config())
    layer(x)
    layer.set_weights(ref.get_weights())
    assert layer(x).shape == (2, 2 * hw[0], 2 * hw[1], 6)
    np.testing.assert_allclose(layer(x).numpy(), ref(x).numpy(), atol=1e-5)


def test_subpixel_falls_back_where_it_does_not_apply():
    x = tf.random.normal((1, 5, 5, 3))
    for kwargs in ({"strides": 1, "padding": "same"}, {"strides": 2, "padding": "valid"}):
        ref = keras.layers.Conv2DTranspose(4, 3, **kwargs)
        ref(x)
        layer = SubpixelConv2DTranspose.from_config(ref.get_config())
        layer(x)
        layer.set_weights(ref.get_weights())
        np.testing.assert_allclose(layer(x).numpy(), ref(x).numpy(), atol=1e-6)


def test_lite_twin_converts_to_plain_convolutions(tmp_path):
    cfg = Pix2PixConfig(image_size=32, load_size=32, ngf=4)
    keras.utils.set_random_seed(0)
    g = speed_up_network(build_generator(cfg), conv_impl="matmul")  # as a run builds it, matmul path on
    set_inference_mode(g, "deterministic")
    twin = lite_twin(g)
    x = tf.random.uniform((2, 32, 32, 3), -1, 1, seed=1)
    np.testing.assert_allclose(twin(x).numpy(), g(x).numpy(), atol=1e-5)
    kinds = Counter(type(layer).__name__ for layer in walk_layers(twin))
    assert kinds["SubpixelConv2DTranspose"] == 5 and kinds["LiteBatchNorm"] == 7  # depth 5 U-Net
    assert not any(type(layer) is BatchNorm for layer in walk_layers(twin))
    flat = tfl.convert_generator(g, (32, 32, 3))
    ops = op_counts(flat)
    assert ops["DEPTH_TO_SPACE"] == 5 and ops["CONV_2D"] == 10
    assert not {"TRANSPOSE_CONV", "FULLY_CONNECTED", "SQUARED_DIFFERENCE"} & set(ops), ops
    old = op_counts(tfl.convert_generator(g, (32, 32, 3), fast_ops=False))
    assert old["TRANSPOSE_CONV"] >= 1 and old["FULLY_CONNECTED"] >= 1  # what the twin removes
    y = tfl.run_tflite(tfl.tflite_interpreter(flat), x.numpy())
    np.testing.assert_allclose(y, g(x).numpy(), atol=1e-4)
    # export_tflite writes the twin and leaves the generator in the run's mode
    path = export_tflite(g, cfg, tmp_path / "g.tflite")
    assert "TRANSPOSE_CONV" not in op_counts(path.read_bytes())
    assert all(layer.inference_stats == "instance" for layer in walk_layers(g) if isinstance(layer, BatchNorm))


class _Recorder(tf.lite.Interpreter):
    """tf.lite.Interpreter that remembers the num_threads it was opened with."""

    opened: list = []

    def __init__(self, *args, num_threads=None, **kwargs):
        _Recorder.opened.append(num_threads)
        super().__init__(*args, num_threads=num_threads, **kwargs)


def test_tflite_interpreter_uses_every_core(monkeypatch, tmp_path):
    cfg = Pix2PixConfig(image_size=32, load_size=32, ngf=4)
    path = tmp_path / "g.tflite"
    path.write_bytes(tfl.convert_generator(build_generator(cfg), (32, 32, 3)))
    monkeypatch.setattr(tfl, "_interpreter_class", lambda: _Recorder)
    monkeypatch.setattr(tfl.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    _Recorder.opened.clear()
    interp = tfl.tflite_interpreter(path)  # default: every core this process may use
    tfl.tflite_interpreter(path.read_bytes(), num_threads=1)
    assert _Recorder.opened == [3, 1]
    assert interp.get_input_details()[0]["shape"].tolist() == [1, 32, 32, 3]  # allocated, ready
    with pytest.raises(ValueError, match="num_threads"):
        tfl.tflite_interpreter(path, num_threads=0)


def test_tflite_is_opened_in_one_place():
    """pix2pix_tf and the benchmarks open TFLite files through tflite_interpreter only (the
    latency benchmark keeps the old default-thread interpreter once, as its baseline)."""
    found = {}
    for file in [*(REPO / "pix2pix_tf").rglob("*.py"), *(REPO / "benchmarks").glob("*.py")]:
        n = len(re.findall(r"\b(?:tf\.lite|lite)\.Interpreter\(|\bInterpreter\(", file.read_text()))
        if n:
            found[file.relative_to(REPO).as_posix()] = n
    assert found == {"benchmarks/inference_latency.py": 1}, found  # tflite.py: _interpreter_class()


def _int8_tensors(interpreter) -> Counter:
    """dtypes of the tensors CONV_2D ops read (activations and weights)."""
    dtypes = {d["index"]: d["dtype"] for d in interpreter.get_tensor_details()}
    return Counter(np.dtype(dtypes[i]).name for op in interpreter._get_ops_details()  # noqa: SLF001
                   if op["op_name"] == "CONV_2D" for i in op["inputs"][:2])


def test_int8_export_is_close_to_float32(trained_run, tmp_path):
    root, _, cfg = trained_run
    model = load_run(root / "run")
    f32 = export_tflite(model.generator, cfg, tmp_path / "f32.tflite")
    q8 = export_tflite(model.generator, cfg, tmp_path / "q8.tflite", quantize="int8",
                       calibration_data=root / "data", calibration_count=6)
    assert is_our_tflite(q8) and q8.stat().st_size < 0.35 * f32.stat().st_size
    interp = tfl.tflite_interpreter(q8)
    assert interp.get_input_details()[0]["dtype"] == np.float32  # float32 in and out
    assert interp.get_output_details()[0]["dtype"] == np.float32
    conv_inputs = _int8_tensors(interp)
    assert set(conv_inputs) == {"int8"} and conv_inputs["int8"] >= 2 * 12, conv_inputs
    # inputs like the calibration images: the run's test split, preprocessed the same way
    ds, _ = make_dataset(root / "data", "test", cfg, training=False)
    x = np.concatenate([xb.numpy() for xb, _ in ds])
    ref = tfl.run_tflite(tfl.tflite_interpreter(f32), x)
    out = tfl.run_tflite(interp, x)
    diff = np.abs(out - ref)
    ssim_drop = 1 - float(np.mean(image_metrics(ref, out)["ssim"]))
    print(f"int8 vs float32: mean |diff| {diff.mean():.4f}, max {diff.max():.3f}, SSIM drop {ssim_drop:.4f}")
    assert diff.mean() < INT8_MEAN_ABS_DIFF and ssim_drop < INT8_SSIM_DROP


def test_int8_refusals(trained_run, tmp_path):
    root, _, cfg = trained_run
    g = build_generator(cfg)
    with pytest.raises(Pix2PixError, match="int8 needs --calibration-data"):
        export_tflite(g, cfg, tmp_path / "a.tflite", quantize="int8")
    with pytest.raises(Pix2PixError, match="applies to --quantize int8 only"):
        export_tflite(g, cfg, tmp_path / "a.tflite", quantize="dynamic", calibration_data=root / "data")
    with pytest.raises(DataError, match="no 'train/' split folder"):
        export_tflite(g, cfg, tmp_path / "a.tflite", quantize="int8", calibration_data=tmp_path)
    bad = tmp_path / "bad"
    (bad / "train").mkdir(parents=True)
    (bad / "train" / "0.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="none of the 1 images is usable"):
        export_tflite(g, cfg, tmp_path / "a.tflite", quantize="int8", calibration_data=bad)
    assert not (tmp_path / "a.tflite").exists()


def refused(capsys, *args) -> str:
    """Run the command line in-process; it must exit 2 with one line on stderr; return it."""
    code = cli.main([str(a) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    return err[0]


def test_cli_int8_export_and_refusals(capsys, trained_run, tmp_path):
    root, _, _ = trained_run
    run = shutil.copytree(root / "run", tmp_path / "run")
    out = tmp_path / "g.tflite"
    base = ["export", "--run", run, "--out", out, "--format", "tflite"]
    assert "--quantize int8 needs --calibration-data DIR" in refused(capsys, *base, "--quantize", "int8")
    assert "apply to --quantize int8 only" in refused(capsys, *base, "--calibration-data", root / "data")
    assert "applies to --format tflite only" in refused(
        capsys, *base[:-2], "--quantize", "int8", "--calibration-data", root / "data")
    empty = tmp_path / "empty"
    write_image(empty / "test" / "0.png", np.zeros((8, 16, 3), np.uint8))  # a test/ but no train/
    line = refused(capsys, *base, "--quantize", "int8", "--calibration-data", empty)
    assert f"{empty}: no 'train/' split folder" in line
    bad = tmp_path / "bad"
    (bad / "train").mkdir(parents=True)
    (bad / "train" / "0.png").write_bytes(b"not an image")  # a train/ with nothing usable in it
    line = refused(capsys, *base, "--quantize", "int8", "--calibration-data", bad)
    assert "none of the 1 images is usable" in line
    assert not out.exists()
    assert cli.main([str(a) for a in [*base, "--quantize", "int8", "--calibration-data", root / "data",
                                      "--calibration-count", "3"]]) == 0
    assert "exported tflite" in capsys.readouterr().out
    assert is_our_tflite(out)
    assert Counter(np.dtype(d["dtype"]).name for d in tfl.tflite_interpreter(out).get_tensor_details())["int8"] > 50
