"""Tensors: the paper's random jitter (appendix 6.2), the evaluation geometry and the [-1, 1] scaling.

Input and target always get the SAME resize, crop and mirror. ``config.preprocess`` picks the
geometry (the table in :mod:`pix2pix_tf.data.shapes`); the paper's is ``resize_and_crop``:
resize to 286x286, random 256x256 crop, mirror with p = 0.5.
"""

from __future__ import annotations

import tensorflow as tf

from .config import Pix2PixConfig


def orient(a: tf.Tensor, b: tf.Tensor, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """Return (input, target) from images A and B: ``direction`` and the channel counts.

    Example:
        >>> a, b = tf.zeros((4, 4, 3)), tf.fill((4, 4, 3), 200.0)  # A black, B gray
        >>> x, y = orient(a, b, Pix2PixConfig(direction="BtoA", input_channels=1))
        >>> x.shape, round(float(x[0, 0, 0])), y.shape  # the input is B, in one channel
        (TensorShape([4, 4, 1]), 200, TensorShape([4, 4, 3]))
    """
    if config.direction == "BtoA":
        a, b = b, a
    if config.input_channels == 1:
        a = tf.image.rgb_to_grayscale(a)  # (H, W, 1)
    if config.output_channels == 1:
        b = tf.image.rgb_to_grayscale(b)
    return a, b


def resize(x: tf.Tensor, size, method: str) -> tf.Tensor:
    """Resize to ``size`` (an int for a square, or (height, width)), clipped to [0, 255].

    Example:
        >>> resize(tf.fill((8, 4, 3), 300.0), 6, "bicubic").shape  # values clipped to 255
        TensorShape([6, 6, 3])
    """
    size = (size, size) if isinstance(size, int) else size
    y = tf.image.resize(x, size, method=method, antialias=method != "nearest")
    return tf.clip_by_value(y, 0.0, 255.0)  # bicubic overshoots


def _resize_pair(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig, load: int,
                 shape: tuple[int, int] | None) -> tuple[tf.Tensor, tf.Tensor]:
    """The resize step of ``config.preprocess``, the same for both; ``load``: L (training) or S."""
    mode, method = config.preprocess, config.resize_method
    if mode in ("scale_width", "none"):
        if shape is None:
            raise ValueError(f"preprocess {mode!r} needs the split's shape (see train_image_shape)")
        size = shape
    elif mode == "resize_and_crop":
        size = (load, load)
    elif mode == "scale_width_and_crop":
        hw = tf.cast(tf.shape(inp)[:2], tf.float32)
        height = tf.maximum(tf.cast(tf.round(load * hw[0] / hw[1]), tf.int32), config.image_size)
        size = tf.stack([height, load])  # width L, aspect kept (at least S high for the crop)
    else:  # crop: no resize; a separate target file of another size is fitted to the input
        return inp, resize(tar, tf.shape(inp)[:2], method)
    return resize(inp, size, method), resize(tar, size, method)


def resize_to_load_size(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig,
                        shape: tuple[int, int] | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """The deterministic first step of :func:`random_jitter`: resize both to load_size.

    Rounded to whole 8-bit values, so :func:`~pix2pix_tf.data.pipeline.make_dataset` can cache it
    as uint8 and give the same stream cached or not.

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72)
        >>> x, y = resize_to_load_size(tf.zeros((40, 40, 3)), tf.zeros((40, 40, 3)), cfg)
        >>> x.shape
        TensorShape([72, 72, 3])
    """
    inp, tar = _resize_pair(inp, tar, config, config.load_size, shape)  # (L, L, C) in the paper
    return tf.round(inp), tf.round(tar)


def random_jitter(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig, seed: tf.Tensor,
                  shape: tuple[int, int] | None = None,
                  resized: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
    """Resize both (H, W, C) [0, 255] images to load_size, take the same random S x S crop and mirror both.

    ``scale_width`` and ``none`` return (H, W, C) and need the split's ``shape``. ``seed``: int32/int64
    of shape (2,) for the stateless ops. ``resized``: the inputs are already :func:`resize_to_load_size`'s
    output (the training cache keeps them so).

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72)
        >>> x, y = random_jitter(tf.zeros((40, 40, 3)), tf.ones((40, 40, 1)), cfg, tf.constant([0, 1]))
        >>> x.shape, y.shape
        (TensorShape([64, 64, 3]), TensorShape([64, 64, 1]))

    Reference: Isola et al. 2017, appendix 6.2 ("random jitter ... resizing the 256x256 input
    images to 286x286 and then randomly cropping back to size 256x256"), plus mirroring.
    """
    if not resized:
        inp, tar = resize_to_load_size(inp, tar, config, shape)  # (286, 286, C) each
    s, cin, cout = config.image_size, inp.shape[-1], tar.shape[-1]
    both = tf.concat([inp, tar], axis=-1)  # (286, 286, C_in + C_out): one crop, one flip for both
    if config.preprocess not in ("scale_width", "none"):
        both = tf.image.stateless_random_crop(both, (s, s, cin + cout), seed=seed)  # (256, 256, C_in + C_out)
    if config.random_mirror:
        both = tf.image.stateless_random_flip_left_right(both, seed=seed + 1)  # mirror, p = 0.5
    return both[..., :cin], both[..., cin:]  # (256, 256, C_in), (256, 256, C_out)


def eval_preprocess(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig,
                    shape: tuple[int, int] | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Evaluation geometry: :func:`random_jitter` with load_size = image_size, centred crop, no mirror.

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72)
        >>> x, y = eval_preprocess(tf.zeros((40, 50, 3)), tf.zeros((40, 50, 3)), cfg)
        >>> x.shape
        TensorShape([64, 64, 3])
    """
    s = config.image_size
    inp, tar = _resize_pair(inp, tar, config, s, shape)
    if config.preprocess in ("crop", "scale_width_and_crop"):
        top, left = (tf.shape(inp)[0] - s) // 2, (tf.shape(inp)[1] - s) // 2
        inp, tar = (tf.image.crop_to_bounding_box(x, top, left, s, s) for x in (inp, tar))  # (S, S, C)
    return inp, tar


def normalize(x: tf.Tensor) -> tf.Tensor:
    """[0, 255] -> [-1, 1], the range of the generator's tanh.

    Example:
        >>> normalize(tf.constant([0.0, 127.5, 255.0])).numpy()
        array([-1.,  0.,  1.], dtype=float32)
    """
    return x / 127.5 - 1.0


def to_uint8(x: tf.Tensor) -> tf.Tensor:
    """[-1, 1] -> uint8 [0, 255], rounded.

    Example:
        >>> to_uint8(tf.constant([-1.0, 0.0, 1.0])).numpy()
        array([  0, 128, 255], dtype=uint8)
    """
    return tf.cast(tf.round(tf.clip_by_value((tf.cast(x, tf.float32) + 1.0) * 127.5, 0, 255)), tf.uint8)
