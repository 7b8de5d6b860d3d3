"""Paired image files -> tf.data pipelines (paper appendix 6.2).

The standard pix2pix datasets store each training pair as ONE image: A on the left
half, B on the right half. A dataset folder holds one sub-folder per split::

    DATA_DIR/train/*.jpg|*.jpeg|*.png
    DATA_DIR/test/...      (or val/)

Pairs kept as two files with the same name are read too, in either of these layouts::

    DATA_DIR/train/A/x.jpg + DATA_DIR/train/B/x.jpg
    DATA_DIR/A/train/x.jpg + DATA_DIR/B/train/x.jpg      (the authors' combine_A_and_B layout)

With ``dataset_mode="colorization"`` each file of ``DATA_DIR/train/`` is ONE colour
image: it is the target and its grayscale is the input (``input_channels`` = 1).

``preprocess`` decides the geometry (S = ``image_size``, L = ``load_size``, the stride
= :func:`generator_stride`, 2**generator_depth for the U-Net)::

    preprocess            training (random crop, mirror)           evaluation         shape
    resize_and_crop       resize to LxL, random SxS crop (paper)   resize to SxS      S x S
    crop                  random SxS crop, no resize               centre SxS crop    S x S
    scale_width           width -> S, height keeps the aspect      same, no mirror    H x S
    scale_width_and_crop  width -> L, keep aspect, random SxS crop width -> S, centre S x S
    none                  each side -> nearest multiple of stride  same, no mirror    H x W

Input and target always get the SAME resize, crop and mirror; mirroring (p=0.5, training
only) follows ``random_mirror``. ``crop`` needs every input to be at least SxS;
``scale_width`` and ``none`` round the height (and width) to a multiple of the stride so
the U-Net's skips line up, refuse a rounding that stretches a side by more than 10%, and
need every image of a split to come out the same shape (one aspect ratio, or one size for
``none``) so batches stack: :func:`screen_pairs` checks this up front and names the first
file that differs; :func:`train_image_shape` gives the (H, W) a model must be built for.
Pixels are scaled to [-1, 1] to match the generator's tanh.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tensorflow as tf

from .config import MAX_UNET_DEPTH, Pix2PixConfig, Pix2PixError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
TEST_SPLITS = ("test", "val")  # first that exists is used for evaluation
MAX_STRETCH = 0.1  # scale_width / none: largest change of a side when rounding to the stride


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


def _drop_bad(pairs: list[tuple[Path, Path | None]], problems: list[str | None],
              skip_bad: bool) -> list[tuple[Path, Path | None]]:
    """Raise on the first problem, or (``skip_bad``) leave those pairs out with one warning."""
    bad = [why for why in problems if why]
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more bad file(s); --skip-bad-files leaves them out)" if len(bad) > 1 else ""
        raise DataError(bad[0] + more)
    if bad:
        print(f"pix2pix-tf: warning: skipped {len(bad)} bad pair(s) of {len(pairs)} in "
              f"{pairs[0][0].parent}; first: {bad[0]}", file=sys.stderr)
    good = [pair for pair, why in zip(pairs, problems) if not why]
    if not good:
        raise DataError(f"{pairs[0][0].parent}: none of the {len(pairs)} images is usable")
    return good


def check_pairs(pairs: list[tuple[Path, Path | None]], skip_bad: bool = False,
                workers: int = 8, aligned: bool = True) -> list[tuple[Path, Path | None]]:
    """Decode every file up front so a bad one stops the run before training starts.

    Args:
        pairs: from :func:`list_pairs`.
        skip_bad: instead of raising, leave bad pairs out and print one warning that counts them.
        aligned: a file without a B partner holds A|B side by side (its width must be even);
            False for ``dataset_mode="colorization"``, where it is one image.

    Returns:
        The usable pairs, in order.

    Raises:
        DataError: for the first bad file (in sorted order), unless ``skip_bad``.
    """
    def probe(pair):
        a, b = pair
        try:
            check_image(a, aligned=aligned and b is None)
            if b is not None:
                check_image(b, aligned=False)
            return None
        except DataError as e:
            return str(e)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = list(pool.map(probe, pairs))
    return _drop_bad(pairs, problems, skip_bad)


def split_pairs(data_dir: str | Path, split: str, check: bool = True, skip_bad: bool = False,
                config: Pix2PixConfig | None = None) -> list[tuple[Path, Path | None]]:
    """The pairs of one split (see :func:`list_pairs`), checked unless ``check=False``.

    With ``config``, the files are also read as its ``dataset_mode`` says and screened for
    its ``preprocess`` (:func:`screen_pairs`: sizes and one shape per split), so every data
    problem surfaces here, before a run folder is touched.
    """
    pairs = list_pairs(data_dir, split)
    if check:
        pairs = check_pairs(pairs, skip_bad=skip_bad,
                            aligned=config is None or config.dataset_mode == "aligned")
    return pairs if config is None else screen_pairs(pairs, config, skip_bad=skip_bad)[0]


# ---------------------------------------------------------------------------- shapes
def generator_stride(config: Pix2PixConfig) -> int:
    """Total downsampling of the generator: sides must be multiples of it (U-Net 2**depth, ResNet 4).

    Example:
        >>> generator_stride(Pix2PixConfig(image_size=64, load_size=72))
        64
    """
    return 4 if config.net_g.startswith("resnet") else 2 ** config.generator_depth


def read_image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file from its header, without decoding the pixels.

    Remembered per file (name, size and modification time), so the several checks of one run
    (:func:`split_pairs`, :func:`train_image_shape`, :func:`make_dataset`) read each header once.

    Raises:
        DataError: naming the file when its header cannot be read.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror})") from None
    return _header_size(os.fspath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1 << 16)
def _header_size(path: str, size: int, mtime_ns: int) -> tuple[int, int]:
    try:
        from PIL import Image  # installed with matplotlib; reads only the header
    except ImportError:  # pragma: no cover
        return tuple(int(v) for v in read_image(path).shape[:2])
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: not a readable JPEG/PNG image ({e})") from None
    return height, width


def input_size(pair: tuple[Path, Path | None], config: Pix2PixConfig) -> tuple[int, int]:
    """(height, width) of a pair's input image: the half of an A|B file, the file given by
    ``direction`` for separate files, the whole file for colorization."""
    a, b = pair
    height, width = read_image_size(b if b is not None and config.direction == "BtoA" else a)
    if b is None and config.dataset_mode == "aligned":
        width //= 2
    return height, width


def _nearest_multiple(length: float, stride: int) -> int:
    return max(1, math.floor(length / stride + 0.5)) * stride


def _round_to_stride(length: float, stride: int, what: str, config: Pix2PixConfig) -> int:
    """``length`` rounded to the nearest positive multiple of ``stride``; refuses a big stretch."""
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
    stride = generator_stride(config)
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


def screen_pairs(pairs: list[tuple[Path, Path | None]], config: Pix2PixConfig,
                 skip_bad: bool = False, workers: int = 8
                 ) -> tuple[list[tuple[Path, Path | None]], tuple[int, int]]:
    """Check that every pair fits ``config`` and that a split comes out in one shape.

    Only the image headers are read, and only for the preprocess modes that need sizes
    (``crop``, ``scale_width``, ``none``). The split's shape is the one most of its images
    give; an image that gives another one is a problem naming the file.

    Args:
        pairs: from :func:`list_pairs` (checked or not).
        config: dataset_mode, preprocess, sizes and the generator's stride.
        skip_bad: leave unusable pairs out with one warning instead of raising.

    Returns:
        (the usable pairs, the (H, W) every example of the split has).

    Raises:
        DataError: the first unusable file (in sorted order), unless ``skip_bad``; or a
            layout that ``dataset_mode`` cannot read.
    """
    if config.dataset_mode == "colorization" and pairs[0][1] is not None:
        raise DataError(f"{pairs[0][0].parent}: dataset_mode 'colorization' reads single colour "
                        "images from DATA/<split>/*.jpg, not A/ and B/ folders")
    if config.preprocess in ("resize_and_crop", "scale_width_and_crop"):
        return pairs, (config.image_size, config.image_size)

    def probe(pair):
        try:
            return preprocessed_shape(config, *input_size(pair, config), name=str(pair[0])), None
        except DataError as e:
            return None, str(e)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(probe, pairs))
    shapes = Counter(shape for shape, _ in results if shape)
    shape = shapes.most_common(1)[0][0] if shapes else None
    problems = []
    for pair, (got, why) in zip(pairs, results):
        if got is not None and got != shape:
            why = (f"{pair[0]}: preprocess '{config.preprocess}' makes its input {got[1]}x{got[0]}, "
                   f"but {shapes[shape]} of the {len(pairs)} images become {shape[1]}x{shape[0]}; "
                   "a batch needs one shape: give the split one "
                   + ("size" if config.preprocess == "none" else "aspect ratio")
                   + " or use a cropping preprocess")
        problems.append(why)
    return _drop_bad(pairs, problems, skip_bad), shape


def train_image_shape(config: Pix2PixConfig,
                      data_dir_or_pairs: str | Path | list[tuple[Path, Path | None]],
                      split: str = "train") -> tuple[int, int]:
    """The (H, W) of the training examples: the spatial shape to build G and D for.

    ``(image_size, image_size)`` for the cropping modes; from the files for ``scale_width``
    and ``none`` (non-square data trains non-square).

    Args:
        config: the run's config.
        data_dir_or_pairs: a dataset folder (its ``split`` is listed) or pairs from
            :func:`split_pairs`.

    Raises:
        DataError: as :func:`screen_pairs` (naming the first file that does not fit).

    Example:
        >>> train_image_shape(Pix2PixConfig(image_size=64, load_size=72), "data/facades_synthetic")
        (64, 64)
    """
    if config.preprocess in ("resize_and_crop", "scale_width_and_crop"):
        return config.image_size, config.image_size
    pairs = (list_pairs(data_dir_or_pairs, split) if isinstance(data_dir_or_pairs, (str, Path))
             else data_dir_or_pairs)
    return screen_pairs(pairs, config)[1]


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
    """paths: (2,) string tensor [A or aligned file, B file or ""].

    Colorization: (image, image), both RGB; :func:`_finish` makes the input gray after the
    geometry, so the input is exactly the grayscale of the (jittered) target.
    """
    if config.dataset_mode == "colorization":
        img = _decode_rgb(tf.io.read_file(paths[0]))
        return img, img
    if separate:
        return decode_separate(tf.io.read_file(paths[0]), tf.io.read_file(paths[1]), config)
    return decode_pair(tf.io.read_file(paths[0]), config)


def _resize(x: tf.Tensor, size, method: str) -> tf.Tensor:
    """Resize to ``size`` (an int for a square, or (height, width)), clipped to [0, 255]."""
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
        return inp, _resize(tar, tf.shape(inp)[:2], method)
    return _resize(inp, size, method), _resize(tar, size, method)


def random_jitter(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig, seed: tf.Tensor,
                  shape: tuple[int, int] | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Resize both to load_size, take the same random crop of both and mirror both.

    That is the paper's ``resize_and_crop``; the other ``config.preprocess`` modes change the
    resize and crop steps (see the module docstring), never the rule that A and B move together.

    Args:
        inp, tar: (H, W, C) float images.
        seed: int32/int64 tensor of shape (2,) for the stateless random ops.
        shape: the split's (H, W); needed by ``scale_width`` and ``none`` (see
            :func:`screen_pairs`).

    Returns:
        (image_size, image_size, C) crops of ``inp`` and ``tar``, jittered identically
        ((H, W, C) for ``scale_width`` and ``none``).

    Reference: Isola et al. 2017, appendix 6.2 ("random jitter ... resizing the 256x256
    input images to 286x286 and then randomly cropping back to size 256x256").
    """
    inp, tar = _load_resize(inp, tar, config, shape)  # (L, L, C) in the paper
    return _random_crop_and_mirror(inp, tar, config, seed)


def _load_resize(inp, tar, config: Pix2PixConfig, shape):
    """The deterministic first half of the training jitter: resize to load_size (per
    ``preprocess``), rounded to 8-bit values so that :func:`make_dataset` can cache it as
    uint8 and give the same stream cached or not."""
    inp, tar = _resize_pair(inp, tar, config, config.load_size, shape)
    return tf.round(inp), tf.round(tar)


def _random_crop_and_mirror(inp, tar, config: Pix2PixConfig, seed):
    """The random second half: the same crop and the same flip of both."""
    s, cin, cout = config.image_size, inp.shape[-1], tar.shape[-1]
    stacked = tf.concat([inp, tar], axis=-1)
    if config.preprocess not in ("scale_width", "none"):
        stacked = tf.image.stateless_random_crop(stacked, (s, s, cin + cout), seed=seed)  # same crop for A and B
    if config.random_mirror:
        stacked = tf.image.stateless_random_flip_left_right(stacked, seed=seed + 1)
    return stacked[..., :cin], stacked[..., cin:]


def eval_preprocess(inp: tf.Tensor, tar: tf.Tensor, config: Pix2PixConfig,
                    shape: tuple[int, int] | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """The deterministic geometry of evaluation: :func:`random_jitter` with load_size = image_size,
    a centred crop and no mirror (``resize_and_crop``: only a resize to image_size)."""
    s = config.image_size
    inp, tar = _resize_pair(inp, tar, config, s, shape)
    if config.preprocess in ("crop", "scale_width_and_crop"):
        top, left = (tf.shape(inp)[0] - s) // 2, (tf.shape(inp)[1] - s) // 2
        inp, tar = (tf.image.crop_to_bounding_box(x, top, left, s, s) for x in (inp, tar))
    return inp, tar


def normalize(x: tf.Tensor) -> tf.Tensor:
    """[0, 255] -> [-1, 1]."""
    return x / 127.5 - 1.0


def to_uint8(x: tf.Tensor) -> tf.Tensor:
    """[-1, 1] -> uint8 [0, 255], rounded."""
    return tf.cast(tf.round(tf.clip_by_value((tf.cast(x, tf.float32) + 1.0) * 127.5, 0, 255)), tf.uint8)


def _finish(a: tf.Tensor, b: tf.Tensor, config: Pix2PixConfig, shape: tuple[int, int] | None):
    """Colorization channels, static shapes and [-1, 1] scaling of a preprocessed pair."""
    if config.dataset_mode == "colorization":
        a, b = _orient(a, b, config)  # a == b here (direction moot): the input is gray(target)
    h, w = shape or (config.image_size, config.image_size)
    return (normalize(tf.ensure_shape(a, (h, w, config.input_channels))),
            normalize(tf.ensure_shape(b, (h, w, config.output_channels))))


def load_train_example(paths: tf.Tensor, seed: tf.Tensor, config: Pix2PixConfig, separate: bool = False,
                       shape: tuple[int, int] | None = None):
    """File paths -> jittered, normalized (input, target); ``shape`` as for :func:`random_jitter`."""
    a, b = _decode(paths, config, separate)
    a, b = random_jitter(a, b, config, seed, shape)
    return _finish(a, b, config, shape)


CACHE_BUDGET_BYTES = 2 * 1024 ** 3  # cache="auto" caches a split whose resized images fit in this


def cache_bytes(pairs: list, config: Pix2PixConfig, shape: tuple[int, int] | None = None) -> int:
    """Estimated memory of the cached (uint8, resized to load_size) training images of ``pairs``."""
    if config.preprocess == "resize_and_crop":
        h = w = config.load_size
    elif shape is not None:
        h, w = shape
    else:  # crop / scale_width_and_crop: sizes vary with the files; bound by the first one
        h, w = input_size(pairs[0], config)
        h = w = max(h, w, config.load_size)
    return len(pairs) * h * w * (config.input_channels + config.output_channels)


def load_test_example(paths: tf.Tensor, config: Pix2PixConfig, separate: bool = False,
                      shape: tuple[int, int] | None = None):
    """File paths -> resized (cropped), normalized (input, target); see :func:`eval_preprocess`."""
    a, b = _decode(paths, config, separate)
    return _finish(*eval_preprocess(a, b, config, shape), config, shape)


# -------------------------------------------------------------------------- datasets
def make_dataset(data_dir: str | Path, split: str, config: Pix2PixConfig, training: bool | None = None,
                 batch_size: int | None = None, check: bool = True, skip_bad: bool = False,
                 pairs: list[tuple[Path, Path | None]] | None = None, skip: int = 0,
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
        pairs: use these (already checked) pairs from :func:`split_pairs` instead of listing.
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
        (:func:`train_image_shape`).

    Raises:
        DataError: a bad file or folder, or (:func:`screen_pairs`) an image that does not fit
            ``preprocess``, naming the file.

    Example:
        >>> ds, n = make_dataset("data/facades_synthetic", "train", Pix2PixConfig(image_size=64, load_size=72))
    """
    training = split == "train" if training is None else training
    if pairs is None:
        pairs = split_pairs(data_dir, split, check=check, skip_bad=skip_bad, config=config)
    pairs, shape = screen_pairs(pairs, config, skip_bad=skip_bad)  # headers read once per file (cached)
    separate = pairs[0][1] is not None
    paths = tf.data.Dataset.from_tensor_slices([[str(a), str(b or "")] for a, b in pairs])
    autotune = tf.data.AUTOTUNE
    workers = autotune if parallel else None
    if training:
        batch_size = batch_size or config.batch_size
        if len(pairs) < batch_size:
            raise DataError(f"{data_dir}/{split}: {len(pairs)} images, fewer than batch_size={batch_size}")
        if cache == "auto":
            cache = cache_bytes(pairs, config, shape) <= CACHE_BUDGET_BYTES

        def seed_of(i):
            return tf.stack([tf.cast(config.seed, tf.int64), i])

        if cache:
            # decode + resize once, keep uint8; the shuffle below permutes elements exactly as
            # it permutes the paths (same seed, same count), so the stream does not change
            def load_resized(p):
                a, b = _load_resize(*_decode(p, config, separate), config, shape)
                return tf.cast(a, tf.uint8), tf.cast(b, tf.uint8)
            ds = paths.map(load_resized, num_parallel_calls=workers).cache()
            ds = ds.shuffle(len(pairs), seed=config.seed, reshuffle_each_iteration=True).repeat()
            ds = ds.enumerate().skip(skip)
            ds = ds.map(lambda i, ab: _finish(*_random_crop_and_mirror(
                tf.cast(ab[0], tf.float32), tf.cast(ab[1], tf.float32), config, seed_of(i)),
                config, shape), num_parallel_calls=workers)
        else:
            ds = paths.shuffle(len(pairs), seed=config.seed, reshuffle_each_iteration=True).repeat()
            ds = ds.enumerate()  # the element index seeds its jitter: fresh crops every epoch
            ds = ds.skip(skip)  # before decoding: skipping costs nothing
            ds = ds.map(lambda i, p: load_train_example(p, seed_of(i), config, separate, shape),
                        num_parallel_calls=workers)
        ds = ds.batch(batch_size, drop_remainder=True)
    else:
        ds = paths.map(lambda p: load_test_example(p, config, separate, shape), num_parallel_calls=workers)
        ds = ds.batch(batch_size or 1)
    return ds.prefetch(autotune), len(pairs)


def load_pair_file(path: str | Path, config: Pix2PixConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """One aligned (or, for colorization, single) file as a test example (input, target), checked, in [-1, 1]."""
    check_image(path, aligned=config.dataset_mode == "aligned")
    shape = preprocessed_shape(config, *input_size((Path(path), None), config), name=str(path))
    return load_test_example(tf.constant([os.fspath(path), ""]), config, shape=shape)
