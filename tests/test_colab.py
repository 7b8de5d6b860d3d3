"""pix2pix_tf.course.colab and the course's Colab parts: badges and install cells from one constant,
the GPU metadata, the device note, the runs folder on Drive. Offline: Colab is faked."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pix2pix_tf.course import colab

nbformat = pytest.importorskip("nbformat")

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB_DIR.glob("*.ipynb"))


def _load_normalize():
    spec = importlib.util.spec_from_file_location("_normalize", NB_DIR / "tools" / "normalize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


normalize = _load_normalize()


def _read(name):
    return nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)


def _code(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


# ----------------------------------------------------------------------------- badges


def test_badge_urls_come_from_the_constant():
    assert colab.REPOSITORY.count("/") == 1 and colab.BRANCH
    assert colab.badge_url("01_data_pipeline") == (
        f"https://colab.research.google.com/github/{colab.REPOSITORY}/blob/{colab.BRANCH}"
        "/notebooks/01_data_pipeline.ipynb")
    assert colab.badge_url("01_data_pipeline.ipynb") == colab.badge_url("01_data_pipeline")
    assert colab.badge_url("04_training_on_gpu", "me/fork", "dev") == (
        "https://colab.research.google.com/github/me/fork/blob/dev/notebooks/04_training_on_gpu.ipynb")
    row = colab.badge_row("04_training_on_gpu", "me/fork")
    assert "(https://colab.research.google.com/github/me/fork/blob/main/notebooks/04_training_on_gpu.ipynb)" in row
    assert "(https://github.com/me/fork/blob/main/notebooks/04_training_on_gpu.ipynb)" in row
    assert colab.COLAB_BADGE in row


def test_install_command_names_the_repository():
    assert colab.install_command("me/fork") == 'pip install -q "git+https://github.com/me/fork@main"'
    assert colab.install_command() == f'pip install -q "git+https://github.com/{colab.REPOSITORY}@{colab.BRANCH}"'
    for bad in ("fork", "a/b/c", "/fork", "me/"):
        with pytest.raises(ValueError, match="owner/name"):
            colab.install_spec(bad)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_takes_badge_and_install_cell_from_the_constant(name):
    nb = _read(name)
    first = nb.cells[0].source
    assert colab.badge_row(name) in first.split("\n")
    assert f"{colab.REPOSITORY}/blob/{colab.BRANCH}/notebooks/{name}.ipynb" in first
    install = next(c for c in nb.cells if c.cell_type == "code")
    assert install.source == colab.install_cell_source()
    assert f'os.environ.get("PIX2PIX_REPO", "{colab.REPOSITORY}")' in install.source
    assert f'os.environ.get("PIX2PIX_BRANCH", "{colab.BRANCH}")' in install.source
    # no other address of the package anywhere in the notebook
    text = "\n".join(c.source for c in nb.cells)
    for found in re.findall(r"github(?:\.com/|/)([\w.-]+/[\w.-]+)/blob/", text):
        assert found == colab.REPOSITORY, found
    assert "pip install -q git+" not in text  # the old hard-coded install line


def test_changing_the_constant_and_normalising_rewrites_badges_and_install_cells(monkeypatch):
    """One place to change: normalize.py renders both from pix2pix_tf.course.colab."""
    fork = types.SimpleNamespace(
        badge_row=lambda name: colab.badge_row(name, "someone/fork", "dev"),
        install_cell_source=lambda: colab.install_cell_source("someone/fork", "dev"))
    nb = normalize.normalize(_read("04_training_on_gpu"), "04_training_on_gpu", colab=fork)
    assert "github/someone/fork/blob/dev/notebooks/04_training_on_gpu.ipynb" in nb.cells[0].source
    assert colab.REPOSITORY not in nb.cells[0].source
    install = next(c for c in nb.cells if c.cell_type == "code").source
    assert 'os.environ.get("PIX2PIX_REPO", "someone/fork")' in install
    assert 'os.environ.get("PIX2PIX_BRANCH", "dev")' in install


def test_one_command_points_the_course_at_a_fork(tmp_path):
    """normalize.py --repository / --branch: the constants, the links in Markdown, then every
    badge and install cell, in a copy of the checkout's parts."""
    import shutil

    (tmp_path / "pix2pix_tf" / "course").mkdir(parents=True)
    shutil.copy(REPO / normalize.COLAB_FILE, tmp_path / normalize.COLAB_FILE)
    (tmp_path / "docs").mkdir()
    old_badge = colab.badge_row("01_data_pipeline")
    (tmp_path / "README.md").write_text(f"{old_badge}\n{colab.install_command()}\n"
                                        "https://github.com/someone/else\n", encoding="utf-8")
    (tmp_path / "docs" / "course.md").write_text(colab.github_url("04_training_on_gpu") + "\n")
    changed = normalize.set_origin("me/my-fork", "teaching", checkout=tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in changed) == [
        "README.md", "docs/course.md", "pix2pix_tf/course/colab.py"]
    fork = normalize.load_colab(tmp_path)
    assert (fork.REPOSITORY, fork.BRANCH) == ("me/my-fork", "teaching")
    assert fork.badge_url("01_data_pipeline").endswith("/github/me/my-fork/blob/teaching/notebooks/01_data_pipeline.ipynb")
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines() == [colab.badge_row("01_data_pipeline", "me/my-fork", "teaching"),
                                   colab.install_command("me/my-fork", "teaching"),
                                   "https://github.com/someone/else"]
    assert (tmp_path / "docs" / "course.md").read_text() == colab.github_url(
        "04_training_on_gpu", "me/my-fork", "teaching") + "\n"
    # every notebook's badge row and install cell then come from the fork
    for name in NOTEBOOKS:
        nb = normalize.normalize(_read(name), name, colab=fork)
        assert colab.REPOSITORY not in nb.cells[0].source + _code(nb), name
        assert 'os.environ.get("PIX2PIX_REPO", "me/my-fork")' in _code(nb)
    assert normalize.set_origin("me/my-fork", "teaching", checkout=tmp_path) == []  # nothing left to do
    with pytest.raises(normalize.NotebookError):
        normalize.set_origin("not-a-repository", checkout=tmp_path)
    with pytest.raises(normalize.NotebookError):
        normalize.set_origin(branch="two words", checkout=tmp_path)


def test_committed_notebooks_are_what_normalize_writes():
    colab_module = normalize.load_colab()
    for name in NOTEBOOKS:
        path = NB_DIR / f"{name}.ipynb"
        assert path.read_text(encoding="utf-8") == normalize.normalized_text(path, colab_module), \
            f"{name}: run python notebooks/tools/normalize.py"


def test_normalize_refuses_a_notebook_without_an_install_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n"),
                                         nbformat.v4.new_code_cell("print(1)")])
    with pytest.raises(normalize.NotebookError, match="install cell"):
        normalize.normalize(nb, "99_x")


# ----------------------------------------------------------------------------- the install cell


class FakePip:
    """Records pip calls instead of running them."""

    def __init__(self, returncode=0, stderr=""):
        self.calls, self.returncode, self.stderr = [], returncode, stderr

    def __call__(self, args, **kwargs):
        self.calls.append(list(args))
        return subprocess.CompletedProcess(args, self.returncode, "", self.stderr)


def run_install_cell(monkeypatch, capsys, *, on_colab, importable=False, wheels=(), pip=None):
    pip = pip or FakePip()
    monkeypatch.setattr(subprocess, "run", pip)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        real_find_spec(name, *a) if importable or name != "pix2pix_tf" else None))
    import glob
    monkeypatch.setattr(glob, "glob", lambda pattern: [str(w) for w in wheels]
                        if pattern == "/content/pix2pix_tf-*.whl" else [])
    exec(compile(colab.install_cell_source(), "install-cell", "exec"), {"__name__": "__main__"})
    return pip.calls, capsys.readouterr().out


def test_install_cell_off_colab_only_prints_versions(monkeypatch, capsys):
    calls, out = run_install_cell(monkeypatch, capsys, on_colab=False)
    assert calls == []
    import keras
    import tensorflow as tf
    assert out.strip().splitlines() == [
        f"pix2pix-tf {importlib.metadata.version('pix2pix-tf')} | TensorFlow {tf.__version__}"
        f" | Keras {keras.__version__} | Python {sys.version.split()[0]} | Colab: False"]


def test_install_cell_on_colab_installs_from_the_repository(monkeypatch, capsys):
    monkeypatch.delenv("PIX2PIX_REPO", raising=False)
    monkeypatch.delenv("PIX2PIX_BRANCH", raising=False)
    calls, out = run_install_cell(monkeypatch, capsys, on_colab=True)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q",
                      f"git+https://github.com/{colab.REPOSITORY}@{colab.BRANCH}"]]
    assert "Colab: True" in out.splitlines()[-1] and "TensorFlow" in out


def test_install_cell_installs_a_fork_named_by_PIX2PIX_REPO(monkeypatch, capsys):
    monkeypatch.setenv("PIX2PIX_REPO", "someone/fork")
    calls, _ = run_install_cell(monkeypatch, capsys, on_colab=True)
    assert calls[0][-1] == f"git+https://github.com/someone/fork@{colab.BRANCH}"


def test_install_cell_prefers_an_uploaded_wheel(monkeypatch, capsys, tmp_path):
    old, new = tmp_path / "pix2pix_tf-0.1.0-py3-none-any.whl", tmp_path / "pix2pix_tf-0.2.0-py3-none-any.whl"
    for i, w in enumerate((old, new)):
        w.write_bytes(b"")
        os.utime(w, (1000 + i, 1000 + i))
    calls, _ = run_install_cell(monkeypatch, capsys, on_colab=True, wheels=(new, old))
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", str(new)]]  # the newest upload


def test_install_cell_skips_an_installed_package(monkeypatch, capsys):
    calls, out = run_install_cell(monkeypatch, capsys, on_colab=True, importable=True)
    assert calls == [] and len(out.strip().splitlines()) == 1


def test_a_failed_install_says_what_to_do_in_one_line(monkeypatch, capsys):
    pip = FakePip(1, "ERROR: Could not resolve host: github.com\n")
    _, out = run_install_cell(monkeypatch, capsys, on_colab=True, pip=pip)
    advice = [line for line in out.splitlines() if "could not be installed" in line]
    assert len(advice) == 1
    assert "Could not resolve host: github.com" in advice[0]
    assert "python -m build" in advice[0] and "PIX2PIX_REPO" in advice[0] and "/content" in advice[0]


# ----------------------------------------------------------------------------- versions, device


def test_report_versions_names_tf_keras_python():
    import keras
    import tensorflow as tf
    line = colab.report_versions()
    assert f"TensorFlow {tf.__version__}" in line and f"Keras {keras.__version__}" in line
    assert f"Python {sys.version.split()[0]}" in line and "Colab: False" in line


def test_describe_device_without_a_gpu_says_how_to_switch_the_runtime():
    import tensorflow as tf
    assert tf.config.list_physical_devices("GPU") == []  # this machine: CPU only
    note = colab.describe_device()
    assert note.startswith("No GPU")
    assert "Runtime > Change runtime type > T4 GPU" in note
    assert "\n" not in note  # one paragraph
    assert colab.describe_device([]) == note


def test_describe_device_names_each_gpu():
    gpus = [types.SimpleNamespace(name="/physical_device:GPU:0"),
            types.SimpleNamespace(name="/physical_device:GPU:1")]
    text = colab.describe_device(gpus)
    assert text.splitlines() == ["GPU: /physical_device:GPU:0", "GPU: /physical_device:GPU:1"]


# ----------------------------------------------------------------------------- runs on Drive


def test_the_startup_patterns_match_tensorflows_lines_and_not_others():
    patterns = [re.compile(p) for p in colab.TF_STARTUP_LINES]
    for line in ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
                 "I0000 00:00:1796574316.922413   14359 port.cc:153] oneDNN custom operations are on.",
                 "I0000 00:00:1796574316.923324   14359 cudart_stub.cc:31] Could not find cuda drivers",
                 "E0000 00:00:1733412345.123456    1234 cuda_dnn.cc:8310] Unable to register cuDNN factory"):
        assert any(p.fullmatch(line) for p in patterns), line
    for line in ("F0000 00:00:1733412345.1 1 some.cc:1] Check failed", "Traceback (most recent call last):"):
        assert not any(p.fullmatch(line) for p in patterns), line


def test_import_tensorflow_quietly_keeps_its_startup_lines_off_stderr():
    """The notebooks' setup cells call it first: nothing of TensorFlow's start-up reaches fd 2."""
    code = ("from pix2pix_tf.course.colab import import_tensorflow_quietly\n"
            "import os\n"
            "tf = import_tensorflow_quietly()\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], tf.__name__, float(tf.constant(2.0) * 2))")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["3", "tensorflow", "4.0"]
    assert not re.search(r"absl::|oneDNN|cuda|^[IWEF]\d{4} ", r.stderr, re.M), r.stderr


def test_runs_root_is_the_local_folder_without_drive(capsys):
    assert colab.runs_root(False) == Path("runs")
    assert colab.runs_root(False, local="elsewhere") == Path("elsewhere")
    assert capsys.readouterr().out == ""


def test_runs_root_with_drive_off_colab_says_so_and_stays_local(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert colab.runs_root(True, local="my_runs") == Path("my_runs")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "only" in out[0] and "Colab" in out[0] and "my_runs" in out[0]


def test_runs_root_with_drive_on_colab_mounts_and_uses_my_drive(monkeypatch, tmp_path):
    mounted = []
    drive = types.ModuleType("google.colab.drive")
    drive.mount = mounted.append
    package = types.ModuleType("google.colab")
    package.drive = drive
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    root = colab.runs_root(True, mount_point=tmp_path / "drive")
    assert mounted == [str(tmp_path / "drive")]
    assert root == tmp_path / "drive" / "MyDrive" / "pix2pix-tf" / "runs" and root.is_dir()
    assert colab.runs_root(True, drive_folder="course/runs", mount_point=tmp_path / "drive") == \
        tmp_path / "drive" / "MyDrive" / "course" / "runs"


def test_has_trained_run(tmp_path):
    run = tmp_path / "run"
    assert not colab.has_trained_run(run)
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    assert not colab.has_trained_run(run)  # a config but no checkpoint: not loadable
    (run / "checkpoints" / "ckpt-1.index").write_bytes(b"")
    assert colab.has_trained_run(run)


# ----------------------------------------------------------------------------- notebooks


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_training_notebooks_ask_colab_for_a_gpu(name):
    nb = _read(name)
    assert nb.metadata["colab"]["provenance"] == []
    if name in normalize.GPU_NOTEBOOKS:
        assert nb.metadata["accelerator"] == "GPU"
        assert nb.metadata["colab"]["gpuType"] == "T4"
        assert "print(describe_device(" in _code(nb)  # reports the device, or how to get a GPU
    else:
        assert "accelerator" not in nb.metadata


def test_the_gpu_notebooks_are_the_ones_that_train():
    trains = {name for name in NOTEBOOKS
              if re.search(r"\.fit\(|\btrain\(|run_ablation\(", _code(_read(name)))}
    assert trains == set(normalize.GPU_NOTEBOOKS)


def test_normalize_keeps_and_sets_the_colab_metadata():
    colab_saved = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "colab": {"provenance": [{"file_id": "x"}], "name": "x.ipynb", "gpuType": "L4"},
                   "accelerator": "GPU", "widgets": {"state": {}}}
    assert normalize.notebook_metadata(colab_saved, gpu=True) == {
        "kernelspec": normalize.KERNELSPEC, "language_info": {"name": "python"},
        "accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
    kept = normalize.notebook_metadata(colab_saved, gpu=False)
    assert kept["accelerator"] == "GPU" and kept["colab"] == {"gpuType": "L4", "provenance": []}
    assert normalize.notebook_metadata({}, gpu=False) == {
        "kernelspec": normalize.KERNELSPEC, "language_info": {"name": "python"}, "colab": {"provenance": []}}


LONG_NOTEBOOKS = ("07_paper_ablations",)  # over ~20 minutes on a T4 (notebooks/TEACHING.md)


@pytest.mark.parametrize("name", ("04_training_on_gpu", "05_visualizing_results", "06_export_savedmodel",
                                  "07_paper_ablations", "08_when_gans_go_wrong", "09_task_recipes"))
def test_notebooks_with_runs_put_them_under_runs_root(name):
    nb = _read(name)
    params = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    # a notebook that trains for longer than a Colab session reliably lasts keeps its runs on Drive
    assert re.search(rf"^USE_DRIVE = {name in LONG_NOTEBOOKS}\b", params, re.M)
    code = _code(nb)
    assert "runs_root(USE_DRIVE)" in code
    assert '"runs/course"' not in code  # no run folder outside runs_root
    if name in ("05_visualizing_results", "06_export_savedmodel"):
        assert "has_trained_run(RUN_DIR)" in code and "STAND_IN_DIR" in code


def test_readme_badges_and_install_line_use_the_constant():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    badges = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", readme)
    names = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
    assert sorted(badges) == sorted(colab.badge_url(n) for n in names)
    assert f"git+https://github.com/{colab.REPOSITORY}@{colab.BRANCH}" in readme
