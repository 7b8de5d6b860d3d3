"""Exercises of notebook 01, the paired data pipeline: directions, the jitter's crop, the scaling."""

from __future__ import annotations

from . import Exercise, register

# What each archive stores on the left (A) and on the right (B) of its files, and the
# paper's task on it (input -> output).
LAYOUTS = {
    "facades": ("photo", "label map", "label map", "photo"),
    "maps": ("aerial photo", "map", "aerial photo", "map"),
    "edges2shoes": ("edge map", "photo", "edge map", "photo"),
}


def check_directions(answer) -> tuple[bool, str]:
    """``answer``: ``{dataset: "AtoB" | "BtoA"}`` for the datasets of :data:`LAYOUTS`."""
    from pix2pix_tf.datasets.standard import PAPER_DIRECTIONS

    if not isinstance(answer, dict):
        return False, ('give a dict, e.g. {"facades": "AtoB", "maps": "AtoB", "edges2shoes": "AtoB"}, '
                       f"not a {type(answer).__name__}")
    missing = [name for name in LAYOUTS if name not in answer]
    if missing:
        return False, f"the dict has no direction for {', '.join(missing)}"
    odd = [name for name in LAYOUTS if answer[name] not in ("AtoB", "BtoA")]
    if odd:
        return False, f"{odd[0]}: {answer[odd[0]]!r} is neither 'AtoB' nor 'BtoA'"
    wrong = [name for name in LAYOUTS if answer[name] != PAPER_DIRECTIONS[name]]
    if wrong:
        hints = []
        for name in wrong:
            left, right, source, target = LAYOUTS[name]
            hints.append(f"{name} is wrong: its files hold the {left} on the left (A) and the {right} on "
                         f"the right (B), and the task {source} -> {target} needs the {source} as input")
        return False, "; ".join(hints)
    return True, ("the direction names the half that is the input: facades stores the photo as A, so "
                  "labels -> photo is BtoA; maps (aerial -> map) and edges2shoes (edges -> photo) are AtoB. "
                  "pix2pix_tf.datasets.standard.PAPER_DIRECTIONS has all six.")


register(Exercise(
    key="01.directions",
    question=("For facades (task: label map -> photo), maps (aerial photo -> map) and edges2shoes "
              "(edges -> photo), which direction, 'AtoB' or 'BtoA', does each need, given which "
              "half of its files holds what?"),
    answer_name="directions",
    checker=check_directions,
    solution='directions = {"facades": "BtoA", "maps": "AtoB", "edges2shoes": "AtoB"}\n',
    wrong=('directions = {"facades": "AtoB", "maps": "AtoB", "edges2shoes": "AtoB"}\n',
           'directions = {"facades": "BtoA", "maps": "BtoA", "edges2shoes": "BtoA"}\n',
           'directions = {"facades": "BtoA", "maps": "AtoB"}\n'),
    explanation=("A is the left half of each file and B the right half; the direction says which one "
                 "is the input. The archives keep the order their authors chose, so the photo can be "
                 "either half: read one file before training (section 2 of this notebook)."),
))


def check_crop_offsets(answer) -> tuple[bool, str]:
    """``answer``: ``(smallest, largest)`` top (or left) offset of the 256x256 crop of a 286x286 image."""
    from pix2pix_tf.config import Pix2PixConfig

    paper = Pix2PixConfig()
    load, size = paper.load_size, paper.image_size  # 286, 256
    try:
        low, high = answer
    except (TypeError, ValueError):
        return False, f"give two numbers, (smallest, largest), not {answer!r}"
    want = (0, load - size)
    if (low, high) == want:
        return True, (f"a {size}-pixel crop fits {load - size + 1} ways in {load} pixels: offsets 0 to "
                      f"{load - size}, in each direction (the crop at {load - size} covers rows "
                      f"{load - size}..{load - 1}, the last row)")
    hints = []
    if low != 0:
        hints.append(f"the smallest offset is not {low}: the crop may start at the very first row")
    if high == load - size + 1:
        hints.append(f"a crop starting at row {high} would need rows {high}..{high + size - 1}, "
                     f"but a {load}-row image ends at row {load - 1}")
    elif high == load - size - 1:
        hints.append(f"a crop starting at row {high + 1} covers rows {high + 1}..{high + size}: "
                     f"still inside the {load} rows (0..{load - 1})")
    elif high != want[1]:
        hints.append(f"the largest offset is not {high}: a crop starting at row r covers rows "
                     f"r..r + {size - 1}, and the image has rows 0..{load - 1}")
    return False, "; ".join(hints)


register(Exercise(
    key="01.crop_offsets",
    question=("The paper resizes to 286x286, then crops 256x256 at a random place. Counting rows "
              "from 0, what is the smallest and the largest row the crop can start at?"),
    answer_name="crop_offsets",
    checker=check_crop_offsets,
    solution="crop_offsets = (0, 30)  # 286 - 256 = 30: 31 possible positions per axis\n",
    wrong=("crop_offsets = (0, 31)\n", "crop_offsets = (0, 29)\n", "crop_offsets = (15, 15)\n",
           "crop_offsets = (0, 256)\n"),
    explanation=("A crop starting at row r covers rows r..r + 255; it fits when r + 255 <= 285, so "
                 "r = 0..30: 31 positions down and 31 across, times 2 for the mirror. The shift of "
                 "up to 30 pixels (about 12 %) is what makes each epoch's crops differ."),
))


def check_scale_to_unit(fn) -> tuple[bool, str]:
    """``fn``: the student's ``scale_to_unit(x)``, compared with :func:`pix2pix_tf.data.normalize`."""
    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.data import normalize

    if not callable(fn):
        return False, "scale_to_unit should be a function: def scale_to_unit(x): return ..."
    x = tf.random.stateless_uniform((2, 8, 8, 3), seed=(1, 4), minval=0.0, maxval=255.0)
    got = np.asarray(fn(x), dtype=np.float64)
    want = normalize(x).numpy().astype(np.float64)
    if got.shape != want.shape:
        return False, f"a batch of shape {tuple(x.shape)} came back with shape {got.shape}: scale every pixel"
    if np.allclose(got, want, atol=1e-5):
        return True, ("x / 127.5 - 1 sends 0 -> -1, 127.5 -> 0 and 255 -> 1, the range of the "
                      "generator's tanh (the library's pix2pix_tf.data.normalize)")
    ends = np.asarray(fn(tf.constant([0.0, 127.5, 255.0])), dtype=np.float64).round(3).tolist()
    return False, (f"scale_to_unit of 0, 127.5 and 255 gives {ends}: it should give [-1.0, 0.0, 1.0] "
                   f"(largest difference to the library on a random batch: {np.abs(got - want).max():.3g})")


register(Exercise(
    key="01.scale_to_unit",
    question=("Write scale_to_unit(x), which maps pixel values in [0, 255] (a float tensor of any "
              "shape) to [-1, 1], the range of the generator's tanh output."),
    answer_name="scale_to_unit",
    checker=check_scale_to_unit,
    solution=("def scale_to_unit(x):\n"
              "    return x / 127.5 - 1.0  # 0 -> -1, 127.5 -> 0, 255 -> 1\n"),
    wrong=("def scale_to_unit(x):\n    return x / 255.0\n",
           "def scale_to_unit(x):\n    return x / 127.5 + 1.0\n",
           "def scale_to_unit(x):\n    return (x - 127.5) / 255.0\n",
           "scale_to_unit = 2.0\n"),
    explanation=("A straight line through (0, -1) and (255, 1): slope 2 / 255 = 1 / 127.5, offset -1. "
                 "The pipeline applies it last (after the jitter), and pix2pix_tf.data.to_uint8 undoes "
                 "it for display."),
))
