"""The pix2pix objective (paper section 3.1, equations 1-4) and its ablations (table 1).

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G)

with L_cGAN the conditional GAN loss on D's patch logits and L_L1 = E|y - G(x, z)|.
As in the paper (section 3.3), G maximises log D(x, G(x, z)) instead of minimising
log(1 - D(x, G(x, z))), and D's loss is halved.

The ``loss`` setting picks the terms of the paper's table 1: "l1+cgan" (the paper),
"l1", "cgan", "l1+gan" and "gan", where "gan" is the *unconditional* GAN whose D sees
only the output image (equation 2). :func:`objective_terms` spells the table out.
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
    """Which terms a ``loss`` setting uses: (reconstruction, GAN, conditional D).

    Args:
        loss: one of "l1+cgan", "l1", "cgan", "l1+gan", "gan".

    Returns:
        ``(uses_reconstruction, uses_gan, conditional)``; ``conditional`` is True when D
        sees the input image next to the output (a cGAN). "l1" has no D term at all and
        reports False.

    Example:
        >>> objective_terms("l1+gan")
        (True, True, False)

    Reference: Isola et al. 2017, section 3.1 and table 1.
    """
    try:
        return _OBJECTIVES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(_OBJECTIVES)}") from None


def gan_loss(logits: tf.Tensor, target_is_real: bool, mode: str = "vanilla") -> tf.Tensor:
    """Mean GAN loss of patch logits against an all-real or all-fake label.

    Every patch logit is one real/fake verdict; the loss averages over all of them.

    Args:
        logits: raw discriminator outputs, any shape, e.g. (batch, 30, 30, 1).
        target_is_real: compare against 1 (real) or 0 (fake).
        mode: "vanilla" = sigmoid cross-entropy (the paper); "lsgan" = least squares.

    Returns:
        A float32 scalar.

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
    """D's loss: weight * (loss(real, 1) + loss(fake, 0)), halved by default.

    Args:
        real_logits: D's logits on the real pair (x, y).
        fake_logits: D's logits on the generated pair (x, G(x)).
        mode: GAN loss, "vanilla" or "lsgan" (see :func:`gan_loss`).
        weight: 0.5 in the paper, which divides D's objective by 2 to slow D down.

    Returns:
        ``(total, real, fake)`` float32 scalars: the weighted sum and its two terms.

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
    """Mean absolute ("l1", the paper) or mean squared ("l2") error, computed in float32.

    Args:
        target: the real output image y, any shape.
        generated: G's output, same shape.
        kind: "l1" or "l2".

    Returns:
        A float32 scalar.

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
    """G's loss: loss(D(.., G(x)), 1) + lambda * reconstruction, with the terms ``loss`` keeps.

    Args:
        fake_logits: D's logits on the generated image; may be None when ``loss`` has no
            GAN term ("l1").
        target: the real output image y.
        generated: G(x).
        lambda_l1: weight of the reconstruction term (paper: 100).
        mode: GAN loss, "vanilla" or "lsgan" (see :func:`gan_loss`).
        loss: which terms to use (see :func:`objective_terms`).
        recon: reconstruction error, "l1" (paper) or "l2".

    Returns:
        ``(total, gan, recon)`` float32 scalars. ``gan`` is 0.0 when the loss has no GAN
        term; ``recon`` is the raw (unweighted) reconstruction error even when it is not
        part of ``total``, so training logs always show it.

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
