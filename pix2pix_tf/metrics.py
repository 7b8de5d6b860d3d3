"""Image-quality metrics of generated images: L1, PSNR and SSIM per image."""

from __future__ import annotations

import tensorflow as tf


def image_metrics(target: tf.Tensor, generated: tf.Tensor) -> dict[str, tf.Tensor]:
    """Per-image L1 (in [-1, 1] units, like the loss), PSNR (dB) and SSIM on [0, 1] images.

    Returns:
        dict of (batch,) float32 tensors: "l1", "psnr", "ssim".
    """
    y = (tf.cast(target, tf.float32) + 1.0) / 2.0
    g = (tf.clip_by_value(tf.cast(generated, tf.float32), -1.0, 1.0) + 1.0) / 2.0
    l1 = tf.reduce_mean(tf.abs(y - g), axis=[1, 2, 3]) * 2.0
    return {"l1": l1, "psnr": tf.image.psnr(y, g, max_val=1.0), "ssim": tf.image.ssim(y, g, max_val=1.0)}

