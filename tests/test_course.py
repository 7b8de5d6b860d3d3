"""The course's exercises: each solution passes its check, each wrong answer fails it, and
every exercise sits in its notebook as an exercise cell followed by its check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pix2pix_tf import course

nbformat = pytest.importorskip("nbformat")

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB_DIR.glob("*.ipynb"))
EXERCISES = course.exercises()


def test_every_notebook_has_exercises():
    numbers = {e.notebook for e in EXERCISES}
    assert numbers == {name[:2] for name in NOTEBOOKS}


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.key)
def test_the_solution_passes_and_every_wrong_answer_fails(exercise, capsys):
    # check() prints the verdict and returns None: a check cell displays nothing else
    assert course.check(exercise.key, exercise.run_source(exercise.solution)) is None
    assert capsys.readouterr().out.startswith("Right: ")
    assert course.is_right(exercise.key, exercise.run_source(exercise.solution)) is True
    for source in exercise.wrong:
        assert course.check(exercise.key, exercise.run_source(source)) is None, source
        out = capsys.readouterr().out
        assert out.startswith("Not yet: ") and f"solution({exercise.key!r})" in out
        assert course.is_right(exercise.key, exercise.run_source(source)) is False, source
    assert course.check(exercise.key, ...) is None
    assert capsys.readouterr().out.startswith("Not answered yet: ")
    assert course.is_right(exercise.key, ...) is False
    assert course.solution(exercise.key) is None
    assert exercise.solution.strip() in capsys.readouterr().out
    assert exercise.solution.strip() in course.solution_text(exercise.key)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercise_cells_are_unanswered_and_each_is_checked(name):
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    keys = [course.exercise_key(c.source) for c in tagged]
    assert sorted(keys) == [e.key for e in course.exercises(name[:2])]
    for cell, key in zip(tagged, keys):
        answer = course.get(key).answer_name
        # the committed cell leaves the answer to the student
        assert re.search(rf"^{answer} = \.\.\.", cell.source, re.M), cell.source
        assert sum(f'check("{key}", {answer})' in source for source in code) == 1, key


def test_unknown_key_lists_the_keys():
    with pytest.raises(KeyError, match="there are: "):
        course.get("99.nothing")


def test_a_checker_that_raises_is_a_wrong_answer(capsys):
    exercise = course.Exercise("00.raises", "q", "a", lambda a: (1 / a == 1, "one"),
                               solution="a = 1", wrong=("a = 0",))
    try:
        course.register(exercise)
        assert course.check("00.raises", 0) is None
        assert "ZeroDivisionError" in capsys.readouterr().out
        assert course.is_right("00.raises", 0) is False
        with pytest.raises(ValueError, match="twice"):
            course.register(exercise)
    finally:
        course.REGISTRY.pop("00.raises", None)
