"""Draw and see: sketch an input (edges or a label map) and watch the generator translate it.

* :class:`DrawAndSee` holds a generator and its config: :meth:`~DrawAndSee.translate` runs
  the generator on a uint8 image exactly as the library does (``[0, 255] -> [-1, 1]``,
  deterministic inference mode, ``[-1, 1] -> uint8``), :meth:`~DrawAndSee.translate_strokes`
  also renders the strokes first (:func:`pix2pix_tf.web.draw.render_strokes`).
* :meth:`DrawAndSee.widget` is the interactive cell: a canvas with the palette's colours, a
  brush width, an eraser, undo, clear and an image upload, and the generator's output
  beside it, updated once per finished stroke (on pointer-up, never per mouse move).

Why anywidget (the optional extra ``pip install "pix2pix-tf[draw]"``): the widget's front end
is one ES module (``draw_widget.js``, shipped in the wheel) that anywidget sends to the
browser itself, so there is no JupyterLab extension to build or install. It works in
JupyterLab, Notebook 7, VS Code and Google Colab: in Colab, ``AnyWidget.__init__`` calls
``google.colab.output.enable_custom_widget_manager()`` by itself (anywidget's
``_util.enable_custom_widget_manager_once``), so students run no extra cell. ipycanvas was the
other candidate: in Colab it needs that manager enabled by hand and has had releases that
did not render there (ipycanvas issues 170 and 318, colabtools 4157), and every drawing call
travels through the kernel, where here the browser draws the live stroke and the kernel only
sees finished strokes. A Gradio block would start a web server beside the notebook.

The front end and Python talk through synced traitlets: the browser sets ``strokes`` (the
whole list, each ``{"color": [r, g, b], "width": px, "points": [[x, y], ...]}``) and
``base_image`` (an uploaded image as a PNG data URL, already S x S); Python renders, translates
and sets ``drawn`` and ``output`` (PNG data URLs) and ``status``. A headless test can play
the browser's part by assigning ``strokes``.

The canvas itself (palettes, the front end's settings, strokes made pixels) is
:mod:`pix2pix_tf.web.draw`, numpy only and shared with the web page and the demo; this
module is the part that holds a generator and talks to the browser, kept apart so that
those two need neither.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .draw import brushes, render_strokes, resolve_background, resolve_palette, widget_options

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from ..config import Pix2PixConfig

__all__ = ["widget_available", "DrawAndSee", "INSTALL_HINT", "JS_FILE", "WIDGET_CSS",
           "png_data_url", "decode_data_url"]

INSTALL_HINT = 'the drawing widget needs anywidget: pip install "pix2pix-tf[draw]"'
JS_FILE = Path(__file__).with_name("draw_widget.js")
DATA_URL_PREFIX = "data:image/png;base64,"
#: The widget's style sheet (the notebook widget and the exported web page share it).
WIDGET_CSS = """
.p2p-draw { font-family: sans-serif; font-size: 13px; }
.p2p-draw .p2p-row { display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap; }
.p2p-draw .p2p-tools { display: flex; gap: 6px; align-items: center; flex-wrap: wrap;
                       margin: 4px 0; }
.p2p-draw canvas, .p2p-draw img { image-rendering: pixelated; border: 1px solid #999;
                                  display: block; }
.p2p-draw canvas { touch-action: none; cursor: crosshair; }
.p2p-draw .p2p-swatch { width: 26px; height: 22px; border: 1px solid #666; cursor: pointer;
                        padding: 0; }
.p2p-draw .p2p-selected { outline: 3px solid #f90; outline-offset: 1px; }
.p2p-draw .p2p-status { color: #555; margin-top: 4px; }
.p2p-draw .p2p-brush { min-width: 6em; font-weight: bold; }
"""


def widget_available() -> bool:
    """Whether the interactive widget can be built here (anywidget is importable).

    Example:
        >>> widget_available() in (True, False)
        True
    """
    try:
        import anywidget  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------
# PNG data URLs (what the browser and Python exchange)
# --------------------------------------------------------------------------
def png_data_url(image: np.ndarray) -> str:
    """A uint8 (H, W, C) image as a ``data:image/png;base64,...`` string."""
    import tensorflow as tf

    png = tf.io.encode_png(np.asarray(image, np.uint8)).numpy()
    return DATA_URL_PREFIX + base64.b64encode(png).decode("ascii")


def decode_data_url(url: str) -> np.ndarray:
    """A ``data:image/...;base64,...`` string (PNG, JPEG, ...) as a uint8 (H, W, 3) array.

    Raises:
        ValueError: not a base64 image data URL, or the bytes are not an image.
    """
    import tensorflow as tf

    head, sep, payload = str(url).partition(",")
    if not (sep and head.startswith("data:image/") and head.endswith(";base64")):
        raise ValueError(f"not a base64 image data URL: {str(url)[:40]!r}")
    try:
        data = base64.b64decode(payload, validate=True)
        return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except (ValueError, tf.errors.InvalidArgumentError) as e:
        raise ValueError(f"the data URL does not hold a readable image ({type(e).__name__})") from None


# --------------------------------------------------------------------------
# the app: a generator, a palette, strokes -> output
# --------------------------------------------------------------------------
class DrawAndSee:
    """A generator ready to translate drawings, and the widget to draw them.

    Args:
        generator: a Keras generator (``build_generator(config)``, or a loaded run's
            ``model.generator``) mapping (1, S, S, C_in) in [-1, 1] to [-1, 1]. It is switched
            to ``inference_mode`` (:func:`pix2pix_tf.set_inference_mode`; this changes the
            model passed in).
        config: its :class:`~pix2pix_tf.Pix2PixConfig`: ``image_size`` (S), the channels and
            ``direction`` (only for the captions: the drawing is always the generator's input).
        palette: None (or ``"edges"``) for edge maps, black strokes on white; a dict
            class name -> (r, g, b) for label maps; or a name in
            :data:`~pix2pix_tf.web.draw.PALETTES`.
        background: (r, g, b) or a palette class name for the empty canvas and the eraser;
            None = white for edges, else the palette's ``"background"`` or ``"wall"`` class,
            else its first colour.
        inference_mode: "deterministic" (default: the same drawing always gives the same
            output), "paper" (dropout stays on: each stroke gives a new sample) or
            "moving_average".

    Example:
        >>> import keras, pix2pix_tf
        >>> cfg = pix2pix_tf.Pix2PixConfig(image_size=16, load_size=16, ngf=8, ndf=8)
        >>> keras.utils.set_random_seed(0)
        >>> app = DrawAndSee(pix2pix_tf.build_generator(cfg), cfg, palette="facades")
        >>> app.background
        (0, 60, 255)
        >>> drawn, out = app.translate_strokes(
        ...     [{"color": app.palette["window"], "width": 4, "points": [[8, 4], [8, 12]]}])
        >>> drawn.shape, out.shape, out.dtype.name
        ((16, 16, 3), (16, 16, 3), 'uint8')
    """

    def __init__(self, generator: "keras.Model", config: "Pix2PixConfig", palette=None,
                 background=None, inference_mode: str = "deterministic"):
        from ..layers import set_inference_mode

        self.config = config
        self.size = int(config.image_size)
        self.palette = resolve_palette(palette)
        self.background = resolve_background(self.palette, background)
        self.generator = set_inference_mode(generator, inference_mode)
        self.inference_mode = inference_mode

    # ---- palette -------------------------------------------------------
    @property
    def brushes(self) -> list[tuple[str, tuple[int, int, int]]]:
        """The colour buttons: (name, rgb) pairs; one black "ink" brush for edges.

        The eraser is not among them (it paints :attr:`background`)."""
        return brushes(self.palette)

    # ---- the three steps ----------------------------------------------
    def render_strokes(self, strokes, base: np.ndarray | None = None) -> np.ndarray:
        """Strokes -> (S, S, 3) uint8 on this app's background (see :func:`render_strokes`)."""
        return render_strokes(strokes, self.size, self.background, base=base)

    def translate(self, image_uint8) -> np.ndarray:
        """The generator's output for one uint8 image, as (S, S, 3) uint8.

        The image is scaled like the library's data (``normalize``: [0, 255] -> [-1, 1]),
        made grayscale when the model takes one channel, and the output is rounded back
        (``to_uint8``); a one-channel output is repeated on three channels for display.

        Raises:
            ValueError: not a uint8 image of shape (S, S), (S, S, 1) or (S, S, 3).
        """
        import tensorflow as tf

        from ..jitter import normalize, to_uint8

        image = np.asarray(image_uint8)
        s = self.size
        if image.dtype != np.uint8:
            raise ValueError(f"translate takes a uint8 image, got dtype {image.dtype}")
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[:2] != (s, s) or image.shape[2] not in (1, 3):
            raise ValueError(f"translate takes an image of shape ({s}, {s}, 3) (or 1 channel), "
                             f"got {image.shape}")
        x = tf.convert_to_tensor(image)  # (S, S, C) uint8
        if self.config.input_channels == 1 and image.shape[2] == 3:
            x = tf.image.rgb_to_grayscale(x)  # (S, S, 1), as the data pipeline does
        elif self.config.input_channels == 3 and image.shape[2] == 1:
            x = tf.image.grayscale_to_rgb(x)
        x = normalize(tf.cast(x, tf.float32))[None]  # (1, S, S, C_in) in [-1, 1]
        y = self.generator(x, training=False)  # (1, S, S, C_out) in [-1, 1]
        out = to_uint8(y[0]).numpy()  # (S, S, C_out) uint8
        return np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 else out

    def translate_strokes(self, strokes, base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(drawn, output)``: the rendered strokes and the generator's output for them."""
        drawn = self.render_strokes(strokes, base=base)
        return drawn, self.translate(drawn)

    # ---- the widget ----------------------------------------------------
    def _prepare_base(self, image) -> np.ndarray:
        """An uploaded / starting image as (S, S, 3) uint8 (resized: nearest for label maps)."""
        import tensorflow as tf

        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
            raise ValueError(f"expected an image (H, W[, C]), got shape {image.shape}")
        image = image[..., :3] if image.shape[2] == 4 else image
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=-1)
        if image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")
        if image.shape[:2] != (self.size, self.size):
            method = "bilinear" if self.palette is None else "nearest"  # keep label colours exact
            resized = tf.image.resize(image, (self.size, self.size), method=method,
                                      antialias=method != "nearest")
            image = tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8).numpy()
        return image

    def widget(self, start=None, display_size: int = 320):
        """The interactive drawing cell (an anywidget): draw on the left, the output on the right.

        Args:
            start: an optional uint8 image (any size: resized to S) to start from, e.g. a
                test-set label map to edit; None = the empty canvas.
            display_size: on-screen side of each image in CSS pixels (the image is S x S).

        Returns:
            The widget; display it as a cell's last expression. ``widget.strokes`` holds the
            strokes drawn so far; ``widget.status`` the last message.

        Raises:
            ImportError: anywidget is not installed (with the pip command).
        """
        try:
            cls = _widget_class()
        except ImportError:
            raise ImportError(INSTALL_HINT) from None
        w = cls(**widget_options(self.config, self.palette, self.background, display_size))
        if start is not None:
            w.base_image = png_data_url(self._prepare_base(start))
        _Bridge(self, w).update()
        return w


class _Bridge:
    """Connects one widget to the app: on a new sketch, render, translate, send the images back."""

    def __init__(self, app: DrawAndSee, widget):
        self.app, self.widget, self.last_key = app, widget, None
        widget.observe(lambda change: self.update(), names=["strokes", "base_image"])

    def update(self) -> None:
        w = self.widget
        key = (w.base_image, json.dumps(w.strokes, sort_keys=True, default=str))
        if key == self.last_key:
            return  # both traits changed in one browser message: translate once
        self.last_key = key
        started = time.perf_counter()
        try:
            base = self.app._prepare_base(decode_data_url(w.base_image)) if w.base_image else None
            drawn, output = self.app.translate_strokes(list(w.strokes), base=base)
        except ValueError as e:  # a bad stroke or upload: say so in the widget, keep the last images
            w.status = f"not translated: {e}"
            return
        w.drawn = png_data_url(drawn)
        w.output = png_data_url(output)
        n = len(w.strokes)
        w.status = (f"{n} stroke{'s' * (n != 1)}; translated in "
                    f"{time.perf_counter() - started:.2f} s")


_WIDGET_CLASS = None


def _widget_class():
    """The anywidget class, defined on first use (anywidget is an optional dependency)."""
    global _WIDGET_CLASS
    if _WIDGET_CLASS is None:
        import anywidget
        import traitlets

        class DrawWidget(anywidget.AnyWidget):
            """Canvas + palette + output image; the front end is ``draw_widget.js``."""

            _esm = JS_FILE.read_text(encoding="utf-8")
            _css = WIDGET_CSS
            # Python -> browser (set once)
            size = traitlets.Int(256).tag(sync=True)
            display_size = traitlets.Int(320).tag(sync=True)
            palette = traitlets.List().tag(sync=True)  # [[name, [r, g, b]], ...]
            background = traitlets.List([255, 255, 255]).tag(sync=True)
            smooth_upload = traitlets.Bool(True).tag(sync=True)  # False keeps label colours exact
            max_width = traitlets.Int(64).tag(sync=True)
            default_width = traitlets.Int(4).tag(sync=True)
            titles = traitlets.List().tag(sync=True)
            # browser -> Python
            strokes = traitlets.List().tag(sync=True)
            base_image = traitlets.Unicode("").tag(sync=True)  # PNG data URL or ""
            # Python -> browser (after each stroke)
            drawn = traitlets.Unicode("").tag(sync=True)
            output = traitlets.Unicode("").tag(sync=True)
            status = traitlets.Unicode("").tag(sync=True)

        _WIDGET_CLASS = DrawWidget
    return _WIDGET_CLASS

