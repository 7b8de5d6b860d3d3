"""The fixed feature network of the perceptual loss (``lambda_perceptual > 0``), from a local file.

Nothing is downloaded: ``config.perceptual_weights`` names a file the user supplies, one of

* ``*.h5``: VGG19 weights without the classifier (Keras' file
  ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``, e.g. from ``~/.keras/models/``),
  loaded with ``keras.applications.VGG19(weights=path, include_top=False)``. The features are
  the first ReLU of each of its 5 blocks (``block1_conv1`` ... ``block5_conv1``, pix2pixHD's
  relu1_1 ... relu5_1) weighted 1/32, 1/16, 1/8, 1/4, 1 as in pix2pixHD's VGG loss; images
  go from [-1, 1] to what VGG19 expects (0..255, BGR, ImageNet mean subtracted).
* ``*.keras``: any Keras model saved with ``model.save``, taking images in [-1, 1] (put any
  normalisation inside it) and returning one feature map or a list of them; the maps are
  weighted equally (1 / their number).

A grayscale image (1 channel) is repeated to 3 channels when the network expects 3.
:meth:`SuccessorConfig.check_trainable` checks that the file exists before training; it is
loaded at the first training step (:class:`pix2pix_tf.successors.model.SuccessorPix2Pix`), so a run trained
with it can be loaded, evaluated and exported without the file.

Example:
    >>> net = load_feature_network("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")  # doctest: +SKIP
    >>> features = net(tf.zeros((1, 64, 64, 3)))  # doctest: +SKIP
    >>> len(features), net.weights  # doctest: +SKIP
    (5, [0.03125, 0.0625, 0.125, 0.25, 1.0])

Reference: Johnson, Alahi, Fei-Fei 2016, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution"; Wang et al. 2018 (pix2pixHD), section 4 (the VGG feature loss).
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from ..config import ConfigError, short_repr
from .config import check_perceptual_file

VGG19_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
VGG19_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # pix2pixHD's VGGLoss
_IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


class FeatureNetwork:
    """A frozen network mapping images in [-1, 1] to a list of feature maps, and their weights.

    Attributes:
        model: the Keras model (not trainable; its weights are never saved with a run).
        weights: one float per feature map, for :func:`pix2pix_tf.losses.perceptual_loss`.
        kind: "vgg19" or "keras".
    """

    def __init__(self, model: keras.Model, weights: list[float], kind: str):
        self.model = model
        self.weights = list(weights)
        self.kind = kind
        self.model.trainable = False

    def __call__(self, images) -> list:
        """Features of ``images`` (batch, H, W, C) in [-1, 1], a list of float32 maps."""
        x = tf.cast(images, tf.float32)
        if x.shape[-1] == 1 and self.model.input_shape[-1] == 3:
            x = tf.repeat(x, 3, axis=-1)  # grayscale -> RGB
        if self.kind == "vgg19":
            x = (x + 1.0) * 127.5  # [-1, 1] -> [0, 255] RGB
            x = x[..., ::-1] - tf.constant(_IMAGENET_BGR_MEAN)  # caffe: BGR, mean subtracted
        out = self.model(x, training=False)
        return [tf.cast(f, tf.float32) for f in (out if isinstance(out, (list, tuple)) else [out])]


def load_feature_network(path: str) -> FeatureNetwork:
    """Load the perceptual loss's network from the local file ``path`` (see the module docstring).

    Raises:
        ConfigError: one line naming ``perceptual_weights`` and the path: missing, not a
            .keras / .h5 file, or not loadable.
    """
    check_perceptual_file(path)  # exists, readable, known suffix
    file = Path(path).expanduser()
    try:
        if file.suffix.lower() == ".h5":
            vgg = keras.applications.VGG19(include_top=False, weights=str(file), input_shape=(None, None, 3))
            model = keras.Model(vgg.input, [vgg.get_layer(n).output for n in VGG19_LAYERS],
                                name="vgg19_features")
            return FeatureNetwork(model, list(VGG19_WEIGHTS), "vgg19")
        model = keras.saving.load_model(str(file), compile=False)
    except Exception as e:  # noqa: BLE001  (h5py, zip and Keras raise many types for a bad file)
        reason = " ".join(str(e).split())[:160]
        raise ConfigError(f"config field 'perceptual_weights' = {short_repr(path, 300)}: cannot be loaded "
                          f"({type(e).__name__}: {reason})", field="perceptual_weights") from None
    n = len(model.outputs)
    return FeatureNetwork(model, [1.0 / n] * n, "keras")
