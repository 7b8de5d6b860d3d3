"""Exercises make students think: no answer is written where a student reads before the check.

For every exercise whose answer is a literal (a number, a short string, or a small tuple, set,
list or dict of them) and for a few whose answer is a function with one well-known formula,
:data:`GIVEAWAYS` lists how the answer would be written out in prose. None of those may appear

* in the Markdown cells of its notebook before its check cell,
* in the notebook's overview and summary (read first, or by skimming),
* in ``notebooks/CHEATSHEET.md`` or ``notebooks/TEACHING.md``.

After the check cell the text may use the answer freely. A new exercise with a literal answer
must get an entry here (the test says so); the patterns are tried on the leaks this test was
written against (:data:`KNOWN_LEAKS`), so that an entry that catches nothing fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pix2pix_tf import course

nbformat = pytest.importorskip("nbformat")

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
SHEETS = ("CHEATSHEET.md", "TEACHING.md")

# exercise -> regular expressions (case-insensitive, on text with its white space collapsed) for
# its answer written out; None: an answer with no text to hide (True / False)
GIVEAWAYS: dict[str, list[str] | None] = {
    "01.directions": [r"facades (?:is|needs|uses|=) ?[`'\"]?BtoA"],
    "01.crop_offsets": [r"\(0, ?30\)", r"\b0 ?(?:to|\.\.|-) ?30\b", r"\b31 ?x ?31\b",
                        r"\b31 (?:possible )?(?:places|positions|offsets)"],
    "01.scale_to_unit": [r"x ?/ ?127\.5 ?- ?1"],
    "02.decoder_channels": [r"512[-, ]+1024[-, ]+1024[-, ]+1024[-, ]+1024", r"CD512-CD1024"],
    "02.logit_map_size": [r"2 ?\*\* ?n_layers_d ?- ?2"],
    "02.receptive_field": [r"\b286\b[^.]{0,60}n_layers_d`? ?= ?5", r"n_layers_d`? ?= ?5[^.]{0,60}\b286\b"],
    "03.untrained_losses": [r"(?:log|ln) ?2 ?(?:=|~|≈) ?0\.69", r"-log ?\(?0\.5\)? ?= ?(?:log|ln) ?2"],
    "03.d_loss_half": [r"ratio (?:of )?(?:about |close to |near )?(?:0\.99|1\.0)",
                       r"halv\w*[^.]{0,80}(?:hardly|barely|does not|doesn't|do not) (?:change|slow|move)"],
    "04.ln2": [r"(?:ln|log) ?\(?2\)? ?/ ?2", r"\b0\.34[67]\b"],
    "04.steps_per_epoch": [r"80,?000 (?:steps|generator updates)", r"n_train ?// ?batch_size"],
    "04.resume_step": [r"\b2,?400\b"],
    "05.dropout_at_test": None,
    "05.repeatable_modes": [r"same input (?:always )?gives the same output"],
    "06.signature_range": [r"serving_default[^.]{0,80}\[-1, ?1\]", r"\[-1, ?1\][^.]{0,40}serving_default"],
    "06.translate_shape": [r"resiz\w* (?:the result |the output |it )?back",
                           r"same (?:size|height and width) as (?:the|its) input"],
    "06.uint8_roundtrip": [r"\(y ?\+ ?1\) ?\* ?127\.5"],
    "07.lambda_extremes": [r"lambda ?= ?1000[^.?;]{0,80}(?:blurry|blur|L1 alone)",
                           r"lambda ?= ?0\b[^.?;]{0,60}(?:sharp|artefact)", r"large lambda[^.?;]{0,40}(?:blurry|L1 alone)"],
    "07.patch_for_texture": [r"16 ?x ?16[^.]{0,80}tiling", r"tiling[^.]{0,60}16 ?x ?16",
                             r"286[^.]{0,40}whole (?:256x256 )?image", r"1 ?x ?1[^.]{0,60}(?:only|just) colou?r"],
    "08.checkerboard_period": [r"periods? (?:of )?2, 4,? (?:and )?8", r"\{2, ?4, ?8\}", r"periods? 4,? (?:and )?8"],
    "08.diagnose": [r"\{ ?1: ?[\"']a[\"'], ?2: ?[\"']e"],
    "09.which_direction": [r"\(direction `?AtoB`?\)", r"photo_to_edges\W+BtoA"],
    "09.degrade": [r"0\.299 ?R"],
}

# the leaks found in the course before this test (issue 26), and how each was written
KNOWN_LEAKS = {
    "01.crop_offsets": "The jitter (resize 286, crop 256 at one of 31 x 31 places, mirror)",
    "01.directions": "(the archives differ: facades is `BtoA`)",
    "02.decoder_channels": "so the decoder layers receive 512-1024-1024-1024-1024-512-256-128 channels",
    "02.logit_map_size": "a grid of logits, S / 2**n_layers_d - 2 on a side (30x30 at 256x256)",
    "02.receptive_field": '70 (`n_layers_d = 3`, the paper\'s), 286 (`n_layers_d = 5`, the "ImageGAN" at 256)',
    "03.untrained_losses": "An undecided D (every logit 0) scores log 2 = 0.693 on each term",
    "03.d_loss_half": "Under Adam a constant factor on a loss (like D's halving) barely changes the updates.",
    "05.repeatable_modes": "turns dropout off: the same input always gives the same output",
    "07.lambda_extremes": "lambda = 0 is the cGAN alone (sharp, artefacts), a large lambda is close to L1 alone (blurry)",
    "07.patch_for_texture": 'and a 286x286 "ImageGAN" that sees the whole 256x256 image',
    "09.which_direction": "reads it as is (direction `AtoB`).",
}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _is_literal(value, depth: int = 0) -> bool:
    if isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= 40
    if depth == 0 and isinstance(value, (tuple, list, set, frozenset)):
        return 0 < len(value) <= 10 and all(_is_literal(v, 1) for v in value)
    if depth == 0 and isinstance(value, dict):
        return 0 < len(value) <= 10 and all(_is_literal(k, 1) and _is_literal(v, 1) for k, v in value.items())
    return False


def _found(patterns: list[str], text: str) -> list[str]:
    flat = _flat(text)
    return [m.group(0) for p in patterns for m in [re.search(p, flat, re.I)] if m]


def _check_cell_index(cells, key: str) -> int:
    answer = course.get(key).answer_name
    return next(i for i, c in enumerate(cells) if c.cell_type == "code" and f'check("{key}", {answer})' in c.source)


def _read_first(cells) -> str:
    """The overview cell and the summary section: what a student reads first or skims."""
    parts = []
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        if cell.source.lstrip().startswith("## Overview"):
            parts.append(cell.source)
        if "## Summary" in cell.source:
            parts.append(cell.source[cell.source.index("## Summary"):])
    return "\n".join(parts)


def _notebook(number: str):
    (path,) = NB_DIR.glob(f"{number}_*.ipynb")
    return nbformat.read(path, as_version=4)


def test_every_exercise_with_a_literal_answer_has_its_giveaways_listed():
    missing = []
    for exercise in course.exercises():
        if exercise.key in GIVEAWAYS:
            continue
        value = exercise.run_source(exercise.solution)
        if not callable(value) and _is_literal(value):
            missing.append(f"{exercise.key} (answer {value!r})")
    assert not missing, f"add how these answers would be written out to GIVEAWAYS: {missing}"
    assert set(GIVEAWAYS) <= {e.key for e in course.exercises()}, set(GIVEAWAYS) - {e.key for e in course.exercises()}


def test_the_patterns_catch_the_leaks_they_were_written_for():
    for key, leak in KNOWN_LEAKS.items():
        assert _found(GIVEAWAYS[key], leak), (key, leak)
    # and they do not fire on the questions themselves
    for exercise in course.exercises():
        assert not _found(GIVEAWAYS.get(exercise.key) or [], exercise.question), exercise.key


@pytest.mark.parametrize("key", sorted(k for k, v in GIVEAWAYS.items() if v))
def test_no_answer_before_its_check_nor_in_the_overview_summary_or_sheets(key):
    nb = _notebook(key[:2])
    cells = nb.cells
    before = "\n".join(c.source for c in cells[:_check_cell_index(cells, key)] if c.cell_type == "markdown")
    places = {"before its check cell": before, "overview / summary": _read_first(cells)}
    for sheet in SHEETS:
        if (NB_DIR / sheet).is_file():
            places[sheet] = (NB_DIR / sheet).read_text(encoding="utf-8")
    leaks = {where: found for where, text in places.items() if (found := _found(GIVEAWAYS[key], text))}
    assert not leaks, f"{key}: the answer is given away: {leaks}"
