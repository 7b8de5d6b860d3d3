"""Core tier: the objective (Isola et al. 2017, section 3.1 eq. 1-4, section 3.3, table 1).

    G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G),  lambda = 100

D minimises the cross-entropy of its patch logits (real pair -> 1, generated pair -> 0),
divided by 2; G minimises the non-saturating -log D(x, G(x)) plus lambda * L1. Every value
is checked against a numpy computation on seeded random logits.

Needs two names that are not public at the top level: ``discriminator_loss`` and
``generator_loss`` from ``pix2pix_tf.losses``.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import ConfigError, Pix2PixConfig
from pix2pix_tf.losses import discriminator_loss, generator_loss  # not public at the top level

PAPER = Pix2PixConfig()
RNG = np.random.default_rng(0)
REAL = RNG.normal(0, 2, (2, 6, 6, 1)).astype(np.float32)  # D's logits on (x, y)
FAKE = RNG.normal(0, 2, (2, 6, 6, 1)).astype(np.float32)  # D's logits on (x, G(x))
TARGET = RNG.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)  # y
GENERATED = RNG.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)  # G(x)


def bce(logits: np.ndarray, label: float) -> float:
    """Mean sigmoid cross-entropy, in float64: -[l log s(z) + (1 - l) log(1 - s(z))]."""
    z = logits.astype(np.float64)
    # -log s(z) = log(1 + e^-z); -log(1 - s(z)) = log(1 + e^z)
    return float(np.mean(label * np.logaddexp(0, -z) + (1 - label) * np.logaddexp(0, z)))


def l1() -> float:
    return float(np.mean(np.abs(TARGET.astype(np.float64) - GENERATED)))


def values(tensors) -> list[float]:
    return [float(t) for t in tensors]


# ------------------------------------------------------------------------------ D
def test_discriminator_loss_is_the_halved_cross_entropy():
    assert PAPER.d_loss_weight == 0.5 and PAPER.gan_mode == "vanilla"
    total, real, fake = discriminator_loss(tf.constant(REAL), tf.constant(FAKE),
                                           PAPER.gan_mode, weight=PAPER.d_loss_weight)
    assert all(t.dtype == tf.float32 and t.shape == () for t in (total, real, fake))
    expected_real, expected_fake = bce(REAL, 1.0), bce(FAKE, 0.0)
    np.testing.assert_allclose(values((total, real, fake)),
                               [0.5 * (expected_real + expected_fake), expected_real, expected_fake],
                               rtol=1e-5)
    # the weight scales the total only
    total1, real1, fake1 = discriminator_loss(tf.constant(REAL), tf.constant(FAKE), weight=1.0)
    np.testing.assert_allclose(float(total1), expected_real + expected_fake, rtol=1e-5)
    np.testing.assert_allclose(values((real1, fake1)), [expected_real, expected_fake], rtol=1e-5)


def test_discriminator_loss_rewards_the_right_verdicts():
    sure = tf.fill((1, 30, 30, 1), 12.0)
    right, _, _ = discriminator_loss(sure, -sure)  # real -> "real", fake -> "fake"
    wrong, _, _ = discriminator_loss(-sure, sure)
    assert float(right) < 1e-4
    np.testing.assert_allclose(float(wrong), 0.5 * 2 * bce(np.full(1, 12.0), 0.0), rtol=1e-5)


# ------------------------------------------------------------------------------ G
def test_generator_loss_is_non_saturating_gan_plus_100_l1():
    assert PAPER.lambda_l1 == 100.0 and PAPER.loss == "l1+cgan" and PAPER.recon_loss == "l1"
    total, gan, rec = generator_loss(tf.constant(FAKE), tf.constant(TARGET), tf.constant(GENERATED),
                                     PAPER.lambda_l1, PAPER.gan_mode, loss=PAPER.loss)
    assert all(t.dtype == tf.float32 and t.shape == () for t in (total, gan, rec))
    np.testing.assert_allclose(values((total, gan, rec)),
                               [bce(FAKE, 1.0) + 100.0 * l1(), bce(FAKE, 1.0), l1()], rtol=1e-5)


def test_generator_gan_term_does_not_saturate():
    """G maximises log D(x, G(x)) rather than minimising log(1 - D(x, G(x))) (section 3.3):
    when D rejects the fakes with confidence (logits -10) G's gradient stays near -1 per logit,
    where the saturating form's would be sigmoid(-10) = 4.5e-5."""
    logits = tf.Variable(tf.fill((1, 2, 2, 1), -10.0))
    with tf.GradientTape() as tape:
        _, gan, _ = generator_loss(logits, tf.constant(TARGET), tf.constant(GENERATED))
    grad = tape.gradient(gan, logits).numpy() * 4  # mean over 4 logits
    np.testing.assert_allclose(grad, -1.0, atol=1e-3)
    np.testing.assert_allclose(float(gan), np.logaddexp(0, 10.0), rtol=1e-5)


@pytest.mark.parametrize("lam", [100.0, 10.0, 0.0])
def test_lambda_weights_the_l1_term(lam):
    total, gan, rec = generator_loss(tf.constant(FAKE), tf.constant(TARGET), tf.constant(GENERATED),
                                     lambda_l1=lam)
    np.testing.assert_allclose(float(total), bce(FAKE, 1.0) + lam * l1(), rtol=1e-5)
    np.testing.assert_allclose(float(rec), l1(), rtol=1e-5)


# loss setting -> (G's total from (gan, l1) at lambda 100, G's logged gan term)
ABLATIONS = {
    "l1+cgan": (lambda g, r: g + 100.0 * r, "gan"),  # the paper
    "l1": (lambda g, r: 100.0 * r, "zero"),  # no GAN term at all
    "cgan": (lambda g, r: g, "gan"),  # lambda = 0
    "l1+gan": (lambda g, r: g + 100.0 * r, "gan"),  # unconditional D (see test_discriminator)
    "gan": (lambda g, r: g, "gan"),
}


@pytest.mark.parametrize("loss", list(ABLATIONS))
def test_objective_ablations_drop_the_right_term(loss):
    cfg = PAPER.replace(loss=loss)
    formula, gan_logged = ABLATIONS[loss]
    logits = None if loss == "l1" else tf.constant(FAKE)  # "l1" has no D to ask
    total, gan, rec = generator_loss(logits, tf.constant(TARGET), tf.constant(GENERATED),
                                     cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss)
    g = bce(FAKE, 1.0)
    np.testing.assert_allclose(float(total), formula(g, l1()), rtol=1e-5)
    np.testing.assert_allclose(float(gan), g if gan_logged == "gan" else 0.0, rtol=1e-5)
    np.testing.assert_allclose(float(rec), l1(), rtol=1e-5)  # logged even when not optimised


def test_ablations_are_exactly_the_configs_loss_choices():
    for loss in ABLATIONS:
        assert Pix2PixConfig(loss=loss).loss == loss
    with pytest.raises(ConfigError, match="'loss'"):
        Pix2PixConfig(loss="l2+cgan")


def test_gan_term_needs_logits():
    with pytest.raises(ValueError):
        generator_loss(None, tf.constant(TARGET), tf.constant(GENERATED), loss="l1+cgan")


def test_l2_reconstruction():
    total, _, rec = generator_loss(None, tf.constant(TARGET), tf.constant(GENERATED), lambda_l1=3.0,
                                   loss="l1", recon=PAPER.replace(recon_loss="l2").recon_loss)
    l2 = float(np.mean((TARGET.astype(np.float64) - GENERATED) ** 2))
    np.testing.assert_allclose(values((total, rec)), [3.0 * l2, l2], rtol=1e-5)


# ------------------------------------------------------------------------------ other GAN losses
def test_lsgan_losses():
    cfg = PAPER.replace(gan_mode="lsgan")
    total, real, fake = discriminator_loss(tf.constant(REAL), tf.constant(FAKE), cfg.gan_mode,
                                           weight=cfg.d_loss_weight)
    r, f = REAL.astype(np.float64), FAKE.astype(np.float64)
    expected_real, expected_fake = np.mean((r - 1) ** 2), np.mean(f ** 2)
    np.testing.assert_allclose(values((total, real, fake)),
                               [0.5 * (expected_real + expected_fake), expected_real, expected_fake],
                               rtol=1e-5)
    g_total, gan, _ = generator_loss(tf.constant(FAKE), tf.constant(TARGET), tf.constant(GENERATED),
                                     cfg.lambda_l1, cfg.gan_mode)
    np.testing.assert_allclose(values((g_total, gan)),
                               [np.mean((f - 1) ** 2) + 100.0 * l1(), np.mean((f - 1) ** 2)], rtol=1e-5)


def test_unknown_gan_mode_is_refused():
    with pytest.raises(ConfigError, match="'gan_mode'"):
        Pix2PixConfig(gan_mode="wgan")
    with pytest.raises(ValueError):
        discriminator_loss(tf.constant(REAL), tf.constant(FAKE), "wgan")
