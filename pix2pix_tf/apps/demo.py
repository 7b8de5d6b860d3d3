"""A local web app over a trained generator: draw or upload an input, see its translation.

    pix2pix-tf demo --model RUN_OR_SAVEDMODEL [--palette facades|edges] [--port 7860] [--share]

From Python or a notebook (Colab included)::

    from pix2pix_tf.apps import demo
    demo.launch("runs/facades")                 # Colab: inline, through a gradio.live link
    demo.launch("runs/facades", share=False)    # Colab: inline through Colab's own proxy

The page has two inputs and the output beside them:

* **Draw**: a canvas of the generator's training size with the palette's colours as fixed
  brushes (:data:`pix2pix_tf.web.draw.PALETTES`: black on white for edges, the sample's classes
  for label maps), an eraser (it paints the background class), undo and a Clear button; an
  image dropped on it becomes the canvas to draw over (e.g. a test label map to edit). The
  translation follows each finished stroke. Where the browser blends colours (an image scaled
  to the canvas, a soft brush edge), a label map's pixels are snapped to the nearest class
  colour before the generator sees them: a label map has no colours between its classes.
* **Upload**: any image of any shape up to :data:`MAX_UPLOAD_PIXELS`, translated at its size.

An upload is checked from its header before its pixels are decoded: a file that is no image,
a damaged one, or one larger than :data:`MAX_UPLOAD_PIXELS` is refused with one line in the
page and the same line in the server's log (no traceback).

Either way the output is the SavedModel's ``translate_uint8`` signature on that uint8 image
(resized to the training size, translated, resized back; see :mod:`pix2pix_tf.run.export`),
sent to the browser as PNG: what ``pix2pix-tf predict`` writes for the same input. A run
folder without ``saved_model/`` is served by the same signature, built in memory from its
newest checkpoint.

Why Gradio (the optional extra ``pip install "pix2pix-tf[demo]"``): a drawing canvas with
brush, eraser and undo, an upload box and a web server in one package that runs locally and
in Colab (``launch`` shows the app inline in a notebook; in Colab it makes a public
``*.gradio.live`` link by default). The notebook widget :mod:`pix2pix_tf.web.draw` needs no
server; this app needs no notebook. Gradio's usage analytics are off unless the environment
sets ``GRADIO_ANALYTICS_ENABLED=True``.

:func:`launch` and :func:`serve` keep what the page uploads and shows in a folder of their
own (``pix2pix-tf-demo-*`` in the system's temporary folder, or in ``GRADIO_TEMP_DIR`` when
that names a folder), removed when the demo stops (``.close()``, Ctrl+C, SIGTERM for
``serve``, or the interpreter's exit): no upload outlives the demo in Gradio's shared cache.

Nothing here imports Gradio or TensorFlow at import time: ``import pix2pix_tf.apps.demo`` is cheap
and works without the extra.

Example:
    >>> flatten_drawing(np.zeros((2, 2, 4), np.uint8), background=(0, 60, 255))[0, 0].tolist()
    [0, 60, 255]
    >>> app = build_demo("runs/facades", palette="facades")  # doctest: +SKIP
    >>> app.launch(prevent_thread_lock=True)  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import html
import importlib.metadata
import importlib.util
import io
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..web.draw import PALETTES, brushes, resolve_background, resolve_palette, widget_options
from ..errors import Pix2PixError

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

__all__ = ["build_demo", "launch", "serve", "load_translator", "Translator", "canvas_style",
           "flatten_drawing", "gradio_available", "gradio_version",
           "check_demo_args", "check_host", "check_image", "read_image", "upload_folder",
           "INSTALL_HINT", "DEFAULT_HOST", "DEFAULT_PALETTE", "MAX_UPLOAD_PIXELS", "DemoError",
           "ImageRefused"]

INSTALL_HINT = 'the demo needs gradio: pip install "pix2pix-tf[demo]"'
DEFAULT_HOST = "127.0.0.1"  # this machine only; "0.0.0.0" serves the local network
DEFAULT_PALETTE = "facades"  # the bundled sample's label colours (notebook 05's default too)
MIN_GRADIO = 6  # the major version tested (setup.cfg's extra says the same)
API_NAMES = {"drawing": "translate_drawing", "upload": "translate_upload"}  # gradio_client
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
UPLOAD_FOLDER_PREFIX = "pix2pix-tf-demo-"


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


def _import_gradio():
    """``import gradio``, or a DemoError naming the extra to install."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage reports by default
    try:
        import gradio as gr
    except ImportError:
        raise DemoError(INSTALL_HINT) from None
    return gr


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
        pix2pix_tf.apps.demo.DemoError: --host nosuch.invalid: does not resolve (...)
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
        pix2pix_tf.apps.demo.DemoError: no/such/run: no such SavedModel or run folder
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


def _open_image(source, name: str, max_pixels: int):
    """PIL's lazy image of ``source`` (a path or bytes), refused when its header says too big.

    ``PIL.Image.open`` reads the header only; its own decompression-bomb check (an error
    above twice ``PIL.Image.MAX_IMAGE_PIXELS``, a warning above it) is answered by the
    same refusal, never a warning or traceback. The caller closes the image.
    """
    from PIL import Image, UnidentifiedImageError

    name = _one_line(name, 80)  # one printable line, whatever the client called its file
    fp = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else source
    limit = f"more than the demo takes ({_pixels(max_pixels)} at most); scale it down"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fp)
        except UnidentifiedImageError:
            raise ImageRefused(f"{name}: not an image file (no image format PIL reads matches "
                               "its contents)") from None
        except Image.DecompressionBombError as e:  # its size is only in the message
            found = re.search(r"\((\d+) pixels\)", str(e))
            size = _pixels(int(found.group(1))) if found else "too many pixels"
            raise ImageRefused(f"{name}: {size} by its header, {limit}") from None
        except Exception as e:  # noqa: BLE001 - a hostile file may break any plugin's parser
            raise ImageRefused(f"{name}: damaged image file ({_reason(e, source, name)})") from None
    w, h = im.size
    if w * h > max_pixels or min(w, h) < 1:
        im.close()
        raise ImageRefused(f"{name}: {w}x{h} pixels ({_pixels(w * h)}) by its header, {limit}")
    return im


def check_image(source, name: str = "the upload", max_pixels: int = MAX_UPLOAD_PIXELS) -> tuple[int, int]:
    """(width, height) of an image file from its header, without decoding its pixels.

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
        pix2pix_tf.apps.demo.ImageRefused: notes.png: not an image file (no image format PIL reads matches its contents)
    """
    im = _open_image(source, name, max_pixels)
    im.close()
    return im.size


def read_image(source, name: str = "the upload", max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """An uploaded image file -> uint8 (H, W, 3), refused from its header when too large.

    What Gradio's image box would give the app (EXIF orientation applied, converted to
    RGB, PIL's conversion warnings silenced), with the checks of :func:`check_image` first
    and a damaged file's decoding error as the same one-line refusal.

    Raises:
        ImageRefused: not an image file, damaged, or more pixels than ``max_pixels``.
    """
    from PIL import ImageOps

    name = _one_line(name, 80)
    im = _open_image(source, name, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if im.getexif().get(274, 1) != 1:  # 274: the orientation tag; 1: as stored
                return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
            return np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001 - truncated data, a bad chunk, an unsupported mode
        raise ImageRefused(f"{name}: damaged image file ({_reason(e, source, name)})") from None
    finally:
        im.close()


# --------------------------------------------------------------------------
# the upload folder: Gradio's cache for this process's demos, removed when they stop
# --------------------------------------------------------------------------
_UPLOADS = SimpleNamespace(path=None, users=0, previous=None, lock=threading.RLock())


def upload_folder() -> Path | None:
    """The folder the running demos keep uploads and outputs in, or None when none runs."""
    return _UPLOADS.path


def _claim_upload_folder() -> Path:
    """Create the demo's own upload folder (once per process) and point Gradio at it.

    Gradio reads ``GRADIO_TEMP_DIR`` when a component is made (its cache) and on every
    upload (where uploads may come from), so the variable stays set while a demo runs;
    demos running at once in one process share the folder (a count of users).
    """
    with _UPLOADS.lock:
        if _UPLOADS.path is None:
            base = os.environ.get("GRADIO_TEMP_DIR")
            base = base if base and os.path.isdir(base) else None
            _UPLOADS.path = Path(tempfile.mkdtemp(prefix=UPLOAD_FOLDER_PREFIX, dir=base)).resolve()
            _UPLOADS.previous = os.environ.get("GRADIO_TEMP_DIR")
            os.environ["GRADIO_TEMP_DIR"] = str(_UPLOADS.path)
        _UPLOADS.users += 1
        return _UPLOADS.path


def _release_upload_folder(everything: bool = False) -> None:
    """One demo stopped: when it was the last, remove the folder and restore ``GRADIO_TEMP_DIR``.

    Only the folder :func:`_claim_upload_folder` made (by ``mkdtemp``, private to this user)
    is removed; the variable is restored only if nobody changed it since.
    """
    with _UPLOADS.lock:
        if _UPLOADS.path is None:
            return
        _UPLOADS.users = 0 if everything else max(0, _UPLOADS.users - 1)
        if _UPLOADS.users:
            return
        path, _UPLOADS.path = _UPLOADS.path, None
        if os.environ.get("GRADIO_TEMP_DIR") == str(path):
            if _UPLOADS.previous is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = _UPLOADS.previous
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_release_upload_folder, everything=True)  # a notebook closed without .close()


# --------------------------------------------------------------------------
# the model: uint8 image in, the SavedModel's translate_uint8 out
# --------------------------------------------------------------------------
class Translator:
    """A loaded model's ``translate_uint8`` behind a one-image call.

    Attributes:
        config: the model's config as a dict (``image_size``, ``direction``, channels, ...).
        shape: (height, width) the generator was trained at: the canvas size.
        description: where the model came from, for the page's header.
    """

    def __init__(self, signature: Callable, config: dict, shape: tuple[int, int], description: str):
        self.signature, self.config, self.shape, self.description = signature, config, shape, description

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """One uint8 image (H, W, 3), (H, W, 1) or (H, W) -> the output, uint8 (H, W, C_out).

        Made grayscale (``tf.image.rgb_to_grayscale``, as ``predict`` does) when the model
        takes one channel; a one-channel output comes back as (H, W).
        """
        import tensorflow as tf

        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise DemoError(f"expected a uint8 image, got dtype {image.dtype}")
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or min(image.shape[:2]) < 1:
            raise DemoError(f"expected an image (H, W[, C]), got shape {image.shape}")
        x = tf.convert_to_tensor(image[..., :3])  # (H, W, 1|3) uint8
        cin = int(self.config.get("input_channels", 3))
        if cin == 1 and x.shape[-1] == 3:
            x = tf.image.rgb_to_grayscale(x)  # (H, W, 1)
        elif cin == 3 and x.shape[-1] == 1:
            x = tf.image.grayscale_to_rgb(x)  # (H, W, 3)
        y = self.signature(images=x[None])["output"][0].numpy()  # (H, W, C_out) uint8
        return y[..., 0] if y.shape[-1] == 1 else y


def load_translator(model_path: str | Path) -> Translator:
    """Load a SavedModel folder or a run folder as a :class:`Translator`.

    A SavedModel (or a run's ``saved_model/``) is served by its own ``translate_uint8``
    signature; a run with checkpoints only by the same function of
    :class:`pix2pix_tf.run.export.GeneratorModule`, built in memory in the run's inference
    mode (what ``pix2pix-tf export`` would save).

    Raises:
        ModelError: not a SavedModel nor a run folder, or a damaged one (names the file).
        RunDirError, ConfigError: a run folder whose files are damaged.
    """
    from ..layers import set_inference_mode
    from ..run.folder import load_run, load_saved_model, resolve_model

    kind, path = resolve_model(model_path)
    if kind == "run":
        from ..run.export import GeneratorModule

        run = load_run(path)
        mode = run.config.inference_mode
        generator = set_inference_mode(run.inference_generator, mode)  # the EMA of G when on, as export
        module = GeneratorModule(generator, run.config, mode)
        config = {**run.config.to_dict(), "inference_mode": mode}
        return Translator(module.translate_uint8, config, tuple(module.size),
                          f"run {path} (newest checkpoint)")
    model, config = load_saved_model(path, signatures=("translate_uint8",))
    h, w = model.signatures["serving_default"].structured_input_signature[1]["images"].shape[1:3]
    size = int(config.get("image_size", 256))
    translator = Translator(model.signatures["translate_uint8"], config, (h or size, w or size),
                            f"SavedModel {path}")
    translator.model = model  # keeps the loaded object (and its variables) alive
    return translator


# --------------------------------------------------------------------------
# the canvas: palette, background, what the browser sends -> the model's input
# --------------------------------------------------------------------------
def canvas_style(palette: str | dict | None) -> tuple[dict | None, tuple[int, int, int], list]:
    """(palette, background, brushes) as the notebook widget :mod:`pix2pix_tf.web.draw` has them.

    ``palette`` None or "edges": black ink on white paper; a name in
    :data:`~pix2pix_tf.web.draw.PALETTES` or a dict class -> (r, g, b): a label map on its
    background class ("background" or "wall").

    Raises:
        DemoError: an unknown palette name or a bad colour.

    Example:
        >>> canvas_style("edges")
        (None, (255, 255, 255), [('ink', (0, 0, 0))])
        >>> canvas_style("facades")[1]
        (0, 60, 255)
    """
    try:
        resolved = resolve_palette(palette)
    except ValueError as e:
        raise DemoError(str(e)) from None
    return resolved, resolve_background(resolved), brushes(resolved)


def flatten_drawing(image: np.ndarray, background=(255, 255, 255), palette: dict | None = None) -> np.ndarray:
    """What the editor sends (RGBA) -> the generator's input (RGB uint8).

    Transparent pixels (erased, or never painted) take the ``background`` colour (alpha
    compositing, rounded); with a ``palette`` (a label map) every pixel then takes its
    nearest class colour, which undoes the browser's anti-aliasing at stroke edges.

    Args:
        image: uint8 (H, W, 4), or (H, W, 3) / (H, W) (taken as opaque).
        background: (r, g, b) under transparent pixels.
        palette: None (edges: colours kept) or a dict class -> (r, g, b).

    Returns:
        uint8 (H, W, 3).

    Example:
        >>> rgba = np.array([[[0, 0, 0, 255], [0, 0, 0, 0], [10, 190, 250, 220]]], np.uint8)
        >>> flatten_drawing(rgba)[0].tolist()  # ink, paper, a stroke's soft edge on paper
        [[0, 0, 0], [255, 255, 255], [44, 199, 251]]
        >>> flatten_drawing(rgba, (0, 60, 255), {"wall": (0, 60, 255), "window": (0, 200, 255),
        ...                                      "sky": (20, 20, 80)})[0].tolist()
        [[20, 20, 80], [0, 60, 255], [0, 200, 255]]
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DemoError(f"expected a uint8 drawing, got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise DemoError(f"expected an (H, W, 3|4) drawing, got shape {image.shape}")
    if image.shape[2] == 4:
        alpha = image[..., 3:].astype(np.float32) / 255.0  # (H, W, 1)
        rgb = image[..., :3] * alpha + np.asarray(background, np.float32) * (1.0 - alpha)
        image = np.round(rgb).astype(np.uint8)  # (H, W, 3)
    if palette:
        colours = np.asarray(list(palette.values()), np.int32)  # (K, 3)
        pixels = image.reshape(-1, 3).astype(np.int32)  # (H*W, 3)
        nearest = ((pixels[:, None, :] - colours[None]) ** 2).sum(-1).argmin(-1)  # (H*W,)
        image = colours[nearest].astype(np.uint8).reshape(image.shape)
    return image


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _legend(swatches, background, is_label_map: bool) -> str:
    """The palette as HTML swatches with the class names (the editor's brushes have no names)."""
    items = "".join(
        f'<span style="display:inline-block;margin:2px 10px 2px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;border:1px solid #666;'
        f'vertical-align:middle;background:{_hex(rgb)}"></span> {name}</span>'
        for name, rgb in swatches)
    paper = [name for name, rgb in swatches if rgb == background]
    eraser = f"the eraser paints {paper[0] if paper else _hex(background)}"
    kind = "label map: each colour is a class" if is_label_map else "edges: black on white"
    return f"<div><b>{kind}</b>; {eraser}<br>{items}</div>"


# --------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------
def _refuse(gr, message: str):
    """A bad upload: one line in the server's log, the same line in the page (no traceback)."""
    print(f"pix2pix-tf demo: refused an upload: {message}", file=sys.stderr, flush=True)
    raise gr.Error(html.escape(message), print_exception=False)


def _guard_editor(gr, editor, max_pixels: int) -> None:
    """Check each image file the editor receives from its header before Gradio decodes it.

    The page's canvas sends images of the canvas size; an API client may send any file as
    the background, a layer or the composite, and Gradio's editor would decode it whole.
    """
    convert = editor.convert_and_format_image

    def checked(file, *args, **kwargs):
        if file is None:
            return convert(file, *args, **kwargs)
        if isinstance(file, (bytes, bytearray, memoryview)):  # a blob the page posted
            source, name = bytes(file), "the drawing"
        else:
            source, name = file.path, _file_name(file.orig_name or Path(file.path).name, "the drawing")
        try:
            check_image(source, name, max_pixels)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return convert(file, *args, **kwargs)
        except ImageRefused as e:
            _refuse(gr, str(e))
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - decoding a damaged file
            _refuse(gr, f"{name}: damaged image file ({_reason(e, source, name)})")

    editor.convert_and_format_image = checked  # this app's editor only


def build_demo(model_path: str | Path, palette: str | dict | None = DEFAULT_PALETTE,
               translator: Translator | None = None,
               max_upload_pixels: int = MAX_UPLOAD_PIXELS) -> "gr.Blocks":
    """The Gradio app: a drawing canvas and an upload box, the translation beside them.

    Args:
        model_path: a SavedModel folder, or a run folder (with ``saved_model/`` or only
            checkpoints).
        palette: the brushes: "edges" (or None) for black on white, a name in
            :data:`pix2pix_tf.web.draw.PALETTES` or a dict class -> (r, g, b) for label maps.
            Default: the bundled facades sample's classes.
        translator: an already loaded model (:func:`load_translator`); default: load
            ``model_path``.
        max_upload_pixels: the largest image file taken (width x height, read from its
            header before decoding); default :data:`MAX_UPLOAD_PIXELS`. A larger one, a
            file that is no image or a damaged one is refused with one line in the page
            (``gradio.Error``) and the same line on stderr.

    Returns:
        A ``gradio.Blocks``, not started: call ``.launch()`` (or use :func:`launch`). Its
        API endpoints (for ``gradio_client``) are ``/translate_drawing`` (the editor's value:
        ``{"background", "layers", "composite"}``) and ``/translate_upload`` (an image).
        Its files go to Gradio's cache (``GRADIO_TEMP_DIR``); :func:`launch` gives it a
        folder of its own, removed when it stops.

    Raises:
        DemoError: gradio is not installed (the message says what to install), or
            ``model_path`` does not exist.
        ModelError, RunDirError, ConfigError: the model does not load (one line naming the file).

    Example:
        >>> app = build_demo("runs/facades")  # doctest: +SKIP
        >>> app.launch(server_port=7860)  # doctest: +SKIP
    """
    check_demo_args(model_path)
    labels, background, swatches = canvas_style(palette)
    model = translator or load_translator(model_path)  # a bad model is refused before gradio loads
    gr = _import_gradio()
    h, w = model.shape
    blank = np.empty((h, w, 3), np.uint8)  # (H, W, 3): the empty canvas
    blank[...] = background
    cfg = model.config
    # the notebook widget's brush width and captions (Gradio's brush size is a radius)
    widget = widget_options(SimpleNamespace(image_size=min(h, w), direction=cfg.get("direction", "AtoB")),
                            labels, background)
    radius = max(1, widget["default_width"] // 2)
    drawn_title, output_title = widget["titles"]

    def translate_drawing(value):
        composite = (value or {}).get("composite")
        if composite is None:
            return None  # the canvas was removed (the editor's own clear): nothing to show
        return model(flatten_drawing(composite, background, labels))

    def translate_upload(payload):
        """The upload box's file, unprocessed by Gradio: checked from its header, then decoded."""
        if payload is None:
            return None
        path = payload.get("path") if isinstance(payload, dict) else None
        name = _file_name((payload.get("orig_name") if isinstance(payload, dict) else None)
                          or (Path(path).name if path else None))
        if not path:
            _refuse(gr, f"{name}: no image file in the request")
        try:
            image = read_image(path, name, max_upload_pixels)
        except ImageRefused as e:
            _refuse(gr, str(e))
        return model(image)

    a, b = ("A", "B") if cfg.get("direction", "AtoB") == "AtoB" else ("B", "A")
    header = (f"### pix2pix-tf: {a} -> {b}\n{model.description}; trained at "
              f"{h}x{w}, inference mode {cfg.get('inference_mode', '?')}. Draw (the output "
              f"follows each stroke) or upload an image of any shape up to {_pixels(max_upload_pixels)}.")
    with gr.Blocks(title="pix2pix-tf demo") as app:
        gr.Markdown(header)
        with gr.Row():
            with gr.Column():
                with gr.Tab("Draw"):
                    gr.HTML(_legend(swatches, background, labels is not None))
                    editor = gr.ImageEditor(
                        value=blank, type="numpy", image_mode="RGBA", format="png",
                        sources=("upload", "clipboard"), transforms=(), layers=False,
                        canvas_size=(w, h), fixed_canvas=True,
                        brush=gr.Brush(colors=[_hex(rgb) for _, rgb in swatches],
                                       default_color=_hex(swatches[0][1]), color_mode="fixed",
                                       default_size=radius),
                        eraser=gr.Eraser(default_size=radius),
                        label=drawn_title, show_label=True, elem_id="p2p-canvas")
                    _guard_editor(gr, editor, max_upload_pixels)
                    clear = gr.Button("Clear")
                with gr.Tab("Upload"):
                    upload = gr.Image(type="numpy", image_mode="RGB", sources=("upload", "clipboard"),
                                      label=f"{a}: an image up to {_pixels(max_upload_pixels)}",
                                      elem_id="p2p-upload")
            with gr.Column():
                output = gr.Image(value=model(blank), type="numpy", format="png",
                                  interactive=False, label=output_title, elem_id="p2p-output")
        # "input", not "change": Gradio 6's editor swallows the first "change" after the page
        # loads (the first stroke would show nothing); "input" comes once at load, then per stroke
        editor.input(translate_drawing, editor, output, api_name=API_NAMES["drawing"],
                     trigger_mode="always_last", show_progress="minimal")
        # preprocess=False: the function gets the file, not Gradio's decoding of it (which
        # would decode a decompression bomb, or fail on a non-image with a traceback)
        upload.change(translate_upload, upload, output, api_name=API_NAMES["upload"],
                      show_progress="minimal", preprocess=False)
        # a value set by a function raises no "input": the output is set here too
        clear.click(lambda: (blank, model(blank)), None, [editor, output], api_name="clear")
    app.translator = model  # for tests and notebooks: the function behind the page
    return app


def _stop_with_the_demo(app) -> None:
    """Make every way the app stops also release its upload folder (once).

    ``close()`` is wrapped; so is ``block_thread()``, which Gradio's own blocking launch
    and :func:`serve` call and which returns on Ctrl+C after closing the server itself
    (without ``close()``).
    """
    close, block = app.close, app.block_thread
    released = threading.Event()

    def close_and_clean(verbose: bool = True) -> None:
        try:
            close(verbose)
        finally:
            if not released.is_set():
                released.set()
                _release_upload_folder()

    def block_then_clean() -> None:
        try:
            block()
        finally:
            close_and_clean(verbose=False)

    app.close, app.block_thread = close_and_clean, block_then_clean


def launch(model_path: str | Path, *, palette: str | dict | None = DEFAULT_PALETTE,
           host: str = DEFAULT_HOST, port: int | None = None, share: bool | None = None,
           inline: bool | None = None, prevent_thread_lock: bool = False,
           quiet: bool = False, max_upload_pixels: int = MAX_UPLOAD_PIXELS) -> "gr.Blocks":
    """Build the app (:func:`build_demo`) and serve it, its files in a folder of its own.

    Uploads and outputs go to a new ``pix2pix-tf-demo-*`` folder (in the system's temporary
    folder, or in ``GRADIO_TEMP_DIR`` when that names a folder; ``.upload_folder`` on the
    returned app), set as ``GRADIO_TEMP_DIR`` while the demo runs and removed with
    everything in it when the demo stops: ``.close()``, Ctrl+C in a blocking launch, or the
    interpreter's exit. Demos running at once in one process share it; the last to stop
    removes it. Nothing else is removed.

    Args:
        model_path: a SavedModel folder or a run folder.
        palette: see :func:`build_demo`.
        host: the address to listen on: "127.0.0.1" (this machine only, the default) or
            "0.0.0.0" (every machine that can reach this one).
        port: the port; None = the first free one from 7860 (or ``GRADIO_SERVER_PORT``).
        share: also make a public ``https://*.gradio.live`` link (valid 1 week, through
            Gradio's tunnel; needs internet). None = Gradio decides: on in Colab, off
            elsewhere. In Colab, ``share=False`` shows the app inline through Colab's proxy.
        inline: show the app in the notebook cell (None: yes in a notebook).
        prevent_thread_lock: return at once instead of serving until Ctrl+C. In a notebook
            Gradio never blocks.
        quiet: fewer messages from Gradio.
        max_upload_pixels: see :func:`build_demo`.

    Returns:
        The running ``gradio.Blocks`` (``.local_url``, ``.share_url``, ``.upload_folder``;
        ``.close()`` stops it and removes the folder).

    Raises:
        DemoError: gradio missing, no such model path, a ``host`` that does not resolve, or
            the server cannot start (port taken).

    Example:
        >>> app = launch("runs/facades", share=False, prevent_thread_lock=True)  # doctest: +SKIP
        >>> app.close()  # doctest: +SKIP
    """
    check_host(host)  # before Gradio's port scan, which would say "Cannot find empty port"
    check_demo_args(model_path)  # build_demo's first refusals, before a folder is made
    folder = _claim_upload_folder()  # before build_demo: Gradio's components read it when made
    try:
        app = build_demo(model_path, palette=palette, max_upload_pixels=max_upload_pixels)
    except BaseException:
        _release_upload_folder()
        raise
    app.upload_folder = folder
    _stop_with_the_demo(app)
    try:
        app.launch(server_name=host, server_port=port, share=share, inline=inline,
                   prevent_thread_lock=prevent_thread_lock, quiet=quiet, max_file_size="50mb")
    except OSError as e:
        app.close(verbose=False)
        where = f"{host}:{port}" if port is not None else host
        raise DemoError(f"cannot serve the demo on {where}: {str(e).splitlines()[0]}") from None
    except BaseException:
        app.close(verbose=False)
        raise
    return app


def serve(model_path: str | Path, *, palette: str | dict | None = DEFAULT_PALETTE,
          host: str = DEFAULT_HOST, port: int | None = None, share: bool | None = None) -> None:
    """Serve the app until Ctrl+C (or SIGTERM), saying where in a few lines of its own (the
    ``demo`` command); its upload folder (see :func:`launch`) is removed when it stops.

    Raises:
        DemoError: as :func:`launch`; a host that does not resolve is named as ``--host``.
    """
    check_host(host, "--host")
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c) if main_thread else None
    try:
        app = launch(model_path, palette=palette, host=host, port=port, share=share,
                     inline=False, prevent_thread_lock=True, quiet=True)
        try:
            print(f"serving {app.translator.description} at {app.local_url}", flush=True)
            if app.share_url:
                print(f"public link (valid for a week, through Gradio's tunnel): {app.share_url}",
                      flush=True)
            elif host == DEFAULT_HOST:
                print("only this machine can open it; --share makes a public link (needed in "
                      "Colab's terminal), --host 0.0.0.0 serves the network", flush=True)
            print(f"uploads and outputs go to {app.upload_folder}, removed when it stops", flush=True)
            print("Ctrl+C stops it", flush=True)
            app.block_thread()  # returns on Ctrl+C, after closing the server
        finally:
            app.close(verbose=False)  # and removes the upload folder (once)
    finally:
        if main_thread:  # None: a handler not set from Python; the default is what it was
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _sigterm_as_ctrl_c(signum, frame):
    """SIGTERM (``kill``, a service manager) stops :func:`serve` as Ctrl+C does: cleanly."""
    raise KeyboardInterrupt
