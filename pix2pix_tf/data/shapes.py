"""Shapes: the (H, W) each ``preprocess`` mode gives an image, read from file headers only.

With S = ``image_size``, L = ``load_size`` and the stride = ``config.generator_stride``
(the generator's total downsampling, 2**generator_depth)::

    preprocess            training (random crop, mirror)           evaluation         shape
    resize_and_crop       resize to LxL, random SxS crop (paper)   resize to SxS      S x S
    crop                  random SxS crop, no resize               centre SxS crop    S x S
    scale_width           width -> S, height keeps the aspect      same, no mirror    H x S
    scale_width_and_crop  width -> L, keep aspect, random SxS crop width -> S, centre S x S
    none                  each side -> nearest multiple of stride  same, no mirror    H x W

``crop`` needs every input to be at least SxS; ``scale_width`` and ``none`` round the height
(and width) to a multiple of the stride so the U-Net's skips line up, and refuse a rounding
that stretches a side by more than :data:`MAX_STRETCH` (10%). A split must come out in one
shape so that batches stack (:func:`~pix2pix_tf.data.checks.check_pairs` checks it);
:func:`train_image_shape` gives the (H, W) a model must be built for.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..config import MAX_UNET_DEPTH, Pix2PixConfig
from .files import DataError, Pair
from .images import check_decodable, image_header

MAX_STRETCH = 0.1  # scale_width / none: largest change of a side when rounding to the stride


def generator_stride(config: Pix2PixConfig) -> int:
    """The generator's total downsampling: ``config.generator_stride`` (sides are multiples of it).

    Example:
        >>> generator_stride(Pix2PixConfig(image_size=64, load_size=72))
        64
    """
    return config.generator_stride


# ---------------------------------------------------------------------------- headers
def read_image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file from its header, without decoding the pixels.

    The size as viewers show the image: with its EXIF orientation applied, as the pipeline
    decodes it. Remembered per file (name, size and modification time), so the several
    checks of one run (:func:`~pix2pix_tf.data.checks.split_pairs`, :func:`train_image_shape`,
    :func:`~pix2pix_tf.data.pipeline.make_dataset`) read each header once.

    Raises:
        DataError: naming the file when its header cannot be read, or when the image is too
            large to decode on this machine (naming its width x height;
            :func:`~pix2pix_tf.data.images.check_decodable`).
    """
    header = image_header(path)
    check_decodable(path, header)
    return header.height, header.width


def input_size(pair: Pair, config: Pix2PixConfig) -> tuple[int, int]:
    """(height, width) of a pair's input image, from the header.

    The input is the half of an A|B file, the file ``direction`` picks for separate files,
    or the whole file for colorization.
    """
    a, b = pair
    height, width = read_image_size(b if b is not None and config.direction == "BtoA" else a)
    if b is None and config.dataset_mode == "aligned":
        width //= 2  # one half of A|B
    return height, width


# --------------------------------------------------------------------------- rounding
def _nearest_multiple(length: float, stride: int) -> int:
    return max(1, math.floor(length / stride + 0.5)) * stride


def _round_to_stride(length: float, stride: int, what: str, config: Pix2PixConfig) -> int:
    """``length`` rounded to the nearest positive multiple of ``stride``; refuses a big stretch.

    The error suggests the config change that would fit: a shallower U-Net whose stride
    rounds ``length`` closely enough, or a cropping ``preprocess``.
    """
    rounded = _nearest_multiple(length, stride)
    if abs(rounded - length) > MAX_STRETCH * length:
        fits = [d for d in range(2, MAX_UNET_DEPTH + 1) if config.image_size % 2 ** d == 0
                and abs(_nearest_multiple(length, 2 ** d) - length) <= MAX_STRETCH * length]
        fix = "use "
        if fits and not config.net_g.startswith("resnet"):
            fix = ("set " if config.net_g in ("unet", "encoder_decoder") else "set net_g 'unet' and ") + \
                f"unet_depth={max(fits)} (stride {2 ** max(fits)}), or use "
        raise DataError(
            f"{what} would become {rounded} px (the nearest multiple of the generator's stride "
            f"{stride}): a stretch of {abs(rounded - length) / length:.0%}, more than "
            f"{MAX_STRETCH:.0%} with preprocess '{config.preprocess}'; {fix}preprocess 'crop' or "
            "'resize_and_crop'")
    return rounded


def preprocessed_shape(config: Pix2PixConfig, height: int, width: int,
                       name: str = "image") -> tuple[int, int]:
    """The (H, W) that ``config.preprocess`` gives an input of ``height`` x ``width``.

    Training and evaluation give the same shape (see the module docstring's table).

    Raises:
        DataError: naming ``name``: smaller than the crop (``crop``), or a rounding to the
            generator's stride that stretches a side by more than 10% (``scale_width``, ``none``).

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72, unet_depth=4, preprocess="scale_width")
        >>> preprocessed_shape(cfg, 100, 200)   # a 2:1 input: 64 wide, 32 high
        (32, 64)
    """
    s, mode = config.image_size, config.preprocess
    stride = config.generator_stride
    if mode == "crop" and (height < s or width < s):
        raise DataError(f"{name}: input of {width}x{height} is smaller than the {s}x{s} crop; "
                        "preprocess 'crop' does not resize (use 'resize_and_crop' or "
                        "'scale_width_and_crop', or a smaller image_size)")
    if mode == "scale_width":
        return _round_to_stride(s * height / width, stride,
                                f"{name}: a {width}x{height} input scaled to width {s} is "
                                f"{s * height / width:.1f} px high; it", config), s
    if mode == "none":
        return tuple(_round_to_stride(v, stride, f"{name}: the {side} of a {width}x{height} input",
                                      config)
                     for v, side in ((height, "height"), (width, "width")))
    return s, s


# ------------------------------------------------------------------------ one split
def split_shape(pairs: list[Pair], config: Pix2PixConfig) -> tuple[int, int]:
    """The (H, W) every example of a CHECKED split has (:func:`check_pairs` made it one shape).

    ``(image_size, image_size)`` for the cropping modes (no file read); for ``scale_width``
    and ``none``, the shape of the first pair's input (its header, cached).

    Example:
        >>> split_shape([], Pix2PixConfig(image_size=64, load_size=72))
        (64, 64)
    """
    if config.preprocess not in ("scale_width", "none"):
        return config.image_size, config.image_size
    return preprocessed_shape(config, *input_size(pairs[0], config), name=str(pairs[0][0]))
