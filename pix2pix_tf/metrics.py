"""Image-quality metrics of generated images: L1, PSNR and SSIM per image, and FID.

The paper (section 4.1) scores with AMT perceptual studies and the FCN-score; these are the
common automatic measures that complement them.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def image_metrics(target: tf.Tensor, generated: tf.Tensor) -> dict[str, tf.Tensor]:
    """Per-image "l1" (in [-1, 1] units, like the loss), "psnr" (dB) and "ssim" on [0, 1] images: (batch,) float32."""
    y = (tf.cast(target, tf.float32) + 1.0) / 2.0
    g = (tf.clip_by_value(tf.cast(generated, tf.float32), -1.0, 1.0) + 1.0) / 2.0
    l1 = tf.reduce_mean(tf.abs(y - g), axis=[1, 2, 3]) * 2.0
    return {"l1": l1, "psnr": tf.image.psnr(y, g, max_val=1.0), "ssim": tf.image.ssim(y, g, max_val=1.0)}


# ----------------------------------------------------------------------------- FID
def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), in float64; the trace of the root
    is the sum of sqrt(eigenvalues) of the symmetric PSD sigma1^(1/2) sigma2 sigma1^(1/2) (same as sigma1 sigma2).

    Reference: Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule...", eq. 6.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root1 @ s2 @ root1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def fid_from_features(features1, features2) -> float:
    """FID between two sets of feature vectors (N, D): Fréchet distance of their Gaussians."""
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if len(f1) < 2 or len(f2) < 2:
        raise ValueError("FID needs at least 2 images in each set")
    return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))


def inception_feature_extractor(weights: str | None = "imagenet"):
    """A function (batch, H, W, 3) in [-1, 1] -> (batch, 2048) float32 numpy Inception-v3 pool features.

    ``weights``: "imagenet" (downloaded by Keras on first use) or None (random: for tests).
    """
    net = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                         input_shape=(299, 299, 3))

    def features(images):
        x = tf.cast(images, tf.float32)
        if x.shape[-1] == 1:
            x = tf.repeat(x, 3, axis=-1)
        x = tf.image.resize(x, (299, 299), method="bilinear")  # already in Inception's [-1, 1]
        return net(x, training=False).numpy()

    return features
