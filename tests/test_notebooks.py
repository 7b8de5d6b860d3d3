"""The notebook course: committed clean, and each runs top to bottom in quick mode.

The notebooks run with nbclient in a python3 kernel, working directory ``notebooks/``,
``PIX2PIX_QUICK=1`` and ``PIX2PIX_RUN_DIR`` in a tmp folder; in order 01..05 so 04 and 05
reuse the run 03 trained. 04 and 05 are also run alone (no run yet: they train one).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from nbclient.exceptions import CellExecutionError  # noqa: E402

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ("01_data_pipeline", "02_generator_and_discriminator", "03_training_on_gpu",
             "04_visualizing_results", "05_export_savedmodel", "06_paper_ablations", "07_task_recipes")
REPO_URL = "https://github.com/pix2pix-tf/pix2pix-tf"
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
    assert set(nb.metadata) <= {"kernelspec", "language_info"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
        assert set(cell.metadata) <= {"tags"}, cell.metadata
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"# \S", first.source)
    nb_path = f"notebooks/{name}.ipynb"
    assert f"https://colab.research.google.com/github/pix2pix-tf/pix2pix-tf/blob/main/{nb_path}" in first.source
    assert f"{REPO_URL}/blob/main/{nb_path}" in first.source
    assert "colab-badge.svg" in first.source
    sources = [c.source for c in nb.cells]
    assert any(s.startswith("## Overview") for s in sources)
    assert any(s.startswith("## Setup") for s in sources)
    install = next(c.source for c in nb.cells if c.cell_type == "code" and "pip install" in c.source)
    assert '"google.colab" in sys.modules' in install and "git+" + REPO_URL in install
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'os.environ.get("PIX2PIX_QUICK") == "1"' in params[0].source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import pix2pix_tf" in code


def run_notebook(name: str, run_dir: Path, monkeypatch) -> float:
    """Execute one notebook in quick mode; fail with the failing cell's error. Returns seconds."""
    monkeypatch.setenv("PIX2PIX_QUICK", "1")
    monkeypatch.setenv("PIX2PIX_RUN_DIR", str(run_dir))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = _read(name)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{name}.ipynb failed:\n{e}", pytrace=False)
    seconds = time.perf_counter() - start
    print(f"{name}: {seconds:.1f} s")
    return seconds


@pytest.fixture(scope="module")
def course_run_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("course") / "run"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_quick_mode(name, course_run_dir, monkeypatch):
    """In order: 03 writes the run that 04 and 05 read (they train one if run alone)."""
    run_notebook(name, course_run_dir, monkeypatch)
    if name == "03_training_on_gpu":
        assert (course_run_dir / "config.json").is_file()
        assert list((course_run_dir / "checkpoints").glob("ckpt-*.index"))
        assert list((course_run_dir / "images").glob("epoch_*.png"))
        assert (course_run_dir / "history.csv").is_file()
    if name == "05_export_savedmodel":
        assert (course_run_dir / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.parametrize("name", ("04_visualizing_results", "05_export_savedmodel"))
def test_notebook_runs_alone_without_a_run(name, tmp_path, monkeypatch):
    run_dir = tmp_path / "fresh_run"
    run_notebook(name, run_dir, monkeypatch)
    assert (run_dir / "summary.json").is_file()  # trained its own short run with train()
