"""Core tier: the training step (Isola et al. 2017, section 3.3, equation 4).

One step: G(x); D scores (x, y) and (x, G(x)); D takes one Adam step on its halved
cross-entropy, G one Adam step on the GAN term + lambda * L1, both with the paper's Adam
(lr 2e-4, beta1 0.5). Tiny 32x32 networks; only public top-level names of the package.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import Pix2Pix, Pix2PixConfig

LOSS_NAMES = {"d_loss", "d_real", "d_fake", "g_gan", "g_l1", "g_total"}


def tiny(**changes) -> Pix2PixConfig:
    return Pix2PixConfig(**{"image_size": 32, "load_size": 36, "ngf": 4, "ndf": 4, **changes})


def batch(seed: int = 0, n: int = 1) -> tuple[tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)), tf.float32)
    y = tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)), tf.float32)
    return x, y


def model_of(cfg: Pix2PixConfig, **compile_args) -> Pix2Pix:
    keras.utils.set_random_seed(0)
    model = Pix2Pix.from_config_object(cfg)
    model.compile(**compile_args)
    return model


def snapshot(variables) -> list[np.ndarray]:
    return [v.numpy().copy() for v in variables]


def changed(variables, before) -> list[bool]:
    return [not np.array_equal(v.numpy(), b) for v, b in zip(variables, before, strict=True)]


def bce(logits: np.ndarray, label: float) -> float:
    z = logits.astype(np.float64)
    return float(np.mean(label * np.logaddexp(0, -z) + (1 - label) * np.logaddexp(0, z)))


# ------------------------------------------------------------------------------ the step
def test_train_step_logs_finite_losses_and_counts_steps():
    model = model_of(tiny())
    assert model.step == 0
    for expected_step in (1, 2):
        logs = model.train_step(batch(expected_step))
        assert set(logs) == LOSS_NAMES
        assert all(np.isfinite(float(v)) for v in logs.values())
        assert model.step == expected_step
    assert int(model.d_optimizer.iterations.numpy()) == 2  # one D update per step too


def test_train_step_losses_are_the_objective():
    """Without dropout G and D are deterministic in training mode: recompute the step's losses
    from G's and D's outputs before the step, with numpy."""
    cfg = tiny(dropout_rate=0.0)
    model = model_of(cfg)
    x, y = batch(3)
    fake = model.generator(x, training=True)
    real_logits = model.discriminator([x, y], training=True).numpy()
    fake_logits = model.discriminator([x, fake], training=True).numpy()
    l1 = float(np.mean(np.abs(y.numpy().astype(np.float64) - fake.numpy())))
    logs = {k: float(v) for k, v in model.train_step((x, y)).items()}
    expected = {
        "d_real": bce(real_logits, 1.0), "d_fake": bce(fake_logits, 0.0),
        "d_loss": 0.5 * (bce(real_logits, 1.0) + bce(fake_logits, 0.0)),
        "g_gan": bce(fake_logits, 1.0), "g_l1": l1,
        "g_total": bce(fake_logits, 1.0) + 100.0 * l1,
    }
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name


def test_one_step_updates_every_weight_of_both_networks():
    model = model_of(tiny())
    g0 = snapshot(model.generator.trainable_variables)
    d0 = snapshot(model.discriminator.trainable_variables)
    model.train_step(batch())
    assert all(changed(model.generator.trainable_variables, g0))
    assert all(changed(model.discriminator.trainable_variables, d0))


def test_each_network_changes_only_through_its_own_update():
    x_y = batch(4)
    # G's optimizer frozen: D's update (and D's gradient through G(x)) leaves G untouched
    model = model_of(tiny(), g_optimizer=keras.optimizers.Adam(learning_rate=0.0))
    g0 = snapshot(model.generator.trainable_variables)
    d0 = snapshot(model.discriminator.trainable_variables)
    model.train_step(x_y)
    assert not any(changed(model.generator.trainable_variables, g0))
    assert all(changed(model.discriminator.trainable_variables, d0))
    # D's optimizer frozen: G's update leaves D untouched
    model = model_of(tiny(), d_optimizer=keras.optimizers.Adam(learning_rate=0.0))
    g0 = snapshot(model.generator.trainable_variables)
    d0 = snapshot(model.discriminator.trainable_variables)
    model.train_step(x_y)
    assert all(changed(model.generator.trainable_variables, g0))
    assert not any(changed(model.discriminator.trainable_variables, d0))


def test_l1_only_trains_no_discriminator():
    """The "L1" row of table 1: G on lambda * L1 alone; D is neither run nor updated."""
    model = model_of(tiny(loss="l1"))
    g0 = snapshot(model.generator.trainable_variables)
    d0 = snapshot(model.discriminator.weights)  # moving statistics included: D never runs
    logs = {k: float(v) for k, v in model.train_step(batch(5)).items()}
    assert all(changed(model.generator.trainable_variables, g0))
    assert not any(changed(model.discriminator.weights, d0))
    assert logs["d_loss"] == logs["d_real"] == logs["d_fake"] == logs["g_gan"] == 0.0
    assert logs["g_total"] == pytest.approx(100.0 * logs["g_l1"], rel=1e-6)
    assert model.step == 1 and int(model.d_optimizer.iterations.numpy()) == 0


def test_calling_the_model_runs_the_generator():
    model = model_of(tiny())
    x, _ = batch()
    out = model(x)
    np.testing.assert_array_equal(out.numpy(), model.generator(x, training=False).numpy())
    assert tuple(out.shape) == (1, 32, 32, 3)


# ------------------------------------------------------------------------------ optimizers
def test_paper_adam_settings():
    model = model_of(tiny())
    for opt in (model.g_optimizer, model.d_optimizer):
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(2e-4)
        assert opt.beta_1 == pytest.approx(0.5) and opt.beta_2 == pytest.approx(0.999)
    assert model.g_optimizer is not model.d_optimizer
    # the config drives them: D's rate follows d_lr_scale, both follow learning_rate / beta_1
    model = model_of(tiny(learning_rate=1e-3, beta_1=0.9, d_lr_scale=0.5))
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(5e-4)
    assert model.g_optimizer.beta_1 == pytest.approx(0.9)


# ------------------------------------------------------------------------------ config, checkpoint
def test_get_config_from_config_round_trip():
    cfg = tiny(lambda_l1=10.0, net_d="pixel", direction="BtoA")
    model = model_of(cfg)
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config  # plain JSON
    assert config["config"] == cfg.to_dict()
    clone = Pix2Pix.from_config(config)
    assert isinstance(clone, Pix2Pix) and clone.config == cfg and clone.name == model.name
    for net in ("generator", "discriminator"):
        assert [tuple(w.shape) for w in getattr(clone, net).weights] == \
            [tuple(w.shape) for w in getattr(model, net).weights]


def test_checkpoint_holds_both_networks_and_both_optimizers(tmp_path):
    model = model_of(tiny())
    ckpt = model.checkpoint()
    assert ckpt.generator is model.generator and ckpt.discriminator is model.discriminator
    assert ckpt.g_optimizer is model.g_optimizer and ckpt.d_optimizer is model.d_optimizer
    model.train_step(batch(6))
    path = ckpt.write(str(tmp_path / "ckpt"))

    # a fresh model with other initial weights gets everything back from the file
    keras.utils.set_random_seed(1)
    other = Pix2Pix.from_config_object(tiny())
    other.compile()
    assert other.step == 0
    other.checkpoint().read(path).assert_existing_objects_matched()
    assert other.step == 1 and int(other.d_optimizer.iterations.numpy()) == 1
    for net in ("generator", "discriminator"):
        for a, b in zip(getattr(other, net).weights, getattr(model, net).weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    for opt in ("g_optimizer", "d_optimizer"):  # Adam's moments too
        for a, b in zip(getattr(other, opt).variables, getattr(model, opt).variables, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
