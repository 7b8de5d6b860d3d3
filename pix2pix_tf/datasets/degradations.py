"""The recipes' TensorFlow ops: a photo made square (the ``B`` of a pair,
:func:`prepare_photo`) and degraded into its ``A`` (:func:`degrade`), eagerly or on the fly.

The five tasks of :data:`~pix2pix_tf.datasets.recipe_options.TASKS`:

* ``colorize``  -- A is the photo in grayscale;
* ``inpaint``   -- A is the photo with holes (random rectangles or free-form strokes,
  :func:`inpaint_mask`);
* ``superres``  -- A is the photo downsampled by 2, 4 or 8 and upsampled back to its size;
* ``edges``     -- A is a thin dark edge map on white, like the paper's edges2* sets;
* ``denoise``   -- A is the photo with Gaussian noise or JPEG artifacts.

Every degradation is written with TensorFlow ops only, so the same code writes the files of
:func:`pix2pix_tf.datasets.recipes.make_pairs` and runs **on the fly** in a ``tf.data``
pipeline, with fresh randomness every epoch::

    ds = photos.repeat().enumerate().map(degradation_map("inpaint", seed=0, size=256))
    # -> (A, B) float32 in [0, 255]; data.normalize() maps them to [-1, 1]

Randomness is stateless: the same seed always gives the same holes/noise, on any
machine, in eager or graph mode. Kept apart from the dataset writer (files, splits,
threads) because these ops are what a pipeline imports, and what a new task adds to.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import tensorflow as tf

from .recipe_options import RecipeError, resolve_options

__all__ = ["degrade", "inpaint_mask", "degradation_map", "prepare_photo"]

PREPARE_MODES = ("center_crop", "resize")
MIN_SIZE = 16  # smallest side make_pairs writes
_STROKE_SEGMENTS = 4  # line segments per free-form stroke
_BACKPROJECT_STEPS = 4  # superres: smooth corrections before the exact one


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
        task: one of :data:`~pix2pix_tf.datasets.recipe_options.TASKS`.
        photo: (H, W, 3) image in [0, 255] (any real or uint8 dtype; used as float32).
        seed: int or (2,) int tensor for the stateless random ops (inpaint holes, noise).
        **options: the task's options, see :data:`~pix2pix_tf.datasets.recipe_options.DEFAULT_OPTIONS`.

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
        task: one of :data:`~pix2pix_tf.datasets.recipe_options.TASKS`.
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

