"""The pix2pix objective (paper section 3.1, equations 1-4).

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G)

with L_cGAN the conditional GAN loss on D's patch logits and L_L1 = E|y - G(x, z)|.
As in the paper (section 3.3), G maximises log D(x, G(x, z)) instead of minimising
log(1 - D(x, G(x, z))), and D's loss is halved.
"""

from __future__ import annotations

import tensorflow as tf


def gan_loss(logits: tf.Tensor, target_is_real: bool, mode: str = "vanilla") -> tf.Tensor:
    """Mean GAN loss of patch logits against an all-real or all-fake label.

    Args:
        logits: raw discriminator outputs, any shape.
        target_is_real: compare against 1 (real) or 0 (fake).
        mode: "vanilla" = sigmoid cross-entropy (the paper); "lsgan" = least squares.
    """
    logits = tf.cast(logits, tf.float32)
    labels = tf.ones_like(logits) if target_is_real else tf.zeros_like(logits)
    if mode == "vanilla":
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    if mode == "lsgan":
        return tf.reduce_mean(tf.square(logits - labels))
    raise ValueError(f"unknown gan_mode {mode!r}")


def discriminator_loss(real_logits, fake_logits, mode: str = "vanilla", weight: float = 0.5):
    """D's loss: weight * (loss(real, 1) + loss(fake, 0)). Returns (total, real, fake)."""
    real = gan_loss(real_logits, True, mode)
    fake = gan_loss(fake_logits, False, mode)
    return weight * (real + fake), real, fake


def l1_loss(target, generated) -> tf.Tensor:
    """Mean absolute error, computed in float32."""
    return tf.reduce_mean(tf.abs(tf.cast(target, tf.float32) - tf.cast(generated, tf.float32)))


def generator_loss(fake_logits, target, generated, lambda_l1: float = 100.0, mode: str = "vanilla"):
    """G's loss: loss(D(x, G(x)), 1) + lambda * L1. Returns (total, gan, l1)."""
    gan = gan_loss(fake_logits, True, mode)
    l1 = l1_loss(target, generated)
    return gan + lambda_l1 * l1, gan, l1
