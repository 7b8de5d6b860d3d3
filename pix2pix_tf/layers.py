"""The layers that make pix2pix's inference special: BatchNorm and dropout that stay on.

They differ from their Keras parents only at inference, as pix2pix does (section 3.3: "at inference
time, we run the generator net in exactly the same manner as during the training phase"):
:class:`BatchNorm` can use the test batch's statistics (the paper), per-image ones or the moving
averages; :class:`NoiseDropout` can keep dropping units ("dropout as noise").
:func:`set_inference_mode` switches every such layer of a model at once.

Example:
    >>> x = keras.ops.ones((2, 4, 4, 3))
    >>> layer = NoiseDropout(0.5, at_inference=True)
    >>> bool(keras.ops.any(layer(x, training=False) == 0))  # still dropping at inference
    True
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import INFERENCE_MODES

#: inference_mode -> (statistics BatchNorm uses, whether dropout stays on)
MODE_TABLE = {
    "paper": ("batch", True),
    "deterministic": ("instance", False),
    "moving_average": ("moving", False),
}


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras' BatchNormalization, with ``inference_stats`` selecting the statistics at inference.

    "batch" (the current batch's, moving averages not updated), "instance" (each image's alone; equals
    training-time BN at batch size 1) or "moving" (Keras' usual moving averages).
    """

    def __init__(self, inference_stats: str = "instance", **kwargs):
        super().__init__(**kwargs)
        self.inference_stats = inference_stats

    def call(self, inputs, training=None, mask=None):
        if training or self.inference_stats == "moving":
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)  # statistics in float32 under mixed precision
        axes = [0, 1, 2] if self.inference_stats == "batch" else [1, 2]
        mean, variance = tf.nn.moments(x, axes=axes, keepdims=True)
        y = tf.nn.batch_normalization(x, mean, variance, tf.cast(self.beta, tf.float32),
                                      tf.cast(self.gamma, tf.float32), self.epsilon)
        return tf.cast(y, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "inference_stats": self.inference_stats}


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class NoiseDropout(keras.layers.Dropout):
    """Dropout that keeps dropping at inference when ``at_inference`` (the paper's source of noise)."""

    def __init__(self, rate, at_inference: bool = False, **kwargs):
        super().__init__(rate, **kwargs)
        self.at_inference = at_inference

    def call(self, inputs, training=False):
        return super().call(inputs, training=bool(training) or self.at_inference)

    def get_config(self):
        return {**super().get_config(), "at_inference": self.at_inference}


def walk_layers(layer):
    """Yield ``layer`` and every layer nested in it (Sequential blocks and wrapped layers, such
    as a spectrally normalised convolution, included), depth first."""
    yield layer
    if isinstance(layer, keras.layers.Wrapper):
        yield from walk_layers(layer.layer)
    for sub in getattr(layer, "layers", []):
        yield from walk_layers(sub)


def dropout_seed_states(model: keras.Model) -> list:
    """The seed-state variables of the model's dropout layers, which Keras keeps outside TensorFlow's
    object graph: checkpoints and SavedModels that must reproduce the noise track them explicitly."""
    return [layer.seed_generator.state for layer in walk_layers(model) if isinstance(layer, NoiseDropout)]


def set_inference_mode(model: keras.Model, mode: str) -> keras.Model:
    """Switch every :class:`BatchNorm` and :class:`NoiseDropout` in ``model`` to ``mode``.

    Modes: "paper" (test-batch statistics, dropout on: stochastic), "deterministic" (per-image
    statistics, no dropout), "moving_average" (Keras' default). Returns ``model``. Functions traced
    before the switch keep the old behaviour: trace (or export) after it.
    """
    if mode not in MODE_TABLE:
        raise ValueError(f"unknown inference mode {mode!r}; choose one of {', '.join(INFERENCE_MODES)}")
    stats, noise = MODE_TABLE[mode]
    for layer in walk_layers(model):
        if isinstance(layer, BatchNorm):
            layer.inference_stats = stats
        elif isinstance(layer, NoiseDropout):
            layer.at_inference = noise
    for attr in ("predict_function", "test_function"):  # Keras caches traced functions
        if hasattr(model, attr):
            setattr(model, attr, None)
    return model
