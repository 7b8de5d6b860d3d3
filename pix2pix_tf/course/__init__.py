"""Exercises for the notebook course: ``check`` an answer, reveal a ``solution``.

Every exercise has a key ``"NN.name"`` (``NN`` the notebook's number), the variable the
student fills in, a checker, a solution and at least one wrong answer. In a notebook:

* an **exercise cell** (tagged ``exercise``) starts with ``# Exercise NN.name`` and assigns the
  answer variable, ``...`` until the student fills it in;
* the **check cell** after it calls ``check("NN.name", answer)``: it prints ``Right: ...`` or
  ``Not yet: ...`` (a hint) or, for ``...``, that the exercise is not answered yet, and returns
  None, so the cell shows the verdict and nothing else (:func:`is_right` gives the verdict as
  a bool). It never raises, so a notebook runs top to bottom unanswered;
* ``solution("NN.name")`` prints the solution when a student is stuck (the check cell says so).

The solution and each wrong answer are self-contained Python (they import what they use) that
assigns the answer variable: the tests execute every solution and wrong answer through its
checker (``tests/test_course.py``) and run every notebook with its exercise cells replaced by
the solutions (``tests/test_notebooks.py``), so each check is proven to pass on a right answer
and to fail on a wrong one.

Example:
    >>> from pix2pix_tf.course import REGISTRY, Exercise, check, is_right, register
    >>> _ = register(Exercise("00.double", "What is 2 x 21?", "answer", lambda a: (a == 42, "2 x 21"),
    ...                       solution="answer = 42", wrong=("answer = 41",)))
    >>> check("00.double", 42)
    Right: 2 x 21
    >>> check("00.double", ...)
    Not answered yet: replace the ... in the exercise cell above, then run this cell again.
    >>> is_right("00.double", 41)
    False
    >>> _ = REGISTRY.pop("00.double")
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable

KEY = re.compile(r"^\d\d\.[a-z0-9_]+$")
# the first line of an exercise cell: "# Exercise 02.receptive_field: ..."
EXERCISE_LINE = re.compile(r"^# Exercise (\d\d\.[a-z0-9_]+)\b")


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Args:
        key: ``"NN.name"``; ``NN`` is the notebook's number.
        question: one or two sentences, as the notebook asks it.
        answer_name: the variable the exercise cell assigns.
        checker: ``answer -> (right, message)``; the message says why (right) or hints (wrong).
            It may raise on nonsense answers: ``check`` reports that as a wrong answer.
        solution: Python source assigning ``answer_name`` (self-contained).
        wrong: Python sources assigning wrong answers (self-contained), at least one.
        explanation: printed by ``solution`` after the source.
    """

    key: str
    question: str
    answer_name: str
    checker: Callable[[Any], tuple[bool, str]] = field(repr=False)
    solution: str
    wrong: tuple[str, ...]
    explanation: str = ""

    def __post_init__(self):
        if not KEY.match(self.key):
            raise ValueError(f"exercise key {self.key!r} is not 'NN.name'")
        if not self.wrong:
            raise ValueError(f"exercise {self.key}: give at least one wrong answer")

    @property
    def notebook(self) -> str:
        """The notebook's number, ``"02"``."""
        return self.key[:2]

    def evaluate(self, answer: Any) -> tuple[bool | None, str]:
        """``(True|False, message)``; ``(None, ...)`` when the answer is still ``...``."""
        if answer is Ellipsis:
            return None, "replace the ... in the exercise cell above, then run this cell again."
        try:
            right, message = self.checker(answer)
        except Exception as error:  # a nonsense answer is a wrong answer, not a crash
            return False, f"checking the answer raised {type(error).__name__}: {error}"
        return bool(right), message

    def run_source(self, source: str) -> Any:
        """Execute ``source`` (the solution or a wrong answer) and return ``answer_name``."""
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<{self.key}>", "exec"), namespace)  # noqa: S102 (our own sources)
        return namespace[self.answer_name]


REGISTRY: dict[str, Exercise] = {}
_loaded = False


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to the registry (a key may be registered once)."""
    if exercise.key in REGISTRY:
        raise ValueError(f"exercise {exercise.key} is registered twice")
    REGISTRY[exercise.key] = exercise
    return exercise


def _load() -> None:
    """Import every module of this package once: each registers its notebook's exercises."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True


def get(key: str) -> Exercise:
    """The exercise ``key``; a KeyError lists the keys there are."""
    _load()
    if key not in REGISTRY:
        raise KeyError(f"no exercise {key!r}; there are: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[key]


def exercises(notebook: str | None = None) -> list[Exercise]:
    """All exercises, or those of one notebook (``"02"``), in key order."""
    _load()
    return [REGISTRY[k] for k in sorted(REGISTRY) if notebook is None or k.startswith(f"{notebook}.")]


def is_right(key: str, answer: Any) -> bool:
    """True when ``answer`` passes the check of exercise ``key`` (prints nothing)."""
    return get(key).evaluate(answer)[0] is True


def check(key: str, answer: Any) -> None:
    """Print whether ``answer`` is right: ``Right: ...``, ``Not yet: ...`` (a hint) or
    ``Not answered yet: ...``.

    Returns None, so that a check cell shows its verdict and no ``True`` / ``False`` after it;
    :func:`is_right` returns the verdict as a bool.
    """
    exercise = get(key)
    right, message = exercise.evaluate(answer)
    if right is None:
        print(f"Not answered yet: {message}")
    elif right:
        print(f"Right: {message}")
    else:
        print(f"Not yet: {message}\n(stuck? run solution({key!r}))")


def solution_text(key: str) -> str:
    """The solution of exercise ``key`` and why it is right, as :func:`solution` prints it."""
    exercise = get(key)
    text = exercise.solution.strip("\n")
    if exercise.explanation:
        text += "\n\n" + exercise.explanation.strip()
    return text


def solution(key: str) -> None:
    """Print the solution of exercise ``key`` and why it is right (returns None: a cell
    calling it shows the text once; :func:`solution_text` returns it)."""
    print(solution_text(key))


def exercise_key(cell_source: str) -> str | None:
    """The key an exercise cell names on its first line, or None."""
    match = EXERCISE_LINE.match(cell_source.lstrip())
    return match.group(1) if match else None


__all__ = ["Exercise", "REGISTRY", "check", "exercise_key", "exercises", "get", "is_right", "register", "solution",
           "solution_text"]
