"""Exercises of notebook 09, the recipes: which direction a dataset needs, the identity
baseline's L1, and the colorize degradation written by hand."""

from __future__ import annotations

import functools

from . import Exercise, register

# ------------------------------------------------------------------ 09.which_direction
DIRECTION_CASES = {
    "gray_half": "which half of a colorize file make_pairs writes holds the gray image: \"left\" or \"right\"",
    "colorize": "the direction that trains gray -> colour on those files",
    "photo_to_edges": ("the direction that trains photo -> line drawing (an edge detector) on the "
                       "files of the edges recipe"),
}


@functools.lru_cache(maxsize=1)
def recipe_layout() -> dict[str, str]:
    """Where make_pairs puts the degraded image, read from a pair it writes.

    One random colour photo goes through ``make_pairs("colorize", ...)``; its A|B file is
    loaded with :func:`pix2pix_tf.data.load_pair_file` in both directions, and the one whose
    input has (nearly) equal colour channels (gray) is the direction from degraded to photo.

    Returns:
        ``{"gray_half": "left" | "right", "degraded_to_photo": "AtoB" | "BtoA"}``.
    """
    import tempfile
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.data import load_pair_file
    from pix2pix_tf.datasets.recipes import make_pairs

    rng = np.random.default_rng(3)
    photo = np.repeat(np.repeat(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), 8, 0), 8, 1)  # colour blocks
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "photos", Path(tmp) / "pairs"
        src.mkdir()
        (src / "photo.png").write_bytes(tf.io.encode_png(photo).numpy())
        make_pairs("colorize", src, out, size=32, val_fraction=0.0, test_fraction=0.0, verbose=0,
                   workers=1)
        (path,) = sorted((out / "train").iterdir())
        spread = {}
        for direction in ("AtoB", "BtoA"):
            config = Pix2PixConfig(image_size=32, load_size=32, direction=direction)
            x, _ = load_pair_file(path, config)  # (32, 32, 3) in [-1, 1]: the input half
            spread[direction] = float(tf.reduce_mean(tf.reduce_max(x, -1) - tf.reduce_min(x, -1)))
    direction = min(spread, key=spread.get)  # the input whose channels agree: gray
    return {"gray_half": "left" if direction == "AtoB" else "right", "degraded_to_photo": direction}


def expected_directions() -> dict[str, str]:
    layout = recipe_layout()
    forward = layout["degraded_to_photo"]
    return {"gray_half": layout["gray_half"], "colorize": forward,
            "photo_to_edges": "BtoA" if forward == "AtoB" else "AtoB"}


def check_directions(answer) -> tuple[bool, str]:
    """``answer``: ``{"gray_half": "left"|"right", "colorize": d, "photo_to_edges": d}``."""
    if not isinstance(answer, dict) or set(answer) != set(DIRECTION_CASES):
        return False, f"give a dict with the keys {', '.join(repr(k) for k in DIRECTION_CASES)}"
    if answer["gray_half"] not in ("left", "right"):
        return False, f'"gray_half" is "left" or "right", not {answer["gray_half"]!r}'
    bad = [answer[k] for k in ("colorize", "photo_to_edges") if answer[k] not in ("AtoB", "BtoA")]
    if bad:
        return False, f'a direction is "AtoB" or "BtoA", not {bad[0]!r}'
    want = expected_directions()
    if answer == want:
        return True, ("make_pairs writes every recipe the same way: A = the degraded image on the left, "
                      "B = the photo on the right. Undoing the degradation reads A first (AtoB); "
                      "learning the degradation itself, such as drawing edges, reads B first (BtoA)")
    if answer["gray_half"] != want["gray_half"]:
        return False, ("gray_half: the section on make_pairs says where it puts the degraded image A "
                       "(the written files are shown there too)")
    if answer["colorize"] != want["colorize"]:
        return False, ("colorize: the input is the gray half you named; AtoB takes the left half as the "
                       "input, BtoA the right half")
    return False, ("photo_to_edges: the edges recipe writes the drawing as A, like every recipe, and the "
                   "photo as B; here the photo is the input")


register(Exercise(
    key="09.which_direction",
    question=("For the files make_pairs writes, give: " + "; ".join(f'"{k}": {v}' for k, v in
                                                                   DIRECTION_CASES.items())
              + ". A direction is \"AtoB\" (the left half A is the input) or \"BtoA\"."),
    answer_name="directions",
    checker=check_directions,
    solution=("# make_pairs: A (left) = the degraded photo, B (right) = the photo\n"
              "# gray -> colour reads A first: AtoB; photo -> edges reads B first: BtoA\n"
              'directions = {"gray_half": "left", "colorize": "AtoB", "photo_to_edges": "BtoA"}\n'),
    wrong=('directions = {"gray_half": "right", "colorize": "AtoB", "photo_to_edges": "BtoA"}\n',
           'directions = {"gray_half": "left", "colorize": "BtoA", "photo_to_edges": "BtoA"}\n',
           'directions = {"gray_half": "left", "colorize": "AtoB", "photo_to_edges": "AtoB"}\n',
           'directions = {"gray_half": "A", "colorize": "AtoB", "photo_to_edges": "BtoA"}\n',
           'directions = "AtoB"\n'),
    explanation=("`direction` says which half of an aligned file is the input: AtoB the left half A, "
                 "BtoA the right half B. Every recipe of make_pairs puts the degraded image on the "
                 "left, so undoing a degradation is AtoB and learning one (photo -> edges, a learned "
                 "filter) is BtoA on the same files. The standard archives are not all laid out alike "
                 "(notebook 01): check one file before training."),
))


# ------------------------------------------------------------------ 09.identity_baseline
def check_identity_l1(fn) -> tuple[bool, str]:
    """``fn(a, b)``: the L1 of A taken as the prediction of B, in the [-1, 1] units of the metrics."""
    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.data import normalize
    from pix2pix_tf.metrics import image_metrics

    if not callable(fn):
        return False, "identity_l1 should be a function: def identity_l1(a, b): ..."
    rng = np.random.default_rng(11)
    b = rng.uniform(0, 255, (16, 16, 3)).astype("float32")
    a = np.clip(b + rng.normal(0, 40, b.shape), 0, 255).astype("float32")  # a noisy copy
    want = float(image_metrics(normalize(tf.constant(b))[None], normalize(tf.constant(a))[None])["l1"][0])
    try:
        got = float(np.asarray(fn(tf.constant(a), tf.constant(b))))
        same = float(np.asarray(fn(tf.constant(b), tf.constant(b))))
    except (TypeError, ValueError) as error:
        return False, f"identity_l1(a, b) should return one number: {error}"
    if abs(got - want) <= 1e-4 * max(1.0, abs(want)) and abs(same) < 1e-6:
        return True, (f"{got:.4f} for this noisy pair, 0 for A = B: the score a model must beat "
                      "(lower is better)")
    mean_abs = float(np.mean(np.abs(a - b)))
    if abs(got - mean_abs) < 1e-3 * mean_abs:
        return False, (f"{got:.2f} is in gray levels; the metrics (and the loss) work on images in "
                       "[-1, 1]: divide the difference by 127.5")
    if abs(got - want / 2) < 1e-4:
        return False, f"{got:.4f} is half the right value: [0, 1] units; the metrics use [-1, 1] (divide by 127.5)"
    if abs(got - float(np.mean(a - b)) / 127.5) < 1e-4:
        return False, "take the absolute difference: positive and negative errors must not cancel"
    return False, (f"identity_l1 gives {got:.4f}, the L1 of A as the prediction is {want:.4f}: the mean of "
                   "|A - B| over all pixels and channels, with both images in [-1, 1]")


register(Exercise(
    key="09.identity_baseline",
    question=("Doing nothing is the baseline a recipe must beat: take the degraded input A as the "
              "prediction of the photo B. Write identity_l1(a, b) for two (H, W, 3) images in [0, 255] "
              "that returns this L1 in the units of pix2pix_tf.metrics (images in [-1, 1])."),
    answer_name="identity_l1",
    checker=check_identity_l1,
    solution=("import tensorflow as tf\n\n\n"
              "def identity_l1(a, b):\n"
              "    # both to [-1, 1] (x / 127.5 - 1), then the mean absolute difference\n"
              "    a, b = tf.cast(a, tf.float32) / 127.5 - 1.0, tf.cast(b, tf.float32) / 127.5 - 1.0\n"
              "    return float(tf.reduce_mean(tf.abs(a - b)))\n"),
    wrong=("import numpy as np\n\n\n"
           "def identity_l1(a, b):\n"
           "    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))\n",
           "import numpy as np\n\n\n"
           "def identity_l1(a, b):\n"
           "    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b)))) / 255.0\n",
           "import numpy as np\n\n\n"
           "def identity_l1(a, b):\n"
           "    return float(np.mean(np.asarray(a) - np.asarray(b))) / 127.5\n",
           "identity_l1 = 0.1\n"),
    explanation=("A degraded photo is already close to the photo: a noisy or gray copy has a small L1. "
                 "Comparing a model with that input, scored the same way on the same test pairs, says "
                 "what the model adds; comparing it with zero or with another dataset's numbers does "
                 "not. In [-1, 1] units an L1 of 0.1 is about 13 gray levels."),
))


# ------------------------------------------------------------------ 09.degrade
def check_to_gray(fn) -> tuple[bool, str]:
    """``fn(photo)``: compared with ``degrade("colorize", photo, seed=0)`` on a random photo."""
    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.datasets.degradations import degrade

    if not callable(fn):
        return False, "to_gray should be a function: def to_gray(photo): ..."
    rng = np.random.default_rng(5)
    photo = tf.constant(rng.uniform(0, 255, (12, 12, 3)).astype("float32"))
    want = degrade("colorize", photo, seed=0).numpy()  # (12, 12, 3)
    got = np.asarray(fn(photo), dtype="float32")
    if got.shape == (12, 12, 1):
        return False, ("one channel: the files store the gray image as RGB (the three channels equal), "
                       "so repeat it 3 times (tf.tile or tf.image.grayscale_to_rgb)")
    if got.shape != want.shape:
        return False, f"give an (H, W, 3) image like the photo; yours has shape {got.shape}"
    if np.allclose(got, want, atol=0.5):
        return True, ("the same A as degrade('colorize', ...): 0.299 R + 0.587 G + 0.114 B in each of "
                      "the three channels, still in [0, 255]")
    if np.allclose(got, photo.numpy(), atol=0.5):
        return False, "that is the photo itself: the input of colorize is its gray version"
    if np.allclose(got, np.repeat(photo.numpy().mean(-1, keepdims=True), 3, -1), atol=0.5):
        return False, ("the plain mean of R, G, B is not the gray the eye sees: green counts most "
                       "(0.299 R + 0.587 G + 0.114 B, what tf.image.rgb_to_grayscale computes)")
    if np.allclose(got * 255.0, want, atol=1.0) or np.allclose(got * 127.5 + 127.5, want, atol=1.0):
        return False, "keep the photo's range [0, 255]: degrade works on gray levels"
    return False, (f"your gray differs from the library's by up to {np.abs(got - want).max():.1f} gray "
                   "levels: weight the channels 0.299, 0.587, 0.114 and copy the result to all three")


register(Exercise(
    key="09.degrade",
    question=("Write to_gray(photo): the A of the colorize recipe for a (H, W, 3) photo in [0, 255], "
              "a gray image stored in 3 equal channels, still in [0, 255]. It is checked against "
              "degrade(\"colorize\", photo, seed=0) on a random photo."),
    answer_name="to_gray",
    checker=check_to_gray,
    solution=("import tensorflow as tf\n\n\n"
              "def to_gray(photo):\n"
              "    gray = tf.image.rgb_to_grayscale(tf.cast(photo, tf.float32))  # (H, W, 1): .299 R + .587 G + .114 B\n"
              "    return tf.tile(gray, [1, 1, 3])  # (H, W, 3), the three channels equal\n"),
    wrong=("import tensorflow as tf\n\n\n"
           "def to_gray(photo):\n"
           "    return tf.image.rgb_to_grayscale(tf.cast(photo, tf.float32))\n",
           "import tensorflow as tf\n\n\n"
           "def to_gray(photo):\n"
           "    return tf.tile(tf.reduce_mean(tf.cast(photo, tf.float32), -1, keepdims=True), [1, 1, 3])\n",
           "def to_gray(photo):\n    return photo\n",
           "import tensorflow as tf\n\n\n"
           "def to_gray(photo):\n"
           "    return tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(tf.cast(photo, tf.float32) / 255.0))\n"),
    explanation=("Gray is a weighted sum of the channels, weighted by how bright each colour looks "
                 "(ITU-R BT.601: 0.299, 0.587, 0.114). The model's input layer expects 3 channels, so "
                 "the recipe copies the gray value into all three; with gray_channels=1 (on the fly) it "
                 "keeps one and you train with input_channels=1."),
))
