"""Exercises of notebook 07, the ablations: the ends of the lambda sweep, what each patch size
of D can judge, and the sharpness score written by hand."""

from __future__ import annotations

import re

from . import Exercise, register

# ------------------------------------------------------------------ 07.lambda_extremes
# the choices the notebook lists (the letters are the answer)
LAMBDA_CHOICES = {
    "a": "blurry, grayish where the model is unsure: close to what L1 alone gives",
    "b": "sharp, textured outputs whose colours and shapes drift from the input, with artefacts",
    "c": "the same images as lambda = 100: the weight only rescales the loss",
    "d": "training breaks down: the losses become NaN",
}
LAMBDA_EXTREMES = {0: "b", 1000: "a"}


def _lambda_key(key) -> int | None:
    try:
        value = float(key)
    except (TypeError, ValueError):
        return None
    return int(value) if value in (0, 1000) else None


def check_lambda_extremes(answer) -> tuple[bool, str]:
    """``answer``: ``{0: letter, 1000: letter}``, letters of :data:`LAMBDA_CHOICES`."""
    if not isinstance(answer, dict):
        return False, 'give a dict {0: "x", 1000: "y"} with one letter of a-d for each lambda'
    got = {_lambda_key(k): str(v).strip().lower().strip("()") for k, v in answer.items()}
    if set(got) != {0, 1000}:
        return False, f'give exactly the two keys 0 and 1000, not {sorted(answer, key=str)}'
    if any(v not in LAMBDA_CHOICES for v in got.values()):
        return False, f"the answers are letters of {', '.join(LAMBDA_CHOICES)}, not {answer!r}"
    if got == LAMBDA_EXTREMES:
        return True, ("lambda = 0 leaves G only the cGAN term: D rewards whatever looks real, sharp but "
                      "not tied to the target (the paper's 'cGAN alone' row); at 1000 the L1 term "
                      "outweighs the GAN term and G averages: blurry, like L1 alone")
    if got == {0: "a", 1000: "b"}:
        return False, ("swapped: lambda multiplies the L1 term. At 0 there is no L1 term at all; at "
                       "1000 it outweighs the GAN term")
    if "c" in got.values():
        return False, ("lambda does more than rescale: it sets the mix of the two gradients G follows "
                       "(equation 4), so the images change; the table of this section differs row by row")
    if "d" in got.values():
        return False, ("nothing diverges: lambda = 0 is the paper's cGAN-alone run of table 1, and 1000 "
                       "still trains (Adam normalises the step size)")
    wrong = [lam for lam in (0, 1000) if got[lam] != LAMBDA_EXTREMES[lam]]
    lam = wrong[0]
    what = ("there is no L1 term: what does D reward, and what ties G to the target?" if lam == 0 else
            "the L1 term counts 1000 times: which of the two terms drives G?")
    return False, f"lambda = {lam} is not right yet: {what}"


register(Exercise(
    key="07.lambda_extremes",
    question=("Equation 4 is G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G). What do lambda = 0 and "
              "lambda = 1000 give? Choose for each: (a) " + LAMBDA_CHOICES["a"] + "; (b) "
              + LAMBDA_CHOICES["b"] + "; (c) " + LAMBDA_CHOICES["c"] + "; (d) " + LAMBDA_CHOICES["d"]
              + ". Answer a dict {0: letter, 1000: letter}."),
    answer_name="extremes",
    checker=check_lambda_extremes,
    solution=("# lambda = 0: the cGAN term alone (sharp, but nothing ties G to the target's colours)\n"
              "# lambda = 1000: the L1 term dominates (the L1-optimal answer is an average: blurry)\n"
              'extremes = {0: "b", 1000: "a"}\n'),
    wrong=('extremes = {0: "a", 1000: "b"}\n', 'extremes = {0: "b", 1000: "c"}\n',
           'extremes = {0: "d", 1000: "a"}\n', 'extremes = {0: "b"}\n', 'extremes = "b, a"\n'),
    explanation=("L1 alone is minimised by the median of the plausible outputs: where the model is "
                 "unsure it paints a blurry average. The cGAN term alone rewards outputs D cannot tell "
                 "from real ones, which are sharp, but nothing pulls them towards the target (the paper "
                 "sees artefacts and colours off the input). lambda weighs the two; 100 is the paper's "
                 "balance, and 1000 is L1 with a little GAN: close to L1 alone."),
))


# ------------------------------------------------------------------ 07.patch_for_texture
# what each receptive field of the patch ablation can judge (Isola et al. 2017, section 4.4)
PATCH_ROLES = {"colour only": 1, "tiling artefacts": 16, "whole image": 286}


def _field(value) -> int | None:
    """A receptive field from 16, "16", "16x16" or a PATCH_ABLATION label such as "1x1 (PixelGAN)"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    match = re.match(r"\s*(\d+)", str(value))
    return int(match.group(1)) if match else None


def check_patch_roles(answer) -> tuple[bool, str]:
    """``answer``: ``{"colour only": field, "tiling artefacts": field, "whole image": field}``."""
    if not isinstance(answer, dict) or set(answer) != set(PATCH_ROLES):
        return False, f"give a dict with the keys {', '.join(repr(k) for k in PATCH_ROLES)}"
    got = {role: _field(v) for role, v in answer.items()}
    if got == PATCH_ROLES:
        return True, ("a 1x1 D sees one pixel (and its input pixel): it can push colours, not "
                      "sharpness; 16x16 judges texture and tiles it; 286x286 is larger than a "
                      "256x256 image (the paper's ImageGAN)")
    if got["colour only"] != 1:
        return False, ("'colour only': a D that cannot compare neighbouring pixels cannot judge "
                       "texture or sharpness: which one looks at a single pixel?")
    if got["whole image"] == 256:
        return False, ("'whole image': no D of the ablation has a 256x256 window; the one whose window "
                       "covers a 256x256 image is bigger than it (padding reaches past the border)")
    if got["whole image"] != 286:
        return False, "'whole image': which window is at least as large as the 256x256 image?"
    return False, ("'tiling artefacts': the paper sees repeating texture at the scale of the patch "
                   "with the smallest PatchGAN that judges texture, not with its default")


register(Exercise(
    key="07.patch_for_texture",
    question=("The patch ablation's discriminators see windows of 1, 16, 70 and 286 pixels. Which one "
              "(a) can judge only colour, not texture or sharpness; (b) makes sharp outputs with tiling "
              "artefacts, according to the paper; (c) sees the whole 256x256 image? Answer a dict "
              '{"colour only": ..., "tiling artefacts": ..., "whole image": ...} of window sizes.'),
    answer_name="patches",
    checker=check_patch_roles,
    solution=('patches = {"colour only": 1,        # the 1x1 PixelGAN\n'
              '           "tiling artefacts": 16,  # the 16x16 PatchGAN\n'
              '           "whole image": 286}      # the 286x286 "ImageGAN"\n'),
    wrong=('patches = {"colour only": 16, "tiling artefacts": 70, "whole image": 286}\n',
           'patches = {"colour only": 1, "tiling artefacts": 16, "whole image": 256}\n',
           'patches = {"colour only": 1, "tiling artefacts": 70, "whole image": 286}\n',
           'patches = {"colour only": "1x1 (PixelGAN)", "tiling artefacts": "16x16"}\n'),
    explanation=("Section 4.4: the 1x1 PixelGAN has no effect on spatial sharpness but makes colours "
                 "more vivid; the 16x16 PatchGAN is sharp but tiles; 70x70 is the paper's choice; the "
                 "286x286 ImageGAN sees more than the whole 256x256 image and scores lower. A D only "
                 "models what falls in its window: colour at 1x1, texture and style above it."),
))


# ------------------------------------------------------------------ 07.sharpness
def _sharpness_variants(images):
    """The library's sharpness and the usual near misses, as numpy arrays of shape (batch,)."""
    import numpy as np
    import tensorflow as tf

    def grad_length(x, abs_sum=False):
        dy, dx = tf.image.image_gradients(x)
        g = tf.abs(dy) + tf.abs(dx) if abs_sum else tf.sqrt(dy ** 2 + dx ** 2)
        return tf.reduce_mean(g, axis=[1, 2, 3]).numpy()

    x = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    unit = (x + 1.0) / 2.0
    gray = tf.image.rgb_to_grayscale(unit)
    return {"right": grad_length(gray),
            "not scaled to [0, 1]": grad_length(tf.image.rgb_to_grayscale(x)),
            "colour channels, no gray": grad_length(unit),
            "|dx| + |dy|": grad_length(gray, abs_sum=True),
            "cropped": np.asarray([float(tf.reduce_mean(tf.sqrt(
                (g[1:, :-1] - g[:-1, :-1]) ** 2 + (g[:-1, 1:] - g[:-1, :-1]) ** 2))) for g in gray])}


def check_sharpness(fn) -> tuple[bool, str]:
    """``fn(images)``: compared with :func:`pix2pix_tf.course.ablations.sharpness` on random images."""
    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.course.ablations import sharpness

    if not callable(fn):
        return False, "my_sharpness should be a function: def my_sharpness(images): ..."
    rng = np.random.default_rng(7)
    noise = rng.uniform(-1, 1, (2, 24, 24, 3)).astype("float32")
    smooth = tf.nn.avg_pool2d(noise, 5, strides=1, padding="SAME").numpy()
    images = tf.constant(np.concatenate([noise, smooth, np.zeros((1, 24, 24, 3), "float32")]))
    want = sharpness(images).numpy()
    got = np.asarray(fn(images), dtype="float64")
    if got.shape != want.shape:
        return False, (f"give one number per image, shape {want.shape}; yours has shape {got.shape} "
                       "(average over the height, width and channel axes only)")
    if np.allclose(got, want, rtol=1e-3, atol=1e-6):
        return True, (f"the same as the library's sharpness on 5 images (e.g. {want[0]:.4f} for noise, "
                      f"{want[2]:.4f} for its blurred copy, 0 for a flat image)")
    for name, values in _sharpness_variants(images).items():
        if name != "right" and np.allclose(got, values, rtol=1e-3, atol=1e-6):
            return False, {
                "not scaled to [0, 1]": "twice too large: map [-1, 1] to [0, 1] first, (x + 1) / 2",
                "colour channels, no gray": ("you measured each colour channel: turn the images to "
                                             "gray first (tf.image.rgb_to_grayscale)"),
                "|dx| + |dy|": "use the length of the gradient, sqrt(dy**2 + dx**2), not |dy| + |dx|",
                "cropped": ("the library keeps every pixel: the differences are 0 on the last row and "
                            "column (as tf.image.image_gradients returns them), and the mean is over H x W"),
            }[name]
    return False, (f"your values {np.round(got[:3], 4)} differ from the library's {np.round(want[:3], 4)}: "
                   "gray in [0, 1], differences to the next pixel down and right, the length of that "
                   "gradient averaged over each image")


register(Exercise(
    key="07.sharpness",
    question=("Write my_sharpness(images): for (batch, H, W, 3) images in [-1, 1], map them to [0, 1], "
              "turn them to gray, take the differences to the next pixel down and to the right (0 on "
              "the last row and column: tf.image.image_gradients), and average the length of that "
              "gradient over each image. Return one number per image."),
    answer_name="my_sharpness",
    checker=check_sharpness,
    solution=("import tensorflow as tf\n\n\n"
              "def my_sharpness(images):\n"
              "    x = (tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0) + 1.0) / 2.0  # [0, 1]\n"
              "    gray = tf.image.rgb_to_grayscale(x)  # (batch, H, W, 1)\n"
              "    dy, dx = tf.image.image_gradients(gray)  # to the next pixel down / right\n"
              "    return tf.reduce_mean(tf.sqrt(dy ** 2 + dx ** 2), axis=[1, 2, 3])  # (batch,)\n"),
    wrong=("import tensorflow as tf\n\n\n"
           "def my_sharpness(images):\n"
           "    dy, dx = tf.image.image_gradients(tf.image.rgb_to_grayscale(images))\n"
           "    return tf.reduce_mean(tf.sqrt(dy ** 2 + dx ** 2), axis=[1, 2, 3])\n",
           "import tensorflow as tf\n\n\n"
           "def my_sharpness(images):\n"
           "    dy, dx = tf.image.image_gradients((images + 1.0) / 2.0)\n"
           "    return tf.reduce_mean(tf.sqrt(dy ** 2 + dx ** 2), axis=[1, 2, 3])\n",
           "import tensorflow as tf\n\n\n"
           "def my_sharpness(images):\n"
           "    dy, dx = tf.image.image_gradients(tf.image.rgb_to_grayscale((images + 1.0) / 2.0))\n"
           "    return tf.reduce_mean(tf.abs(dy) + tf.abs(dx), axis=[1, 2, 3])\n",
           "import tensorflow as tf\n\n\n"
           "def my_sharpness(images):\n"
           "    dy, dx = tf.image.image_gradients(tf.image.rgb_to_grayscale((images + 1.0) / 2.0))\n"
           "    return tf.reduce_mean(tf.sqrt(dy ** 2 + dx ** 2))\n",
           "my_sharpness = 0.05\n"),
    explanation=("A blurred image changes little from one pixel to the next, so its mean gradient is "
                 "small; a flat image scores 0; one-pixel stripes (checkerboard artefacts) score high. "
                 "That is why the tables put each variant's sharpness next to the real targets': L1 "
                 "alone scores below them (blurry), a GAN term near or above them."),
))
