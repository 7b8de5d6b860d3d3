"""Data formats beyond square RGB pairs: preprocess modes, non-square training shapes,
colorization, 1-channel images, and inference at the image's own resolution."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_pair, write_image
from pix2pix_tf.config import Pix2PixConfig, Pix2PixError
from pix2pix_tf.successors.config import SuccessorConfig
from pix2pix_tf.data import (DataError, generator_stride, load_pair_file, make_dataset,
                             preprocessed_shape, split_pairs, to_uint8, train_image_shape)
from pix2pix_tf.run.export import (export_saved_model, fully_convolutional, reflect_pad_to_multiple,
                               translate_native)
from pix2pix_tf.generator import build_generator
from pix2pix_tf.run.predict import predict_files

# stride 2**3 = 8; aligned files hold two 64x32 (W x H) halves: a 2:1 dataset
CFG = Pix2PixConfig(image_size=32, load_size=36, unet_depth=3, ngf=4, ndf=4)
SHAPES = {  # preprocess -> (H, W) of every example, training and evaluation
    "resize_and_crop": (32, 32),
    "crop": (32, 32),
    "scale_width": (16, 32),  # width 64 -> 32, height 32 -> 16 (a multiple of 8)
    "scale_width_and_crop": (32, 32),
    "none": (32, 64),
}


def position_pair(h: int, w: int) -> np.ndarray:
    """An A|B array: A's red = 4 * row, green = 4 * column; B = 255 - A."""
    rows, cols = np.mgrid[:h, :w]
    a = np.stack([4 * rows, 4 * cols, np.full((h, w), 128)], -1).astype(np.uint8)
    return np.concatenate([a, 255 - a], axis=1)


def aligned_dir(root, n=4, h=32, w=64, make=position_pair, test=2):
    for split, count in (("train", n), ("test", test)):
        for i in range(count):
            write_image(root / split / f"{i:03d}.png", make(h, w))
    return root


def first(ds, n=1):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


@pytest.mark.parametrize("mode", list(SHAPES))
def test_preprocess_shapes_and_same_geometry_for_input_and_target(tmp_path, mode):
    cfg = CFG.replace(preprocess=mode)
    root = aligned_dir(tmp_path)
    h, w = SHAPES[mode]
    assert train_image_shape(cfg, root) == (h, w)
    train, n = make_dataset(root, "train", cfg, batch_size=2)
    assert n == 4
    for x, y in first(train, 6):
        assert x.shape == y.shape == (2, h, w, 3)
        np.testing.assert_allclose(y, -x, atol=1e-4)  # B = 255 - A: the same resize, crop, mirror
    (x, y), = first(make_dataset(root, "test", cfg)[0])
    assert x.shape == y.shape == (1, h, w, 3)
    np.testing.assert_allclose(y, -x, atol=1e-4)


def test_crop_takes_one_window_of_the_unresized_image(tmp_path):
    cfg = CFG.replace(preprocess="crop")
    root = aligned_dir(tmp_path, h=48, w=48)
    windows = set()
    for x, y in first(make_dataset(root, "train", cfg)[0], 12):
        rows = np.round((x[0, ..., 0] + 1) * 127.5 / 4)  # the source row of every pixel
        cols = np.round((x[0, ..., 1] + 1) * 127.5 / 4)
        assert (np.diff(rows, axis=0) == 1).all() and (np.diff(rows, axis=1) == 0).all()
        assert (np.abs(np.diff(cols, axis=1)) == 1).all() and (np.diff(cols, axis=0) == 0).all()
        np.testing.assert_array_equal(np.round((y + 1) * 127.5), 255 - np.round((x + 1) * 127.5))
        windows.add((rows[0, 0], cols[0, 0]))
    assert len(windows) > 3  # random crops (and mirrors)
    (x, _), = first(make_dataset(root, "test", cfg)[0])
    assert np.round((x[0, 0, 0, :2] + 1) * 127.5 / 4).tolist() == [8, 8]  # centre crop of 48 -> 32


def test_crop_fits_a_separate_target_file_of_another_size_to_the_input(tmp_path):
    for i in range(2):
        pair = position_pair(40, 40)
        write_image(tmp_path / "train" / "A" / f"{i}.png", pair[:, :40])
        write_image(tmp_path / "train" / "B" / f"{i}.png", np.repeat(np.repeat(pair[:, 40:], 2, 0), 2, 1))
    for x, y in first(make_dataset(tmp_path, "train", CFG.replace(preprocess="crop"))[0], 4):
        assert x.shape == y.shape == (1, 32, 32, 3)
        np.testing.assert_allclose(y[..., 2], -x[..., 2], atol=1e-4)  # the flat channel
        np.testing.assert_allclose(y[..., :2], -x[..., :2], atol=0.05)  # B (80x80) resized to 40x40


def test_non_square_split_needs_one_aspect_ratio_and_names_the_odd_file(tmp_path, capsys):
    root = aligned_dir(tmp_path, test=0)
    write_image(root / "train" / "002_square.png", position_pair(32, 32))  # 1:1 among 2:1 files
    cfg = CFG.replace(preprocess="scale_width")
    with pytest.raises(DataError, match=r"002_square\.png: preprocess 'scale_width' makes its input "
                                        r"32x32, but 4 of the 5 images become 32x16"):
        make_dataset(root, "train", cfg)
    with pytest.raises(DataError, match="002_square.png"):
        train_image_shape(cfg, root)
    with pytest.raises(DataError, match="002_square.png"):
        split_pairs(root, "train", config=cfg)
    ds, n = make_dataset(root, "train", cfg, skip_bad=True)
    assert n == 4 and "skipped 1 bad pair(s) of 5" in capsys.readouterr().err
    assert first(ds)[0][0].shape == (1, 16, 32, 3)
    with pytest.raises(DataError, match=r"002_square\.png: .* give the split one size"):
        make_dataset(root, "train", CFG.replace(preprocess="none"))


def test_crop_and_stride_rounding_refuse_with_the_file_named(tmp_path):
    root = aligned_dir(tmp_path, test=0)
    write_image(root / "train" / "small.png", position_pair(20, 40))
    with pytest.raises(DataError, match=r"small\.png: input of 40x20 is smaller than the 32x32 crop"):
        make_dataset(root, "train", CFG.replace(preprocess="crop"))
    # none: 38 px rounds to 40 (a multiple of 8, +5%): fine; at stride 32, 38 -> 32 is -16%: refused
    assert preprocessed_shape(CFG.replace(preprocess="none"), 38, 70) == (40, 72)
    deep = CFG.replace(preprocess="none", unet_depth=5)
    assert generator_stride(deep) == 32
    with pytest.raises(DataError, match=r"x\.png: the height of a 70x38 input would become 32 px .* 16%"):
        preprocessed_shape(deep, 38, 70, name="x.png")
    resnet = SuccessorConfig(**{**CFG.to_dict(), "net_g": "resnet_6blocks", "unet_depth": None})  # CycleGAN's
    assert generator_stride(resnet) == 4


def test_colorization_input_is_the_grayscale_of_the_target(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("test", 1)):
        for i in range(n):  # single colour images, odd widths allowed
            write_image(tmp_path / split / f"{i}.png", rng.integers(0, 256, (40, 45, 3), dtype=np.uint8))
    cfg = CFG.replace(dataset_mode="colorization", input_channels=1)
    for split in ("train", "test"):
        for x, y in first(make_dataset(tmp_path, split, cfg)[0], 3):
            assert x.shape == (1, 32, 32, 1) and y.shape == (1, 32, 32, 3)
            gray = tf.image.rgb_to_grayscale((y + 1.0) * 127.5) / 127.5 - 1.0
            np.testing.assert_allclose(x, gray.numpy(), atol=1e-5)
    x, y = load_pair_file(tmp_path / "test" / "0.png", cfg)
    assert x.shape == (32, 32, 1) and y.shape == (32, 32, 3)
    with pytest.raises(Exception, match="input_channels"):
        CFG.replace(dataset_mode="colorization")  # input_channels must be 1
    (tmp_path / "sep" / "train" / "A").mkdir(parents=True)
    write_image(tmp_path / "sep" / "train" / "A" / "x.png", np.zeros((8, 8, 3), np.uint8))
    write_image(tmp_path / "sep" / "train" / "B" / "x.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="colorization' reads single colour images"):
        make_dataset(tmp_path / "sep", "train", cfg)


@pytest.mark.parametrize("cin,cout", [(1, 3), (3, 1), (1, 1)])
@pytest.mark.parametrize("mode", ["resize_and_crop", "scale_width"])
def test_one_channel_images_through_the_pipeline(tmp_path, cin, cout, mode):
    root = aligned_dir(tmp_path, make=lambda h, w: make_pair(np.random.default_rng(h), h, w))
    cfg = CFG.replace(input_channels=cin, output_channels=cout, preprocess=mode)
    h, w = SHAPES[mode]
    for split in ("train", "test"):
        (x, y), = first(make_dataset(root, split, cfg)[0])
        assert x.shape == (1, h, w, cin) and y.shape == (1, h, w, cout)
        assert -1 <= x.min() and x.max() <= 1 and -1 <= y.min() and y.max() <= 1


# ------------------------------------------------------------------- inference at any size
GRAY_OUT = Pix2PixConfig(image_size=16, load_size=16, unet_depth=4, ngf=4, ndf=4, output_channels=1)


@pytest.fixture(scope="module")
def gray_model(tmp_path_factory):
    """A tiny untrained U-Net (stride 16, RGB in, gray out) and its SavedModel."""
    import keras
    keras.utils.set_random_seed(0)
    generator = build_generator(GRAY_OUT)
    path = export_saved_model(generator, GRAY_OUT, tmp_path_factory.mktemp("gray") / "saved_model")
    return generator, path


def test_fully_convolutional_copy_matches_at_the_training_size_and_runs_at_any_size(gray_model):
    generator, _ = gray_model
    native = fully_convolutional(generator)
    assert native.input_shape == (None, None, None, 3)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    assert np.abs(translate_native(native, x, 16) - generator(x, training=False)).max() <= 1e-5
    big = np.random.default_rng(2).uniform(-1, 1, (1, 32, 48, 3)).astype(np.float32)
    np.testing.assert_array_equal(translate_native(native, big, 16), native(big, training=False))
    for h, w in ((70, 45), (17, 33), (5, 3), (1, 1)):  # not multiples of the stride
        y = translate_native(native, tf.zeros((1, h, w, 3)), 16)
        assert y.shape == (1, h, w, 1) and np.isfinite(y.numpy()).all()
    with pytest.raises(ValueError, match="fully_convolutional"):
        translate_native(generator, x, 16)


def test_reflect_padding_matches_tf_pad_and_reflects_again_when_wider(gray_model):
    x = tf.reshape(tf.range(10 * 7, dtype=tf.float32), (1, 10, 7, 1))
    padded, (top, left) = reflect_pad_to_multiple(x, 8)  # 10 -> 16 (3 + 3), 7 -> 8 (0 + 1)
    assert padded.shape == (1, 16, 8, 1) and (int(top), int(left)) == (3, 0)
    np.testing.assert_array_equal(padded, tf.pad(x, [[0, 0], [3, 3], [0, 1], [0, 0]], mode="REFLECT"))
    wide, _ = reflect_pad_to_multiple(tf.constant([[[[1.0], [2.0]]]]), 8)  # (1, 1, 2, 1) -> 8 x 8
    assert wide.shape == (1, 8, 8, 1) and set(wide.numpy().ravel()) == {1.0, 2.0}


def test_saved_model_native_signature_keeps_any_size(gray_model):
    generator, path = gray_model
    m = tf.saved_model.load(str(path))
    img = tf.cast(tf.random.uniform((2, 70, 45, 3), 0, 255, seed=3), tf.uint8)
    assert m.signatures["translate_uint8_native"](images=img)["output"].shape == (2, 70, 45, 1)
    assert m.signatures["translate_uint8"](images=img)["output"].shape == (2, 70, 45, 1)
    at_size = tf.cast(tf.random.uniform((1, 16, 16, 3), 0, 255, seed=4), tf.uint8)
    native = m.signatures["translate_uint8_native"](images=at_size)["output"].numpy().astype(int)
    ref = to_uint8(generator(tf.cast(at_size, tf.float32) / 127.5 - 1.0, training=False)).numpy()
    assert np.abs(native - ref.astype(int)).max() <= 1


@pytest.mark.parametrize("size_mode", ["resize", "native"])
def test_predict_writes_one_channel_files_for_a_gray_model(gray_model, tmp_path, size_mode):
    _, path = gray_model
    src = tmp_path / "in"
    write_image(src / "a.png", np.random.default_rng(0).integers(0, 256, (70, 45, 3), dtype=np.uint8))
    write_image(src / "b.jpg", np.full((20, 30, 3), 90, np.uint8))
    out = tmp_path / "out"
    result = predict_files(path, src, out, verbose=0, size_mode=size_mode)
    assert len(result["written"]) == 2 and not result["skipped"]
    assert tf.io.decode_png((out / "a.png").read_bytes(), channels=0).shape == (70, 45, 1)
    assert tf.io.decode_jpeg((out / "b.jpg").read_bytes(), channels=0).shape == (20, 30, 1)
    from PIL import Image
    assert Image.open(out / "a.png").mode == "L"
    predict_files(path, src, tmp_path / "sbs", verbose=0, size_mode=size_mode, side_by_side=True)
    assert tf.io.decode_png((tmp_path / "sbs" / "a.png").read_bytes(), channels=0).shape == (70, 90, 3)


def test_predict_refuses_an_unknown_size_mode(gray_model, tmp_path):
    with pytest.raises(Pix2PixError, match="unknown size mode 'crop'"):
        predict_files(gray_model[1], tmp_path, tmp_path / "out", verbose=0, size_mode="crop")


def test_non_square_training_end_to_end(tmp_path):
    """preprocess=scale_width on 2:1 pairs: networks built for (H, W), run trains, exports,
    predict --size-mode native keeps each image's size."""
    import json as _json
    from pix2pix_tf.apps.cli import main
    from pix2pix_tf.run.loading import load_run
    from pix2pix_tf.run.train import train
    rng = np.random.default_rng(0)
    root = tmp_path / "wide"
    for split, n in (("train", 3), ("test", 1)):
        for i in range(n):
            write_image(root / split / f"{i}.png", rng.integers(0, 255, (32, 128, 3), dtype=np.uint8))
    cfg = Pix2PixConfig(image_size=64, load_size=64, ngf=8, ndf=8, preprocess="scale_width",
                        n_layers_d=1, unet_depth=5)
    summary = train(cfg, root, tmp_path / "run", steps=2, verbose=0)
    assert _json.loads((tmp_path / "run" / "image_shape.json").read_text()) == [32, 64]
    assert summary["steps"] == 2 and np.isfinite(summary["test"]["l1"])
    model = load_run(tmp_path / "run")
    assert model.generator.input_shape == (None, 32, 64, 3)
    write_image(tmp_path / "in" / "a.png", rng.integers(0, 255, (40, 70, 3), dtype=np.uint8))
    assert main(["predict", "--model", str(tmp_path / "run"), "--input", str(tmp_path / "in"),
                 "--out", str(tmp_path / "out"), "--size-mode", "native"]) == 0
    out = tf.io.decode_png(tf.io.read_file(str(tmp_path / "out" / "a.png")))
    assert out.shape == (40, 70, 3)
