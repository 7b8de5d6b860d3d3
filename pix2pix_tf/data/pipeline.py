"""The tf.data pipeline: file paths -> decoded pairs -> jittered, normalized, batched examples.

Training: shuffle, repeat forever, :func:`~pix2pix_tf.jitter.random_jitter` seeded by
``(config.seed, example index)`` (fresh crops every epoch, yet reproducible and resumable),
scale to [-1, 1], batch, prefetch. Evaluation: :func:`~pix2pix_tf.jitter.eval_preprocess`,
in order, batch size 1. With ``dataset_mode="colorization"`` each file is ONE colour image:
it is the target and its grayscale is the input (``input_channels`` = 1).
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from ..config import Pix2PixConfig
from .checks import check_pairs, split_pairs
from .files import DataError, Pair
from .images import check_image, decode_image_oriented, file_orientation
from ..jitter import eval_preprocess, normalize, orient, random_jitter, resize_to_load_size
from .shapes import input_size, preprocessed_shape, split_shape

CACHE_BUDGET_BYTES = 2 * 1024 ** 3  # cache="auto" caches a split whose resized images fit in this


# --------------------------------------------------------------------------- decoding
def _decode_rgb(image_bytes: tf.Tensor, orientation=None) -> tf.Tensor:
    """Any JPEG/PNG (gray, RGBA, 16-bit, palette) -> (H, W, 3) float32 in [0, 255], turned
    by its EXIF orientation as viewers show it (:func:`~pix2pix_tf.data.images.decode_image_oriented`)."""
    return decode_image_oriented(image_bytes, channels=3, dtype=tf.float32, orientation=orientation)


def decode_pair(image_bytes: tf.Tensor, config: Pix2PixConfig,
                orientation=None) -> tuple[tf.Tensor, tf.Tensor]:
    """Decode aligned A|B bytes and return (input, target) as float32 in [0, 255].

    Grayscale and RGBA files are converted to RGB; with 1-channel configs the halves are
    then converted to grayscale. ``direction`` decides which half is the input.
    ``orientation``: the file's EXIF orientation when known (the pipeline passes the one its
    header gave); None reads it from the bytes.

    Example:
        >>> ab = tf.io.encode_png(tf.zeros((4, 8, 3), tf.uint8))  # one 8x4 A|B file
        >>> x, y = decode_pair(ab, Pix2PixConfig())
        >>> x.shape, y.shape
        (TensorShape([4, 4, 3]), TensorShape([4, 4, 3]))
    """
    img = _decode_rgb(image_bytes, orientation)  # (H, W, 3)
    half = tf.shape(img)[1] // 2
    return orient(img[:, :half], img[:, half:2 * half], config)  # (H, W/2, C) each


def decode_separate(a_bytes: tf.Tensor, b_bytes: tf.Tensor, config: Pix2PixConfig,
                    orientations=None) -> tuple[tf.Tensor, tf.Tensor]:
    """Like :func:`decode_pair` for A and B stored as two files (sizes may differ);
    ``orientations``: (A's, B's) EXIF orientations, or None to read them from the bytes."""
    a_orientation, b_orientation = (None, None) if orientations is None else (orientations[0], orientations[1])
    return orient(_decode_rgb(a_bytes, a_orientation), _decode_rgb(b_bytes, b_orientation), config)


def _decode(paths: tf.Tensor, config: Pix2PixConfig, separate: bool,
            orientations: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Read and decode one pair: (input, target) float32 in [0, 255], before any geometry.

    Args:
        paths: (2,) string tensor [A or aligned file, B file or ""].
        separate: A and B are two files.
        orientations: (2,) int tensor, the EXIF orientations of the files from their
            headers (:func:`~pix2pix_tf.data.images.file_orientation`); None: read from the
            bytes of each file as it is decoded.

    Colorization: (image, image), both RGB; :func:`_finish` makes the input gray after the
    geometry, so the input is exactly the grayscale of the (jittered) target.
    """
    first = None if orientations is None else orientations[0]
    if config.dataset_mode == "colorization":
        img = _decode_rgb(tf.io.read_file(paths[0]), first)
        return img, img
    if separate:
        return decode_separate(tf.io.read_file(paths[0]), tf.io.read_file(paths[1]), config, orientations)
    return decode_pair(tf.io.read_file(paths[0]), config, first)


def _finish(a: tf.Tensor, b: tf.Tensor, config: Pix2PixConfig, shape: tuple[int, int] | None):
    """Colorization channels, static shapes and [-1, 1] scaling of a preprocessed pair."""
    if config.dataset_mode == "colorization":
        a, b = orient(a, b, config)  # a == b here (direction moot): the input is gray(target)
    h, w = shape or (config.image_size, config.image_size)
    return (normalize(tf.ensure_shape(a, (h, w, config.input_channels))),
            normalize(tf.ensure_shape(b, (h, w, config.output_channels))))


# ---------------------------------------------------------------------------- examples
def load_train_example(paths: tf.Tensor, seed: tf.Tensor, config: Pix2PixConfig, separate: bool = False,
                       shape: tuple[int, int] | None = None,
                       orientations: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """File paths -> jittered, normalized (input, target); ``shape`` as for :func:`random_jitter`,
    ``orientations`` as for :func:`_decode`."""
    a, b = _decode(paths, config, separate, orientations)
    a, b = random_jitter(a, b, config, seed, shape)  # (S, S, C) each
    return _finish(a, b, config, shape)


def load_test_example(paths: tf.Tensor, config: Pix2PixConfig, separate: bool = False,
                      shape: tuple[int, int] | None = None,
                      orientations: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """File paths -> resized (cropped), normalized (input, target); see :func:`eval_preprocess`
    (``orientations`` as for :func:`_decode`)."""
    a, b = _decode(paths, config, separate, orientations)
    return _finish(*eval_preprocess(a, b, config, shape), config, shape)


def cache_bytes(pairs: list[Pair], config: Pix2PixConfig, shape: tuple[int, int] | None = None) -> int:
    """Estimated memory of the cached (uint8, resized to load_size) training images of ``pairs``.

    Example:
        >>> cache_bytes([("a.png", None)] * 10, Pix2PixConfig(image_size=64, load_size=72))
        311040
    """
    if config.preprocess == "resize_and_crop":
        h = w = config.load_size
    elif shape is not None:
        h, w = shape
    else:  # crop / scale_width_and_crop: sizes vary with the files; bound by the first one
        h, w = input_size(pairs[0], config)
        h = w = max(h, w, config.load_size)
    return len(pairs) * h * w * (config.input_channels + config.output_channels)


# --------------------------------------------------------------------------- datasets
def make_dataset(data_dir: str | Path, split: str, config: Pix2PixConfig, training: bool | None = None,
                 batch_size: int | None = None, check: bool = True, skip_bad: bool = False,
                 pairs: list[Pair] | None = None, skip: int = 0,
                 cache: bool | str = "auto", parallel: bool = True) -> tuple[tf.data.Dataset, int]:
    """Build the tf.data pipeline of one split.

    Args:
        data_dir: folder holding ``split/`` with aligned A|B images (or A/ and B/ folders,
            or single colour images with ``dataset_mode="colorization"``).
        split: "train", "test" or "val".
        config: sizes, channels, direction, dataset_mode, preprocess, jitter and seed.
        training: jitter, shuffle and repeat forever (default: ``split == "train"``).
        batch_size: defaults to ``config.batch_size`` for training, 1 for evaluation.
        check: decode every file up front and raise :class:`DataError` on the first bad one.
        skip_bad: with ``check``, leave bad files out (with a warning) instead of raising.
        pairs: use these (already checked) pairs from :func:`split_pairs` instead of listing;
            only their headers are checked against ``preprocess``.
        skip: training only: start this many examples into the (deterministic) stream, so a
            resumed run sees exactly the images and crops an uninterrupted run would.
        cache: training only: keep the decoded images, resized to load_size, in memory as
            uint8 after the first epoch, so later epochs only crop and mirror. "auto": when
            they fit in :data:`CACHE_BUDGET_BYTES` (2 GiB; edges2things at 286: 1 GB). The
            stream is the same with and without the cache, bit for bit.
        parallel: decode and jitter on all cores (``AUTOTUNE``); False: one at a time.

    Returns:
        (dataset of (input, target) float32 batches in [-1, 1], number of pairs). Examples
        are (S, S, C) or, for ``scale_width`` / ``none``, the split's (H, W, C)
        (:func:`~pix2pix_tf.data.checks.train_image_shape`).

    Raises:
        DataError: a bad file or folder, or an image that does not fit ``preprocess``,
            naming the file (:func:`check_pairs`).

    Example:
        >>> ds, n = make_dataset("data/facades_synthetic", "train",
        ...                      Pix2PixConfig(image_size=64, load_size=72))  # doctest: +SKIP
        >>> next(iter(ds))[0].shape  # doctest: +SKIP
        TensorShape([1, 64, 64, 3])
    """
    training = split == "train" if training is None else training
    if pairs is None:
        pairs = split_pairs(data_dir, split, check=check, skip_bad=skip_bad, config=config)
    else:
        pairs = check_pairs(pairs, config, skip_bad=skip_bad, decode=False)  # headers, cached
    shape = split_shape(pairs, config)  # (H, W) of every example
    separate = pairs[0][1] is not None
    # each element: the pair's paths and their EXIF orientations, known from the headers the
    # checks above read (cached), so no decode reopens a header
    files = tf.data.Dataset.from_tensor_slices((
        [[str(a), str(b or "")] for a, b in pairs],
        tf.constant([[file_orientation(a), file_orientation(b) if b is not None else 1] for a, b in pairs],
                    tf.int32)))
    autotune = tf.data.AUTOTUNE
    workers = autotune if parallel else None
    if not training:
        ds = files.map(lambda p, o: load_test_example(p, config, separate, shape, o),
                       num_parallel_calls=workers)
        return ds.batch(batch_size or 1).prefetch(autotune), len(pairs)

    batch_size = batch_size or config.batch_size
    if len(pairs) < batch_size:
        raise DataError(f"{data_dir}/{split}: {len(pairs)} images, fewer than batch_size={batch_size}")
    if cache == "auto":
        cache = cache_bytes(pairs, config, shape) <= CACHE_BUDGET_BYTES

    def seed_of(i):  # the element index seeds its jitter: fresh crops every epoch
        return tf.stack([tf.cast(config.seed, tf.int64), i])

    if cache:
        # decode + resize once, keep uint8; the shuffle below permutes elements exactly as
        # it permutes the paths (same seed, same count), so the stream does not change
        def load_resized(p, o):
            a, b = resize_to_load_size(*_decode(p, config, separate, o), config, shape)
            return tf.cast(a, tf.uint8), tf.cast(b, tf.uint8)

        def jitter_cached(i, ab):
            a, b = (tf.cast(x, tf.float32) for x in ab)
            return _finish(*random_jitter(a, b, config, seed_of(i), shape, resized=True), config, shape)

        ds = files.map(load_resized, num_parallel_calls=workers).cache()
        ds = ds.shuffle(len(pairs), seed=config.seed, reshuffle_each_iteration=True).repeat()
        ds = ds.enumerate().skip(skip)
        ds = ds.map(jitter_cached, num_parallel_calls=workers)
    else:
        ds = files.shuffle(len(pairs), seed=config.seed, reshuffle_each_iteration=True).repeat()
        ds = ds.enumerate().skip(skip)  # skip before decoding: skipping costs nothing
        ds = ds.map(lambda i, po: load_train_example(po[0], seed_of(i), config, separate, shape, po[1]),
                    num_parallel_calls=workers)
    return ds.batch(batch_size, drop_remainder=True).prefetch(autotune), len(pairs)


def load_pair_file(path: str | Path, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """One aligned (or, for colorization, single) file as a test example (input, target), checked, in [-1, 1].

    Raises:
        DataError: naming the file: unreadable, or not fitting ``config.preprocess``.

    Example:
        >>> x, y = load_pair_file("data/facades_synthetic/test/0000.png",
        ...                       Pix2PixConfig(image_size=64, load_size=72))  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        TensorShape([64, 64, 3])
    """
    check_image(path, aligned=config.dataset_mode == "aligned")
    shape = preprocessed_shape(config, *input_size((Path(path), None), config), name=str(path))
    return load_test_example(tf.constant([os.fspath(path), ""]), config, shape=shape,
                             orientations=tf.constant([file_orientation(path), 1], tf.int32))
