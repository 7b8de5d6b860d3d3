"""The pix2pix objective (paper section 3.1, equations 1-4) and its ablations (table 1).

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G)

with L_cGAN the conditional GAN loss on D's patch logits and L_L1 = E|y - G(x, z)|.
As in the paper (section 3.3), G maximises log D(x, G(x, z)) instead of minimising
log(1 - D(x, G(x, z))), and D's loss is halved.

The ``loss`` setting picks the terms of the paper's table 1: "l1+cgan" (the paper),
"l1", "cgan", "l1+gan" and "gan", where "gan" is the *unconditional* GAN whose D sees
only the output image (equation 2). :func:`objective_terms` spells the table out.

Terms from pix2pix's successors (all off by default): the hinge GAN loss
(``gan_mode="hinge"``), a multi-scale D's logits (a list, one tensor per scale: every GAN
loss is averaged over the scales), pix2pixHD's :func:`feature_matching_loss` and a
:func:`perceptual_loss` on the features of a fixed network.
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


def mean_over_scales(values: list) -> tf.Tensor:
    """The mean of per-scale losses; one scale's loss itself (no extra op for the paper's D)."""
    return values[0] if len(values) == 1 else tf.add_n(values) / float(len(values))


def gan_loss(logits, target_is_real: bool, mode: str = "vanilla") -> tf.Tensor:
    """Mean GAN loss of patch logits against an all-real or all-fake label (D's terms).

    Every patch logit is one real/fake verdict; the loss averages over all of them.

    Args:
        logits: raw discriminator outputs, any shape, e.g. (batch, 30, 30, 1); or a list of
            them, one per scale of a multi-scale D (``num_d > 1``): the mean over scales.
        target_is_real: compare against 1 (real) or 0 (fake).
        mode: "vanilla" = sigmoid cross-entropy (the paper); "lsgan" = least squares;
            "hinge" = mean(relu(1 - logits)) for real, mean(relu(1 + logits)) for fake
            (D's hinge terms; G's hinge term is :func:`generator_gan_loss`).

    Returns:
        A float32 scalar.

    Example:
        >>> round(float(gan_loss(tf.zeros((1, 2, 2, 1)), True)), 4)  # undecided D: log 2
        0.6931
        >>> float(gan_loss(tf.constant([0.5, -2.0]), True, "hinge"))  # (0.5 + 3) / 2
        1.75

    Reference: Isola et al. 2017, section 3.1 (equation 1) and 3.2.2 (patches); hinge:
    Lim & Ye 2017, Miyato et al. 2018.
    """
    if isinstance(logits, (list, tuple)):  # a multi-scale D: average the scales
        return mean_over_scales([gan_loss(scale, target_is_real, mode) for scale in logits])
    logits = tf.cast(logits, tf.float32)
    if mode == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - logits if target_is_real else 1.0 + logits))
    labels = tf.ones_like(logits) if target_is_real else tf.zeros_like(logits)
    if mode == "vanilla":
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    if mode == "lsgan":
        return tf.reduce_mean(tf.square(logits - labels))
    raise ValueError(f"unknown gan_mode {mode!r}")


def generator_gan_loss(fake_logits, mode: str = "vanilla") -> tf.Tensor:
    """G's GAN term on D's logits for the generated pair: fake -> "real" (the non-saturating form).

    Args:
        fake_logits: D's logits on (x, G(x)), or a list of them (multi-scale D: the mean).
        mode: "vanilla" and "lsgan": :func:`gan_loss` against label 1; "hinge": -mean(logits).

    Returns:
        A float32 scalar.

    Example:
        >>> float(generator_gan_loss(tf.constant([0.5, -2.0]), "hinge"))  # -(0.5 - 2) / 2
        0.75

    Reference: Isola et al. 2017, section 3.3; hinge: Lim & Ye 2017 (G: -E[D(x, G(x))]).
    """
    if mode != "hinge":
        return gan_loss(fake_logits, True, mode)
    if isinstance(fake_logits, (list, tuple)):
        return mean_over_scales([generator_gan_loss(scale, mode) for scale in fake_logits])
    return -tf.reduce_mean(tf.cast(fake_logits, tf.float32))


def feature_matching_loss(real_features, fake_features) -> tf.Tensor:
    """pix2pixHD's feature matching: L1 between D's features on the real and the fake pair.

    For each scale of D and each of its LeakyReLU blocks, the mean absolute difference of
    D's activations on (x, y) and on (x, G(x)); averaged over the blocks, then over the
    scales. The real pair's features are constants (``stop_gradient``): G moves its own
    features towards them. (pix2pixHD weights the blocks 4 / (n_layers + 1) and sums them,
    so its lambda = 10 is ``lambda_fm = 40`` here, with 4 blocks.)

    Args:
        real_features, fake_features: one list per scale of D, each a list of feature maps
            (batch, h, w, c), as :func:`pix2pix_tf.discriminator.discriminator_features` returns.

    Returns:
        A float32 scalar (unweighted: the model multiplies it by ``lambda_fm``).

    Example:
        >>> real = [[tf.zeros((1, 2, 2, 1)), tf.ones((1, 1, 1, 2))]]
        >>> fake = [[tf.ones((1, 2, 2, 1)), tf.ones((1, 1, 1, 2))]]
        >>> float(feature_matching_loss(real, fake))  # blocks: 1 and 0
        0.5

    Reference: Wang et al. 2018, "High-Resolution Image Synthesis and Semantic Manipulation
    with Conditional GANs" (pix2pixHD), equation 4.
    """
    per_scale = []
    for real, fake in zip(real_features, fake_features, strict=True):
        blocks = [tf.reduce_mean(tf.abs(tf.stop_gradient(tf.cast(r, tf.float32)) - tf.cast(f, tf.float32)))
                  for r, f in zip(real, fake, strict=True)]
        per_scale.append(tf.add_n(blocks) / float(len(blocks)))
    return mean_over_scales(per_scale)


def perceptual_loss(real_features, fake_features, weights) -> tf.Tensor:
    """Weighted L1 between a fixed network's features of the target and of G(x).

    Args:
        real_features, fake_features: lists of feature maps of y and of G(x) (the same
            network, e.g. VGG19's block outputs; see :mod:`pix2pix_tf.successors.perceptual`).
        weights: one weight per feature map (pix2pixHD's VGG loss: 1/32, 1/16, 1/8, 1/4, 1).

    Returns:
        ``sum_k weights[k] * mean|f_k(y) - f_k(G(x))|``, a float32 scalar (y's features
        are constants).

    Example:
        >>> real = [tf.zeros((1, 2, 2, 1)), tf.zeros((1, 1, 1, 1))]
        >>> fake = [tf.ones((1, 2, 2, 1)), tf.fill((1, 1, 1, 1), 3.0)]
        >>> float(perceptual_loss(real, fake, [0.5, 1.0]))  # 0.5 * 1 + 1.0 * 3
        3.5

    Reference: Johnson et al. 2016 (perceptual losses); Wang et al. 2018 (pix2pixHD's VGG loss).
    """
    terms = [w * tf.reduce_mean(tf.abs(tf.stop_gradient(tf.cast(r, tf.float32)) - tf.cast(f, tf.float32)))
             for r, f, w in zip(real_features, fake_features, weights, strict=True)]
    return tf.add_n(terms)


def discriminator_loss(real_logits, fake_logits, mode: str = "vanilla", weight: float = 0.5):
    """D's loss: weight * (loss(real, 1) + loss(fake, 0)), halved by default.

    Args:
        real_logits: D's logits on the real pair (x, y) (a list, one per scale, when num_d > 1).
        fake_logits: D's logits on the generated pair (x, G(x)).
        mode: GAN loss, "vanilla", "lsgan" or "hinge" (see :func:`gan_loss`).
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
        mode: GAN loss, "vanilla", "lsgan" or "hinge" (see :func:`generator_gan_loss`).
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
        gan = generator_gan_loss(fake_logits, mode)
    else:
        gan = tf.constant(0.0, tf.float32)
    rec = reconstruction_loss(target, generated, recon)
    total = gan + lambda_l1 * rec if use_recon else gan
    return total, gan, rec
