"""Export (SavedModel signatures, TFLite), evaluate and predict on a trained tiny run."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import write_image
from pix2pix_tf.layers import set_inference_mode
from pix2pix_tf.config import Pix2PixError
from pix2pix_tf.data import to_uint8
from pix2pix_tf.run.evaluate import evaluate
from pix2pix_tf.run.export import export_saved_model, export_tflite
from pix2pix_tf.run.loading import load_run
from pix2pix_tf.run.predict import predict_files

FRESH_PROCESS = """
import json, sys
import numpy as np, tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
x = np.load(sys.argv[2])
out = {"signatures": sorted(m.signatures.keys())}
np.save(sys.argv[3], m.signatures["serving_default"](images=tf.constant(x))["output"].numpy())
img = tf.cast(tf.random.uniform((1, 300, 200, 3), 0, 255, seed=1), tf.uint8)
out["uint8_shape"] = m.signatures["translate_uint8"](images=img)["output"].shape.as_list()
u8 = tf.cast(np.round((x[:1] + 1) * 127.5), tf.uint8)
np.save(sys.argv[4], m.signatures["translate_uint8"](images=u8)["output"].numpy())
png = tf.io.encode_png(img[0])
jpg = tf.io.encode_jpeg(img[0])
res = m.signatures["translate_bytes"](images=tf.stack([png, jpg]))["output"]
out["bytes_shapes"] = [tf.io.decode_png(b).shape.as_list() for b in res.numpy()]
out["config"] = json.loads(m.signatures["config"]()["config"].numpy().decode())
out["pix2pix_tf_imported"] = any(k.startswith("pix2pix_tf") for k in sys.modules)
print(json.dumps(out))
"""


def test_saved_model_round_trip_in_a_fresh_process_without_pix2pix_tf(trained_run, tmp_path):
    root, _, cfg = trained_run
    model = load_run(root / "run")
    set_inference_mode(model.generator, "deterministic")
    x = np.random.default_rng(5).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    expected = model.generator(x, training=False).numpy()
    np.save(tmp_path / "x.npy", x)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(root / "run" / "saved_model"),
                          tmp_path / "x.npy", tmp_path / "y.npy", tmp_path / "u8.npy"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["signatures"] == ["config", "serving_default", "translate_bytes", "translate_uint8",
                                  "translate_uint8_native"]
    assert info["pix2pix_tf_imported"] is False
    assert np.abs(np.load(tmp_path / "y.npy") - expected).max() <= 1e-5
    assert info["uint8_shape"] == [1, 300, 200, 3]
    assert info["bytes_shapes"] == [[300, 200, 3], [300, 200, 3]]
    assert info["config"]["image_size"] == 64 and info["config"]["inference_mode"] == "deterministic"
    assert info["config"]["direction"] == cfg.direction
    # at the model's own size translate_uint8 is the float signature, quantized
    u8 = np.load(tmp_path / "u8.npy").astype(int)
    ref = to_uint8(model.generator(np.round((x[:1] + 1) * 127.5) / 127.5 - 1, training=False)).numpy()
    assert np.abs(u8 - ref.astype(int)).max() <= 1


def test_export_in_paper_mode_is_stochastic(trained_run, tmp_path):
    root, _, cfg = trained_run
    model = load_run(root / "run")
    path = export_saved_model(model.generator, cfg, tmp_path / "paper", inference_mode="paper")
    m = tf.saved_model.load(str(path))
    x = tf.random.uniform((1, 64, 64, 3), -1, 1, seed=2)
    a, b = (m.signatures["serving_default"](images=x)["output"].numpy() for _ in range(2))
    assert np.abs(a - b).max() > 1e-4
    assert json.loads((path / "assets.extra" / "pix2pix_config.json").read_text())["inference_mode"] == "paper"
    # the in-memory generator is back in the run's own mode afterwards
    np.testing.assert_array_equal(model.generator(x).numpy(), model.generator(x).numpy())


def test_tflite_matches_the_generator(trained_run, tmp_path):
    root, _, cfg = trained_run
    model = load_run(root / "run")
    path = export_tflite(model.generator, cfg, tmp_path / "g.tflite")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    x = np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    set_inference_mode(model.generator, "deterministic")
    assert np.abs(y - model.generator(x).numpy()).max() < 1e-4
    n_params = sum(int(np.prod(v.shape)) for v in model.generator.trainable_variables)
    assert path.stat().st_size > 3 * n_params  # float32 weights are in the file
    half = export_tflite(model.generator, cfg, tmp_path / "g16.tflite", quantize="float16")
    assert half.stat().st_size < 0.6 * path.stat().st_size
    with pytest.raises(Pix2PixError, match="deterministic inference mode"):
        export_tflite(model.generator, cfg, tmp_path / "p.tflite", inference_mode="paper")


def test_evaluate_run_and_saved_model_agree(trained_run, tmp_path):
    root, _, cfg = trained_run
    from_run = evaluate(root / "run", root / "data", out_dir=tmp_path / "ev")
    from_sm = evaluate(root / "run" / "saved_model", root / "data")
    assert from_run["split"] == "test" and from_run["images"] == 2
    for k in ("l1", "psnr", "ssim"):
        assert abs(from_run[k] - from_sm[k]) < 1e-4
    assert from_run["model"].startswith("SavedModel")
    per_image = from_run["per_image"]
    assert sorted(per_image) == ["000.png", "001.png"]
    assert abs(np.mean([v["l1"] for v in per_image.values()]) - from_run["l1"]) < 1e-6
    assert from_run["worst"][0]["l1"] >= from_run["best"][0]["l1"]
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["l1"] == from_run["l1"]
    grid = tf.io.decode_png((tmp_path / "ev" / "worst.png").read_bytes())
    assert grid.shape == (2 * 64, 3 * 64, 3)
    # a run folder without saved_model/ is evaluated from its checkpoint
    run_copy = shutil.copytree(root / "run", tmp_path / "run", ignore=shutil.ignore_patterns("saved_model"))
    ckpt_only = evaluate(run_copy, root / "data")
    assert ckpt_only["model"].startswith("run ") and "checkpoint" in ckpt_only["model"]
    assert abs(ckpt_only["l1"] - from_run["l1"]) < 1e-4


def test_predict_keeps_names_sizes_and_skips_bad_files(trained_run, tmp_path):
    root, _, _ = trained_run
    src = tmp_path / "in"
    write_image(src / "wide.jpg", np.full((50, 90, 3), 100, np.uint8))
    write_image(src / "small.png", np.full((20, 30, 3), 200, np.uint8))
    write_image(src / "gray.png", np.full((33, 33, 1), 50, np.uint8))
    (src / "empty.jpg").write_bytes(b"")
    result = predict_files(root / "run" / "saved_model", src, tmp_path / "out", verbose=0)
    assert sorted(os.path.basename(p) for p in result["written"]) == ["gray.png", "small.png", "wide.jpg"]
    assert list(result["skipped"]) == [str(src / "empty.jpg")]
    assert "empty file" in result["skipped"][str(src / "empty.jpg")]
    assert tf.io.decode_jpeg((tmp_path / "out" / "wide.jpg").read_bytes()).shape == (50, 90, 3)
    assert tf.io.decode_png((tmp_path / "out" / "small.png").read_bytes()).shape == (20, 30, 3)
    with pytest.raises(Pix2PixError, match="output folder is the input folder"):
        predict_files(root / "run" / "saved_model", src, src, verbose=0)
