"""The notebook course: committed clean, and each runs top to bottom in quick mode.

The notebooks run with nbclient in a python3 kernel, working directory ``notebooks/``,
``PIX2PIX_QUICK=1`` and ``PIX2PIX_RUN_DIR`` in a tmp folder; in order 01..09 so 05 and 06
reuse the run 04 trained. 05 and 06 are also run alone (no run of 04: they train a stand-in
in a folder of their own). 01 and 04 also run from a folder outside the checkout, as CI runs
them from an installed wheel (no ``data/`` folder, no source tree):

    python -m pytest -q tests/test_notebooks.py -k outside_the_checkout

The badge row, install cell and Colab metadata are checked in ``tests/test_colab.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from nbclient.exceptions import CellExecutionError  # noqa: E402

from pix2pix_tf import course  # noqa: E402

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ("01_data_pipeline", "02_generator_and_discriminator", "03_train_step_from_scratch",
             "04_training_on_gpu", "05_visualizing_results", "06_export_savedmodel",
             "07_paper_ablations", "08_when_gans_go_wrong", "09_task_recipes")
CELL_TIMEOUT = 300


def _read(name: str):
    return nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)


def test_the_course_is_complete():
    assert sorted(p.stem for p in NB_DIR.glob("*.ipynb")) == list(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean_with_house_structure(name):
    path = NB_DIR / f"{name}.ipynb"
    nb = _read(name)
    nbformat.validate(nb)
    # stripped and normalised: what nbformat writes (indent 1, sorted keys), no outputs
    assert path.read_text(encoding="utf-8").rstrip("\n") == nbformat.writes(nb).rstrip("\n")
    assert set(nb.metadata) <= {"kernelspec", "language_info", "colab", "accelerator"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
        assert set(cell.metadata) <= {"tags"}, cell.metadata
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"# \S", first.source)
    assert "colab-badge.svg" in first.source  # the badge's address: tests/test_colab.py
    sources = [c.source for c in nb.cells]
    assert any(s.startswith("## Overview") for s in sources)
    assert any(s.startswith("## Setup") for s in sources)
    install = next(c.source for c in nb.cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in install and "PIX2PIX_REPO" in install
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'os.environ.get("PIX2PIX_QUICK") == "1"' in params[0].source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import pix2pix_tf" in code


def fill_in_solutions(nb: nbformat.NotebookNode) -> int:
    """Replace each exercise cell's source by its solution (as a student who got it right)."""
    filled = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            exercise = course.get(course.exercise_key(cell.source))
            cell.source = f"# Exercise {exercise.key} (solution filled in by the test)\n{exercise.solution}"
            filled += 1
    return filled


def run_notebook(name: str, run_dir: Path | None, monkeypatch, workdir: Path = NB_DIR,
                 extra_cells: tuple[str, ...] = (), solved: bool = True) -> nbformat.NotebookNode:
    """Execute one notebook in quick mode in ``workdir``; fail with the failing cell's error.

    ``run_dir``: the course run folder (``PIX2PIX_RUN_DIR``); None: the notebook's default.
    ``extra_cells`` are appended (code) before running. ``solved``: exercise cells hold their
    solutions (else they run as committed, unanswered). Returns the executed notebook.
    """
    monkeypatch.setenv("PIX2PIX_QUICK", "1")
    if run_dir is None:
        monkeypatch.delenv("PIX2PIX_RUN_DIR", raising=False)
    else:
        monkeypatch.setenv("PIX2PIX_RUN_DIR", str(run_dir))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(workdir / f"{name}.ipynb", as_version=4)
    if solved:
        fill_in_solutions(nb)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{name}.ipynb failed:\n{e}", pytrace=False)
    print(f"{name}: {time.perf_counter() - start:.1f} s")
    assert_quiet_outputs(name, nb)
    return nb


# TensorFlow's and CUDA's C++ log lines (written to file descriptor 2, which ipykernel shows as
# cell output): "cuda_dnn.cc: Unable to register cuDNN factory", "cpu_feature_guard.cc: This
# TensorFlow binary is optimized...", "oneDNN custom operations are on", absl's "All log
# messages before absl::InitializeLog()", or any line in their "I0000 00:00:..." format
LOG_LINE = re.compile(r"cuda_|cpu_feature_guard|oneDNN|absl::|^[IWEF]\d{4} \d\d:\d\d:\d\d")


def output_lines(cell) -> list[str]:
    """The text a code cell shows: its streams, and the text/plain of its results and displays."""
    lines = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            lines += output.get("text", "").splitlines()
        elif output.output_type in ("execute_result", "display_data"):
            lines += output.get("data", {}).get("text/plain", "").splitlines()
    return lines


def assert_quiet_outputs(name: str, nb: nbformat.NotebookNode) -> None:
    """No C++ log line in any output, and a check cell shows its verdict only (no True/False)."""
    noise = [line for cell in nb.cells if cell.cell_type == "code"
             for line in output_lines(cell) if LOG_LINE.search(line)]
    assert not noise, f"{name}: TensorFlow/CUDA log lines in the outputs: {noise[:5]}"
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"^check\(", cell.source, re.M):
            shown = [o.output_type for o in cell.outputs if o.output_type != "stream"]
            assert not shown, f"{name}: the check cell shows more than its verdict ({shown}):\n{cell.source}"


def test_the_log_line_pattern_catches_tensorflow_lines_only():
    for line in ("E0000 00:00:1733412345.123456    1234 cuda_dnn.cc:8310] Unable to register cuDNN factory",
                 "I0000 00:00:1733412345.1 123 cpu_feature_guard.cc:210] This TensorFlow binary is optimized",
                 "oneDNN custom operations are on. You may see slightly different numerical results",
                 "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"):
        assert LOG_LINE.search(line), line
    for line in ("Right: each is -log(0.5) = log 2", "step: 40 | checkpoints: ['ckpt-2']", "Epoch 1/4"):
        assert not LOG_LINE.search(line), line


def printed(nb: nbformat.NotebookNode) -> str:
    """Everything the executed notebook printed (stream outputs)."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def course_run_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("course") / "run"


# 07-09 take 25-65 s each: they run with the slow tests (CI runs both), keeping the default
# run near ten minutes; 01-06, the course's main line, stay in it.
SLOW_NOTEBOOKS = ("07_paper_ablations", "08_when_gans_go_wrong", "09_task_recipes")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_NOTEBOOKS else n
                                  for n in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(name, course_run_dir, monkeypatch):
    """In order: 04 writes the run that 05 and 06 read (they train a stand-in if run alone)."""
    nb = run_notebook(name, course_run_dir, monkeypatch)
    # every exercise of the notebook was checked, and each check said right
    keys = [course.exercise_key(c.source) for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    assert keys and sorted(keys) == [e.key for e in course.exercises(name[:2])]
    verdicts = re.findall(r"^(Right|Not yet|Not answered yet):", printed(nb), re.M)
    assert verdicts == ["Right"] * len(keys), verdicts
    if name == "04_training_on_gpu":
        assert (course_run_dir / "config.json").is_file()
        assert list((course_run_dir / "checkpoints").glob("ckpt-*.index"))
        assert list((course_run_dir / "images").glob("epoch_*.png"))
        assert (course_run_dir / "history.csv").is_file()
    if name in ("05_visualizing_results", "06_export_savedmodel"):
        assert f"Using the run of notebook 04: {course_run_dir}," in printed(nb)
        assert not course_run_dir.with_name("run_stand_in").exists()
    if name == "06_export_savedmodel":
        assert (course_run_dir / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.slow  # a stand-in run of its own; CI runs the slow tests too
def test_06_runs_alone_without_a_run(tmp_path, monkeypatch):
    run_dir = tmp_path / "fresh_run"
    nb = run_notebook("06_export_savedmodel", run_dir, monkeypatch)
    stand_in = tmp_path / "fresh_run_stand_in"
    assert (stand_in / "summary.json").is_file()  # trained its own short run with train()
    assert (stand_in / "saved_model" / "saved_model.pb").is_file()
    assert not run_dir.exists()  # 04's folder is left alone
    assert f"Using a stand-in (no run of notebook 04 in {run_dir}): {stand_in}," in printed(nb)


@pytest.mark.slow  # a stand-in run of its own; CI runs the slow tests too
def test_05_runs_alone_and_06_reuses_its_stand_in(tmp_path, monkeypatch):
    """05 without a run of 04 trains the stand-in; 06, run after it, reuses it."""
    run_dir = tmp_path / "run"
    stand_in = tmp_path / "run_stand_in"
    nb = run_notebook("05_visualizing_results", run_dir, monkeypatch)
    assert "training a short stand-in" in printed(nb)
    assert f"Using a stand-in (no run of notebook 04 in {run_dir}): {stand_in}," in printed(nb)
    assert not run_dir.exists()  # 04's folder is left alone
    summary = (stand_in / "summary.json").read_text()
    nb = run_notebook("06_export_savedmodel", run_dir, monkeypatch)
    assert "training a short stand-in" not in printed(nb)
    assert f"Using a stand-in (no run of notebook 04 in {run_dir}): {stand_in}," in printed(nb)
    assert (stand_in / "summary.json").read_text() == summary  # not trained again


OUTSIDE = ("01_data_pipeline", "04_training_on_gpu")


@pytest.mark.slow  # CI also runs them outside the checkout from the wheel (.ci/compat)
def test_notebooks_run_outside_the_checkout(tmp_path, monkeypatch):
    """01 and 04 copied to a folder of their own, run there: no data/ folder, no source tree.

    When the package is imported from a checkout (``data/`` next to it), a copy of it on
    PYTHONPATH hides the checkout, so the bundled sample is not found and is drawn into
    KERAS_HOME; from an installed wheel the package is used as it is.
    """
    import pix2pix_tf

    checkout = Path(pix2pix_tf.__file__).resolve().parents[1]
    work = tmp_path / "course"
    work.mkdir()
    for name in OUTSIDE:
        shutil.copy(NB_DIR / f"{name}.ipynb", work)
    if (checkout / "data").is_dir():
        site = tmp_path / "site"
        shutil.copytree(checkout / "pix2pix_tf", site / "pix2pix_tf",
                        ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
            [str(site)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # no sample cached earlier
    monkeypatch.delenv("PIX2PIX_DATA_DIR", raising=False)
    where = ("import pix2pix_tf\n"
             "print('PACKAGE', pix2pix_tf.__file__)\n"
             "print('DATA', DATA_DIR.resolve())")
    outputs = {name: printed(run_notebook(name, None, monkeypatch, workdir=work, extra_cells=(where,)))
               for name in OUTSIDE}
    for name, text in outputs.items():
        package = Path(re.search(r"^PACKAGE (.+)$", text, re.M).group(1))
        data = Path(re.search(r"^DATA (.+)$", text, re.M).group(1))
        if (checkout / "data").is_dir():
            assert package.is_relative_to(tmp_path / "site"), (name, package)
        assert not data.is_relative_to(checkout), (name, data)  # drawn, not the repository's data/
        assert data.is_relative_to(tmp_path / "keras_home"), (name, data)
    run = work / "runs" / "course"  # the default run folder, relative to the notebook
    assert (run / "config.json").is_file() and list((run / "checkpoints").glob("ckpt-*.index"))
