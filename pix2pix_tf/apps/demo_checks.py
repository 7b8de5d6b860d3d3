"""What the demo (:mod:`pix2pix_tf.apps.demo`) refuses, in one line, before anything heavy
loads: its arguments, the installed Gradio, and every uploaded image file, checked from its
header before its pixels are decoded.

:func:`check_demo_args` is what the CLI checks before importing TensorFlow; :func:`check_image`
and :func:`read_image` take an upload only when its header says it is an image of at most
:data:`MAX_UPLOAD_PIXELS` (a decompression bomb is refused without allocating anything), and
turn a damaged file's error into the same one-line :class:`ImageRefused`. Kept apart from the
Gradio page (:mod:`pix2pix_tf.apps.demo_app`) because these checks face what a client sends
and need no Gradio: importing this module imports neither Gradio nor TensorFlow. A file's
header is read by :func:`pix2pix_tf.data.images.read_header`, as every image the package
reads (PIL and the data module, with TensorFlow, are imported when a file is first checked).

Example:
    >>> f"{MAX_UPLOAD_PIXELS / 1e6:.1f} megapixels"  # 1 GiB at 48 bytes a pixel
    '22.4 megapixels'
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import socket
import warnings
from pathlib import Path

import numpy as np

from ..web.draw import PALETTES
from ..errors import Pix2PixError

__all__ = ["gradio_available", "gradio_version", "check_demo_args", "check_host", "check_image",
           "read_image", "INSTALL_HINT", "MAX_UPLOAD_PIXELS", "DemoError", "ImageRefused"]

INSTALL_HINT = 'the demo needs gradio: pip install "pix2pix-tf[demo]"'
MIN_GRADIO = 6  # the major version tested (setup.cfg's extra says the same)
# The largest upload translated, in pixels, read from the file's header before decoding.
# The generator sees every image at its training size, so a larger upload adds nothing to
# the translation; what grows with it is the memory on the way: PIL's decoded copy (4 bytes
# a pixel), the uint8 array (3), the float32 copy translate_uint8 resizes from (12), the
# float32 output resized back to the upload's size and its clipped, rounded copy (24), the
# uint8 output (3) and Gradio's PNG encoding of it (4 and more): about 48 bytes a pixel.
# A budget of 1 GiB gives about 22 megapixels: a phone or camera photo of up to 20
# megapixels passes as it is, a decompression bomb (a small file whose header says
# 30000x30000) is refused without allocating anything.
UPLOAD_BYTES_PER_PIXEL = 48
UPLOAD_MEMORY_BUDGET = 1 << 30
MAX_UPLOAD_PIXELS = UPLOAD_MEMORY_BUDGET // UPLOAD_BYTES_PER_PIXEL


class DemoError(Pix2PixError):
    """The demo cannot start as asked (gradio missing, no such model, bad palette, port taken)."""


class ImageRefused(DemoError):
    """An upload the demo does not translate: not an image, damaged, or too many pixels."""


def gradio_version() -> str | None:
    """The installed gradio's version, or None when it is not importable (nothing imported)."""
    try:
        if importlib.util.find_spec("gradio") is None:
            return None
    except ValueError:  # sys.modules["gradio"] is None (a test hiding it)
        return None
    try:
        return importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:  # importable but not installed by pip
        return "unknown"


def _gradio_problem() -> str | None:
    """Why the demo cannot use the installed gradio (missing, or older than 6), or None."""
    version = gradio_version()
    if version is None:
        return INSTALL_HINT
    major = version.split(".")[0]
    if major.isdigit() and int(major) < MIN_GRADIO:
        return (f"the demo needs gradio {MIN_GRADIO} or newer, found {version}: "
                'pip install -U "pix2pix-tf[demo]"')
    return None


def gradio_available() -> bool:
    """Whether a gradio the demo can use (6 or newer) is installed (without importing it).

    Example:
        >>> gradio_available() in (True, False)
        True
    """
    return _gradio_problem() is None


def check_host(host: str | None, flag: str = "host") -> None:
    """Refuse a listening address that does not resolve, naming it and ``flag``.

    Gradio tries the ports from 7860 on a host it cannot bind and reports "Cannot find
    empty port": the name is resolved here first (``socket.getaddrinfo``) so the refusal
    says what is wrong. None or "" (Gradio's default address) is not checked.

    Raises:
        DemoError: ``{flag} {host}: does not resolve (the resolver's reason)``.

    Example:
        >>> check_host("127.0.0.1")
        >>> check_host("nosuch.invalid", "--host")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pix2pix_tf.apps.demo_checks.DemoError: --host nosuch.invalid: does not resolve (...)
    """
    if not host:
        return
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:  # socket.gaierror is an OSError; idna: UnicodeError
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise DemoError(f"{flag} {_one_line(host)}: does not resolve ({_one_line(reason)})") from None


def check_demo_args(model_path: str | Path, palette: str | None = None,
                    host: str | None = None) -> None:
    """The refusals that need neither TensorFlow nor Gradio loaded (the CLI makes them first).

    Raises:
        DemoError: ``model_path`` does not exist, ``palette`` is not a name in
            :data:`pix2pix_tf.web.draw.PALETTES`, ``host`` does not resolve (named as
            ``--host``), or gradio is missing or older than 6 (with the pip command).

    Example:
        >>> check_demo_args("no/such/run")
        Traceback (most recent call last):
        ...
        pix2pix_tf.apps.demo_checks.DemoError: no/such/run: no such SavedModel or run folder
    """
    if not Path(model_path).exists():
        raise DemoError(f"{model_path}: no such SavedModel or run folder")
    if palette is not None and palette not in PALETTES:
        raise DemoError(f"unknown palette {palette!r}; choose one of {', '.join(PALETTES)}")
    check_host(host, "--host")
    problem = _gradio_problem()
    if problem:
        raise DemoError(problem)


# --------------------------------------------------------------------------
# uploads: checked from the header, decoded only when the size is one we take
# --------------------------------------------------------------------------
def _one_line(text, limit: int = 160) -> str:
    """``text`` as one printable line of at most ``limit`` characters (names come from clients)."""
    text = "".join(c if c.isprintable() else "?" for c in " ".join(str(text).split()))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _file_name(name, fallback: str = "the upload") -> str:
    """The name a client gave its file, as a message shows it (no folders, one line)."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _one_line(name, 80) or fallback


def _pixels(n: int) -> str:
    return f"{n / 1e6:.1f} megapixels" if n >= 100_000 else f"{n} pixels"


def _reason(error: Exception, source, name: str) -> str:
    """An exception as a short reason without the server's own path of the file."""
    text = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(source, (str, Path)):
        text = text.replace(str(source), name)
    return _one_line(text, 120)


def _source(source):
    """What PIL opens: the path, or a fresh file object over the bytes."""
    return io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else source


def _read_header(source, name: str, max_pixels: int):
    """The :class:`~pix2pix_tf.data.images.ImageHeader` of ``source`` (a path or bytes),
    refused when it says more than ``max_pixels``.

    The header is read by :func:`pix2pix_tf.data.images.read_header`, as for every image the
    package reads: no pixel decoded, no decompression-bomb warning or error from PIL (the
    size is compared here), the EXIF orientation read with it. That module comes with
    TensorFlow, imported by the first check (the demo has loaded its model by then).
    """
    from PIL import Image, UnidentifiedImageError

    from ..data.images import read_header

    try:
        header = read_header(_source(source))
    except UnidentifiedImageError:
        raise ImageRefused(f"{name}: not an image file (no image format PIL reads matches "
                           "its contents)") from None
    except Exception as e:  # noqa: BLE001 - a hostile file may break any plugin's parser
        raise ImageRefused(f"{name}: damaged image file ({_reason(e, source, name)})") from None
    w, h = header.width, header.height
    if w * h > max_pixels or min(w, h) < 1:
        # past PIL's own bomb bound (twice its MAX_IMAGE_PIXELS) the refusal has always named
        # the pixel count alone (tests/test_demo.py)
        bomb = Image.MAX_IMAGE_PIXELS is not None and w * h > 2 * Image.MAX_IMAGE_PIXELS
        size = _pixels(w * h) if bomb else f"{w}x{h} pixels ({_pixels(w * h)})"
        raise ImageRefused(f"{name}: {size} by its header, more than the demo takes "
                           f"({_pixels(max_pixels)} at most); scale it down")
    return header


def check_image(source, name: str = "the upload", max_pixels: int = MAX_UPLOAD_PIXELS) -> tuple[int, int]:
    """(width, height) of an image file from its header, without decoding its pixels: the
    image as viewers show it (EXIF orientation applied), as :func:`read_image` returns it.

    Args:
        source: a path, or the file's bytes.
        name: how messages name the file (the name its sender gave it).
        max_pixels: the most pixels (width x height) taken; default
            :data:`MAX_UPLOAD_PIXELS`.

    Raises:
        ImageRefused: one line naming the file: not an image file, a damaged one, or more
            pixels than ``max_pixels`` (with the size and the bound).

    Example:
        >>> check_image(b"hello", "notes.png")
        Traceback (most recent call last):
        ...
        pix2pix_tf.apps.demo_checks.ImageRefused: notes.png: not an image file (no image format PIL reads matches its contents)
    """
    header = _read_header(source, _one_line(name, 80), max_pixels)
    return header.width, header.height


def read_image(source, name: str = "the upload", max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """An uploaded image file -> uint8 (H, W, 3), refused from its header when too large.

    What Gradio's image box would give the app (EXIF orientation applied, converted to
    RGB, PIL's conversion warnings silenced), with the checks of :func:`check_image` first
    and a damaged file's decoding error as the same one-line refusal.

    Raises:
        ImageRefused: not an image file, damaged, or more pixels than ``max_pixels``.
    """
    from PIL import Image, ImageOps

    name = _one_line(name, 80)  # one printable line, whatever the client called its file
    header = _read_header(source, name, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(_source(source)) as im:
                if header.orientation != 1:
                    return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
                return np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001 - truncated data, a bad chunk, an unsupported mode
        raise ImageRefused(f"{name}: damaged image file ({_reason(e, source, name)})") from None
