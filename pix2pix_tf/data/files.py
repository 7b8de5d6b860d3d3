"""Files on disk: list the pairs of a split, read an image, check every pair before training.

A dataset folder holds one sub-folder per split. The standard pix2pix datasets store each
pair as ONE image, A on the left half and B on the right half::

    DATA_DIR/train/*.jpg|*.jpeg|*.png
    DATA_DIR/test/...      (or val/)

Pairs kept as two files with the same name are read too, in either of these layouts::

    DATA_DIR/train/A/x.jpg + DATA_DIR/train/B/x.jpg
    DATA_DIR/A/train/x.jpg + DATA_DIR/B/train/x.jpg      (the authors' combine_A_and_B layout)

A pair is ``(aligned file, None)`` or ``(A file, B file)``. Every check raises
:class:`DataError` with a message that names the file and says what is wrong.
"""

from __future__ import annotations

import functools
import io
import os
import re
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import tensorflow as tf

from ..config import Pix2PixConfig, Pix2PixError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
TEST_SPLITS = ("test", "val")  # first that exists is used for evaluation

Pair = tuple[Path, "Path | None"]  # (aligned A|B file, None) or (A file, B file)


class DataError(Pix2PixError):
    """A data folder or image file cannot be used; the message names it and says why."""


# ---------------------------------------------------------------------------- folders
def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files (.jpg/.jpeg/.png, any case) directly inside ``folder``.

    Raises:
        DataError: the folder is missing, not a folder, or holds no images.

    Example:
        >>> [p.name for p in list_images("data/facades_synthetic/test")][:2]  # doctest: +SKIP
        ['0000.png', '0001.png']
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
    """The folder of one split, ``data_dir/split``, with a clear error when the layout is wrong.

    Raises:
        DataError: ``data_dir`` is missing, or has no ``split/`` sub-folder (the message lists
            the sub-folders it has).
    """
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
    """'test' if present (in either layout), else 'val', else None.

    Example:
        >>> find_test_split("data/facades_synthetic")  # doctest: +SKIP
        'test'
    """
    for split in TEST_SPLITS:
        if (Path(data_dir) / split).is_dir() or (Path(data_dir) / "A" / split).is_dir():
            return split
    return None


def _separate_dirs(data_dir: Path, split: str) -> tuple[Path, Path] | None:
    """The (A, B) folders of a split kept in two files per pair, or None for aligned files."""
    for a_dir, b_dir in ((data_dir / split / "A", data_dir / split / "B"),
                         (data_dir / "A" / split, data_dir / "B" / split)):
        if a_dir.is_dir() or b_dir.is_dir():
            if not (a_dir.is_dir() and b_dir.is_dir()):
                missing = b_dir if a_dir.is_dir() else a_dir
                raise DataError(f"{missing}: folder not found; pairs in separate files need both "
                                f"{a_dir} and {b_dir}")
            return a_dir, b_dir
    return None


def list_pairs(data_dir: str | Path, split: str) -> list[Pair]:
    """The pairs of one split: (aligned file, None) or (A file, B file) matched by name.

    Nothing is read; :func:`check_pairs` does that.

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


# ---------------------------------------------------------------- headers and orientation
EXIF_ORIENTATION = 0x0112  # the EXIF tag: how a viewer turns the stored pixels to show them
_HEADER_ERRORS = (OSError, SyntaxError, ValueError, EOFError)  # PIL's ways to fail on a header
_PIL_OPEN = threading.Lock()  # read_header lifts PIL's pixel limit for one open at a time


class ImageHeader(NamedTuple):
    """What an image file's header says, read without decoding the pixels.

    ``height`` and ``width`` are the image as viewers show it: with the EXIF ``orientation``
    applied (5 to 8 swap the sides), as every reader of this package returns it.
    """

    height: int
    width: int
    orientation: int  # EXIF Orientation 1..8; 1 when absent or unreadable


def read_header(source) -> ImageHeader:
    """The :class:`ImageHeader` of an image file (a path or a binary file object).

    PIL reads the header only. Its decompression-bomb limit (a warning from about 89
    megapixels, an exception from twice that) is lifted for this one open: the size is only
    read here, and :func:`check_decodable` bounds what is decoded by this machine's memory
    instead, in one line that names the file.

    Raises:
        OSError, SyntaxError, ValueError, EOFError: not an image PIL can identify.
    """
    from PIL import Image  # installed with matplotlib

    with _PIL_OPEN:
        bomb_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(source) as im:
                width, height = im.size
                raw = im.info.get("exif")  # JPEG APP1 / PNG eXIf before the pixels
        finally:
            Image.MAX_IMAGE_PIXELS = bomb_limit
    orientation = _orientation(raw)
    if orientation >= 5:  # transposed or turned a quarter: the shown sides are swapped
        height, width = width, height
    return ImageHeader(int(height), int(width), orientation)


def _orientation(raw_exif: bytes | None) -> int:
    """The Orientation in raw EXIF bytes (1..8); 1 when there is none or it is unreadable."""
    if not raw_exif:
        return 1
    from PIL import Image

    try:
        exif = Image.Exif()
        exif.load(raw_exif)
        value = exif.get(EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001  (damaged EXIF fails in many ways; the pixels are still fine)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def image_header(path: str | Path) -> ImageHeader:
    """The :class:`ImageHeader` of an image file, remembered per file (name, size, mtime).

    The several checks of one run (:func:`check_pairs`, ``train_image_shape``,
    ``make_dataset``, the decode of :func:`read_image`) read each header once.

    Raises:
        DataError: naming the file when it or its header cannot be read.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror})") from None
    return _cached_header(os.fspath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1 << 16)
def _cached_header(path: str, size: int, mtime_ns: int) -> ImageHeader:
    """:func:`read_header` of ``path``; ``size`` and ``mtime_ns`` only key the cache."""
    try:
        return read_header(path)
    except _HEADER_ERRORS as e:
        raise DataError(f"{path}: not a readable JPEG/PNG image ({e})") from None


def check_decodable(path: str | Path, header: ImageHeader) -> None:
    """Refuse an image too large to decode here, from its header, before any pixel is decoded.

    The bound: :func:`pix2pix_tf.host.memory.decode_memory_bytes` of its size (the uint8
    decode and the float32 copies the input pipeline makes) must fit in half of the memory
    available now (:func:`pix2pix_tf.host.memory.check_data_memory`).

    Raises:
        DataError: naming the file and its width x height (so ``--skip-bad-files`` can
            leave it out like any unreadable file).
    """
    from ..host import memory as resources

    resources.check_data_memory(resources.decode_memory_bytes(header.height, header.width),
                                f"{path}: decoding its {header.width}x{header.height} pixels",
                                error=DataError)


def exif_orientation(data) -> int:
    """The EXIF Orientation (1..8) of encoded image bytes; 1 without one.

    For the tf.data pipeline (through ``tf.numpy_function``): files without EXIF are
    answered without parsing anything.
    """
    data = data.item() if hasattr(data, "item") else data  # a numpy scalar from numpy_function
    if b"Exif" not in data and b"eXIf" not in data:
        return 1
    try:
        return read_header(io.BytesIO(data)).orientation
    except _HEADER_ERRORS:  # the decode that follows says what is wrong with the file
        return 1


def apply_exif_orientation(image: tf.Tensor, orientation) -> tf.Tensor:
    """Turn stored pixels (H, W, C) the way viewers show them: ``PIL.ImageOps.exif_transpose``.

    TensorFlow's decoders ignore EXIF, so a phone photo stored sideways with Orientation 6
    would otherwise be trained on and translated sideways. Works eagerly (``orientation`` a
    Python int) and in graphs (a scalar int tensor); values outside 2..8 leave the image.

    Example:
        >>> x = tf.reshape(tf.range(6), (2, 3, 1))  # 2 rows, 3 columns
        >>> apply_exif_orientation(x, 6).shape  # stored sideways: shown 3 high, 2 wide
        TensorShape([3, 2, 1])
    """
    def transpose(x):  # in float32: oneDNN logs an error line for a uint8 transpose on most CPUs
        return tf.cast(tf.transpose(tf.cast(x, tf.float32), [1, 0, 2]), x.dtype)  # exact for 8 bits

    turns = {
        2: lambda: image[:, ::-1],  # mirrored left-right
        3: lambda: image[::-1, ::-1],  # turned 180 degrees
        4: lambda: image[::-1],  # mirrored top-bottom
        5: lambda: transpose(image),  # transposed
        6: lambda: transpose(image[::-1]),  # turned 90 degrees clockwise to show it
        7: lambda: transpose(image[::-1, ::-1]),  # transversed
        8: lambda: transpose(image[:, ::-1]),  # turned 90 degrees counter-clockwise
    }
    if isinstance(orientation, int):
        return turns[orientation]() if orientation in turns else image
    branches = [turns.get(k, lambda: image) for k in range(9)]  # 0, 1: as stored
    return tf.switch_case(tf.reshape(tf.cast(orientation, tf.int32), []), branches,
                          default=lambda: image)


def decode_image_oriented(image_bytes: tf.Tensor, channels: int = 3,
                          dtype: tf.DType = tf.float32) -> tf.Tensor:
    """``tf.io.decode_image`` (first frame) as ``dtype`` with the EXIF orientation applied, in graphs too.

    The one decode of the tf.data pipeline, so that training and evaluation see a photo as
    :func:`read_image` (predict, make-pairs, combine) and viewers do. The values are cast
    before the image is turned: a graph would otherwise transpose the uint8 decode (the
    optimizer moves a transpose before a widening cast), which oneDNN reports on stderr.
    """
    image = tf.cast(tf.io.decode_image(image_bytes, channels=channels, expand_animations=False), dtype)
    orientation = tf.numpy_function(exif_orientation, [image_bytes], tf.int64, stateful=False)
    return apply_exif_orientation(image, orientation)


# ----------------------------------------------------------------------------- images
def read_image(path: str | Path, channels: int = 0) -> tf.Tensor:
    """Read and fully decode one image file, as stored (``channels=0``) or converted.

    The header is read first: an image too large to decode here is refused before any pixel
    is (:func:`check_decodable`); the EXIF orientation is applied
    (:func:`apply_exif_orientation`), so the result is the image as viewers show it.

    Returns:
        (H, W, C) uint8 tensor (16-bit PNGs are scaled to 8 bits).

    Raises:
        DataError: naming the file: unreadable, empty, not an image, truncated or corrupt,
            or too large to decode on this machine (with its width x height).
    """
    path = Path(path)
    try:
        header = image_header(path)
    except DataError:  # no header PIL reads: the decode below says what is wrong
        header = ImageHeader(0, 0, 1)
    check_decodable(path, header)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not data:
        raise DataError(f"{path}: empty file (0 bytes)")
    from .pipeline import JPEG_DECODER_MESSAGES, native_stderr_filtered  # pipeline imports this module
    try:
        with native_stderr_filtered(JPEG_DECODER_MESSAGES):  # libjpeg's own lines; DataError names the file
            image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        return apply_exif_orientation(image, header.orientation)
    except (tf.errors.InvalidArgumentError, tf.errors.DataLossError) as e:
        reason = e.message.splitlines()[0] if e.message else type(e).__name__
        reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:\w+\]", "", reason).strip()  # TF's op wrapper text
        raise DataError(f"{path}: not a readable JPEG/PNG image ({reason})") from None


def check_image(path: str | Path, aligned: bool = True) -> tuple[int, int, int]:
    """Decode one image fully and check it; return (height, width, channels).

    Args:
        path: the image file.
        aligned: the file holds A|B side by side, so its width must be even.

    Raises:
        DataError: naming the file: empty, not an image, truncated/corrupt, odd width or
            an unsupported channel count.
    """
    img = read_image(path)  # (H, W, C)
    h, w, c = (int(v) for v in img.shape)
    if c not in (1, 2, 3, 4):
        raise DataError(f"{path}: unsupported number of channels {c}")
    if aligned and w % 2:
        raise DataError(f"{path}: width {w} is odd; an aligned A|B image has A and B side by "
                        "side, each half the width")
    if h < 2 or w < (4 if aligned else 2):
        raise DataError(f"{path}: image of {w}x{h} is too small")
    return h, w, c


# ----------------------------------------------------------------------- the one check
def check_pairs(pairs: list[Pair], config: Pix2PixConfig | None = None, skip_bad: bool = False,
                decode: bool = True, workers: int = 8) -> list[Pair]:
    """Check every pair up front, so a bad file stops the run before training starts.

    Each pair gets, in one pass (``workers`` threads):

    1. ``decode``: every file decoded fully (:func:`check_image`): empty, truncated or
       corrupt files, an odd-width A|B file; without ``decode`` every file's header is read.
       Either way an image too large to decode here is refused from its header first
       (:func:`check_decodable`);
    2. with ``config``: its input's size read from the header and put through
       ``config.preprocess`` (:func:`~pix2pix_tf.data.shapes.preprocessed_shape`): too small
       for ``crop``, or stretched by more than 10% rounding to the generator's stride.

    Then the split must come out in one shape, so that batches stack: the shape most pairs
    give wins and a pair giving another one is a problem naming its file (only
    ``scale_width`` and ``none`` keep the files' shapes).

    Args:
        pairs: from :func:`list_pairs`.
        config: dataset_mode (colorization: a file is one image, any width), preprocess,
            direction and sizes. None: only ``decode``, files read as aligned A|B.
        skip_bad: instead of raising, leave bad pairs out and print one warning that counts
            them.
        decode: False skips step 1 (pairs already checked): only headers are read.

    Returns:
        The usable pairs, in order.

    Raises:
        DataError: for the first bad pair (in sorted order), unless ``skip_bad``; when no pair
            is usable; or for a layout ``dataset_mode`` cannot read.

    Example:
        >>> pairs = list_pairs("data/facades_synthetic", "train")  # doctest: +SKIP
        >>> len(check_pairs(pairs, Pix2PixConfig(image_size=64, load_size=72)))  # doctest: +SKIP
        8
    """
    from .shapes import input_size, preprocessed_shape, read_image_size  # shapes.py imports this module

    if config is not None and config.dataset_mode == "colorization" and pairs[0][1] is not None:
        raise DataError(f"{pairs[0][0].parent}: dataset_mode 'colorization' reads single colour "
                        "images from DATA/<split>/*.jpg, not A/ and B/ folders")
    aligned = config is None or config.dataset_mode == "aligned"
    sizes = config is not None and config.preprocess in ("crop", "scale_width", "none")

    def probe(pair: Pair) -> tuple[tuple[int, int] | None, str | None]:
        """(its preprocessed (H, W) or None, the problem or None)."""
        a, b = pair
        try:
            if decode:
                check_image(a, aligned=aligned and b is None)
                if b is not None:
                    check_image(b, aligned=False)
            else:  # the headers: every file's size must be decodable here
                for path in (a, b) if b is not None else (a,):
                    read_image_size(path)
            if sizes:
                return preprocessed_shape(config, *input_size(pair, config), name=str(a)), None
            return None, None
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


def split_pairs(data_dir: str | Path, split: str, check: bool = True, skip_bad: bool = False,
                config: Pix2PixConfig | None = None) -> list[Pair]:
    """The pairs of one split (:func:`list_pairs`), checked (:func:`check_pairs`).

    With ``config`` the files are read as its ``dataset_mode`` says and checked against its
    ``preprocess`` too, so every data problem surfaces here, before a run folder is touched.

    Args:
        check: False: no decoding (with ``config``, the headers are still checked).
        skip_bad: leave bad pairs out with one warning instead of raising.

    Example:
        >>> len(split_pairs("data/facades_synthetic", "test"))  # doctest: +SKIP
        2
    """
    pairs = list_pairs(data_dir, split)
    if check or config is not None:
        pairs = check_pairs(pairs, config, skip_bad=skip_bad, decode=check)
    return pairs
