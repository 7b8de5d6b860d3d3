"""The course's result figures (notebooks/images): every one a notebook or a page shows exists,
stays small, and is shown somewhere (issue 26: results before running)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "notebooks" / "images"
MAX_BYTES = 250_000
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


def _markdown_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _links() -> dict[Path, list[Path]]:
    """Each file that shows a PNG -> the PNGs it links, resolved against its own folder."""
    found = {}
    for notebook in NOTEBOOKS:
        found[notebook] = [(notebook.parent / link).resolve() for link in IMAGE_LINK.findall(_markdown_of(notebook))]
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        found[page] = [(page.parent / link).resolve() for link in IMAGE_LINK.findall(page.read_text())]
    return found


def test_every_notebook_shows_what_it_gives_in_its_introduction():
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text())["cells"]
        overview = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
                        and "".join(c["source"]).lstrip().startswith("## Overview"))
        assert IMAGE_LINK.search(overview), f"{notebook.name}: no figure in its overview"


@pytest.mark.parametrize("source", [*NOTEBOOKS, ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: p.name)
def test_every_figure_shown_exists(source):
    for image in _links()[source]:
        assert image.is_file(), f"{source.name} shows {image}, which does not exist"


def test_every_figure_is_small_and_shown_somewhere():
    shown = {image for images in _links().values() for image in images}
    pngs = sorted(IMAGES.glob("*.png"))
    assert pngs
    for png in pngs:
        assert png.stat().st_size <= MAX_BYTES, f"{png.name}: {png.stat().st_size} bytes > {MAX_BYTES}"
        assert png.resolve() in shown, f"{png.name} is shown by no notebook or page"


def test_the_figure_script_names_its_runs_and_refuses_missing_ones(tmp_path):
    script = ROOT / "notebooks" / "tools" / "make_figures.py"
    text = script.read_text()
    assert "MAX_BYTES = 250_000" in text  # the same limit as here
    result = subprocess.run([sys.executable, str(script), "--runs", str(tmp_path)], capture_output=True,
                            text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 2 and "no run folder paper, l1, cgan, strong_d" in result.stderr
