"""One image file: its header (size, EXIF orientation) without decoding, then the decode.

Every image the package reads goes through here, so that training, prediction, evaluation
and the demo see a photo as viewers show it (EXIF orientation applied), and an image too
large to decode on this machine is refused from its header, naming the file.
"""

from __future__ import annotations

import functools
import io
import os
import re
import threading
from pathlib import Path
from typing import NamedTuple

import tensorflow as tf

from ..host.native_stderr import JPEG_DECODER_MESSAGES, native_stderr_filtered
from .files import DataError

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

    For :func:`decode_image_oriented` given bytes alone (through ``tf.numpy_function``):
    files without EXIF are answered without parsing anything. The tf.data pipeline does not
    need it: each file's orientation comes from its header, read when the split was checked.
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
                          dtype: tf.DType = tf.float32, orientation=None) -> tf.Tensor:
    """``tf.io.decode_image`` (first frame) as ``dtype`` with the EXIF orientation applied, in graphs too.

    The one decode of the tf.data pipeline, so that training and evaluation see a photo as
    :func:`read_image` (predict, make-pairs, combine) and viewers do. The values are cast
    before the image is turned: a graph would otherwise transpose the uint8 decode (the
    optimizer moves a transpose before a widening cast), which oneDNN reports on stderr.

    Args:
        orientation: the file's EXIF orientation when it is known already (an int or a
            scalar int tensor, e.g. :attr:`ImageHeader.orientation`, as the pipeline passes
            it); None: read from ``image_bytes`` (:func:`exif_orientation`).
    """
    image = tf.cast(tf.io.decode_image(image_bytes, channels=channels, expand_animations=False), dtype)
    if orientation is None:
        orientation = tf.numpy_function(exif_orientation, [image_bytes], tf.int64, stateful=False)
    return apply_exif_orientation(image, orientation)


def file_orientation(path: str | Path) -> int:
    """The EXIF orientation of an image file from its (cached) header; 1 when it has none
    PIL reads (its decode then says what is wrong)."""
    try:
        return image_header(path).orientation
    except DataError:
        return 1


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
