"""Building blocks shared by the generator and the discriminator.

The paper (appendix 6.1) writes its networks with two block types:
``Ck`` = Convolution-BatchNorm-ReLU with k filters, and ``CDk`` = Convolution-BatchNorm-
Dropout-ReLU with a dropout rate of 50%. All convolutions are 4x4 with stride 2.

Two layers here differ from their Keras parents only at *inference* time, which is
where pix2pix differs from most networks (section 3.3: "at inference time, we run the
generator net in exactly the same manner as during the training phase"):

* :class:`BatchNorm` can normalise with the statistics of the test batch (the paper),
  with per-image statistics (deterministic and batch-independent), or with the usual
  moving averages.
* :class:`NoiseDropout` can keep dropping units at inference ("dropout as noise").

:func:`set_inference_mode` switches every such layer of a model at once.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import INFERENCE_MODES, Pix2PixConfig

# inference_mode -> (statistics BatchNorm uses, whether dropout stays on)
_MODE_TABLE = {
    "paper": ("batch", True),
    "deterministic": ("instance", False),
    "moving_average": ("moving", False),
}


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """Batch normalisation whose inference-time statistics are selectable.

    Args:
        inference_stats: "batch" (statistics of the current batch, no update of the moving
            averages), "instance" (statistics of each image alone; equals training-time BN
            at batch size 1) or "moving" (Keras' usual moving averages).

    Training behaviour (``training=True``) is exactly Keras' BatchNormalization.
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
    """Dropout that can stay active at inference time, as the paper's source of noise.

    Args:
        rate: fraction of units dropped.
        at_inference: keep dropping when ``training`` is False (paper mode).
    """

    def __init__(self, rate, at_inference: bool = False, **kwargs):
        super().__init__(rate, **kwargs)
        self.at_inference = at_inference

    def call(self, inputs, training=False):
        return super().call(inputs, training=bool(training) or self.at_inference)

    def get_config(self):
        return {**super().get_config(), "at_inference": self.at_inference}


def walk_layers(layer):
    """Yield ``layer`` and every layer nested in it (Sequential blocks included), depth first."""
    yield layer
    for sub in getattr(layer, "layers", []):
        yield from walk_layers(sub)


def dropout_seed_states(model: keras.Model) -> list:
    """The random-seed state variables of the model's dropout layers.

    Keras keeps them outside TensorFlow's object graph; checkpoints and SavedModels that must
    reproduce (or keep drawing) the dropout noise track them explicitly.
    """
    return [layer.seed_generator.state for layer in walk_layers(model) if isinstance(layer, NoiseDropout)]


def set_inference_mode(model: keras.Model, mode: str) -> keras.Model:
    """Switch every :class:`BatchNorm` and :class:`NoiseDropout` in ``model`` to ``mode``.

    Modes: "paper" (test-batch statistics, dropout on: stochastic), "deterministic"
    (per-image statistics, no dropout) and "moving_average" (Keras' default inference).
    Functions traced before the switch keep the old behaviour: trace (or export) after it.

    Returns:
        The same model, for chaining.
    """
    if mode not in _MODE_TABLE:
        raise ValueError(f"unknown inference mode {mode!r}; choose one of {', '.join(INFERENCE_MODES)}")
    stats, noise = _MODE_TABLE[mode]
    for layer in walk_layers(model):
        if isinstance(layer, BatchNorm):
            layer.inference_stats = stats
        elif isinstance(layer, NoiseDropout):
            layer.at_inference = noise
    for attr in ("predict_function", "test_function"):  # Keras caches traced functions
        if hasattr(model, attr):
            setattr(model, attr, None)
    return model


def conv_init(config: Pix2PixConfig) -> keras.initializers.Initializer:
    """Weights drawn from N(0, 0.02) (appendix 6.2)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=config.init_stddev)


def norm_layer(config: Pix2PixConfig, name: str) -> keras.layers.Layer | None:
    """The configured normalisation layer, or None for ``norm="none"``."""
    if config.norm == "batch":
        stats, _ = _MODE_TABLE[config.inference_mode]
        # gamma ~ N(1, 0.02) as in the reference code; momentum 0.9 = PyTorch's 0.1
        return BatchNorm(inference_stats=stats, momentum=0.9, epsilon=1e-5, name=name,
                         gamma_initializer=keras.initializers.RandomNormal(1.0, config.init_stddev))
    if config.norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return None


def downsample(filters: int, config: Pix2PixConfig, apply_norm: bool = True,
               size: int = 4, strides: int = 2, use_bias: bool | None = None,
               name: str | None = None) -> keras.Sequential:
    """Ck: Conv(4x4, stride 2) - Norm - LeakyReLU(0.2). Halves the spatial size.

    The convolution has no bias under batch norm (the norm's beta replaces it), even in the
    blocks where the norm is left out, as in the authors' code; pass ``use_bias`` to override.

    Example:
        >>> block = downsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_norm=False)
        >>> block(keras.ops.zeros((1, 64, 64, 3))).shape
        TensorShape([1, 32, 32, 64])
    """
    norm = norm_layer(config, "norm") if apply_norm else None
    if use_bias is None:
        use_bias = config.norm != "batch"
    layers = [keras.layers.Conv2D(filters, size, strides=strides, padding="same",
                                  kernel_initializer=conv_init(config), use_bias=use_bias,
                                  name="conv")]
    if norm is not None:
        layers.append(norm)
    layers.append(keras.layers.LeakyReLU(negative_slope=config.leaky_slope, name="lrelu"))
    return keras.Sequential(layers, name=name)


def upsample(filters: int, config: Pix2PixConfig, apply_dropout: bool = False,
             size: int = 4, name: str | None = None) -> keras.Sequential:
    """Ck / CDk: ConvTranspose(4x4, stride 2) - Norm - [Dropout 0.5] - ReLU. Doubles the size.

    Example:
        >>> block = upsample(64, Pix2PixConfig(image_size=64, load_size=64), apply_dropout=True)
        >>> block(keras.ops.zeros((1, 8, 8, 128))).shape
        TensorShape([1, 16, 16, 64])
    """
    norm = norm_layer(config, "norm")
    layers = [keras.layers.Conv2DTranspose(filters, size, strides=2, padding="same",
                                           kernel_initializer=conv_init(config),
                                           use_bias=norm is None or config.norm != "batch",
                                           name="deconv")]
    if norm is not None:
        layers.append(norm)
    if apply_dropout and config.dropout_rate > 0:
        layers.append(NoiseDropout(config.dropout_rate,
                                   at_inference=_MODE_TABLE[config.inference_mode][1],
                                   name="dropout"))
    layers.append(keras.layers.ReLU(name="relu"))
    return keras.Sequential(layers, name=name)
