"""The recipe tasks, their options and the checks of them (no TensorFlow import, so the CLI
can list them fast).

:data:`TASKS`, :data:`DEFAULT_OPTIONS` and :data:`OPTION_HELP` say what can be asked for;
:func:`resolve_options` checks what was asked for (:class:`RecipeError`, one line naming
the option) before a photo is touched. See :mod:`pix2pix_tf.datasets.degradations` for
what each task does and :mod:`pix2pix_tf.datasets.recipes` for the datasets made with them.

Example:
    >>> resolve_options("superres", factor="8")
    {'factor': 8, 'upsample': 'bicubic'}
"""

from __future__ import annotations

import math
from typing import Any

from ..config import Pix2PixError

TASKS = ("colorize", "inpaint", "superres", "edges", "denoise")

#: task -> {option: default}. Every option of
#: :func:`~pix2pix_tf.datasets.degradations.degrade` is listed here.
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "colorize": {"gray_channels": 3},
    "inpaint": {"mask": "rect", "hole_value": 255, "max_holes": 3, "min_size": 0.1,
                "max_size": 0.4, "stroke_width": 0.05},
    "superres": {"factor": 4, "upsample": "bicubic"},
    "edges": {"sigma": 1.5, "low": 0.1, "high": 0.25, "thickness": 1},
    "denoise": {"noise": "gaussian", "sigma": 25.0, "quality": 10},
}

#: task -> {option: one-line help}, for CLIs and docs.
OPTION_HELP: dict[str, dict[str, str]] = {
    "colorize": {"gray_channels": "1 or 3; files always hold a 3-channel gray A, with 1 the "
                                  "on-the-fly map returns (H, W, 1) -- train with --input-channels 1"},
    "inpaint": {"mask": "'rect' (random rectangles) or 'strokes' (free-form brush strokes)",
                "hole_value": "pixel value 0..255 written into the holes (255 = white)",
                "max_holes": "each image gets 1..max_holes rectangles or strokes",
                "min_size": "smallest rectangle side / stroke segment, as a fraction of the image side",
                "max_size": "largest rectangle side / stroke segment, as a fraction of the image side",
                "stroke_width": "brush width of 'strokes' as a fraction of the image side"},
    "superres": {"factor": "downsampling factor: 2, 4 or 8",
                 "upsample": "'nearest' (blocky), 'bilinear' or 'bicubic' (smooth); all are made "
                             "consistent so that degrading A again leaves it unchanged"},
    "edges": {"sigma": "Gaussian blur before the gradient, in pixels (0..5); larger = fewer, smoother lines",
              "low": "hysteresis low threshold, fraction of the image's strongest gradient",
              "high": "hysteresis high threshold (lines must reach it somewhere), fraction of the strongest gradient",
              "thickness": "line width in pixels (1..5)"},
    "denoise": {"noise": "'gaussian' (additive noise) or 'jpeg' (compression artifacts)",
                "sigma": "standard deviation of the Gaussian noise in gray levels (0..255)",
                "quality": "JPEG quality 1..100 of the 'jpeg' noise (lower = stronger artifacts)"},
}

_CHOICES = {("inpaint", "mask"): ("rect", "strokes"),
            ("superres", "upsample"): ("nearest", "bilinear", "bicubic"),
            ("denoise", "noise"): ("gaussian", "jpeg")}


class RecipeError(Pix2PixError):
    """An unknown task or a bad recipe option; the message names it and says what is allowed."""


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise RecipeError(f"unknown recipe task {task!r}; choose one of {', '.join(TASKS)}")
    return task


def _coerce(task: str, name: str, value: Any, default: Any) -> Any:
    """Convert ``value`` to the type of ``default`` (CLI strings included) or raise."""
    def bad(why: str) -> RecipeError:
        return RecipeError(f"recipe '{task}' option '{name}' = {value!r}: {why}")

    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("must be a string")
        return value
    if isinstance(value, bool):
        raise bad("must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad("must be a number") from None
    if not math.isfinite(number):
        raise bad("must be a finite number")
    if isinstance(default, int):
        if number != int(number):
            raise bad("must be an integer")
        return int(number)
    return number


def resolve_options(task: str, **options) -> dict[str, Any]:
    """Check a task's options and return them merged over :data:`DEFAULT_OPTIONS`.

    Args:
        task: one of :data:`TASKS`.
        **options: option values (numbers may be given as strings, as from a CLI).

    Returns:
        dict with every option of the task, converted to the default's type.

    Raises:
        RecipeError: unknown task, unknown option name or an out-of-range value.
    """
    defaults = DEFAULT_OPTIONS[_check_task(task)]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise RecipeError(f"recipe '{task}' has no option {', '.join(map(repr, unknown))}; "
                          f"its options are: {', '.join(f'{k}={v!r}' for k, v in defaults.items())}")
    opts = {k: _coerce(task, k, options.get(k, v), v) for k, v in defaults.items()}

    def need(cond: bool, name: str, why: str) -> None:
        if not cond:
            raise RecipeError(f"recipe '{task}' option '{name}' = {opts[name]!r}: {why}")

    for (t, name), choices in _CHOICES.items():
        if t == task:
            need(opts[name] in choices, name, f"must be one of {', '.join(choices)}")
    if task == "colorize":
        need(opts["gray_channels"] in (1, 3), "gray_channels", "must be 1 or 3")
    elif task == "inpaint":
        need(0 <= opts["hole_value"] <= 255, "hole_value", "must be in 0..255")
        need(opts["max_holes"] >= 1, "max_holes", "must be >= 1")
        need(0 < opts["min_size"] <= 1, "min_size", "must be in (0, 1]")
        need(opts["min_size"] <= opts["max_size"] <= 1, "max_size",
             f"must be in [min_size ({opts['min_size']}), 1]")
        need(0 < opts["stroke_width"] <= 0.5, "stroke_width", "must be in (0, 0.5]")
    elif task == "superres":
        need(opts["factor"] in (2, 4, 8), "factor", "must be 2, 4 or 8")
    elif task == "edges":
        need(0 <= opts["sigma"] <= 5, "sigma", "must be in [0, 5]")
        need(0 <= opts["low"] <= 1, "low", "must be in [0, 1]")
        need(opts["low"] <= opts["high"] <= 1, "high", f"must be in [low ({opts['low']}), 1]")
        need(1 <= opts["thickness"] <= 5, "thickness", "must be in 1..5")
    elif task == "denoise":
        need(0 <= opts["sigma"] <= 255, "sigma", "must be in [0, 255]")
        need(1 <= opts["quality"] <= 100, "quality", "must be in 1..100")
    return opts
