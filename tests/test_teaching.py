"""notebooks/TEACHING.md, the syllabus for teachers: a row for every notebook, exercise ids that
exist (all of each notebook's), the fork command it documents, and run counts that match the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pix2pix_tf import course

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
SYLLABUS = NB_DIR / "TEACHING.md"
TEXT = SYLLABUS.read_text(encoding="utf-8")
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
EXERCISE_ID = re.compile(r"`(\d\d\.[a-z0-9_]+)`")


def table_rows() -> dict[str, str]:
    """``{notebook file: its row}`` for the rows of the syllabus' table that link a notebook."""
    rows = {}
    for line in TEXT.splitlines():
        links = re.findall(r"\]\(([^)]+\.ipynb)\)", line) if line.startswith("|") else []
        if links:
            assert len(links) == 1, f"a row links one notebook: {line}"
            rows[links[0]] = line
    return rows


def test_every_notebook_has_a_row_in_order():
    rows = table_rows()
    assert list(rows) == NOTEBOOKS
    for link in rows:
        assert (NB_DIR / link).is_file(), link


def test_every_exercise_named_exists_and_each_row_names_its_notebooks_exercises():
    named = EXERCISE_ID.findall(TEXT)
    known = {e.key for e in course.exercises()}
    assert named and set(named) <= known, sorted(set(named) - known)
    for link, row in table_rows().items():
        assert set(EXERCISE_ID.findall(row)) == {e.key for e in course.exercises(link[:2])}, link


def test_each_row_states_an_estimated_t4_time_and_a_measured_cpu_time():
    for link, row in table_rows().items():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert any(re.search(r"\bmin\b|\bh\b|hours?", c) for c in cells), link  # T4, estimated
        assert any(re.fullmatch(r"\d+(?:-\d+)? s", c) for c in cells), link  # quick mode on the CPU, measured
    assert "estimate" in TEXT and "measured" in TEXT
    assert re.search(r"2-core[\s\S]{0,160}avx512", TEXT, re.I)  # the CPU the seconds were measured on, with its flags


def test_the_fork_command_it_documents_is_the_tool_option():
    assert "python notebooks/tools/normalize.py --repository" in TEXT
    tool = (NB_DIR / "tools" / "normalize.py").read_text(encoding="utf-8")
    assert '"--repository"' in tool and '"--branch"' in tool
    assert "USE_DRIVE" in TEXT and "runs_root" in TEXT


def test_07_states_the_number_of_runs_its_code_trains():
    """Count the distinct runs of 07's full mode the way run_ablation does: one per config."""
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.course.ablations import (LAMBDA_SWEEP, OBJECTIVE_ABLATION, PATCH_ABLATION,
                                             SUCCESSOR_LEVERS, variant_configs)
    from pix2pix_tf.successors.config import PRESETS

    nbformat = pytest.importorskip("nbformat")
    base = Pix2PixConfig(image_size=256, load_size=286, ngf=8, ndf=8, direction="BtoA")  # width: no matter
    levers = {"paper (L1+cGAN, 70x70)": {}, **SUCCESSOR_LEVERS, "quality preset": dict(PRESETS["quality"])}
    seen, counts = set(), []
    for table in (OBJECTIVE_ABLATION, LAMBDA_SWEEP, PATCH_ABLATION, levers):
        keys = {json.dumps(c.to_dict(), sort_keys=True, default=str) for c in variant_configs(table, base).values()}
        counts.append(len(keys - seen))
        seen |= keys
    assert counts == [3, 3, 3, 7] and len(seen) == 16
    nb = nbformat.read(NB_DIR / "07_paper_ablations.ipynb", as_version=4)
    overview = next(c.source for c in nb.cells if c.source.startswith("## Overview"))
    assert "**16 runs**: 9 in sections 3-5" in overview and "7 in section 7" in overview
    assert "16 runs" in table_rows()["07_paper_ablations.ipynb"]
