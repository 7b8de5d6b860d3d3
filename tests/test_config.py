import json

import pytest

from pix2pix_tf.config import ConfigError, Pix2PixConfig, default_load_size


def test_defaults_are_the_papers():
    c = Pix2PixConfig()
    assert (c.image_size, c.load_size, c.random_mirror) == (256, 286, True)
    assert (c.input_channels, c.output_channels, c.ngf, c.ndf) == (3, 3, 64, 64)
    assert (c.norm, c.n_layers_d, c.dropout_rate, c.num_dropout_blocks) == ("batch", 3, 0.5, 3)
    assert (c.leaky_slope, c.init_stddev, c.lambda_l1, c.d_loss_weight) == (0.2, 0.02, 100.0, 0.5)
    assert (c.learning_rate, c.beta_1, c.beta_2, c.batch_size) == (2e-4, 0.5, 0.999, 1)
    assert c.direction == "AtoB" and c.gan_mode == "vanilla"
    assert c.generator_depth == 8


def test_json_round_trip(tmp_path):
    c = Pix2PixConfig(image_size=128, load_size=143, direction="BtoA", lambda_l1=10.0, seed=7)
    assert Pix2PixConfig.from_json(c.to_json()) == c
    c.save(tmp_path / "config.json")
    assert Pix2PixConfig.load(tmp_path / "config.json") == c
    assert json.loads((tmp_path / "config.json").read_text())["direction"] == "BtoA"


@pytest.mark.parametrize("size,depth", [(256, 8), (512, 8), (128, 7), (64, 6), (32, 5), (96, 5)])
def test_unet_depth_follows_image_size(size, depth):
    assert Pix2PixConfig(image_size=size, load_size=size).generator_depth == depth


def test_default_load_size_keeps_the_paper_ratio():
    assert default_load_size(256) == 286
    assert default_load_size(64) == 72


@pytest.mark.parametrize("changes,field", [
    ({"direction": "AtoC"}, "direction"),
    ({"image_size": 0}, "image_size"),
    ({"image_size": 66, "load_size": 72}, "image_size"),
    ({"load_size": 100}, "load_size"),
    ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"norm": "layer"}, "norm"),
    ({"inference_mode": "eval"}, "inference_mode"),
    ({"input_channels": 2}, "input_channels"),
    ({"unet_depth": 9}, "image_size"),
])
def test_bad_values_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        Pix2PixConfig(**changes)


def test_unknown_field_in_json_is_refused(tmp_path):
    (tmp_path / "c.json").write_text('{"image_size": 64, "learning_rat": 1}')
    with pytest.raises(ConfigError, match="learning_rat"):
        Pix2PixConfig.load(tmp_path / "c.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        Pix2PixConfig.load(tmp_path / "bad.json")
