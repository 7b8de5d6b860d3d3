"""The pix2pix objective (paper section 3.1, equations 1-4) and its ablations (table 1).

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G),   L_L1 = E|y - G(x, z)|

As in section 3.3, G maximises log D(x, G(x, z)) instead of minimising log(1 - D(x, G(x, z))),
and D's loss is halved. ``loss`` picks the terms of table 1 (:func:`objective_terms`); "gan" is
the *unconditional* GAN whose D sees only the output image (equation 2). The successors' terms
(hinge, multi-scale, feature matching, perceptual) are in :mod:`pix2pix_tf.successors.losses`.
"""

from __future__ import annotations

import tensorflow as tf

# loss -> (uses the reconstruction term, uses a GAN term, D sees the input image)
_OBJECTIVES = {
    "l1+cgan": (True, True, True),  # eq. 4, the paper's objective
    "l1": (True, False, False),  # L1 alone: blurry but faithful (figure 4)
    "cgan": (False, True, True),  # eq. 1, lambda = 0
    "l1+gan": (True, True, False),  # eq. 2 + L1: D does not see x
    "gan": (False, True, False),  # eq. 2 alone
}


def objective_terms(loss: str) -> tuple[bool, bool, bool]:
    """Which terms ``loss`` uses: ``(reconstruction, GAN, conditional D)``; "l1" has no D and reports False.

    Example:
        >>> objective_terms("l1+gan")
        (True, True, False)

    Reference: Isola et al. 2017, section 3.1 and table 1.
    """
    try:
        return _OBJECTIVES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(_OBJECTIVES)}") from None


def gan_loss(logits, target_is_real: bool, mode: str = "vanilla") -> tf.Tensor:
    """Float32 mean GAN loss of patch logits (any shape, e.g. (batch, 30, 30, 1)) against all 1 or all 0.

    ``mode``: "vanilla" = sigmoid cross-entropy (the paper), "lsgan" = least squares.

    Example:
        >>> round(float(gan_loss(tf.zeros((1, 2, 2, 1)), True)), 4)  # undecided D: log 2
        0.6931

    Reference: Isola et al. 2017, section 3.1 (equation 1) and 3.2.2 (patches).
    """
    logits = tf.cast(logits, tf.float32)
    labels = tf.ones_like(logits) if target_is_real else tf.zeros_like(logits)
    if mode == "vanilla":
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    if mode == "lsgan":
        return tf.reduce_mean(tf.square(logits - labels))
    raise ValueError(f"unknown gan_mode {mode!r}")


def discriminator_loss(real_logits, fake_logits, mode: str = "vanilla", weight: float = 0.5):
    """D's loss ``(total, real, fake)``: total = weight * (loss(D(x, y), 1) + loss(D(x, G(x)), 0)).

    ``weight`` is 0.5 in the paper, which halves D's objective to slow D down.

    Example:
        >>> zeros = tf.zeros((1, 2, 2, 1))
        >>> [round(float(t), 4) for t in discriminator_loss(zeros, zeros)]
        [0.6931, 0.6931, 0.6931]

    Reference: Isola et al. 2017, section 3.3 ("we divide the objective by 2 while optimizing D").
    """
    real = gan_loss(real_logits, True, mode)
    fake = gan_loss(fake_logits, False, mode)
    return weight * (real + fake), real, fake


def l1_loss(target, generated) -> tf.Tensor:
    """Mean absolute error, computed in float32."""
    return reconstruction_loss(target, generated, "l1")


def reconstruction_loss(target, generated, kind: str = "l1") -> tf.Tensor:
    """Mean absolute ("l1", the paper) or squared ("l2") error between y and G(x), a float32 scalar.

    Example:
        >>> float(reconstruction_loss(tf.zeros((1, 2, 2, 1)), tf.fill((1, 2, 2, 1), 0.5), "l2"))
        0.25

    Reference: Isola et al. 2017, section 3.1 (L1 rather than L2: "less blurring").
    """
    diff = tf.cast(target, tf.float32) - tf.cast(generated, tf.float32)
    if kind == "l1":
        return tf.reduce_mean(tf.abs(diff))
    if kind == "l2":
        return tf.reduce_mean(tf.square(diff))
    raise ValueError(f"unknown reconstruction loss {kind!r}; choose l1 or l2")


def generator_loss(fake_logits, target, generated, lambda_l1: float = 100.0, mode: str = "vanilla",
                   loss: str = "l1+cgan", recon: str = "l1"):
    """G's loss ``(total, gan, recon)``: loss(D(x, G(x)), 1) + lambda_l1 * reconstruction, terms per ``loss``.

    G's GAN term is :func:`gan_loss` against "real" (the non-saturating form, section 3.3).
    ``fake_logits`` may be None when ``loss`` has no GAN term; ``gan`` is then 0.0. The returned
    ``recon`` ("l1" or "l2" error) is unweighted and given even when not in ``total``, for the logs.

    Example:
        >>> y, g = tf.zeros((1, 2, 2, 1)), tf.fill((1, 2, 2, 1), 0.5)
        >>> [float(t) for t in generator_loss(None, y, g, lambda_l1=10.0, loss="l1")]
        [5.0, 0.0, 0.5]

    Reference: Isola et al. 2017, section 3.1, equation 4 and table 1.
    """
    use_recon, use_gan, _ = objective_terms(loss)
    if use_gan:
        if fake_logits is None:
            raise ValueError(f"loss {loss!r} has a GAN term: fake_logits must be given")
        gan = gan_loss(fake_logits, True, mode)
    else:
        gan = tf.constant(0.0, tf.float32)
    rec = reconstruction_loss(target, generated, recon)
    total = gan + lambda_l1 * rec if use_recon else gan
    return total, gan, rec
