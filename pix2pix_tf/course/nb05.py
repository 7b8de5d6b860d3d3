"""Exercises of notebook 05, looking at the results: inference modes, dropout as noise, PSNR."""

from __future__ import annotations

from . import Exercise, register

_MODES = ("deterministic", "paper", "moving_average")


# ---------------------------------------------------------------- 05.repeatable_modes
def _check_repeatable_modes(answer):
    if isinstance(answer, str):
        answer = {answer}
    names = {str(a) for a in answer}
    unknown = names - set(_MODES)
    if unknown:
        return False, f"{', '.join(sorted(unknown))}: not a mode; the modes are {', '.join(_MODES)}"
    if "paper" in names:
        return False, ("'paper' keeps dropout on (a new mask at every call) and normalises with the "
                       "statistics of the test batch, so neither twice the same nor batch-independent")
    if names == {"deterministic"}:
        return False, ("'deterministic' is one; another mode has no randomness and fixed statistics "
                       "too, it is only a bad one")
    if names == {"moving_average"}:
        return False, "'moving_average' is one; the package's default is another"
    if names == {"deterministic", "moving_average"}:
        return True, ("both turn dropout off and normalise without looking at the batch: "
                      "'deterministic' with each image's own statistics (as training did at batch "
                      "size 1), 'moving_average' with the moving averages, which are repeatable but "
                      "wrong for a model trained at batch size 1: the washed-out images above")
    return False, "name the modes (a set of strings) that give the same output for the same input"


register(Exercise(
    key="05.repeatable_modes",
    question=("Which inference modes give the same output for the same input, every time and "
              "whatever its batch mates? Give a set of mode names, out of 'deterministic', "
              "'paper' and 'moving_average'."),
    answer_name="repeatable_modes",
    checker=_check_repeatable_modes,
    solution='repeatable_modes = {"deterministic", "moving_average"}\n',
    wrong=('repeatable_modes = {"deterministic"}\n',
           'repeatable_modes = {"deterministic", "paper"}\n',
           'repeatable_modes = {"paper", "deterministic", "moving_average"}\n'),
    explanation=("pix2pix_tf.layers.MODE_TABLE: paper = (batch statistics, dropout on), "
                 "deterministic = (per-image statistics, dropout off), moving_average = (moving "
                 "averages, dropout off). Only the first has randomness or batch dependence."),
))


# ---------------------------------------------------------------- 05.dropout_at_test
def _check_dropout_at_test(answer):
    if not isinstance(answer, bool):
        return False, "answer True or False"
    if answer:
        return True, ("the paper applies dropout at test time as its only source of noise "
                      "(section 3.3: the generator runs 'in exactly the same manner as during the "
                      "training phase'); set_inference_mode(model, 'paper') does that")
    return False, ("most networks switch dropout off at test time, but pix2pix has no noise vector z: "
                   "dropout is its noise, and the paper keeps it (section 3.3)")


register(Exercise(
    key="05.dropout_at_test",
    question="Does the paper keep dropout on at test time? True or False.",
    answer_name="paper_keeps_dropout",
    checker=_check_dropout_at_test,
    solution="paper_keeps_dropout = True  # dropout as noise, also at test time (section 3.3)\n",
    wrong=("paper_keeps_dropout = False\n", 'paper_keeps_dropout = "yes"\n'),
    explanation=("The samples drawn in section 3 differ only a little: the paper calls it 'only "
                 "minor stochasticity'. This package's default ('deterministic') turns it off."),
))


# ------------------------------------------------------------------------- 05.psnr
def _check_psnr(answer):
    import numpy as np
    import tensorflow as tf

    from ..metrics import image_metrics

    if not callable(answer):
        return False, "write a function psnr(a, b)"
    rng = np.random.default_rng(5)
    for noise in (0.05, 0.3, 1.0):
        a = rng.uniform(-1, 1, (3, 16, 16, 3)).astype(np.float32)  # SSIM needs >= 11 px
        b = np.clip(a + rng.normal(0, noise, a.shape), -1, 1).astype(np.float32)
        want = image_metrics(tf.constant(a), tf.constant(b))["psnr"].numpy()
        got = answer(tf.constant(a), tf.constant(b))
        got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
        if got.shape != want.shape:
            return False, (f"for a batch of 3 images give 3 values, one per image, shape (3,); got shape "
                           f"{got.shape} (average over the pixels of each image: axis=[1, 2, 3])")
        if np.allclose(got, want, atol=1e-3):
            continue
        diff = float(np.mean(got - want))
        if abs(diff + 20 * np.log10(2)) < 0.01:
            return False, ("6.02 dB too low: the peak of [-1, 1] images is not 1. Map both to [0, 1] "
                           "first ((x + 1) / 2) and use the peak 1, as pix2pix_tf.metrics does")
        if np.allclose(got, 2 * want, rtol=1e-3):
            return False, "PSNR = 10 * log10(peak^2 / MSE): 10, not 20, when you divide by the MSE"
        return False, (f"for noise of std {noise}: got {np.round(got, 3).tolist()}, expected "
                       f"{np.round(want, 3).tolist()} dB; PSNR = 10 * log10(1 / MSE) of the [0, 1] images")
    return True, ("it matches pix2pix_tf.metrics.image_metrics(...)['psnr'] (tf.image.psnr on the "
                  "images mapped to [0, 1], peak 1). Each halving of the error adds about 6 dB.")


register(Exercise(
    key="05.psnr",
    question=("Write psnr(a, b) for batches of images (batch, H, W, C) in [-1, 1]: the PSNR in dB of "
              "each image pair, as the test metrics report it (the images mapped to [0, 1], peak "
              "value 1). Return one value per image."),
    answer_name="psnr",
    checker=_check_psnr,
    solution=("import tensorflow as tf\n\n"
              "def psnr(a, b):\n"
              "    a01 = (tf.cast(a, tf.float32) + 1.0) / 2.0  # [-1, 1] -> [0, 1]\n"
              "    b01 = (tf.cast(b, tf.float32) + 1.0) / 2.0\n"
              "    mse = tf.reduce_mean(tf.square(a01 - b01), axis=[1, 2, 3])  # (batch,)\n"
              "    return 10.0 * tf.math.log(1.0 / mse) / tf.math.log(10.0)  # peak 1: 10 log10(1 / MSE)\n"),
    wrong=("import numpy as np\n\n"
           "def psnr(a, b):\n"
           "    mse = np.mean((np.asarray(a) - np.asarray(b)) ** 2, axis=(1, 2, 3))  # [-1, 1], peak 1\n"
           "    return 10 * np.log10(1 / mse)\n",
           "import numpy as np\n\n"
           "def psnr(a, b):\n"
           "    a01, b01 = (np.asarray(a) + 1) / 2, (np.asarray(b) + 1) / 2\n"
           "    return 10 * np.log10(1 / np.mean((a01 - b01) ** 2))  # one value for the whole batch\n",
           "import numpy as np\n\n"
           "def psnr(a, b):\n"
           "    a01, b01 = (np.asarray(a) + 1) / 2, (np.asarray(b) + 1) / 2\n"
           "    return 20 * np.log10(1 / np.mean((a01 - b01) ** 2, axis=(1, 2, 3)))\n"),
    explanation=("tf.image.psnr(a01, b01, max_val=1.0) computes the same. PSNR rewards small "
                 "pixel errors, so blurry L1-only outputs often score well: look at the images too."),
))
