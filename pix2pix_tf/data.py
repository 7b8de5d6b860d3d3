"""Aligned A|B image files -> tf.data pipelines (paper appendix 6.2).

The standard pix2pix datasets store each training pair as ONE image: A on the left
half, B on the right half. A dataset folder holds one sub-folder per split::

    DATA_DIR/train/*.jpg|*.jpeg|*.png
    DATA_DIR/test/...      (or val/)

Pairs kept as two files with the same name are read too, in either of these layouts::

    DATA_DIR/train/A/x.jpg + DATA_DIR/train/B/x.jpg
    DATA_DIR/A/train/x.jpg + DATA_DIR/B/train/x.jpg      (the authors' combine_A_and_B layout)

Training images get the paper's random jitter: both halves are resized to
``load_size`` (286), the SAME random ``image_size`` (256) crop is taken from both and
both are mirrored together with p=0.5. Test images are only resized. Pixels are scaled
to [-1, 1] to match the generator's tanh.
"""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tensorflow as tf

from .config import Pix2PixConfig, Pix2PixError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
TEST_SPLITS = ("test", "val")  # first that exists is used for evaluation


class DataError(Pix2PixError):
    """A data folder or image file cannot be used; the message names it and says why."""


# ----------------------------------------------------------------------------- files
def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files (.jpg/.jpeg/.png, any case) directly inside ``folder``.

    Raises:
        DataError: the folder is missing, not a folder, or holds no images.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        others = sum(1 for p in folder.iterdir())
        entries = f"{others} entry" if others == 1 else f"{others} entries"
        what = f"{entries} but no .jpg/.jpeg/.png images" if others else "empty"
        raise DataError(f"{folder}: {what}")
    return files


def split_dir(data_dir: str | Path, split: str) -> Path:
    """The folder of one split, with a clear error when the layout is wrong."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found" if not data_dir.exists()
                        else f"{data_dir}: not a folder")
    folder = data_dir / split
    if not folder.is_dir():
        present = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
        raise DataError(f"{data_dir}: no '{split}/' split folder (found: "
                        f"{', '.join(present) if present else 'no sub-folders'}); expected "
                        f"{data_dir}/{split}/*.jpg with A|B images side by side")
    return folder


def find_test_split(data_dir: str | Path) -> str | None:
    """'test' if present (in either layout), else 'val', else None."""
    for split in TEST_SPLITS:
        if (Path(data_dir) / split).is_dir() or (Path(data_dir) / "A" / split).is_dir():
            return split
    return None


def _separate_dirs(data_dir: Path, split: str) -> tuple[Path, Path] | None:
    for a_dir, b_dir in ((data_dir / split / "A", data_dir / split / "B"),
                         (data_dir / "A" / split, data_dir / "B" / split)):
        if a_dir.is_dir() or b_dir.is_dir():
            if not (a_dir.is_dir() and b_dir.is_dir()):
                missing = b_dir if a_dir.is_dir() else a_dir
                raise DataError(f"{missing}: folder not found; pairs in separate files need both "
                                f"{a_dir} and {b_dir}")
            return a_dir, b_dir
    return None


def list_pairs(data_dir: str | Path, split: str) -> list[tuple[Path, Path | None]]:
    """The pairs of one split: (aligned file, None) or (A file, B file) matched by name.

    Raises:
        DataError: missing folders, no images, or A and B names that do not match.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        split_dir(data_dir, split)  # raises the "data folder not found" error
    dirs = _separate_dirs(data_dir, split)
    if dirs is None:
        return [(f, None) for f in list_images(split_dir(data_dir, split))]
    a_files = {p.stem: p for p in list_images(dirs[0])}
    b_files = {p.stem: p for p in list_images(dirs[1])}
    only_a, only_b = sorted(a_files.keys() - b_files.keys()), sorted(b_files.keys() - a_files.keys())
    if only_a or only_b:
        def some(names, files, folder):
            return f"{len(names)} only in {folder} (e.g. {', '.join(files[n].name for n in names[:3])})"
        parts = [some(n, f, d) for n, f, d in ((only_a, a_files, dirs[0]), (only_b, b_files, dirs[1])) if n]
        raise DataError(f"A and B file names do not match: {'; '.join(parts)}")
    return [(a_files[k], b_files[k]) for k in sorted(a_files)]


def read_image(path: str | Path, channels: int = 0) -> tf.Tensor:
    """Read and fully decode one image file, as stored (``channels=0``) or converted.

    Returns:
        (H, W, C) uint8 tensor (16-bit PNGs are scaled to 8 bits).

    Raises:
        DataError: naming the file: unreadable, empty, not an image, truncated or corrupt.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not data:
        raise DataError(f"{path}: empty file (0 bytes)")
    try:
        return tf.io.decode_image(data, channels=channels, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.DataLossError) as e:
        reason = e.message.splitlines()[0] if e.message else type(e).__name__
        reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:\w+\]", "", reason).strip()  # TF's op wrapper text
        raise DataError(f"{path}: not a readable JPEG/PNG image ({reason})") from None


def check_image(path: str | Path, aligned: bool = True) -> tuple[int, int, int]:
    """Decode one image fully and check it; return (height, width, channels).

    ``aligned``: the file holds A|B side by side, so its width must be even.

    Raises:
        DataError: naming the file: empty, not an image, truncated/corrupt, odd width or
            an unsupported channel count.
    """
    img = read_image(path)
    h, w, c = (int(v) for v in img.shape)
    if c not in (1, 2, 3, 4):
        raise DataError(f"{path}: unsupported number of channels {c}")
    if aligned and w % 2:
        raise DataError(f"{path}: width {w} is odd; an aligned A|B image has A and B side by "
                        "side, each half the width")
    if h < 2 or w < (4 if aligned else 2):
        raise DataError(f"{path}: image of {w}x{h} is too small")
    return h, w, c


def check_pairs(pairs: list[tuple[Path, Path | None]], skip_bad: bool = False,
                workers: int = 8) -> list[tuple[Path, Path | None]]:
    """Decode every file up front so a bad one stops the run before training starts.

    Args:
        pairs: from :func:`list_pairs`.
        skip_bad: instead of raising, leave bad pairs out and print one warning that counts them.

    Returns:
        The usable pairs, in order.

    Raises:
        DataError: for the first bad file (in sorted order), unless ``skip_bad``.
    """
    def probe(pair):
        a, b = pair
        try:
            check_image(a, aligned=b is None)
            if b is not None:
                check_image(b, aligned=False)
            return None
        except DataError as e:
            return str(e)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = list(pool.map(probe, pairs))
    bad = [why for why in problems if why]
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more bad file(s); --skip-bad-files leaves them out)" if len(bad) > 1 else ""
        raise DataError(bad[0] + more)
    if bad:
        print(f"pix2pix-tf: warning: skipped {len(bad)} bad pair(s) of {len(pairs)} in "
              f"{pairs[0][0].parent}; first: {bad[0]}", file=sys.stderr)
    good = [pair for pair, why in zip(pairs, problems) if not why]
    if not good:
        raise DataError(f"{pairs[0][0].parent}: none of the {len(pairs)} images is readable")
    return good


def split_pairs(data_dir: str | Path, split: str, check: bool = True,
                skip_bad: bool = False) -> list[tuple[Path, Path | None]]:
    """The pairs of one split (see :func:`list_pairs`), checked unless ``check=False``."""
    pairs = list_pairs(data_dir, split)
    return check_pairs(pairs, skip_bad=skip_bad) if check else pairs


# --------------------------------------------------------------------------- tensors
def _orient(a: tf.Tensor, b: tf.Tensor, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """Apply ``direction`` (which side is the input) and the configured channel counts."""
    if config.direction == "BtoA":
        a, b = b, a
    if config.input_channels == 1:
        a = tf.image.rgb_to_grayscale(a)
    if config.output_channels == 1:
        b = tf.image.rgb_to_grayscale(b)
    return a, b


def _decode_rgb(image_bytes: tf.Tensor) -> tf.Tensor:
    """Any JPEG/PNG (gray, RGBA, 16-bit, palette) -> (H, W, 3) float32 in [0, 255]."""
    return tf.cast(tf.io.decode_image(image_bytes, channels=3, expand_animations=False), tf.float32)


def decode_pair(image_bytes: tf.Tensor, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """Decode aligned A|B bytes and return (input, target) as float32 in [0, 255].

    Grayscale and RGBA files are converted to RGB; with 1-channel configs the halves are
    then converted to grayscale. ``direction`` decides which half is the input.
    """
    img = _decode_rgb(image_bytes)  # (H, W, 3)
    half = tf.shape(img)[1] // 2
    return _orient(img[:, :half], img[:, half:2 * half], config)  # (H, W/2, C) each


def decode_separate(a_bytes: tf.Tensor, b_bytes: tf.Tensor, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """Like :func:`decode_pair` for A and B stored as two files (sizes may differ)."""
    return _orient(_decode_rgb(a_bytes), _decode_rgb(b_bytes), config)


def _decode(paths: tf.Tensor, config: Pix2PixConfig, separate: bool):
    """paths: (2,) string tensor [A or aligned file, B file or ""]."""
    if separate:
        return decode_separate(tf.io.read_file(paths[0]), tf.io.read_file(paths[1]), config)
    return decode_pair(tf.io.read_file(paths[0]), config)


def _resize(x: tf.Tensor, size: int, method: str) -> tf.Tensor:
    y = tf.image.resize(x, (size, size), method=method, antialias=method != "nearest")
    return tf.clip_by_value(y, 0.0, 255.0)  # bicubic overshoots


def random_jitter(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig,
                  seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Resize both to load_size, take the same random crop of both and mirror both.

    Args:
        inp, tar: (H, W, C) float images.
        seed: int32/int64 tensor of shape (2,) for the stateless random ops.

    Returns:
        (image_size, image_size, C) crops of ``inp`` and ``tar``, jittered identically.

    Reference: Isola et al. 2017, appendix 6.2 ("random jitter ... resizing the 256x256
    input images to 286x286 and then randomly cropping back to size 256x256").
    """
    s, cin = config.image_size, config.input_channels
    stacked = tf.concat([_resize(inp, config.load_size, config.resize_method),
                         _resize(tar, config.load_size, config.resize_method)], axis=-1)
    stacked = tf.image.stateless_random_crop(
        stacked, (s, s, cin + config.output_channels), seed=seed)  # same crop for A and B
    if config.random_mirror:
        stacked = tf.image.stateless_random_flip_left_right(stacked, seed=seed + 1)
    return stacked[..., :cin], stacked[..., cin:]


def normalize(x: tf.Tensor) -> tf.Tensor:
    """[0, 255] -> [-1, 1]."""
    return x / 127.5 - 1.0


def to_uint8(x: tf.Tensor) -> tf.Tensor:
    """[-1, 1] -> uint8 [0, 255], rounded."""
    return tf.cast(tf.round(tf.clip_by_value((tf.cast(x, tf.float32) + 1.0) * 127.5, 0, 255)), tf.uint8)


def load_train_example(paths: tf.Tensor, seed: tf.Tensor, config: Pix2PixConfig, separate: bool = False):
    """File paths -> jittered, normalized (input, target)."""
    a, b = _decode(paths, config, separate)
    a, b = random_jitter(a, b, config, seed)
    return normalize(a), normalize(b)


def load_test_example(paths: tf.Tensor, config: Pix2PixConfig, separate: bool = False):
    """File paths -> resized, normalized (input, target)."""
    a, b = _decode(paths, config, separate)
    s = config.image_size
    return (normalize(tf.ensure_shape(_resize(a, s, config.resize_method), (s, s, config.input_channels))),
            normalize(tf.ensure_shape(_resize(b, s, config.resize_method), (s, s, config.output_channels))))


# -------------------------------------------------------------------------- datasets
def make_dataset(data_dir: str | Path, split: str, config: Pix2PixConfig, training: bool | None = None,
                 batch_size: int | None = None, check: bool = True, skip_bad: bool = False,
                 pairs: list[tuple[Path, Path | None]] | None = None, skip: int = 0) -> tuple[tf.data.Dataset, int]:
    """Build the tf.data pipeline of one split.

    Args:
        data_dir: folder holding ``split/`` with aligned A|B images (or A/ and B/ folders).
        split: "train", "test" or "val".
        config: sizes, channels, direction, jitter and seed.
        training: jitter, shuffle and repeat forever (default: ``split == "train"``).
        batch_size: defaults to ``config.batch_size`` for training, 1 for evaluation.
        check: decode every file up front and raise :class:`DataError` on the first bad one.
        skip_bad: with ``check``, leave bad files out (with a warning) instead of raising.
        pairs: use these (already checked) pairs from :func:`split_pairs` instead of listing.
        skip: training only: start this many examples into the (deterministic) stream, so a
            resumed run sees exactly the images and crops an uninterrupted run would.

    Returns:
        (dataset of (input, target) float32 batches in [-1, 1], number of pairs).

    Example:
        >>> ds, n = make_dataset("data/facades_synthetic", "train", Pix2PixConfig(image_size=64, load_size=72))
    """
    training = split == "train" if training is None else training
    if pairs is None:
        pairs = split_pairs(data_dir, split, check=check, skip_bad=skip_bad)
    separate = pairs[0][1] is not None
    paths = tf.data.Dataset.from_tensor_slices([[str(a), str(b or "")] for a, b in pairs])
    autotune = tf.data.AUTOTUNE
    if training:
        batch_size = batch_size or config.batch_size
        if len(pairs) < batch_size:
            raise DataError(f"{data_dir}/{split}: {len(pairs)} images, fewer than batch_size={batch_size}")
        ds = paths.shuffle(len(pairs), seed=config.seed, reshuffle_each_iteration=True).repeat()
        ds = ds.enumerate()  # the element index seeds its jitter: fresh crops every epoch
        ds = ds.skip(skip)  # before decoding: skipping costs nothing
        ds = ds.map(lambda i, p: load_train_example(p, tf.stack([tf.cast(config.seed, tf.int64), i]),
                                                    config, separate),
                    num_parallel_calls=autotune)
        ds = ds.batch(batch_size, drop_remainder=True)
    else:
        ds = paths.map(lambda p: load_test_example(p, config, separate), num_parallel_calls=autotune)
        ds = ds.batch(batch_size or 1)
    return ds.prefetch(autotune), len(pairs)


def load_pair_file(path: str | Path, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """One aligned file as a test example (input, target), checked, in [-1, 1]."""
    check_image(path)
    return load_test_example(tf.constant([os.fspath(path), ""]), config)
