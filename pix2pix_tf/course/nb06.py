"""Exercises of notebook 06, exporting a SavedModel: what the signatures take and give back."""

from __future__ import annotations

import numbers

from . import Exercise, register


def _pair(answer) -> tuple[float, float]:
    values = tuple(answer)
    if len(values) != 2 or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise TypeError("give two numbers (low, high)")
    return float(values[0]), float(values[1])


# ------------------------------------------------------------------- 06.signature_range
def _check_signature_range(answer):
    low, high = _pair(answer)
    if (low, high) == (-1.0, 1.0):
        return True, ("[-1, 1], the generator's own range (its input is scaled like its tanh output): "
                      "serving_default is the Keras generator, nothing added. translate_uint8 does the "
                      "uint8 conversions for a caller that has ordinary images")
    if (low, high) == (0.0, 255.0):
        return False, "[0, 255] is what translate_uint8 takes (uint8); serving_default takes float32"
    if (low, high) == (0.0, 1.0):
        return False, ("[0, 1] is how plt.imread gives PNG pixels; the generator was trained on images "
                       "scaled like its tanh output")
    return False, "look at what load_pair_file gives the generator in the 'Same numbers' cell"


register(Exercise(
    key="06.signature_range",
    question=("serving_default takes float32 images of the training size. In which value range must "
              "their pixels be? Give (low, high)."),
    answer_name="serving_range",
    checker=_check_signature_range,
    solution="serving_range = (-1.0, 1.0)  # the generator's range: x / 127.5 - 1 for uint8 pixels x\n",
    wrong=("serving_range = (0, 255)\n", "serving_range = (0.0, 1.0)\n"),
    explanation=("A server that feeds [0, 255] floats gets saturated, mostly white outputs without an "
                 "error: the range is part of the contract. The exported `config` signature records "
                 "the image size and direction; the range is fixed by the package."),
))


# ------------------------------------------------------------------ 06.uint8_roundtrip
def _check_to_uint8(answer):
    import numpy as np
    import tensorflow as tf

    from ..data import to_uint8 as reference

    if not callable(answer):
        return False, "write a function to_uint8(y)"
    rng = np.random.default_rng(6)
    edges = np.array([-1.0, 0.0, 1.0, -1.3, 1.3, 0.999, -0.999], np.float32)
    values = np.concatenate([edges, rng.uniform(-1.2, 1.2, 2000).astype(np.float32)])  # 2007 values
    y = values.reshape(1, -1, 1, 3)  # (1, 669, 1, 3): a batch of one tall, thin RGB image
    want = reference(tf.constant(y)).numpy()
    got = answer(tf.constant(y))
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    if got.shape != want.shape:
        return False, f"keep the shape: {want.shape} in, got {got.shape} out"
    if got.dtype != np.uint8:
        return False, f"the result must be uint8 (cast at the end), not {got.dtype}"
    scaled = (y.astype(np.float64) + 1.0) * 127.5
    exact_half = np.isclose(scaled % 1.0, 0.5, atol=1e-4)  # a tie may round either way
    diff = np.abs(got.astype(int) - want.astype(int))
    diff[exact_half & (diff <= 1)] = 0
    if not diff.any():
        return True, ("(y + 1) * 127.5, clipped to [0, 255], rounded, cast to uint8: -1 -> 0, 0 -> 128 "
                      "(127.5 rounds to even), 1 -> 255, and outside [-1, 1] saturates. This is "
                      "pix2pix_tf.data.to_uint8, and the last step of translate_uint8.")
    inside = np.abs(y) <= 1.0
    if not diff[inside].any():
        return False, ("right inside [-1, 1], but values outside (a generator without tanh, or after "
                       "resizing) must saturate at 0 and 255: clip before the cast")
    if (np.all(got[inside] <= want[inside]) and diff[inside].max() <= 1
            and np.mean(diff[inside] > 0) > 0.2):
        return False, "round before the cast: a cast to uint8 truncates (127.9 -> 127)"
    first = int(np.flatnonzero(diff)[0])
    return False, (f"y = {float(y.reshape(-1)[first]):.4f} gave {int(got.reshape(-1)[first])}, expected "
                   f"{int(want.reshape(-1)[first])}: map -1 -> 0 and 1 -> 255, i.e. (y + 1) * 127.5")


register(Exercise(
    key="06.uint8_roundtrip",
    question=("The generator gives float images in [-1, 1] (its tanh); a PNG wants uint8 in "
              "[0, 255]. Write to_uint8(y) for a float32 tensor y: -1 -> 0, 1 -> 255, rounded to "
              "the nearest level, values outside [-1, 1] saturating."),
    answer_name="to_uint8",
    checker=_check_to_uint8,
    solution=("import tensorflow as tf\n\n"
              "def to_uint8(y):\n"
              "    scaled = (tf.cast(y, tf.float32) + 1.0) * 127.5  # [-1, 1] -> [0, 255]\n"
              "    return tf.cast(tf.round(tf.clip_by_value(scaled, 0.0, 255.0)), tf.uint8)\n"),
    wrong=("import tensorflow as tf\n\n"
           "def to_uint8(y):\n"
           "    return tf.cast((y + 1.0) * 127.5, tf.uint8)  # truncates, and wraps outside [-1, 1]\n",
           "import tensorflow as tf\n\n"
           "def to_uint8(y):\n"
           "    return tf.cast(tf.round(tf.clip_by_value(y * 255.0, 0.0, 255.0)), tf.uint8)  # [0, 1] formula\n",
           "import tensorflow as tf\n\n"
           "def to_uint8(y):\n"
           "    return tf.cast(tf.round(tf.clip_by_value(y, -1.0, 1.0) * 127.5 + 127.5), tf.int32)\n"),
    explanation=("The reverse, uint8 -> [-1, 1], is x / 127.5 - 1 (translate_uint8 does it first). "
                 "A round trip [-1, 1] -> uint8 -> [-1, 1] is off by at most 1/255."),
))


# -------------------------------------------------------------------- 06.translate_shape
def _check_translate_shape(answer):
    shape = tuple(int(d) for d in answer)
    if shape == (2, 300, 200, 3):
        return True, ("translate_uint8 resizes each image to the training size, translates it and "
                      "resizes the result back: the batch and the size you gave, 3 channels, uint8")
    if len(shape) != 4:
        return False, "a batch of images comes back: (batch, height, width, channels)"
    if shape[1] == shape[2]:
        return False, "it resizes back: the output has the size of the input image, not the training size"
    if shape[1:3] == (200, 300):
        return False, "TensorFlow shapes are (batch, height, width, channels): 300 high, 200 wide"
    return False, "the batch size, the height and the width come back unchanged"


register(Exercise(
    key="06.translate_shape",
    question=("A client sends translate_uint8 a batch of 2 RGB photos, each 300 pixels high and "
              "200 wide (uint8, shape (2, 300, 200, 3)). The model was trained at 256x256. What "
              "is the shape of the 'output' it gets back? Give a tuple."),
    answer_name="output_shape",
    checker=_check_translate_shape,
    solution="output_shape = (2, 300, 200, 3)  # resized to 256, translated, resized back\n",
    wrong=("output_shape = (2, 256, 256, 3)\n", "output_shape = (300, 200, 3)\n",
           "output_shape = (2, 200, 300, 3)\n"),
    explanation=("translate_uint8_native instead runs the fully convolutional generator at the "
                 "image's own resolution (padded to a multiple of the generator's stride): sharper "
                 "for large images, when the model was trained on random crops."),
))
