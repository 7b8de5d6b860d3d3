"""Exercises of notebook 08, when GANs go wrong: diagnose from symptoms, the checkerboard's
periods, and a measure of outputs that ignore their inputs."""

from __future__ import annotations

from . import Exercise, register

# the failures of the notebook, by the letter of their section
FAILURES = {
    "a": "D overpowering G",
    "b": "no L1 term (cGAN only)",
    "c": "checkerboard from transposed convolutions",
    "d": "moving-average BatchNorm at test time",
    "e": "ignoring the input (mode collapse)",
}
# symptom number -> (the right letter, why)
SYMPTOMS = {
    1: ("a", "D's loss near 0 and G's GAN term climbing: D wins every round, so G's "
             "gradient says little (D overpowering G)"),
    2: ("e", "the same picture whatever the input: G has stopped using its input "
             "(mode collapse; nothing in the loss ties the output to the input)"),
    3: ("d", "fine in the training snapshots but flat and grey when served one image at a "
             "time: BatchNorm's moving averages replace each image's own statistics"),
    4: ("c", "a regular grid with a 2-pixel period, bright dots at the corners of the "
             "spectrum: the transposed convolutions' uneven sub-kernels"),
    5: ("b", "sharp but with colour blotches and textures that are not in the input, and a "
             "high L1: nothing pulls the colours towards the target (no L1)"),
}


def _check_diagnoses(answer):
    if not isinstance(answer, dict):
        return False, "give a dict {symptom number: letter}, e.g. {1: 'a', 2: 'b', ...}"
    missing = sorted(set(SYMPTOMS) - set(answer))
    if missing:
        return False, f"symptom(s) {missing} have no diagnosis yet: answer all five"
    wrong = []
    for number, (letter, _) in SYMPTOMS.items():
        given = str(answer[number]).strip().lower().strip("()")
        if given != letter:
            wrong.append(number)
    if wrong:
        return False, (f"symptom(s) {wrong} point elsewhere; re-read each section's Symptom cell "
                       "(the letters: " + ", ".join(f"{k} = {v}" for k, v in FAILURES.items()) + ")")
    return True, "; ".join(f"{n}: {why}" for n, (_, why) in SYMPTOMS.items())


register(Exercise(
    key="08.diagnose",
    question="Five symptoms seen in real runs: which failure (a-e) causes each?",
    answer_name="diagnoses",
    checker=_check_diagnoses,
    solution='diagnoses = {1: "a", 2: "e", 3: "d", 4: "c", 5: "b"}\n',
    wrong=('diagnoses = {1: "e", 2: "a", 3: "d", 4: "c", 5: "b"}\n',
           'diagnoses = {1: "a", 2: "e", 3: "c", 4: "d", 5: "b"}\n',
           'diagnoses = {1: "a", 2: "e"}\n',
           'diagnoses = "a"\n'),
    explanation="\n".join(f"{n}. {why}" for n, (_, why) in SYMPTOMS.items()),
))


def _check_periods(answer):
    try:
        periods = {int(p) for p in answer}
        if any(float(p) != int(p) for p in answer):
            raise ValueError
    except (TypeError, ValueError):
        return False, "give the periods as a set of whole numbers of pixels, e.g. {3, 5}"
    if periods == {2, 4, 8}:
        return True, ("the last layer computes even and odd pixels with different weights: "
                      "period 2; the pattern the layer before left (period 2 at 32x32) is "
                      "stretched to period 4 by the last upsampling, and the first one's to 8")
    if periods == {2}:
        return False, ("period 2 is the last layer's; the earlier layers left theirs too, "
                       "and each later upsampling stretches a pattern by 2")
    if 1 in periods:
        return False, "a period of 1 pixel is a constant image, not a pattern"
    if 16 in periods or max(periods) > 8:
        return False, ("the first layer works at 8 -> 16: its period-2 pattern is stretched by "
                       "the two upsamplings after it, not three")
    return False, ("each stride-2 transposed conv leaves a period-2 pattern at its own output "
                   "size; what happens to it in the layers after?")


register(Exercise(
    key="08.checkerboard_period",
    question=("A decoder upsamples 8x8 -> 16x16 -> 32x32 -> 64x64 with three 4x4 stride-2 "
              "transposed convolutions. Which periods (in pixels of the 64x64 output) can "
              "their checkerboard patterns have?"),
    answer_name="periods",
    checker=_check_periods,
    solution="periods = {2, 4, 8}\n",
    wrong=("periods = {2}\n", "periods = {4, 8, 16}\n", "periods = {1, 2, 4}\n"),
    explanation=("A stride-2 transposed convolution gives each output pixel one of four "
                 "sub-kernels (2 x 2 of the 4 x 4 weights) by the parity of its row and column: "
                 "unless training makes them agree, the output alternates every pixel (period 2). "
                 "A later upsampling doubles every distance, so an earlier layer's period-2 "
                 "pattern reaches the output with period 4 or 8. The spectrum shows them as "
                 "bright points at 1/2, 1/4 and 1/8 cycles per pixel."),
))


def _check_spread(answer):
    import numpy as np

    if not callable(answer):
        return False, "my_spread should be a function: def my_spread(outputs): ... returning a number"
    rng = np.random.default_rng(8)
    batch = rng.uniform(-1, 1, (5, 6, 7, 3))
    same = np.repeat(batch[:1], 4, axis=0)  # one busy image four times: ignores its input
    expected = float(batch.std(axis=0).mean())
    try:
        got_same = float(answer(same))
        got = float(answer(batch))
    except Exception as e:  # noqa: BLE001 (report any error as a hint)
        return False, f"my_spread(outputs) raised {type(e).__name__}: {e}; it gets a (N, H, W, C) array"
    if abs(got_same) > 1e-6:
        return False, (f"four copies of one image gave {got_same:.3f}, not 0: measure how pixels "
                       "vary *across the batch* (axis 0), not within an image")
    if not np.isclose(got, expected, rtol=1e-4, atol=1e-6):
        hint = (" (that is the std over everything)" if np.isclose(got, batch.std(), rtol=1e-4)
                else "")
        return False, (f"got {got:.4f} on a random batch, expected {expected:.4f}{hint}: the std "
                       "across the batch of each pixel and channel, then the mean of those")
    import tensorflow as tf

    if not np.isclose(float(answer(tf.constant(batch, tf.float32))), expected, rtol=1e-4, atol=1e-6):
        return False, "it should also accept a tf.Tensor (np.asarray(outputs) converts one)"
    return True, (f"{expected:.4f} on a random batch, 0 for four copies of one image; compare "
                  "G's spread with the targets'")


register(Exercise(
    key="08.collapse_metric",
    question=("Write my_spread(outputs): for a batch (N, H, W, C) of G's outputs for N different "
              "inputs, how much they differ from one another (0 when they are all the same)."),
    answer_name="my_spread",
    checker=_check_spread,
    solution=("import numpy as np\n\n\n"
              "def my_spread(outputs):\n"
              "    outputs = np.asarray(outputs, dtype=np.float64)  # (N, H, W, C)\n"
              "    return float(outputs.std(axis=0).mean())  # std across inputs, per pixel; mean\n"),
    wrong=("import numpy as np\nmy_spread = lambda outputs: float(np.asarray(outputs).std())\n",
           "import numpy as np\nmy_spread = lambda o: float(np.asarray(o).std(axis=(1, 2)).mean())\n",
           "my_spread = 0.0\n"),
    explanation=("The std over axis 0 compares the N outputs pixel by pixel: a generator that "
                 "ignores its input gives N (nearly) equal images and a spread near 0, however "
                 "busy each image is. The std of everything would mix in the variation inside "
                 "each image. pix2pix_tf.course.failures.spread_across_inputs is the same measure."),
))
