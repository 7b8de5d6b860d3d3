"""The successors' loss terms, beside the paper's (:mod:`pix2pix_tf.losses`).

* the hinge GAN loss (``gan_mode="hinge"``; Lim & Ye 2017, Miyato et al. 2018);
* a multi-scale D's logits come as a list, one tensor per scale: every GAN loss here takes
  one tensor or such a list, and averages over the scales;
* pix2pixHD's :func:`feature_matching_loss` and a :func:`perceptual_loss` on the features
  of a fixed network.
"""

from __future__ import annotations

import tensorflow as tf

from .. import losses as paper


def mean_over_scales(values: list) -> tf.Tensor:
    """The mean of per-scale losses; one scale's loss itself (no extra op for one D)."""
    return values[0] if len(values) == 1 else tf.add_n(values) / float(len(values))


def gan_loss(logits, target_is_real: bool, mode: str = "vanilla") -> tf.Tensor:
    """D's GAN term (:func:`pix2pix_tf.losses.gan_loss`), for one D or a list of scales, and "hinge".

    ``mode="hinge"``: mean(relu(1 - logits)) for real, mean(relu(1 + logits)) for fake.

    Example:
        >>> float(gan_loss(tf.constant([0.5, -2.0]), True, "hinge"))  # (0.5 + 3) / 2
        1.75
        >>> round(float(gan_loss([tf.zeros((1, 2, 2, 1))] * 2, True)), 4)  # two undecided scales
        0.6931
    """
    if isinstance(logits, (list, tuple)):  # a multi-scale D: average the scales
        return mean_over_scales([gan_loss(scale, target_is_real, mode) for scale in logits])
    if mode == "hinge":
        logits = tf.cast(logits, tf.float32)
        return tf.reduce_mean(tf.nn.relu(1.0 - logits if target_is_real else 1.0 + logits))
    return paper.gan_loss(logits, target_is_real, mode)


def generator_gan_loss(fake_logits, mode: str = "vanilla") -> tf.Tensor:
    """G's GAN term: fake -> "real" (the non-saturating form); "hinge": -mean(logits).

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


def discriminator_loss(real_logits, fake_logits, mode: str = "vanilla", weight: float = 0.5):
    """D's loss as :func:`pix2pix_tf.losses.discriminator_loss`, with lists of scales and "hinge".

    Returns:
        ``(total, real, fake)`` float32 scalars.
    """
    real = gan_loss(real_logits, True, mode)
    fake = gan_loss(fake_logits, False, mode)
    return weight * (real + fake), real, fake


def generator_loss(fake_logits, target, generated, lambda_l1: float = 100.0, mode: str = "vanilla",
                   loss: str = "l1+cgan", recon: str = "l1"):
    """G's loss as :func:`pix2pix_tf.losses.generator_loss`, with lists of scales and "hinge".

    Example:
        >>> y, g = tf.zeros((1, 2, 2, 1)), tf.fill((1, 2, 2, 1), 0.5)
        >>> [float(t) for t in generator_loss(tf.fill((1, 2, 2, 1), 0.5), y, g, 10.0, "hinge")]
        [4.5, -0.5, 0.5]
    """
    use_recon, use_gan, _ = paper.objective_terms(loss)
    if use_gan:
        if fake_logits is None:
            raise ValueError(f"loss {loss!r} has a GAN term: fake_logits must be given")
        gan = generator_gan_loss(fake_logits, mode)
    else:
        gan = tf.constant(0.0, tf.float32)
    rec = paper.reconstruction_loss(target, generated, recon)
    return (gan + lambda_l1 * rec if use_recon else gan), gan, rec


def feature_matching_loss(real_features, fake_features) -> tf.Tensor:
    """pix2pixHD's feature matching: L1 between D's features on the real and the fake pair.

    For each scale of D and each of its LeakyReLU blocks, the mean absolute difference of
    D's activations on (x, y) and on (x, G(x)); averaged over the blocks, then over the
    scales. The real pair's features are constants (``stop_gradient``): G moves its own
    features towards them. (pix2pixHD weights the blocks 4 / (n_layers + 1) and sums them,
    so its lambda = 10 is ``lambda_fm = 40`` here, with 4 blocks.)

    Args:
        real_features, fake_features: one list per scale of D, each a list of feature maps
            (batch, h, w, c), as :func:`pix2pix_tf.successors.networks.discriminator_features` returns.

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
