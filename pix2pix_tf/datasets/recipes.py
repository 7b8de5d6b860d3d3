"""Recipes: turn any folder of photos into a paired A|B dataset by degrading each photo.

Most people have photos but no pairs. A *recipe* makes the pairs: ``B`` is the photo and
``A`` is a degraded version of it, so a pix2pix model trained AtoB learns to undo the
degradation. Five tasks are built in (:data:`TASKS`):

* ``colorize``  -- A is the photo in grayscale;
* ``inpaint``   -- A is the photo with holes (random rectangles or free-form strokes);
* ``superres``  -- A is the photo downsampled by 2, 4 or 8 and upsampled back to its size;
* ``edges``     -- A is a thin dark edge map on white, like the paper's edges2* sets;
* ``denoise``   -- A is the photo with Gaussian noise or JPEG artifacts.

Every degradation is written with TensorFlow ops only, so the same code serves two uses:

1. **Offline**: :func:`make_pairs` writes ``out_dir/{train,val,test}/NAME.jpg`` aligned
   A|B files (A on the left) that :func:`pix2pix_tf.data.make_dataset` reads as is::

       make_pairs("inpaint", "my_photos", "data/my_inpaint", size=256, mask="strokes")

2. **On the fly** in a ``tf.data`` pipeline, with fresh randomness every epoch::

       ds = photos.repeat().enumerate().map(degradation_map("inpaint", seed=0, size=256))
       # -> (A, B) float32 in [0, 255]; data.normalize() maps them to [-1, 1]

Randomness is stateless: the same seed always gives the same holes/noise, on any
machine, in eager or graph mode. Options of each task, with their defaults, are in
:data:`DEFAULT_OPTIONS` (help texts in :data:`OPTION_HELP`), so a CLI can expose them.
"""

from __future__ import annotations

import math
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from ..config import Pix2PixError
from ..data import IMAGE_EXTENSIONS, DataError, list_images, read_image
from ..host.output_folder import NameCollision, OutputFolder, describe_collisions, find_collisions
from ..host.memory import check_data_memory, square_images_memory_bytes
from ..host.writes import folder_kind
from .recipe_options import DEFAULT_OPTIONS, OPTION_HELP, TASKS

__all__ = ["TASKS", "DEFAULT_OPTIONS", "OPTION_HELP", "SPLITS", "RecipeError", "resolve_options",
           "degrade", "inpaint_mask", "degradation_map", "prepare_photo", "assign_splits",
           "make_pairs"]

SPLITS = ("train", "val", "test")
PREPARE_MODES = ("center_crop", "resize")
MIN_SIZE = 16  # smallest side make_pairs writes
OUTPUT_KIND = "pairs-dataset"  # the manifest kind of a folder written by make_pairs

_CHOICES = {("inpaint", "mask"): ("rect", "strokes"),
            ("superres", "upsample"): ("nearest", "bilinear", "bicubic"),
            ("denoise", "noise"): ("gaussian", "jpeg")}
_STROKE_SEGMENTS = 4  # line segments per free-form stroke
_BACKPROJECT_STEPS = 4  # superres: smooth corrections before the exact one


class RecipeError(Pix2PixError):
    """An unknown task or a bad recipe option; the message names it and says what is allowed."""


# ------------------------------------------------------------------------ options
def _check_task(task: str) -> str:
    if task not in TASKS:
        raise RecipeError(f"unknown recipe task {task!r}; choose one of {', '.join(TASKS)}")
    return task


def _coerce(task: str, name: str, value: Any, default: Any) -> Any:
    """Convert ``value`` to the type of ``default`` (CLI strings included) or raise."""
    def bad(why: str) -> RecipeError:
        return RecipeError(f"recipe '{task}' option '{name}' = {value!r}: {why}")

    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("must be a string")
        return value
    if isinstance(value, bool):
        raise bad("must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad("must be a number") from None
    if not math.isfinite(number):
        raise bad("must be a finite number")
    if isinstance(default, int):
        if number != int(number):
            raise bad("must be an integer")
        return int(number)
    return number


def resolve_options(task: str, **options) -> dict[str, Any]:
    """Check a task's options and return them merged over :data:`DEFAULT_OPTIONS`.

    Args:
        task: one of :data:`TASKS`.
        **options: option values (numbers may be given as strings, as from a CLI).

    Returns:
        dict with every option of the task, converted to the default's type.

    Raises:
        RecipeError: unknown task, unknown option name or an out-of-range value.
    """
    defaults = DEFAULT_OPTIONS[_check_task(task)]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise RecipeError(f"recipe '{task}' has no option {', '.join(map(repr, unknown))}; "
                          f"its options are: {', '.join(f'{k}={v!r}' for k, v in defaults.items())}")
    opts = {k: _coerce(task, k, options.get(k, v), v) for k, v in defaults.items()}

    def need(cond: bool, name: str, why: str) -> None:
        if not cond:
            raise RecipeError(f"recipe '{task}' option '{name}' = {opts[name]!r}: {why}")

    for (t, name), choices in _CHOICES.items():
        if t == task:
            need(opts[name] in choices, name, f"must be one of {', '.join(choices)}")
    if task == "colorize":
        need(opts["gray_channels"] in (1, 3), "gray_channels", "must be 1 or 3")
    elif task == "inpaint":
        need(0 <= opts["hole_value"] <= 255, "hole_value", "must be in 0..255")
        need(opts["max_holes"] >= 1, "max_holes", "must be >= 1")
        need(0 < opts["min_size"] <= 1, "min_size", "must be in (0, 1]")
        need(opts["min_size"] <= opts["max_size"] <= 1, "max_size",
             f"must be in [min_size ({opts['min_size']}), 1]")
        need(0 < opts["stroke_width"] <= 0.5, "stroke_width", "must be in (0, 0.5]")
    elif task == "superres":
        need(opts["factor"] in (2, 4, 8), "factor", "must be 2, 4 or 8")
    elif task == "edges":
        need(0 <= opts["sigma"] <= 5, "sigma", "must be in [0, 5]")
        need(0 <= opts["low"] <= 1, "low", "must be in [0, 1]")
        need(opts["low"] <= opts["high"] <= 1, "high", f"must be in [low ({opts['low']}), 1]")
        need(1 <= opts["thickness"] <= 5, "thickness", "must be in 1..5")
    elif task == "denoise":
        need(0 <= opts["sigma"] <= 255, "sigma", "must be in [0, 255]")
        need(1 <= opts["quality"] <= 100, "quality", "must be in 1..100")
    return opts


# ------------------------------------------------------------------------ helpers
def _as_seed(seed) -> tf.Tensor:
    """An int or a (2,) int tensor -> (2,) int64 seed for the stateless random ops."""
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.constant(0, tf.int64)])
    return tf.ensure_shape(seed, (2,))


def _shift(m: tf.Tensor, dy: int, dx: int) -> tf.Tensor:
    """m[y + dy, x + dx] for a (H, W) map, zero outside the image."""
    h, w = tf.shape(m)[0], tf.shape(m)[1]
    padded = tf.pad(m, [[1, 1], [1, 1]])
    return padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def _gaussian_blur(gray: tf.Tensor, sigma: float) -> tf.Tensor:
    """Separable Gaussian blur of a (H, W, 1) image with mirrored borders."""
    if sigma <= 0:
        return gray
    r = max(1, int(math.ceil(3 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float32)
    k = np.exp(-x ** 2 / (2 * sigma ** 2))
    k = tf.constant(k / k.sum(), tf.float32)
    img = tf.pad(gray[None], [[0, 0], [r, r], [r, r], [0, 0]], mode="SYMMETRIC")  # (1, H+2r, W+2r, 1)
    img = tf.nn.conv2d(img, tf.reshape(k, (-1, 1, 1, 1)), 1, "VALID")  # (1, H, W+2r, 1)
    img = tf.nn.conv2d(img, tf.reshape(k, (1, -1, 1, 1)), 1, "VALID")  # (1, H, W, 1)
    return img[0]


# --------------------------------------------------------------------- degradations
def _colorize(photo: tf.Tensor, seed: tf.Tensor, gray_channels: int) -> tf.Tensor:
    gray = tf.image.rgb_to_grayscale(photo)  # (H, W, 1)
    return gray if gray_channels == 1 else tf.tile(gray, [1, 1, 3])


def inpaint_mask(height, width, seed, **options) -> tf.Tensor:
    """The hole mask the ``inpaint`` recipe uses for this seed: 1.0 = hole, 0.0 = kept.

    Args:
        height, width: image size (ints or scalar int tensors).
        seed: int or (2,) int tensor; the same seed gives the same mask as :func:`degrade`.
        **options: the ``inpaint`` options (``mask``, ``max_holes``, ``min_size``,
            ``max_size``, ``stroke_width``; ``hole_value`` is accepted and ignored).

    Returns:
        (height, width, 1) float32 mask of 0.0 and 1.0 with 1..max_holes shapes.
    """
    opts = resolve_options("inpaint", **options)
    seed = _as_seed(seed)
    s_count, s_geom = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    k = opts["max_holes"]
    n = tf.random.stateless_uniform((), s_count, minval=1, maxval=k + 1, dtype=tf.int32)
    active = tf.range(k) < n  # (K,) which shapes are drawn
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    yy = tf.range(h)[:, None] + 0.5  # (H, 1) pixel centres
    xx = tf.range(w)[None, :] + 0.5  # (1, W)
    lo, hi = opts["min_size"], opts["max_size"]
    if opts["mask"] == "rect":
        u = tf.random.stateless_uniform((4, k), s_geom)  # (4, K)
        rh = (lo + (hi - lo) * u[0]) * h
        rw = (lo + (hi - lo) * u[1]) * w
        y0 = u[2] * (h - rh)
        x0 = u[3] * (w - rw)
        yy, xx = yy[None], xx[None]  # (1, H, 1), (1, 1, W)
        inside = ((yy >= y0[:, None, None]) & (yy < (y0 + rh)[:, None, None])
                  & (xx >= x0[:, None, None]) & (xx < (x0 + rw)[:, None, None]))  # (K, H, W)
    else:  # strokes: random walks of thick line segments with round caps
        side = tf.minimum(h, w)
        s = _STROKE_SEGMENTS
        u = tf.random.stateless_uniform((2 * s + 3, k), s_geom)  # (2S+3, K)
        angle = 2 * math.pi * u[:s]  # (S, K)
        length = (lo + (hi - lo) * u[s:2 * s]) * side
        vy = u[2 * s] * h + tf.concat([tf.zeros((1, k)), tf.cumsum(length * tf.sin(angle), 0)], 0)
        vx = u[2 * s + 1] * w + tf.concat([tf.zeros((1, k)), tf.cumsum(length * tf.cos(angle), 0)], 0)
        vy, vx = tf.clip_by_value(vy, 0.0, h), tf.clip_by_value(vx, 0.0, w)  # (S+1, K) vertices
        radius = 0.5 * opts["stroke_width"] * side * (0.7 + 0.6 * u[2 * s + 2])  # (K,)
        ay, ax = vy[:-1, :, None, None], vx[:-1, :, None, None]  # (S, K, 1, 1) segment starts
        dy, dx = vy[1:, :, None, None] - ay, vx[1:, :, None, None] - ax
        t = ((yy - ay) * dy + (xx - ax) * dx) / tf.maximum(dy * dy + dx * dx, 1e-6)
        t = tf.clip_by_value(t, 0.0, 1.0)  # (S, K, H, W) closest point on each segment
        dist2 = (yy - ay - t * dy) ** 2 + (xx - ax - t * dx) ** 2
        inside = tf.reduce_any(dist2 <= (radius ** 2)[None, :, None, None], axis=0)  # (K, H, W)
    inside = tf.reduce_any(inside & active[:, None, None], axis=0)  # (H, W)
    return tf.cast(inside, tf.float32)[..., None]


def _inpaint(photo: tf.Tensor, seed: tf.Tensor, hole_value: float, **mask_options) -> tf.Tensor:
    mask = inpaint_mask(tf.shape(photo)[0], tf.shape(photo)[1], seed, **mask_options)  # (H, W, 1)
    return tf.where(mask > 0.5, tf.cast(hole_value, tf.float32), photo)


def _superres(photo: tf.Tensor, seed: tf.Tensor, factor: int, upsample: str) -> tf.Tensor:
    """Area-downsample by ``factor``, upsample so that the f x f block means are kept exactly.

    With U the upsampling and D the block mean, A = U(D(x)) and D(U(y)) = y, so
    D(A) = D(x) and degrading A again returns A: the degradation is idempotent.
    Smooth modes use bilinear/bicubic back-projection, then one exact block correction
    that keeps the pixels in [0, 255]. Exact when H and W are multiples of ``factor``
    (other sizes are padded by mirroring, which makes it approximate at the border).
    """
    f = factor
    h, w = tf.shape(photo)[0], tf.shape(photo)[1]
    ph, pw = (-h) % f, (-w) % f
    x = tf.pad(photo, [[0, ph], [0, pw], [0, 0]], mode="SYMMETRIC")[None]  # (1, H', W', 3), H' % f == 0
    size = tf.shape(x)[1:3]
    low = tf.nn.avg_pool2d(x, f, f, "VALID")  # (1, H'/f, W'/f, 3)

    def blocks(y):  # nearest-neighbour upsampling: each low-res pixel -> an f x f block
        return tf.repeat(tf.repeat(y, f, axis=1), f, axis=2)

    if upsample == "nearest":
        up = blocks(low)
    else:
        up = tf.image.resize(low, size, method=upsample)
        for _ in range(_BACKPROJECT_STEPS):  # Irani-Peleg back-projection of the block-mean error
            up = up + tf.image.resize(low - tf.nn.avg_pool2d(up, f, f, "VALID"), size, method=upsample)
        # exact step that also stays in [0, 255]: share each block's remaining error in
        # proportion to the room its pixels have left towards 255 (or towards 0)
        up = tf.clip_by_value(up, 0.0, 255.0)
        error = low - tf.nn.avg_pool2d(up, f, f, "VALID")  # (1, H'/f, W'/f, 3)
        room = tf.where(blocks(error) > 0, 255.0 - up, up)  # (1, H', W', 3)
        share = tf.math.divide_no_nan(error, tf.nn.avg_pool2d(room, f, f, "VALID"))  # |share| <= 1
        up = up + blocks(share) * room
    return tf.clip_by_value(up[0, :h, :w], 0.0, 255.0)


def _edges(photo: tf.Tensor, seed: tf.Tensor, sigma: float, low: float, high: float,
           thickness: int) -> tf.Tensor:
    """Canny-style edges: blur, Sobel, non-maximum suppression, hysteresis; dark on white."""
    gray = _gaussian_blur(tf.image.rgb_to_grayscale(photo), sigma)  # (H, W, 1)
    grad = tf.image.sobel_edges(gray[None])[0, :, :, 0]  # (H, W, 2) as [dy, dx]
    gy, gx = grad[..., 0], grad[..., 1]
    mag = tf.sqrt(gx * gx + gy * gy)  # (H, W)
    # non-maximum suppression: keep pixels that are the peak across the edge
    angle = tf.math.floormod(tf.atan2(gy, gx), math.pi)  # [0, pi)
    sector = tf.cast(tf.math.floormod(tf.round(angle / (math.pi / 4)), 4), tf.int32)  # 0: -, 1: \, 2: |, 3: /
    peak = tf.zeros_like(mag, tf.bool)
    for i, (dy, dx) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):  # step along the gradient
        is_peak = (mag >= _shift(mag, dy, dx)) & (mag > _shift(mag, -dy, -dx))  # ties: one pixel wins
        peak = peak | ((sector == i) & is_peak)
    rel = mag / tf.maximum(tf.reduce_max(mag), 1e-6)
    weak = tf.cast(peak & (rel >= low) & (mag > 1e-3), tf.float32)[None, ..., None]  # (1, H, W, 1)
    strong = weak * tf.cast(rel >= high, tf.float32)[None, ..., None]

    def grow(edges, changed):  # hysteresis: weak pixels touching a kept pixel are kept
        new = tf.nn.max_pool2d(edges, 3, 1, "SAME") * weak
        return new, tf.reduce_any(new != edges)

    edges, _ = tf.while_loop(lambda e, changed: changed, grow, (strong, tf.constant(True)),
                             maximum_iterations=tf.size(mag))
    if thickness > 1:
        edges = tf.nn.max_pool2d(edges, thickness, 1, "SAME")
    a = 255.0 * (1.0 - edges[0])  # (H, W, 1): 0 on lines, 255 elsewhere
    return tf.tile(a, [1, 1, 3])


def _denoise(photo: tf.Tensor, seed: tf.Tensor, noise: str, sigma: float, quality: int) -> tf.Tensor:
    if noise == "gaussian":
        return tf.clip_by_value(photo + sigma * tf.random.stateless_normal(tf.shape(photo), seed), 0.0, 255.0)
    img = tf.cast(tf.round(tf.clip_by_value(photo, 0.0, 255.0)), tf.uint8)
    return tf.cast(tf.image.adjust_jpeg_quality(img, quality), tf.float32)


_DEGRADE = {"colorize": _colorize, "inpaint": _inpaint, "superres": _superres,
            "edges": _edges, "denoise": _denoise}


def degrade(task: str, photo: tf.Tensor, seed, **options) -> tf.Tensor:
    """Degrade one photo into the A of a recipe.

    Works eagerly and inside ``tf.data`` maps / ``tf.function`` (graph mode). Options are
    checked in Python once, when the function is traced.

    Args:
        task: one of :data:`TASKS`.
        photo: (H, W, 3) image in [0, 255] (any real or uint8 dtype; used as float32).
        seed: int or (2,) int tensor for the stateless random ops (inpaint holes, noise).
        **options: the task's options, see :data:`DEFAULT_OPTIONS`.

    Returns:
        (H, W, 3) float32 in [0, 255]; (H, W, 1) for ``colorize`` with ``gray_channels=1``.

    Raises:
        RecipeError: unknown task or bad options.
    """
    opts = resolve_options(task, **options)
    photo = tf.cast(photo, tf.float32)  # (H, W, 3)
    return _DEGRADE[task](photo, _as_seed(seed), **opts)


def degradation_map(task: str, seed: int = 0, size: int | None = None,
                    mode: str = "center_crop", **options) -> Callable:
    """A ``tf.data`` map function (index, photo) -> (A, B) that degrades photos on the fly.

    Each element's randomness comes from ``[seed, index]``, so enumerate AFTER ``repeat``
    to get fresh holes/noise every epoch (and the same ones every run)::

        photos = tf.data.Dataset.from_tensor_slices(files).map(
            lambda f: tf.io.decode_image(tf.io.read_file(f), channels=3, expand_animations=False))
        ds = photos.repeat().enumerate().map(degradation_map("superres", size=256, factor=4))

    Args:
        task: one of :data:`TASKS`.
        seed: base seed of the recipe.
        size: if given, photos are first made ``size x size`` with :func:`prepare_photo`.
        mode: ``prepare_photo`` mode when ``size`` is given.
        **options: the task's options.

    Returns:
        fn(index, photo) -> (A, B), float32 in [0, 255]; B is the (prepared) photo.
    """
    opts = resolve_options(task, **options)  # fail now, not inside the pipeline
    if size is not None:
        _check_size(size)
    _check_mode(mode)

    def fn(index, photo):
        b = tf.cast(photo, tf.float32) if size is None else prepare_photo(photo, size, mode)
        element_seed = tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])
        return degrade(task, b, element_seed, **opts), b

    return fn


# -------------------------------------------------------------------------- photos
def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise RecipeError(f"size = {size!r}: must be an integer >= {MIN_SIZE}")
    return int(size)


def _check_mode(mode: str) -> str:
    if mode not in PREPARE_MODES:
        raise RecipeError(f"mode = {mode!r}: must be one of {', '.join(PREPARE_MODES)}")
    return mode


def prepare_photo(image, size: int, mode: str = "center_crop") -> tf.Tensor:
    """Any photo -> a square (size, size, 3) float32 image in [0, 255].

    Args:
        image: (H, W, C) uint8 (or [0, 255] float) with C = 1, 2, 3 or 4; gray is
            repeated to RGB, alpha is dropped.
        size: side of the result.
        mode: ``"center_crop"`` keeps the aspect ratio and crops the largest centred
            square; ``"resize"`` squashes the whole photo to a square.

    Returns:
        (size, size, 3) float32, resized with antialiased bicubic and clipped to [0, 255].
    """
    _check_mode(mode)
    img = tf.cast(tf.convert_to_tensor(image), tf.float32)  # (H, W, C)
    channels = img.shape[-1]
    if channels in (1, 2):
        img = tf.tile(img[..., :1], [1, 1, 3])
    elif channels == 4:
        img = img[..., :3]
    if mode == "center_crop":
        h, w = tf.shape(img)[0], tf.shape(img)[1]
        side = tf.minimum(h, w)
        img = img[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    img = tf.image.resize(img, (size, size), method="bicubic", antialias=True)
    return tf.ensure_shape(tf.clip_by_value(img, 0.0, 255.0), (size, size, 3))


# ----------------------------------------------------------------------- datasets
def assign_splits(n: int, val_fraction: float, test_fraction: float, seed: int) -> list[str]:
    """The split ("train"/"val"/"test") of each of ``n`` sorted files, from a seeded permutation.

    Split sizes are the rounded fractions of ``n``; a split with a non-zero fraction gets at
    least one file when n >= 3, and train always keeps at least one.
    """
    def rounded(x: float) -> int:
        return int(math.floor(x + 0.5))

    n_val, n_test = rounded(n * val_fraction), rounded(n * test_fraction)
    if n >= 3:
        n_val = max(n_val, 1 if val_fraction > 0 else 0)
        n_test = max(n_test, 1 if test_fraction > 0 else 0)
    while n - n_val - n_test < 1 and n_val + n_test > 0:  # keep one for training
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    order = np.random.default_rng(seed).permutation(n)
    splits = ["train"] * n
    for rank, i in enumerate(order):
        splits[i] = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
    return splits


def _file_seed(seed: int, name: str) -> np.ndarray:
    """Per-file seed from the recipe seed and the file name (stable when files are added)."""
    return np.array([seed, zlib.crc32(name.encode("utf-8"))], dtype=np.int64)


def _out_names(files: list[Path]) -> list[str]:
    """Output file names: NAME.jpg, or NAME_ext.jpg where two sources share a stem.

    Raises:
        NameCollision: two sources still get one name, compared ignoring case (``a.png`` +
            ``a.jpg`` + ``a_png.jpg``; ``b.jpg`` + ``b.JPG``; ``C.png`` + ``c.png``); the
            message lists them. Nothing is renamed silently: a pair would be lost.
    """
    stems = [f.stem for f in files]
    names = [f"{f.stem}.jpg" if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix[1:].lower()}.jpg"
             for f in files]
    collisions = find_collisions({f.name: name for f, name in zip(files, names)})
    if collisions:
        raise NameCollision(f"{files[0].parent}: {len(collisions)} output name collision(s): "
                            f"{describe_collisions(collisions)}; rename one of each")
    return names


def _decode_photo(path: Path) -> tf.Tensor:
    """Read one source photo as (H, W, 3) uint8, or raise DataError saying why not."""
    return read_image(path, channels=3)


def _pair_encoder(task: str, size: int, mode: str, jpeg_quality: int, opts: dict) -> Callable:
    """A tf.function (photo uint8 (H, W, 3), seed (2,)) -> JPEG bytes of the A|B pair."""
    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8),
                                  tf.TensorSpec((2,), tf.int64)])
    def encode(photo, seed):
        b = tf.round(prepare_photo(photo, size, mode))  # (size, size, 3) integral, as stored
        a = degrade(task, b, seed, **opts)  # (size, size, 3 or 1)
        if a.shape[-1] == 1:
            a = tf.tile(a, [1, 1, 3])
        ab = tf.concat([a, b], axis=1)  # (size, 2 * size, 3): A left, B right
        ab = tf.cast(tf.round(tf.clip_by_value(ab, 0.0, 255.0)), tf.uint8)
        # full-resolution chroma: 4:2:0 subsampling would bleed B's colour into A's last column
        return tf.io.encode_jpeg(ab, quality=jpeg_quality, format="rgb", chroma_downsampling=False)

    return encode


def _existing_pairs(out: Path) -> list[Path]:
    return [p for split in SPLITS if (out / split).is_dir() for p in (out / split).iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]


def make_pairs(task: str, src_dir, out_dir, size: int = 256, val_fraction: float = 0.1,
               test_fraction: float = 0.1, seed: int = 0, verbose: int = 1,
               mode: str = "center_crop", jpeg_quality: int = 95, overwrite: bool = False,
               workers: int = 8, **options) -> dict:
    """Write a paired dataset made from a folder of photos by degrading each photo.

    Every image directly inside ``src_dir`` becomes ``out_dir/SPLIT/NAME.jpg``: one aligned
    (size, 2 * size, 3) JPEG, A (degraded) left, B (the photo, squared) right. The split of
    each file comes from a seeded permutation of the sorted file list and its randomness
    from ``[seed, crc32(file name)]``, so the same arguments write byte-identical files.
    Unreadable files are skipped, counted and reported, never fatal (unless all are).

    Args:
        task: one of :data:`TASKS`.
        src_dir: folder of .jpg/.jpeg/.png photos of any size and aspect.
        out_dir: destination (created); must not already hold pairs unless ``overwrite``.
        size: side of each half, >= 16.
        val_fraction, test_fraction: shares of the photos for val/ and test/ (each in
            [0, 1), summing to < 1); splits with no files are not created.
        seed: recipe seed (splits, holes, noise).
        verbose: 1 shows a keras Progbar, 0 is silent.
        mode: :func:`prepare_photo` mode, ``"center_crop"`` or ``"resize"``.
        jpeg_quality: quality of the written files (1..100).
        overwrite: replace a dataset an earlier make_pairs wrote in out_dir (its stale
            pairs are removed; files it did not write are never touched).
        workers: threads decoding and encoding in parallel (the output does not depend on it).
        **options: the task's options, see :data:`DEFAULT_OPTIONS`.

    Returns:
        ``{"train": n, "val": n, "test": n, "skipped": [{"file", "reason"}], "seconds": s,
        "task", "options", "size", "seed", "out_dir"}``.

    Every file goes to a temporary name and is renamed into place; ``out_dir`` gets a
    ``.pix2pix-tf.json`` manifest of what was written (:class:`pix2pix_tf.host.output_folder.OutputFolder`).
    A failure (full disk, no readable photo) removes the files and folders this call created.

    Raises:
        RecipeError: unknown task or bad options/arguments.
        ResourceError: pairs of ``size`` would not fit in this machine's memory
            (:func:`pix2pix_tf.host.memory.check_data_memory`), refused before anything is read.
        DataError: src_dir missing or without images, out_dir already holds pairs (without
            ``overwrite``), or no readable photo (one too large to decode here is skipped).
        NameCollision: two photos would get the same output name (listed).
        WriteError: out_dir unusable or holding files pix2pix-tf did not write, or a file
            cannot be written (disk full, read-only).
    """
    start = time.perf_counter()
    opts = resolve_options(task, **options)
    size = _check_size(size)
    check_data_memory(square_images_memory_bytes(size, workers), f"size = {size}: making pairs "
                      f"of {size}x{size} images")
    _check_mode(mode)
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise RecipeError(f"{name} = {frac!r}: must be a number in [0, 1)")
    if val_fraction + test_fraction >= 1:
        raise RecipeError(f"val_fraction + test_fraction = {val_fraction + test_fraction:g}: must be "
                          "< 1 so that some photos are left for training")
    if not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise RecipeError(f"jpeg_quality = {jpeg_quality!r}: must be an integer in 1..100")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2 ** 32:
        raise RecipeError(f"seed = {seed!r}: must be an integer in 0..{2 ** 32 - 1}")

    src, out = Path(src_dir), Path(out_dir)
    files = list_images(src)  # DataError: missing folder / no images
    if any(src.resolve() == p.resolve() for p in (out, *(out / s for s in SPLITS))):
        raise DataError(f"{out}: is the source folder {src} (or one of its splits); choose another "
                        "output folder")
    if folder_kind(out) == OUTPUT_KIND and not overwrite:
        existing = _existing_pairs(out)
        raise DataError(f"{out}: already holds {len(existing)} image(s) in "
                        f"{'/'.join(SPLITS)}/; use an empty folder or --overwrite (overwrite=True)")
    target = OutputFolder(out, OUTPUT_KIND, overwrite=overwrite).check()  # foreign folder: refused

    splits = assign_splits(len(files), val_fraction, test_fraction, int(seed))
    names = _out_names(files)  # NameCollision
    target.plan({f"{split}/{name}": str(f) for f, split, name in zip(files, splits, names)})
    encode = _pair_encoder(task, size, mode, jpeg_quality, opts).get_concrete_function()  # trace once, here

    def work(i: int) -> str | None:
        try:
            photo = _decode_photo(files[i])
        except DataError as e:
            return str(e)
        jpeg = encode(photo, tf.constant(_file_seed(int(seed), files[i].name)))
        target.write(f"{splits[i]}/{names[i]}", jpeg.numpy())  # WriteError names the file
        return None

    counts = dict.fromkeys(SPLITS, 0)
    skipped = []
    bar = keras.utils.Progbar(len(files), verbose=1 if verbose else 0, unit_name="photo")
    target.open()
    pool = ThreadPoolExecutor(max_workers=max(1, int(workers)))
    try:
        for i, problem in enumerate(pool.map(work, range(len(files)))):
            if problem:
                skipped.append({"file": str(files[i]), "reason": problem})
            else:
                counts[splits[i]] += 1
            bar.update(i + 1, finalize=i + 1 == len(files))
        if not any(counts.values()):
            raise DataError(f"{src}: none of the {len(files)} images is readable; first: "
                            f"{skipped[0]['reason']}")
        target.finish()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # no write may land after the clean-up
        target.abort()
        raise
    finally:
        pool.shutdown(wait=True)
    if verbose and skipped:
        print(f"skipped {len(skipped)} unreadable file(s); first: {skipped[0]['reason']}")
    return {**counts, "skipped": skipped, "seconds": time.perf_counter() - start, "task": task,
            "options": opts, "size": size, "seed": int(seed), "out_dir": str(out)}
