"""Tests for the recipes (pix2pix_tf.datasets.recipes, .degradations, .recipe_options): photos ->
paired A|B datasets by degradation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.datasets import degradations, recipe_options, recipes as R
from pix2pix_tf.config import Pix2PixConfig, Pix2PixError
from pix2pix_tf.data import DataError, make_dataset
from pix2pix_tf.datasets.synthetic import render_facade
from pix2pix_tf.datasets.recipe_options import DEFAULT_OPTIONS, TASKS, RecipeError


def _photo(seed: int = 3, size: int = 64) -> np.ndarray:
    """A photo-like uint8 (size, size, 3) image: a synthetic facade."""
    return render_facade(seed, size)[1]


def _odd_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A uint8 (h, w, 3) photo of a colour gradient with a disc and a bar on it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([255 * xx / w, 255 * yy / h, np.full((h, w), 128.0)], -1)
    cy, cx, r = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w, 0.25 * min(h, w)
    img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img[int(0.1 * h):int(0.2 * h), int(0.1 * w):int(0.8 * w)] = (20, 20, 20)
    return img.astype(np.uint8)


def _write(path, array: np.ndarray) -> None:
    t = tf.constant(array, tf.uint8)
    data = tf.io.encode_png(t) if path.suffix == ".png" else tf.io.encode_jpeg(t, quality=95)
    path.write_bytes(data.numpy())


def _read(path) -> np.ndarray:
    return tf.io.decode_jpeg(path.read_bytes()).numpy()


def _hf_energy(x) -> float:
    """Mean squared difference of neighbouring pixels (high-frequency energy)."""
    x = np.asarray(x, np.float64)
    return float(np.mean((x[1:] - x[:-1]) ** 2) + np.mean((x[:, 1:] - x[:, :-1]) ** 2))


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    """20 photos: 16 facades (64x64) and 4 of odd sizes/aspects, PNG and JPEG."""
    root = tmp_path_factory.mktemp("photos")
    for i in range(16):
        _write(root / f"facade_{i:02d}.{'png' if i % 2 else 'jpg'}", _photo(i, 64))
    for i, (h, w) in enumerate(((50, 120), (300, 90), (37, 41), (64, 200))):
        _write(root / f"odd_{i}.png", _odd_photo(h, w, i))
    return root


@pytest.fixture(scope="module")
def inpaint_pairs(photo_dir, tmp_path_factory):
    """make_pairs('inpaint') on photo_dir at size 64 with the default 0.1/0.1 split."""
    out = tmp_path_factory.mktemp("pairs") / "inpaint"
    return out, R.make_pairs("inpaint", photo_dir, out, size=64, seed=0, verbose=0)


# ---------------------------------------------------------------------- options
def test_default_options_and_help_cover_every_task():
    assert set(DEFAULT_OPTIONS) == set(recipe_options.OPTION_HELP) == set(TASKS)
    for task in TASKS:
        assert set(recipe_options.OPTION_HELP[task]) == set(DEFAULT_OPTIONS[task])
        assert recipe_options.resolve_options(task) == DEFAULT_OPTIONS[task]
    assert DEFAULT_OPTIONS["inpaint"]["hole_value"] == 255
    # CLI strings are converted to the default's type
    assert recipe_options.resolve_options("superres", factor="8")["factor"] == 8
    assert recipe_options.resolve_options("denoise", sigma="10")["sigma"] == 10.0


@pytest.mark.parametrize("task, options, match", [
    ("sketch", {}, "unknown recipe task 'sketch'"),
    ("superres", {"factor": 3}, "'factor' = 3: must be 2, 4 or 8"),
    ("superres", {"facter": 2}, "no option 'facter'.*factor=4"),
    ("superres", {"upsample": "lanczos"}, "'upsample'.*nearest, bilinear, bicubic"),
    ("inpaint", {"mask": "circles"}, "'mask' = 'circles': must be one of rect, strokes"),
    ("inpaint", {"hole_value": 300}, "'hole_value'.*0..255"),
    ("inpaint", {"min_size": 0.5, "max_size": 0.2}, "'max_size'"),
    ("denoise", {"noise": "salt"}, "'noise' = 'salt'.*gaussian, jpeg"),
    ("denoise", {"quality": 0}, "'quality'"),
    ("edges", {"low": 0.5, "high": 0.2}, "'high'"),
    ("colorize", {"gray_channels": 2}, "'gray_channels'"),
    ("edges", {"sigma": "abc"}, "'sigma' = 'abc': must be a number"),
])
def test_bad_task_or_options_raise_clear_errors(task, options, match):
    with pytest.raises(RecipeError, match=match):
        degradations.degrade(task, _photo(), 0, **options)
    assert issubclass(RecipeError, Pix2PixError)


# ------------------------------------------------------------------ degradations
@pytest.mark.parametrize("task", TASKS)
def test_every_task_keeps_size_and_range(task):
    photo = _photo()
    a = degradations.degrade(task, photo, 7)
    assert a.shape == photo.shape and a.dtype == tf.float32
    a = a.numpy()
    assert a.min() >= 0 and a.max() <= 255
    assert np.abs(a - photo).mean() > 1.0  # it really degrades


def test_colorize_has_no_colour():
    photo = _photo()
    a = degradations.degrade("colorize", photo, 0).numpy()
    assert np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2])
    assert a.std() > 10  # still an image, not a flat gray
    one = degradations.degrade("colorize", photo, 0, gray_channels=1).numpy()
    assert one.shape == (64, 64, 1)
    np.testing.assert_array_equal(one[..., 0], a[..., 0])


@pytest.mark.parametrize("mask", ["rect", "strokes"])
@pytest.mark.parametrize("hole_value", [255, 0])
def test_inpaint_holes_are_exactly_where_the_mask_says(mask, hole_value):
    photo = _photo().astype(np.float32)
    seed = tf.constant([4, 2], tf.int64)
    m = degradations.inpaint_mask(64, 64, seed, mask=mask).numpy()[..., 0] > 0.5
    a = degradations.degrade("inpaint", photo, seed, mask=mask, hole_value=hole_value).numpy()
    assert 0.005 < m.mean() < 0.8
    assert np.all(a[m] == hole_value)
    np.testing.assert_array_equal(a[~m], photo[~m])
    other = degradations.inpaint_mask(64, 64, tf.constant([4, 3], tf.int64), mask=mask).numpy()[..., 0] > 0.5
    assert not np.array_equal(m, other)  # another seed, other holes
    again = degradations.inpaint_mask(64, 64, seed, mask=mask).numpy()[..., 0] > 0.5
    np.testing.assert_array_equal(m, again)


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("upsample", ["nearest", "bilinear", "bicubic"])
def test_superres_is_idempotent_and_blurrier(factor, upsample):
    photo = _photo().astype(np.float32)
    a = degradations.degrade("superres", photo, 0, factor=factor, upsample=upsample).numpy()
    again = degradations.degrade("superres", a, 0, factor=factor, upsample=upsample).numpy()
    assert np.abs(again - a).max() < 0.01
    stored = np.round(a)  # as written to a file
    again_stored = degradations.degrade("superres", stored, 0, factor=factor, upsample=upsample).numpy()
    assert np.abs(again_stored - stored).max() < 1.5
    # the f x f block means of A are those of the photo
    blocks = lambda x: x.reshape(64 // factor, factor, 64 // factor, factor, 3).mean((1, 3))
    np.testing.assert_allclose(blocks(a), blocks(photo), atol=0.01)
    assert _hf_energy(a) < 0.6 * _hf_energy(photo)


def test_superres_larger_factor_is_blurrier():
    photo = _photo()
    energies = [_hf_energy(degradations.degrade("superres", photo, 0, factor=f).numpy()) for f in (2, 4, 8)]
    assert energies[0] > energies[1] > energies[2]


def test_edges_of_a_step_are_one_dark_line_on_white():
    img = np.full((64, 64, 3), 60, np.uint8)
    img[:, 30:] = 200  # a vertical step between columns 29 and 30
    a = degradations.degrade("edges", img, 0).numpy()
    assert np.array_equal(a[..., 0], a[..., 2])
    dark_cols = np.where((a[..., 0] < 128).any(axis=0))[0]
    assert len(dark_cols) == 1 and dark_cols[0] in (29, 30)
    assert np.all(a[:, dark_cols[0], 0] == 0)  # the line runs the full height
    rest = np.delete(a[..., 0], dark_cols[0], axis=1)
    assert np.all(rest == 255)


def test_edges_follow_the_outline_of_a_square():
    img = np.full((64, 64, 3), 230, np.uint8)
    img[16:48, 16:48] = (30, 60, 90)
    a = degradations.degrade("edges", img, 0).numpy()[..., 0]
    dark = a < 128
    ys, xs = np.nonzero(dark)
    # every dark pixel lies within 1 px of the square's border ...
    d = np.minimum(np.minimum(np.abs(ys - 15.5), np.abs(ys - 47.5)), np.minimum(np.abs(xs - 15.5), np.abs(xs - 47.5)))
    assert d.max() <= 1.0
    # ... and the border is drawn all round: every row/column crossing the square has 2 line pixels
    assert np.all(dark[20:44].sum(axis=1) == 2) and np.all(dark[:, 20:44].sum(axis=0) == 2)


def test_edges_of_a_photo_are_mostly_white_with_thin_lines():
    a = degradations.degrade("edges", _photo(5, 128), 0).numpy()[..., 0]
    assert (a > 250).mean() > 0.8
    dark = a < 128
    assert 0.01 < dark.mean() < 0.2
    # thin: (almost) no 2x2 block is fully dark
    full = dark[1:, 1:] & dark[:-1, 1:] & dark[1:, :-1] & dark[:-1, :-1]
    assert full.sum() < 0.02 * dark.sum()
    thick = degradations.degrade("edges", _photo(5, 128), 0, thickness=3).numpy()[..., 0] < 128
    assert thick.sum() > 2 * dark.sum()
    fewer = degradations.degrade("edges", _photo(5, 128), 0, low=0.3, high=0.6).numpy()[..., 0] < 128
    assert fewer.sum() < dark.sum()


def test_gaussian_noise_has_the_requested_std():
    gray = np.full((128, 128, 3), 128.0, np.float32)
    a = degradations.degrade("denoise", gray, 1, noise="gaussian", sigma=20).numpy()
    assert abs((a - gray).std() - 20) < 1.0 and abs((a - gray).mean()) < 0.5
    b = degradations.degrade("denoise", gray, 2, noise="gaussian", sigma=20).numpy()
    assert not np.array_equal(a, b)


def test_jpeg_noise_changes_the_image_but_keeps_its_mean():
    photo = _photo(2, 128).astype(np.float32)
    a = degradations.degrade("denoise", photo, 0, noise="jpeg", quality=10).numpy()
    assert np.abs(a - photo).mean() > 8.0  # ~16 gray levels per pixel on average
    assert abs(a.mean() - photo.mean()) < 1.5  # but the DC terms survive
    milder = degradations.degrade("denoise", photo, 0, noise="jpeg", quality=60).numpy()
    assert np.abs(milder - photo).mean() < np.abs(a - photo).mean()


@pytest.mark.parametrize("task", ["inpaint", "superres", "edges", "denoise"])
def test_degrade_works_in_graph_mode(task):
    fn = tf.function(lambda x, s: degradations.degrade(task, x, s))
    photo = tf.constant(_photo(), tf.float32)
    seed = tf.constant([1, 2], tf.int64)
    np.testing.assert_allclose(fn(photo, seed).numpy(), degradations.degrade(task, photo, seed).numpy(), atol=1e-3)


def test_degradation_map_gives_fresh_randomness_every_epoch():
    photos = tf.data.Dataset.from_tensor_slices(np.stack([_photo(i) for i in range(3)]))
    ds = photos.repeat(2).enumerate().map(degradations.degradation_map("inpaint", seed=0, size=32))
    pairs = [(a.numpy(), b.numpy()) for a, b in ds]
    assert len(pairs) == 6 and pairs[0][0].shape == pairs[0][1].shape == (32, 32, 3)
    for i in range(3):
        np.testing.assert_array_equal(pairs[i][1], pairs[i + 3][1])  # same photo B
        assert not np.array_equal(pairs[i][0], pairs[i + 3][0])  # other holes
    again = [a.numpy() for a, _ in ds]
    for (a, _), b in zip(pairs, again):
        np.testing.assert_array_equal(a, b)  # reproducible from the seed


# ------------------------------------------------------------------------ photos
@pytest.mark.parametrize("shape", [(50, 120, 3), (300, 90, 3), (40, 40, 1), (70, 30, 4)])
@pytest.mark.parametrize("mode", ["center_crop", "resize"])
def test_prepare_photo_makes_any_photo_square(shape, mode):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = degradations.prepare_photo(img, 64, mode).numpy()
    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255


def test_center_crop_keeps_the_middle():
    img = np.zeros((50, 150, 3), np.uint8)
    img[:, 50:100] = 255  # only the centred square is white
    out = degradations.prepare_photo(img, 32, "center_crop").numpy()
    assert out.min() > 250
    squashed = degradations.prepare_photo(img, 32, "resize").numpy()
    assert squashed[:, 0].max() < 5 and squashed[:, 16].min() > 250


# ---------------------------------------------------------------------- datasets
def test_assign_splits_sizes_and_seed():
    s = R.assign_splits(20, 0.1, 0.1, seed=0)
    assert (s.count("train"), s.count("val"), s.count("test")) == (16, 2, 2)
    assert s == R.assign_splits(20, 0.1, 0.1, seed=0)
    assert s != R.assign_splits(20, 0.1, 0.1, seed=1)
    small = R.assign_splits(3, 0.1, 0.1, seed=0)
    assert sorted(small) == ["test", "train", "val"]  # every split gets one
    assert R.assign_splits(1, 0.1, 0.1, seed=0) == ["train"]
    assert R.assign_splits(5, 0.0, 0.0, seed=0) == ["train"] * 5


def test_make_pairs_writes_aligned_files_in_three_splits(inpaint_pairs, photo_dir):
    out, info = inpaint_pairs
    assert (info["train"], info["val"], info["test"]) == (16, 2, 2)
    assert info["skipped"] == [] and info["seconds"] > 0 and info["task"] == "inpaint"
    names = sorted(p.name for s in R.SPLITS for p in (out / s).iterdir())
    assert names == sorted(p.stem + ".jpg" for p in photo_dir.iterdir())  # odd sizes included
    for s in R.SPLITS:
        for p in (out / s).iterdir():
            ab = _read(p)
            assert ab.shape == (64, 128, 3)
    # B is the photo; A is B with white holes (JPEG: compare loosely)
    ab = _read(next((out / "train").glob("facade_*.jpg"))).astype(np.float32)
    a, b = ab[:, :64], ab[:, 64:]
    holes = np.abs(a - b).mean(-1) > 40
    assert holes.mean() > 0.005 and a[holes].mean() > 230


def test_make_pairs_output_loads_with_make_dataset(inpaint_pairs):
    out, _ = inpaint_pairs
    config = Pix2PixConfig(image_size=64, load_size=72, batch_size=2)
    ds, n = make_dataset(out, "train", config)
    assert n == 16
    inp, tar = next(iter(ds))
    assert inp.shape == tar.shape == (2, 64, 64, 3)
    ds, n = make_dataset(out, "test", config)
    assert n == 2 and next(iter(ds))[0].shape == (1, 64, 64, 3)


def test_make_pairs_is_deterministic_per_seed(inpaint_pairs, photo_dir, tmp_path):
    out, info = inpaint_pairs
    same = R.make_pairs("inpaint", photo_dir, tmp_path / "same", size=64, seed=0, verbose=0)
    assert {s: same[s] for s in R.SPLITS} == {s: info[s] for s in R.SPLITS}
    files = sorted(p.relative_to(out) for p in out.rglob("*.jpg"))
    assert files == sorted(p.relative_to(tmp_path / "same") for p in (tmp_path / "same").rglob("*.jpg"))
    for f in files:
        assert (out / f).read_bytes() == (tmp_path / "same" / f).read_bytes()
    R.make_pairs("inpaint", photo_dir, tmp_path / "other", size=64, seed=1, verbose=0)
    other = sorted(p.relative_to(tmp_path / "other") for p in (tmp_path / "other").rglob("*.jpg"))
    assert other != files  # other splits
    in_train = sorted(set(p.name for p in (out / "train").iterdir())
                      & set(p.name for p in (tmp_path / "other" / "train").iterdir()))
    assert all((out / "train" / n).read_bytes() != (tmp_path / "other" / "train" / n).read_bytes()
               for n in in_train)  # other holes


@pytest.mark.parametrize("task", ["colorize", "superres", "edges", "denoise"])
def test_make_pairs_for_each_task(task, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        _write(src / f"p{i}.png", _photo(i, 48))
    info = R.make_pairs(task, src, tmp_path / "out", size=32, val_fraction=0.0, test_fraction=0.0,
                        verbose=0)
    assert info["train"] == 3 and info["val"] == info["test"] == 0
    assert not (tmp_path / "out" / "val").exists()
    ab = _read(tmp_path / "out" / "train" / "p0.jpg")
    assert ab.shape == (32, 64, 3)
    if task == "colorize":
        a = ab[:, :32].astype(int)
        assert np.abs(a[..., 0] - a[..., 1]).max() <= 3 and np.abs(a[..., 1] - a[..., 2]).max() <= 3


def test_unreadable_files_are_skipped_and_counted(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        _write(src / f"ok{i}.jpg", _photo(i, 32))
    (src / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    (src / "empty.png").write_bytes(b"")
    (src / "notes.txt").write_text("not an image")
    info = R.make_pairs("colorize", src, tmp_path / "out", size=32, verbose=1)
    assert info["train"] + info["val"] + info["test"] == 5
    assert sorted(s["file"].split("/")[-1] for s in info["skipped"]) == ["broken.jpg", "empty.png"]
    reasons = " ".join(s["reason"] for s in info["skipped"])
    assert "empty file" in reasons and "not a readable" in reasons
    assert "7/7" in capsys.readouterr().out  # the progress bar ran to the end


def test_bad_folders_and_arguments_raise_clear_errors(tmp_path, photo_dir):
    with pytest.raises(DataError, match="nowhere: folder not found"):
        R.make_pairs("colorize", tmp_path / "nowhere", tmp_path / "out", verbose=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        R.make_pairs("colorize", tmp_path / "empty", tmp_path / "out", verbose=0)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="no .jpg/.jpeg/.png images"):
        R.make_pairs("colorize", tmp_path / "text", tmp_path / "out", verbose=0)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"garbage")
    (tmp_path / "bad" / "b.png").write_bytes(b"")
    with pytest.raises(DataError, match="none of the 2 images is readable"):
        R.make_pairs("colorize", tmp_path / "bad", tmp_path / "out", verbose=0)
    for kwargs, match in (({"size": 8}, "size = 8: must be an integer >= 16"),
                          ({"val_fraction": -0.1}, "val_fraction = -0.1"),
                          ({"test_fraction": 1.0}, "test_fraction = 1.0"),
                          ({"val_fraction": 0.5, "test_fraction": 0.5}, "sum|< 1"),
                          ({"mode": "stretch"}, "mode = 'stretch'"),
                          ({"factor": 3}, "'factor' = 3")):
        task = "superres" if "factor" in kwargs else "colorize"
        with pytest.raises(RecipeError, match=match):
            R.make_pairs(task, photo_dir, tmp_path / "out", verbose=0, **kwargs)
    with pytest.raises(RecipeError, match="unknown recipe task"):
        R.make_pairs("sketch", photo_dir, tmp_path / "out", verbose=0)
    assert not (tmp_path / "out").exists()  # nothing written by the failures


def test_existing_output_needs_overwrite(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        _write(src / f"p{i}.jpg", _photo(i, 32))
    R.make_pairs("colorize", src, tmp_path / "out", size=16, verbose=0)
    with pytest.raises(DataError, match="already holds 3 image"):
        R.make_pairs("colorize", src, tmp_path / "out", size=16, verbose=0)
    info = R.make_pairs("colorize", src, tmp_path / "out", size=16, seed=5, overwrite=True, verbose=0)
    assert len(list((tmp_path / "out").rglob("*.jpg"))) == 3 == info["train"] + info["val"] + info["test"]
