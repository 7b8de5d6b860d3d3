"""Core tier: Pix2PixConfig, every knob with the paper's default (Isola et al. 2017, sections
3.1-3.3, appendix 6.1-6.2), its dict / JSON / file round trips, and the refusal of bad values
with a ConfigError naming the field. Pure Python: no TensorFlow needed.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from pix2pix_tf import ConfigError, Pix2PixConfig, Pix2PixError


def test_defaults_are_the_papers():
    c = Pix2PixConfig()
    # data: 256x256, jitter by resizing to 286 and cropping back, mirroring (appendix 6.2)
    assert (c.image_size, c.load_size, c.random_mirror) == (256, 286, True)
    assert (c.input_channels, c.output_channels, c.direction) == (3, 3, "AtoB")
    # networks: U-Net with 8 downsamplings, C64 first layers, 70x70 PatchGAN (appendix 6.1)
    assert (c.net_g, c.generator_depth, c.ngf) == ("unet", 8, 64)
    assert (c.net_d, c.n_layers_d, c.ndf) == ("patch", 3, 64)
    assert (c.norm, c.leaky_slope, c.init_stddev) == ("batch", 0.2, 0.02)
    assert (c.dropout_rate, c.num_dropout_blocks) == (0.5, 3)  # CD512 x3
    # objective: cGAN + 100 L1, D's objective halved (sections 3.1, 3.3)
    assert (c.loss, c.gan_mode, c.recon_loss) == ("l1+cgan", "vanilla", "l1")
    assert (c.lambda_l1, c.d_loss_weight) == (100.0, 0.5)
    # optimisation: Adam lr 0.0002, beta1 0.5, batch size 1 (section 3.3)
    assert (c.learning_rate, c.beta_1, c.beta_2, c.batch_size) == (2e-4, 0.5, 0.999, 1)
    assert (c.lr_policy, c.d_lr_scale) == ("constant", 1.0)
    # the successors' levers are not the paper's: its config has none of them
    assert not any(hasattr(c, f) for f in ("ema_decay", "lambda_fm", "num_d", "spectral_norm",
                                           "lambda_perceptual", "upsample"))
    assert "hinge" not in dataclasses.fields(Pix2PixConfig)[[f.name for f in dataclasses.fields(c)].index(
        "gan_mode")].metadata["choices"]


def test_paper_preset_is_the_defaults():
    assert Pix2PixConfig.preset("paper") == Pix2PixConfig()
    assert Pix2PixConfig.preset("paper", ngf=32).ngf == 32
    with pytest.raises(ConfigError):
        Pix2PixConfig.preset("no-such-preset")


@pytest.mark.parametrize("size,depth", [(256, 8), (128, 7), (64, 6), (48, 4), (512, 8)])
def test_unet_depth_follows_the_image_size(size, depth):
    """As many halvings as the size allows, at most the paper's 8 (256 -> 1x1)."""
    assert Pix2PixConfig(image_size=size, load_size=size).generator_depth == depth


NON_DEFAULT = dict(image_size=128, load_size=143, direction="BtoA", ngf=32, ndf=16, n_layers_d=1,
                   loss="l1+gan", gan_mode="lsgan", lambda_l1=10.0, learning_rate=1e-3, beta_1=0.9,
                   batch_size=4, inference_mode="paper", random_mirror=False, unet_depth=5, seed=7)


def test_dict_and_json_round_trips():
    c = Pix2PixConfig(**NON_DEFAULT)
    d = c.to_dict()
    assert {k: d[k] for k in NON_DEFAULT} == NON_DEFAULT
    assert set(d) == {f.name for f in dataclasses.fields(Pix2PixConfig)}  # every field
    assert Pix2PixConfig.from_dict(d) == c
    assert Pix2PixConfig.from_dict(d) != Pix2PixConfig()
    assert Pix2PixConfig.from_json(c.to_json()) == c
    assert json.loads(c.to_json()) == d


def test_save_and_load_round_trip(tmp_path):
    c = Pix2PixConfig(**NON_DEFAULT)
    path = tmp_path / "config.json"
    c.save(path)
    assert json.loads(path.read_text())["direction"] == "BtoA"
    assert Pix2PixConfig.load(path) == c
    # a hand edit is read back (and checked)
    data = json.loads(path.read_text())
    data["lambda_l1"] = 50.0
    path.write_text(json.dumps(data))
    assert Pix2PixConfig.load(path) == c.replace(lambda_l1=50.0)
    data["ngf"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="'ngf'") as info:
        Pix2PixConfig.load(path)
    assert info.value.field == "ngf" and str(path) in str(info.value)


@pytest.mark.parametrize("text,why", [
    ('{"image_size": 64, "learning_rat": 1}', "learning_rat"),  # unknown field
    ("{not json", "JSON"),
    ("[1, 2]", "JSON object"),
])
def test_load_refuses_bad_files_naming_them(tmp_path, text, why):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=why) as info:
        Pix2PixConfig.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        Pix2PixConfig.load(tmp_path / "missing.json")


@pytest.mark.parametrize("changes,field", [
    ({"ngf": 0}, "ngf"),
    ({"ndf": -1}, "ndf"),
    ({"ngf": True}, "ngf"),  # a bool is not an integer
    ({"image_size": 4, "load_size": 4}, "image_size"),
    ({"load_size": 200}, "load_size"),  # the crop is taken from it: must be >= image_size
    ({"image_size": 64, "load_size": 72, "unet_depth": 7}, "image_size"),  # 64 / 2**7
    ({"unet_depth": 1}, "unet_depth"),
    ({"batch_size": 0}, "batch_size"),
    ({"lambda_l1": -1.0}, "lambda_l1"),
    ({"lambda_l1": float("nan")}, "lambda_l1"),
    ({"loss": "l1", "lambda_l1": 0.0}, "lambda_l1"),  # the only term would vanish
    ({"d_loss_weight": 0.0}, "d_loss_weight"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"beta_1": 1.0}, "beta_1"),
    ({"dropout_rate": 1.0}, "dropout_rate"),
    ({"leaky_slope": -0.1}, "leaky_slope"),
    ({"n_layers_d": -1}, "n_layers_d"),
    ({"input_channels": 2}, "input_channels"),
    ({"loss": "l2"}, "loss"),
    ({"gan_mode": "wgan"}, "gan_mode"),
    ({"net_g": "unet_512"}, "net_g"),
    ({"inference_mode": "eval"}, "inference_mode"),
    ({"direction": "AtoC"}, "direction"),
])
def test_bad_values_are_refused_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as info:
        Pix2PixConfig(**changes)
    assert f"'{field}'" in str(info.value)
    assert info.value.field == field
    assert isinstance(info.value, Pix2PixError) and isinstance(info.value, ValueError)
    # the same check guards replace() and from_dict()
    with pytest.raises(ConfigError, match=f"'{field}'"):
        Pix2PixConfig().replace(**changes)
    with pytest.raises(ConfigError, match=f"'{field}'"):
        Pix2PixConfig.from_dict(changes)


GEOMETRY_ERRORS = [
    ({"image_size": 66, "load_size": 72}, "image_size"),  # not divisible by 4
    ({"image_size": 64, "load_size": 72, "net_g": "unet_256"}, "image_size"),  # needs 256
    ({"net_g": "unet_256", "unet_depth": 3}, "unet_depth"),  # unet_256's depth is fixed
]


@pytest.mark.parametrize("changes,field", GEOMETRY_ERRORS)
def test_sizes_the_generator_cannot_take_are_refused_naming_the_field(changes, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        Pix2PixConfig(**changes)


@pytest.mark.parametrize("changes,field", GEOMETRY_ERRORS)
def test_geometry_errors_set_the_field_attribute(changes, field):
    with pytest.raises(ConfigError) as info:
        Pix2PixConfig(**changes)
    assert info.value.field == field
