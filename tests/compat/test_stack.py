"""The compatibility suite: what must work on every TensorFlow/Keras/Python stack we support.

It runs twice. In the default test run (the newest stack, from the checkout) the unit checks
of the version-sensitive code run; the end-to-end steps skip unless ``PIX2PIX_COMPAT=1``.
``.ci/compat`` copies this folder and notebooks 01 and 04 to a folder outside the checkout,
installs the built wheel (non-editable) into a fresh virtualenv holding one stack (the
declared floor, a Colab-like stack) and runs everything there with ``PIX2PIX_COMPAT=1``:
make-sample, a short train, resume, export (SavedModel and TFLite), predict, evaluate and the
two notebooks in quick mode, with nothing taken from the source tree or ``data/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import pix2pix_tf  # noqa: E402
from pix2pix_tf.fast.batchnorm import fusable  # noqa: E402
from pix2pix_tf.layers import BatchNorm  # noqa: E402
from pix2pix_tf.fast.adam import FusedAdam  # noqa: E402
from pix2pix_tf.fast.batchnorm import FusedBatchNorm  # noqa: E402

COMPAT = os.environ.get("PIX2PIX_COMPAT") == "1"
end_to_end = pytest.mark.skipif(not COMPAT, reason="end-to-end stack check: PIX2PIX_COMPAT=1 (.ci/compat)")
HERE = Path(__file__).resolve().parent
TIMES: dict[str, float] = {}


def test_versions_are_in_the_supported_range():
    """setup.cfg's floors: tensorflow 2.19, keras 3.10, Python 3.10."""
    tf_v = tuple(int(p) for p in tf.__version__.split(".")[:2])
    keras_v = tuple(int(p) for p in keras.__version__.split(".")[:2])
    print(f"stack: python {sys.version.split()[0]}, tensorflow {tf.__version__}, keras {keras.__version__}")
    assert tf_v >= (2, 19) and keras_v >= (3, 10) and sys.version_info >= (3, 10)


@pytest.mark.skipif(not COMPAT, reason="only meaningful on an installed wheel")
def test_package_comes_from_the_installed_wheel():
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert site in Path(pix2pix_tf.__file__).resolve().parents, pix2pix_tf.__file__


# ------------------------------------------------ version-sensitive code: fast path vs Keras
def _adam_run(opt_cls, steps=3):
    w = keras.Variable(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4))
    opt = opt_cls(learning_rate=0.1, beta_1=0.5, beta_2=0.999)
    opt.build([w])
    for i in range(steps):
        g = tf.constant(np.cos(np.arange(12, dtype="float32") + i).reshape(3, 4))
        opt.apply_gradients([(g, w)])
    return w.numpy()


def test_fused_adam_takes_the_fused_path_and_matches_keras_adam(monkeypatch):
    w = keras.Variable(np.ones((2, 2), "float32"))
    opt = FusedAdam()
    opt.build([w])
    assert opt.adam_slots(w) is not None, "the fused path is not available on this Keras"
    calls = []
    monkeypatch.setattr(tf.raw_ops, "ResourceApplyAdam",
                        lambda *a, _f=tf.raw_ops.ResourceApplyAdam, **k: calls.append(1) or _f(*a, **k))
    fused = _adam_run(FusedAdam)
    assert len(calls) == 3  # one fused kernel per step: the fast path really ran
    np.testing.assert_allclose(fused, _adam_run(keras.optimizers.Adam), rtol=1e-5, atol=1e-6)


def test_fused_adam_finds_no_slots_when_keras_renames_its_private_attributes():
    class RenamedAdam:  # what a Keras without _momentums / _get_variable_index looks like
        amsgrad = False
    w = keras.Variable(np.ones((2, 2), "float32"))
    assert FusedAdam.adam_slots(RenamedAdam(), w) is None


def test_fused_adam_without_slots_is_exactly_keras_adam(monkeypatch):
    monkeypatch.setattr(FusedAdam, "adam_slots", lambda self, variable: None)
    np.testing.assert_array_equal(_adam_run(FusedAdam), _adam_run(keras.optimizers.Adam))


@pytest.mark.parametrize("has_renorm", [True, False])
def test_batchnorm_fused_training_matches_keras_with_and_without_renorm(has_renorm, monkeypatch):
    """keras 3.10-3.13 have no ``renorm`` attribute (the crash this suite was made for)."""
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32"))
    fused, plain = FusedBatchNorm(), BatchNorm()
    for layer in (fused, plain):
        layer.build(x.shape)
    if not has_renorm and hasattr(fused, "renorm"):  # make this Keras look like 3.10-3.13
        monkeypatch.delattr(fused, "renorm")
    if has_renorm and not hasattr(fused, "renorm"):  # and this one like 3.14+
        fused.renorm = False
    assert hasattr(fused, "renorm") == has_renorm
    assert fusable(fused, x)
    np.testing.assert_allclose(fused(x, training=True), plain(x, training=True), atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), atol=1e-6)


# ------------------------------------------------ end to end, from the installed wheel
def _cli(*args, cwd: Path, timeout=900) -> subprocess.CompletedProcess:
    exe = shutil.which("pix2pix-tf", path=str(Path(sys.executable).parent))
    start = time.perf_counter()
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    TIMES[args[0] + ("" if "--resume" not in args else " --resume")] = time.perf_counter() - start
    assert proc.returncode == 0, f"pix2pix-tf {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("compat")


@end_to_end
def test_make_sample(workdir):
    _cli("make-sample", "--out", "sample", "--train", "6", "--test", "2", "--size", "64", cwd=workdir)
    assert len(list((workdir / "sample" / "train").glob("*.jpg"))) == 6


@end_to_end
def test_train_then_resume(workdir):
    flags = ["--data", "sample", "--out", "run", "--image-size", "64", "--ngf", "8", "--ndf", "8",
             "--quiet", "--checkpoint-every", "3"]
    _cli("train", *flags, "--steps", "6", "--no-export", cwd=workdir)
    summary = json.loads((workdir / "run" / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["keras"] == keras.__version__
    proc = _cli("train", *flags, "--steps", "9", "--resume", cwd=workdir)
    summary = json.loads((workdir / "run" / "summary.json").read_text())
    assert summary["start_step"] == 6 and summary["steps"] == 9, proc.stdout
    assert (workdir / "run" / "saved_model" / "saved_model.pb").is_file()
    assert np.isfinite(summary["test"]["l1"])


@end_to_end
def test_export_savedmodel_and_tflite(workdir):
    _cli("export", "--run", "run", "--out", "exported", cwd=workdir)
    _cli("export", "--run", "run", "--out", "g.tflite", "--format", "tflite", cwd=workdir)
    loaded = tf.saved_model.load(str(workdir / "exported"))
    out = loaded.signatures["serving_default"](tf.zeros([1, 64, 64, 3]))
    assert next(iter(out.values())).shape == (1, 64, 64, 3)
    interp = tf.lite.Interpreter(model_path=str(workdir / "g.tflite"))
    interp.allocate_tensors()
    assert list(interp.get_input_details()[0]["shape"]) == [1, 64, 64, 3]


@end_to_end
def test_predict(workdir):
    proc = _cli("predict", "--model", "exported", "--input", "sample/test", "--out", "pred",
                "--aligned", cwd=workdir)
    outputs = sorted((workdir / "pred").glob("*.jpg"))  # same names and format as the inputs
    assert len(outputs) == 2, proc.stdout
    assert tf.io.decode_jpeg(outputs[0].read_bytes()).shape == (64, 64, 3)


@end_to_end
def test_evaluate(workdir):
    _cli("evaluate", "--model", "run", "--data", "sample", "--out", "eval", cwd=workdir)
    metrics = json.loads((workdir / "eval" / "metrics.json").read_text())
    assert 0.0 <= metrics["l1"] <= 2.0 and np.isfinite(metrics["psnr"])


@end_to_end
@pytest.mark.parametrize("name", ["01_data_pipeline", "04_training_on_gpu"])
def test_notebook_quick_mode(name, workdir):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    source = HERE / "notebooks" / f"{name}.ipynb"  # .ci/compat copies them here
    if not source.is_file():
        source = HERE.parents[1] / "notebooks" / f"{name}.ipynb"
    folder = workdir / "nb"
    folder.mkdir(exist_ok=True)
    os.environ.update(PIX2PIX_QUICK="1", PIX2PIX_RUN_DIR=str(folder / "run"), TF_CPP_MIN_LOG_LEVEL="2",
                      MPLBACKEND="module://matplotlib_inline.backend_inline")
    nb = nbformat.read(source, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    TIMES[name] = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []


def teardown_module(module):
    if TIMES:
        print("\ncompat times: " + json.dumps({k: round(v, 1) for k, v in TIMES.items()}))
