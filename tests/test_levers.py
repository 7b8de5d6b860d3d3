"""Issue 17: the quality levers of pix2pix's successors, each a config field, off by default.

Since issue 25 they are their own config (SuccessorConfig) and model (SuccessorPix2Pix).

EMA of G's weights, pix2pixHD's feature matching and multi-scale D, hinge loss, spectral
normalization of D, a perceptual loss from a local file, resize-convolution upsampling, and
the presets. Each lever's maths is checked on real tensors at 32x32 with 4-filter networks.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.fast.transform import speed_up
from pix2pix_tf.apps import cli, cli_parser
from pix2pix_tf.config import ConfigError, Pix2PixConfig
from pix2pix_tf.course.diagram_layouts import patchgan_layout
from pix2pix_tf.layers import walk_layers
from pix2pix_tf.host.memory import parameter_count
from pix2pix_tf.successors.config import PRESETS, SuccessorConfig, config_from_dict
from pix2pix_tf.successors.losses import (discriminator_loss, feature_matching_loss, gan_loss,
                                          generator_gan_loss, generator_loss, perceptual_loss)
from pix2pix_tf.successors.model import SuccessorPix2Pix, ema_decay_at, ema_update
from pix2pix_tf.successors.networks import (build_successor_discriminator as build_discriminator,
                                            discriminator_features, feature_layer_names, receptive_field,
                                            receptive_fields, resize_conv)

TINY = dict(image_size=32, load_size=32, ngf=4, ndf=4)
LEVERS = ("ema_decay", "lambda_fm", "num_d", "spectral_norm", "lambda_perceptual", "perceptual_weights")


def _model(seed=0, conv_impl="auto", **changes) -> SuccessorPix2Pix:
    keras.utils.set_random_seed(seed)
    model = SuccessorPix2Pix.from_config_object(SuccessorConfig(**{**TINY, **changes}))
    model.compile()
    return speed_up(model, conv_impl)  # as a run trains it


def _batch(seed=0, n=2):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32")
    y = np.clip(x.mean(-1, keepdims=True) * 0.8 + rng.uniform(-0.2, 0.2, (n, 32, 32, 3)), -1, 1)
    return tf.constant(x), tf.constant(y.astype("float32"))


# ------------------------------------------------------------------ config, presets, CLI
def test_levers_are_off_by_default_and_old_configs_load():
    cfg = SuccessorConfig()
    assert (cfg.ema_decay, cfg.lambda_fm, cfg.num_d, cfg.spectral_norm, cfg.lambda_perceptual,
            cfg.perceptual_weights, cfg.gan_mode) == (0.0, 0.0, 1, False, 0.0, "", "vanilla")
    old = {k: v for k, v in SuccessorConfig(**TINY).to_dict().items() if k not in LEVERS}  # a config.json from before
    assert SuccessorConfig.from_dict(old) == SuccessorConfig(**TINY)
    # every config.json reads back as the smallest class: levers at their defaults are the paper's
    assert config_from_dict(SuccessorConfig(**TINY).to_dict()) == Pix2PixConfig(**TINY)
    assert type(config_from_dict(SuccessorConfig(**TINY, num_d=2).to_dict())) is SuccessorConfig
    model = _model()
    assert model.ema_generator is None and model.inference_generator is model.generator
    assert sorted(model.train_step(_batch())) == ["d_fake", "d_loss", "d_real", "g_gan", "g_l1", "g_total"]
    assert not hasattr(model.checkpoint(), "ema_generator")  # a paper run's checkpoint is unchanged


@pytest.mark.parametrize("changes, field", [
    (dict(ema_decay=1.0), "ema_decay"), (dict(ema_decay=-0.1), "ema_decay"),
    (dict(lambda_fm=-1.0), "lambda_fm"), (dict(num_d=0), "num_d"), (dict(num_d=4), "num_d"),
    (dict(num_d=2, loss="l1"), "num_d"), (dict(lambda_fm=1.0, loss="l1"), "lambda_fm"),
    (dict(spectral_norm=True, loss="l1"), "spectral_norm"), (dict(spectral_norm=1), "spectral_norm"),
    (dict(lambda_perceptual=-1.0), "lambda_perceptual"), (dict(lambda_perceptual=1.0), "perceptual_weights"),
    (dict(gan_mode="wgan"), "gan_mode"),
])
def test_bad_lever_values_are_refused_in_one_line_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as e:
        SuccessorConfig(**{**TINY, **changes})
    assert e.value.field == field and f"'{field}'" in str(e.value) and "\n" not in str(e.value)


def test_check_trainable_refuses_a_d_too_deep_for_its_smallest_scale():
    SuccessorConfig(**TINY, num_d=2, n_layers_d=2).check_trainable()  # 16 pixels / 4 >= 3
    with pytest.raises(ConfigError, match="n_layers_d.*smallest scale") as e:
        SuccessorConfig(**TINY, num_d=2, n_layers_d=3).check_trainable()  # 16 / 8 < 3
    assert e.value.field == "n_layers_d"


def test_check_trainable_refuses_a_missing_or_wrong_perceptual_file(tmp_path):
    missing = tmp_path / "vgg19_notop.h5"
    for path, why in ((missing, "file not found"), (tmp_path, "must be a .keras"),
                      (tmp_path / "weights.pt", "must be a .keras")):
        cfg = SuccessorConfig(**TINY, lambda_perceptual=1.0, perceptual_weights=str(path))  # valid as a config
        with pytest.raises(ConfigError, match=why) as e:
            cfg.check_trainable()
        assert e.value.field == "perceptual_weights" and str(path) in str(e.value)
        assert "\n" not in str(e.value) and "nothing is downloaded" in str(e.value)


def test_presets_and_overrides():
    assert PRESETS["paper"] == {} and SuccessorConfig.preset("paper") == SuccessorConfig()
    q = SuccessorConfig.preset("quality", **TINY, n_layers_d=2, lambda_fm=1.0)
    assert q == SuccessorConfig(**TINY, n_layers_d=2, **{**PRESETS["quality"], "lambda_fm": 1.0})
    assert q.ema_decay == PRESETS["quality"]["ema_decay"] > 0 and q.lambda_fm == 1.0 and q.image_size == 32
    assert q.spectral_norm is True and PRESETS["quality"] == {"ema_decay": 0.999, "spectral_norm": True}
    with pytest.raises(ConfigError) as e:
        SuccessorConfig.preset("best")
    assert str(e.value) == "unknown preset 'best'; known presets: paper, quality, lite32, lite16"
    assert SuccessorConfig.preset("lite16").ngf == 16 and SuccessorConfig.preset("lite32", ndf=8).ngf == 32


def _train_args(*flags):
    return cli_parser.build_parser().parse_args(["train", "--data", "d", *flags])


def test_cli_flags_for_every_lever_and_the_preset(tmp_path, capsys):
    args = _train_args("--image-size", "32", "--ema-decay", "0.99", "--lambda-fm", "10", "--num-d", "2",
                       "--n-layers-d", "2", "--spectral-norm", "--gan-mode", "hinge")
    cfg = cli_parser._config_from_args(args)
    assert (cfg.ema_decay, cfg.lambda_fm, cfg.num_d, cfg.spectral_norm, cfg.gan_mode) == (
        0.99, 10.0, 2, True, "hinge")
    cfg = cli_parser._config_from_args(_train_args("--preset", "quality", "--ema-decay", "0.99", "--num-d", "2",
                                            "--image-size", "64"))
    assert (cfg.ema_decay, cfg.num_d) == (0.99, 2)  # the flags win over the preset
    assert cli_parser._config_from_args(_train_args("--preset", "quality")).ema_decay == PRESETS["quality"]["ema_decay"]
    for flags, message in ((["--num-d", "4"], "argument --num-d: must be in 1..3"),
                           (["--preset", "best"], "argument --preset: invalid choice")):
        with pytest.raises(SystemExit) as e:
            _train_args(*flags)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_preset_with_resume_is_checked_like_the_flags(tmp_path, capsys):
    run = tmp_path / "run"  # a run folder as resume sees it (what is checked before any training)
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "ckpt-1.index").write_bytes(b"")
    saved = {**TINY, "load_size": 36, "n_layers_d": 2}  # what --image-size 32 --n-layers-d 2 give
    SuccessorConfig(**saved).save(run / "config.json")
    base = ["train", "--data", str(tmp_path), "--out", str(run), "--resume", "--image-size", "32",
            "--n-layers-d", "2", "--ngf", "4"]  # ngf: the lite presets set it, so it is checked too
    assert cli.main(base + ["--preset", "quality"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--resume: ema_decay is 0.0 in" in err and "flags say 0.999" in err and "\n" not in err
    SuccessorConfig.preset("quality", **saved).save(run / "config.json")
    assert cli.main(base + ["--preset", "quality"]) != 2 or "ema_decay" not in capsys.readouterr().err
    assert cli.main(base + ["--preset", "paper"]) == 2  # "paper" sets the levers back to the defaults
    assert "flags say 0.0" in capsys.readouterr().err


# ------------------------------------------------------------------ hinge loss
def test_hinge_loss_by_hand():
    real = tf.constant([0.5, -2.0, 1.5, 3.0])  # relu(1 - real) = 0.5, 3, 0, 0 -> 0.875
    fake = tf.constant([-0.5, 2.0, -1.5, 0.0])  # relu(1 + fake) = 0.5, 3, 0, 1 -> 1.125
    total, d_real, d_fake = discriminator_loss(real, fake, "hinge", weight=0.5)
    np.testing.assert_allclose([float(total), float(d_real), float(d_fake)], [1.0, 0.875, 1.125])
    assert float(generator_gan_loss(fake, "hinge")) == pytest.approx(0.0)  # -mean(fake)
    assert float(generator_gan_loss(tf.constant([-0.5, 2.0, -1.5, 1.0]), "hinge")) == pytest.approx(-0.25)
    g_total, g_gan, g_l1 = generator_loss(tf.constant([1.0, 3.0]), tf.zeros((1, 2, 2, 1)),
                                          tf.fill((1, 2, 2, 1), 0.5), lambda_l1=10.0, mode="hinge")
    np.testing.assert_allclose([float(g_total), float(g_gan), float(g_l1)], [3.0, -2.0, 0.5])


def test_hinge_losses_on_random_logits():
    """The hinge terms against numpy on random patch logits (moved from tests/core: not the paper's)."""
    rng = np.random.default_rng(0)
    r, f = rng.normal(0, 2, (2, 6, 6, 1)), rng.normal(0, 2, (2, 6, 6, 1))
    target, generated = rng.uniform(-1, 1, (2, 16, 16, 3)), rng.uniform(-1, 1, (2, 16, 16, 3))
    total, real, fake = discriminator_loss(tf.constant(r, tf.float32), tf.constant(f, tf.float32), "hinge")
    want_real, want_fake = np.mean(np.maximum(0, 1 - r)), np.mean(np.maximum(0, 1 + f))
    np.testing.assert_allclose([float(total), float(real), float(fake)],
                               [0.5 * (want_real + want_fake), want_real, want_fake], rtol=1e-5)
    g_total, gan, _ = generator_loss(tf.constant(f, tf.float32), tf.constant(target, tf.float32),
                                     tf.constant(generated, tf.float32), 100.0, "hinge")
    l1 = np.mean(np.abs(target - generated))
    np.testing.assert_allclose([float(g_total), float(gan)], [-np.mean(f) + 100.0 * l1, -np.mean(f)], rtol=1e-5)


# ------------------------------------------------------------------ multi-scale D
def test_gan_losses_average_over_the_scales():
    a, b = tf.constant([0.5, -2.0]), tf.constant([[1.0, 3.0, -1.0, 0.0]])
    for mode in ("vanilla", "lsgan", "hinge"):
        for real in (True, False):
            want = (float(gan_loss(a, real, mode)) + float(gan_loss(b, real, mode))) / 2
            assert float(gan_loss([a, b], real, mode)) == pytest.approx(want)
        want = (float(generator_gan_loss(a, mode)) + float(generator_gan_loss(b, mode))) / 2
        assert float(generator_gan_loss([a, b], mode)) == pytest.approx(want)


def test_multiscale_d_runs_the_same_patchgan_on_average_pooled_pairs():
    cfg = SuccessorConfig(**TINY, n_layers_d=2, num_d=2, norm="none")
    keras.utils.set_random_seed(0)
    d = build_discriminator(cfg)
    assert d.name == "multiscale_patchgan_discriminator"
    assert d.output_shape == [(None, 6, 6, 1), (None, 2, 2, 1)]
    x, y = _batch()
    pair = tf.concat([x, y], -1)  # (2, 32, 32, 6)
    # scale 1 = a one-scale D with scale 1's weights on the pair after 3x3 / stride 2 average
    # pooling whose border windows average only the pixels inside (pix2pixHD: count_include_pad=False;
    # TensorFlow's "same" padding puts the one padded row and column at the bottom and right)
    one = build_discriminator(cfg.replace(num_d=1), shape=(16, 16))
    scale1 = [layer for layer in d.layers if layer.name.startswith("scale1_") and layer.weights]
    for layer in scale1:
        one.get_layer(layer.name.removeprefix("scale1_")).set_weights(layer.get_weights())
    p = pair.numpy()
    padded = np.pad(p, ((0, 0), (0, 1), (0, 1), (0, 0)))
    ones = np.pad(np.ones((1, 32, 32, 1)), ((0, 0), (0, 1), (0, 1), (0, 0)))
    pooled = np.zeros((2, 16, 16, 6))
    for i in range(16):
        for j in range(16):
            window = padded[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            pooled[:, i, j] = window.sum((1, 2)) / ones[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].sum()
    want = one([pooled[..., :3].astype("float32"), pooled[..., 3:].astype("float32")], training=False)
    got = d([x, y], training=False)
    assert len(got) == 2
    np.testing.assert_allclose(got[1].numpy(), want.numpy(), atol=1e-5)
    # parameters: num_d copies of the same PatchGAN
    assert d.count_params() == 2 * build_discriminator(cfg.replace(num_d=1)).count_params()
    assert parameter_count(cfg)[1] == 2 * parameter_count(cfg.replace(num_d=1))[1]


def test_receptive_fields_per_scale_in_full_size_pixels():
    paper = build_discriminator(SuccessorConfig(ndf=4, num_d=3))  # 256x256, the 70x70 PatchGAN
    assert receptive_fields(paper) == [70, 3 + 69 * 2, 7 + 69 * 4] == [70, 141, 283]
    assert receptive_field(paper) == 70  # the full-size scale
    assert receptive_fields(build_discriminator(SuccessorConfig(ndf=4))) == [70]
    assert receptive_fields(build_discriminator(SuccessorConfig(ndf=4, num_d=2, spectral_norm=True))) == [70, 141]
    # measured: the window of input pixels that move the centre logit of each scale
    cfg = SuccessorConfig(image_size=128, load_size=128, ndf=4, n_layers_d=1, num_d=2, norm="none",
                        loss="gan")  # D sees the image alone: one input
    keras.utils.set_random_seed(0)
    d = build_discriminator(cfg)
    img = tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype("float32"))
    measured = []
    for logits_index in range(2):
        with tf.GradientTape() as tape:
            tape.watch(img)
            logits = d(img, training=False)[logits_index]
            c = logits.shape[1] // 2
            centre = logits[0, c, c, 0]
        rows = np.nonzero(np.abs(tape.gradient(centre, img)[0].numpy()).sum((1, 2)) > 0)[0]
        measured.append(int(rows.max() - rows.min() + 1))
    assert measured == receptive_fields(d) == [16, 3 + 15 * 2]


def test_diagram_refuses_a_multiscale_d_clearly_and_draws_a_spectral_norm_d():
    with pytest.raises(ValueError, match="2 scales.*num_d=1"):
        patchgan_layout(build_discriminator(SuccessorConfig(**TINY, num_d=2, n_layers_d=2)))
    layout = patchgan_layout(build_discriminator(SuccessorConfig(**TINY, spectral_norm=True)))
    assert layout.receptive_field == 70 and len(layout.layers) == 5


# ------------------------------------------------------------------ feature matching
def test_feature_matching_loss_by_hand_and_real_features_are_constants():
    real = [[tf.zeros((1, 2, 2, 1)), tf.ones((1, 1, 1, 2))], [tf.zeros((1, 1, 1, 1))]]
    fake = [[tf.ones((1, 2, 2, 1)), tf.fill((1, 1, 1, 2), 4.0)], [tf.fill((1, 1, 1, 1), -2.0)]]
    # scale 0: blocks 1 and 3 -> 2; scale 1: 2 -> mean over scales 2
    assert float(feature_matching_loss(real, fake)) == pytest.approx(2.0)
    r = tf.Variable(tf.zeros((1, 2, 2, 1)))
    f = tf.Variable(tf.ones((1, 2, 2, 1)))
    with tf.GradientTape() as tape:
        loss = feature_matching_loss([[r]], [[f]])
    g_real, g_fake = tape.gradient(loss, [r, f])
    assert g_real is None and np.allclose(g_fake.numpy(), 0.25)


def test_d_features_share_d_and_feature_matching_enters_g_loss():
    cfg = SuccessorConfig(**TINY, num_d=2, n_layers_d=2, lambda_fm=10.0)
    model = _model(**dataclasses.asdict(cfg))
    d = model.discriminator
    assert len(d.outputs) == 2  # D itself stays a logits model
    features = discriminator_features(d, cfg)
    assert {id(v) for v in features.weights} == {id(v) for v in d.weights}  # the same variables
    x, y = _batch()
    out = features([x, y], training=False)
    for got, want in zip(out["logits"], d([x, y], training=False)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    names = feature_layer_names(cfg)
    assert names == [["down1", "down2", "lrelu_s1"], ["scale1_down1", "scale1_down2", "scale1_lrelu_s1"]]
    assert [[tuple(f.shape) for f in scale] for scale in out["features"]] == [
        [(2, 16, 16, 4), (2, 8, 8, 8), (2, 7, 7, 16)], [(2, 8, 8, 4), (2, 4, 4, 8), (2, 3, 3, 16)]]
    logs = model.train_step((x, y))
    assert sorted(logs) == ["d_fake", "d_loss", "d_real", "g_fm", "g_gan", "g_l1", "g_total"]
    assert float(logs["g_fm"]) > 0
    assert float(logs["g_total"]) == pytest.approx(
        float(logs["g_gan"]) + 100.0 * float(logs["g_l1"]) + 10.0 * float(logs["g_fm"]), rel=1e-5)


# ------------------------------------------------------------------ EMA of G's weights
def test_ema_update_maths_and_warm_up():
    a, w = tf.Variable([0.0, 10.0]), tf.Variable([1.0, 0.0])
    ema_update([a], [w], 0.9)
    np.testing.assert_allclose(a.numpy(), [0.1, 9.0], atol=1e-6)
    assert float(ema_decay_at(0.999, 0)) == pytest.approx(0.1)
    assert float(ema_decay_at(0.999, 90)) == pytest.approx(91 / 100)
    assert float(ema_decay_at(0.5, 90)) == 0.5  # the configured decay caps it
    assert float(ema_decay_at(0.999, 10 ** 6)) == pytest.approx(0.999)


def test_ema_generator_follows_g_after_each_update_and_serves():
    model = _model(ema_decay=0.9)
    g, ema = model.generator, model.ema_generator
    assert ema is not None and not ema.trainable and ema.trainable_weights == []
    assert model.inference_generator is ema
    for a, b in zip(ema.weights, g.weights):  # starts as a copy
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    before = [v.numpy() for v in ema.weights]
    batch = _batch()
    model.train_step(batch)
    d = float(ema_decay_at(0.9, 1))  # 2 / 11
    moved = 0
    for e, w, b in zip(ema.weights, g.weights, before):  # every weight, BN statistics included
        np.testing.assert_allclose(e.numpy(), d * b + (1 - d) * w.numpy(), rtol=1e-5, atol=1e-7)
        moved += not np.array_equal(e.numpy(), w.numpy())
    assert moved > 10  # the average is not the weights
    # evaluation, predict and model(x) use the average; training calls use G
    x, y = batch
    np.testing.assert_allclose(model(x).numpy(), ema(x, training=False).numpy())
    np.testing.assert_allclose(model.predict(x, verbose=0), ema(x, training=False).numpy(), atol=1e-6)
    metrics = model.evaluate(x, y, verbose=0, return_dict=True)
    assert float(metrics["l1"]) == pytest.approx(float(tf.reduce_mean(tf.abs(y - ema(x, training=False)))), rel=1e-5)


def test_checkpoint_resume_is_exact_with_ema(tmp_path):
    changes = dict(ema_decay=0.99, lambda_fm=1.0, num_d=2, n_layers_d=2, spectral_norm=True)
    batches = [_batch(seed) for seed in range(4)]
    straight = _model(**changes)
    for b in batches:  # eagerly: the same kernels as fit's traced step, without 3 tracings
        straight.train_step(b)
    first = _model(**changes)
    for b in batches[:2]:
        first.train_step(b)
    path = first.checkpoint().save(str(tmp_path / "ckpt"))
    resumed = _model(seed=7, **changes)  # other initial weights: all comes from the checkpoint
    resumed.checkpoint().restore(path).assert_existing_objects_matched()
    assert resumed.step == 2
    for b in batches[2:]:
        resumed.train_step(b)
    for net in ("generator", "discriminator", "ema_generator"):
        a, b = getattr(straight, net).weights, getattr(resumed, net).weights
        assert len(a) == len(b) > 10
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u.numpy(), v.numpy(), err_msg=f"{net}: {u.path}")
    for u, v in zip(straight.g_optimizer.variables, resumed.g_optimizer.variables):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_a_run_with_ema_exports_and_loads_the_average(tmp_path):
    from pix2pix_tf.run.export import export_run
    from pix2pix_tf.run.loading import load_run
    from pix2pix_tf.run.train import train

    sample = Path(__file__).resolve().parents[1] / "data" / "facades_synthetic"
    cfg = SuccessorConfig(**{**TINY, "load_size": 35}, ema_decay=0.9, direction="BtoA")
    summary = train(cfg, sample, tmp_path / "run", steps=3, verbose=0)
    model = load_run(tmp_path / "run")
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32"))
    ema_out = model.ema_generator(x, training=False).numpy()
    raw_out = model.generator(x, training=False).numpy()
    assert np.abs(ema_out - raw_out).max() > 1e-4  # they differ, so the check below means something
    for saved in (tmp_path / "run" / "saved_model", export_run(tmp_path / "run", tmp_path / "sm2")):
        served = tf.saved_model.load(str(saved)).signatures["serving_default"](images=x)["output"].numpy()
        np.testing.assert_allclose(served, ema_out, atol=1e-5)
    assert summary["test"]["l1"] > 0 and json.loads((tmp_path / "run" / "config.json").read_text())[
        "ema_decay"] == 0.9


# ------------------------------------------------------------------ spectral normalization
@pytest.mark.parametrize("conv_impl", ["native", "matmul"])
def test_spectral_norm_keeps_d_kernels_at_unit_spectral_norm(conv_impl):
    model = _model(spectral_norm=True, conv_impl=conv_impl)
    wrappers = [layer for layer in walk_layers(model.discriminator)
                if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrappers) == 5  # down1..3, conv_s1, logits
    for seed in range(8):  # each training call divides by the power iteration's estimate of sigma
        model.train_step(_batch(seed))
    for sn in wrappers:
        kernel = sn.layer.kernel.numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]  # (k*k*cin, cout)
        assert sigma == pytest.approx(1.0, abs=0.05), sn.name
    unnormalized = _model(conv_impl=conv_impl).discriminator.get_layer("down2").get_layer("conv").kernel.numpy()
    assert np.linalg.svd(unnormalized.reshape(-1, unnormalized.shape[-1]), compute_uv=False)[0] < 0.5


def test_spectral_norm_leaves_receptive_field_and_names():
    d = build_discriminator(SuccessorConfig(**TINY, spectral_norm=True))
    assert receptive_field(d) == 70
    assert [layer.name for layer in d.get_layer("down2").layers] == ["sn_conv", "norm", "lrelu"]


# ------------------------------------------------------------------ perceptual loss
def _feature_net(path, channels=3):
    """A tiny stand-in for VGG: two conv feature maps of the image, saved as .keras."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((None, None, channels))
    f1 = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="f1")(inp)
    f2 = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="f2")(f1)
    model = keras.Model(inp, [f1, f2])
    model.save(path)
    return model


def test_perceptual_loss_by_hand():
    real = [tf.zeros((1, 2, 2, 1)), tf.zeros((1, 1, 1, 1))]
    fake = [tf.ones((1, 2, 2, 1)), tf.fill((1, 1, 1, 1), 3.0)]
    assert float(perceptual_loss(real, fake, [0.5, 1.0])) == pytest.approx(3.5)


def test_perceptual_term_from_a_local_keras_file(tmp_path):
    net = _feature_net(tmp_path / "features.keras")
    model = _model(lambda_perceptual=2.0, perceptual_weights=str(tmp_path / "features.keras"))
    x, y = _batch()
    logs = model.train_step((x, y))
    assert sorted(logs) == ["d_fake", "d_loss", "d_real", "g_gan", "g_l1", "g_perceptual", "g_total"]
    assert float(logs["g_total"]) == pytest.approx(
        float(logs["g_gan"]) + 100.0 * float(logs["g_l1"]) + 2.0 * float(logs["g_perceptual"]), rel=1e-5)
    loaded = model._perceptual_network()
    assert loaded.weights == [0.5, 0.5] and loaded.model.trainable is False
    assert not any(v is w for v in model.weights for w in loaded.model.weights)  # not part of the run
    fake = tf.constant(np.random.default_rng(3).uniform(-1, 1, (2, 32, 32, 3)).astype("float32"))
    total, extra = model.successor_terms(tf.constant(1.0), y, fake, None, None)
    want = np.mean([np.abs(a - b).mean() for a, b in zip(net(y), net(fake))])
    assert float(extra["g_perceptual"]) == pytest.approx(float(want), rel=1e-5)  # 0.5 * each map's L1
    assert float(total) == pytest.approx(1.0 + 2.0 * float(want), rel=1e-5)
    # a grayscale output goes to the 3-channel network as gray RGB
    gray = loaded(tf.zeros((1, 8, 8, 1)))
    assert [tuple(f.shape) for f in gray] == [(1, 8, 8, 4), (1, 4, 4, 8)]


def test_an_unloadable_perceptual_file_is_refused_naming_the_field(tmp_path):
    bad = tmp_path / "vgg19_notop.h5"
    bad.write_bytes(b"not an HDF5 file")
    model = _model(lambda_perceptual=1.0, perceptual_weights=str(bad))
    with pytest.raises(ConfigError, match="'perceptual_weights'.*cannot be loaded") as e:
        model.train_step(_batch())
    assert str(bad) in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ resize-convolution upsampling
def test_resize_conv_is_nearest_2x_then_a_3x3_convolution():
    keras.utils.set_random_seed(0)
    layers = resize_conv(5, SuccessorConfig(**TINY, upsample="resize"), use_bias=True)
    block = keras.Sequential(layers)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    got = block(x).numpy()  # (2, 8, 8, 5)
    conv = layers[1]
    conv.bias.assign(np.arange(5, dtype="float32"))
    got = block(x).numpy()
    up = x.repeat(2, axis=1).repeat(2, axis=2)  # nearest neighbour: every pixel copied 2x2
    padded = np.pad(up, ((0, 0), (1, 1), (1, 1), (0, 0)))
    k = conv.kernel.numpy()  # (3, 3, 3, 5)
    want = np.zeros((2, 8, 8, 5), "float32") + np.arange(5)
    for i in range(8):
        for j in range(8):
            want[:, i, j] += np.einsum("bhwc,hwco->bo", padded[:, i:i + 3, j:j + 3], k)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_all_levers_compose_with_resize_upsampling_and_hinge():
    model = _model(upsample="resize", gan_mode="hinge", ema_decay=0.9, lambda_fm=1.0, num_d=2,
                   n_layers_d=2, spectral_norm=True, gan_update="alternating")
    logs = model.train_step(_batch())
    assert all(np.isfinite(float(v)) for v in logs.values()) and "g_fm" in logs
    assert tuple(model.ema_generator.get_layer("up1").get_layer("resize_conv").kernel.shape[:2]) == (3, 3)
