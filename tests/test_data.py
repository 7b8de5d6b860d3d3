import numpy as np
import pytest
import tensorflow as tf

from conftest import make_pair, write_image
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.data import DataError, decode_pair, make_dataset, random_jitter


def _first(ds, n):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def test_jitter_applies_the_same_crop_and_flip_to_both_halves(tmp_path, tiny_config):
    rng = np.random.default_rng(3)
    for i in range(4):
        a = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
        write_image(tmp_path / "train" / f"{i}.png", np.concatenate([a, a], axis=1))  # A == B
    ds, n = make_dataset(tmp_path, "train", tiny_config)
    assert n == 4
    batches = _first(ds, 12)
    for x, y in batches:
        assert x.shape == (1, 64, 64, 3)
        np.testing.assert_array_equal(x, y)
    # jitter really varies: the 12 crops of 4 images are not all the same
    assert len({x.tobytes() for x, _ in batches}) > 4


def test_random_jitter_crops_and_mirrors():
    cfg = Pix2PixConfig(image_size=8, load_size=10, input_channels=1, output_channels=1, unet_depth=2)
    ramp = tf.reshape(tf.range(10 * 10, dtype=tf.float32), (10, 10, 1))  # already load_size
    outs = [random_jitter(ramp, ramp, cfg, tf.constant([0, s]))[0].numpy()[..., 0] for s in range(40)]
    flipped = [o[0, 0] > o[0, -1] for o in outs]
    assert any(flipped) and not all(flipped)  # mirroring with p ~ 0.5
    offsets = {(o.min() // 10, min(o[0, 0], o[0, -1]) % 10) for o in outs}
    assert len(offsets) > 1  # different crops


def test_values_in_range_and_test_split_is_deterministic(pair_dir, tiny_config):
    train, _ = make_dataset(pair_dir, "train", tiny_config)
    for x, y in train.take(3):
        assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
        assert -1.0 <= float(tf.reduce_min(y)) and float(tf.reduce_max(y)) <= 1.0
    test, n = make_dataset(pair_dir, "test", tiny_config)
    assert n == 2
    first, second = _first(test, 2), _first(test, 2)
    for (x1, y1), (x2, y2) in zip(first, second):
        np.testing.assert_array_equal(x1, x2)
        # B = 255 - A in the files, so y = -x after scaling (up to resize rounding)
        np.testing.assert_allclose(y1, -x1, atol=0.02)


def test_same_seed_same_batches(pair_dir, tiny_config):
    a = _first(make_dataset(pair_dir, "train", tiny_config)[0], 5)
    b = _first(make_dataset(pair_dir, "train", tiny_config)[0], 5)
    for (xa, _), (xb, _) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)


def test_direction_picks_the_input_half():
    left = np.zeros((8, 8, 3), np.uint8)
    left[..., 0] = 200
    right = np.zeros((8, 8, 3), np.uint8)
    right[..., 2] = 100
    data = tf.io.encode_png(np.concatenate([left, right], axis=1))
    a, b = decode_pair(data, Pix2PixConfig(direction="AtoB"))
    assert float(a[0, 0, 0]) == 200 and float(b[0, 0, 2]) == 100
    a, b = decode_pair(data, Pix2PixConfig(direction="BtoA"))
    assert float(a[0, 0, 2]) == 100 and float(b[0, 0, 0]) == 200


def test_grayscale_and_rgba_files_become_rgb(tmp_path, tiny_config):
    gray = np.tile(np.arange(80, dtype=np.uint8)[None, :, None], (40, 1, 1))  # (40, 80, 1)
    rgba = np.concatenate([make_pair(np.random.default_rng(0)), np.full((40, 80, 1), 128, np.uint8)], -1)
    write_image(tmp_path / "test" / "gray.png", gray)
    write_image(tmp_path / "test" / "rgba.png", rgba)
    ds, n = make_dataset(tmp_path, "test", tiny_config)
    (xg, yg), (xr, yr) = _first(ds, 2)
    assert xg.shape == yg.shape == xr.shape == (1, 64, 64, 3)
    np.testing.assert_allclose(xg[..., 0], xg[..., 2])  # gray stays gray in 3 channels
    gray_cfg = tiny_config.replace(input_channels=1)
    x1, _ = _first(make_dataset(tmp_path, "test", gray_cfg)[0], 1)[0]
    assert x1.shape == (1, 64, 64, 1)


def test_bad_data_gives_clear_errors(tmp_path, tiny_config):
    with pytest.raises(DataError, match="data folder not found"):
        make_dataset(tmp_path / "nope", "train", tiny_config)
    (tmp_path / "d" / "val").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no 'train/' split folder \(found: val\)"):
        make_dataset(tmp_path / "d", "train", tiny_config)
    (tmp_path / "d" / "train").mkdir()
    with pytest.raises(DataError, match="train: empty"):
        make_dataset(tmp_path / "d", "train", tiny_config)
    (tmp_path / "d" / "train" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="no .jpg/.jpeg/.png images"):
        make_dataset(tmp_path / "d", "train", tiny_config)


@pytest.mark.parametrize("name,content,message", [
    ("zero.jpg", b"", "empty file"),
    ("text.jpg", b"this is not an image at all", "not a readable JPEG/PNG image"),
    ("truncated.jpg", "TRUNCATE", "not a readable JPEG/PNG image"),
    ("odd.png", "ODD", "width 81 is odd"),
])
def test_bad_files_are_named(pair_dir, tiny_config, name, content, message):
    bad = pair_dir / "train" / name
    if content == "TRUNCATE":
        write_image(bad, make_pair(np.random.default_rng(1), 64, 64))
        bad.write_bytes(bad.read_bytes()[:600])
    elif content == "ODD":
        write_image(bad, np.zeros((40, 81, 3), np.uint8))
    else:
        bad.write_bytes(content)
    with pytest.raises(DataError) as err:
        make_dataset(pair_dir, "train", tiny_config)
    assert name in str(err.value) and message in str(err.value)
