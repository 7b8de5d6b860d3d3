"""Draw and see: sketch an input (edges or a label map) and watch the generator translate it.

Three layers, each usable alone:

* :func:`render_strokes` turns strokes (lists of points with a colour and a width, in image
  pixels) into a uint8 image with numpy only: hard edges and exact palette colours, which is
  what a label map must be (an anti-aliased edge would invent colours no class has).
* :class:`DrawAndSee` holds a generator and its config: :meth:`~DrawAndSee.translate` runs
  the generator on a uint8 image exactly as the library does (``[0, 255] -> [-1, 1]``,
  deterministic inference mode, ``[-1, 1] -> uint8``), :meth:`~DrawAndSee.translate_strokes`
  does both steps.
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

Example:
    >>> img = render_strokes([{"color": [0, 0, 0], "width": 1, "points": [[1, 2], [3, 2]]}], 6)
    >>> (img[..., 0] == 0).astype(int)
    array([[0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0]])
"""

from __future__ import annotations

import base64
import json
import math
import numbers
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..datasets.synthetic import LABEL_COLORS

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from ..config import Pix2PixConfig

__all__ = ["widget_available", "render_strokes", "facades_palette", "PALETTES", "DrawAndSee",
           "INSTALL_HINT", "EDGE_INK", "EDGE_PAPER", "resolve_palette", "resolve_background",
           "widget_options", "WIDGET_CSS"]

INSTALL_HINT = 'the drawing widget needs anywidget: pip install "pix2pix-tf[draw]"'
EDGE_INK = (0, 0, 0)  # edges are drawn black ...
EDGE_PAPER = (255, 255, 255)  # ... on white, as in edges2shoes / edges2handbags
BACKGROUND_CLASSES = ("background", "wall")  # the class a label-map canvas starts filled with
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


def facades_palette() -> dict[str, tuple[int, int, int]]:
    """The synthetic facades' label colours, class name -> (r, g, b), in label order.

    The same colours :mod:`pix2pix_tf.datasets.synthetic` paints its label maps with, so a
    generator trained on that sample sees the classes it learned. The canvas starts filled
    with ``"wall"`` (the class that fills a facade).

    Example:
        >>> facades_palette()["wall"], len(facades_palette())
        ((0, 60, 255), 8)
    """
    return {name: tuple(int(c) for c in rgb) for name, rgb in LABEL_COLORS.items()}


#: Named palettes for :class:`DrawAndSee`: None = edges (black strokes on white).
PALETTES: dict[str, dict[str, tuple[int, int, int]] | None] = {
    "edges": None,
    "facades": facades_palette(),
}


def resolve_palette(palette) -> dict[str, tuple[int, int, int]] | None:
    """A palette argument (None, a name in :data:`PALETTES` or a dict) as a checked dict, or None.

    Raises:
        ValueError: an unknown name, or a colour that is not [r, g, b] in 0..255.

    Example:
        >>> resolve_palette("edges") is None, len(resolve_palette("facades"))
        (True, 8)
    """
    if isinstance(palette, str):
        if palette not in PALETTES:
            raise ValueError(f"unknown palette {palette!r}; choose one of {', '.join(PALETTES)} "
                             "or pass a dict name -> (r, g, b)")
        palette = PALETTES[palette]
    if palette is None:
        return None
    if not isinstance(palette, dict) or not palette:
        raise ValueError("palette must be None, a name or a non-empty dict name -> (r, g, b), "
                         f"got {palette!r}")
    return {str(name): _rgb(rgb, f"palette colour {name!r}") for name, rgb in palette.items()}


def resolve_background(palette: dict | None, background=None) -> tuple[int, int, int]:
    """The canvas (and eraser) colour: ``background`` as (r, g, b) or a class of ``palette``;
    None = white for edges, else the palette's "background" or "wall" class, else its first colour.

    Example:
        >>> resolve_background(None), resolve_background(resolve_palette("facades"))
        ((255, 255, 255), (0, 60, 255))
    """
    if background is None:
        if palette is None:
            return EDGE_PAPER
        for name in BACKGROUND_CLASSES:
            if name in palette:
                return palette[name]
        return next(iter(palette.values()))
    if isinstance(background, str):
        if not palette or background not in palette:
            raise ValueError(f"background {background!r} is not a class of the palette")
        return palette[background]
    return _rgb(background, "background")


def brushes(palette: dict | None) -> list[tuple[str, tuple[int, int, int]]]:
    """The colour buttons for a resolved palette: (name, rgb) pairs; one black "ink" for edges."""
    if palette is None:
        return [("ink", EDGE_INK)]
    return list(palette.items())


def widget_options(config: "Pix2PixConfig", palette: dict | None, background,
                   display_size: int = 320) -> dict:
    """The drawing front end's settings (``draw_widget.js`` reads them with ``model.get``).

    Shared by the notebook widget (:meth:`DrawAndSee.widget`) and the static web page
    (``pix2pix-tf export --format web``, :mod:`pix2pix_tf.web.page`), so both draw alike.

    Args:
        config: its image_size and direction.
        palette: a resolved palette (:func:`resolve_palette`), None for edges.
        background: the resolved canvas colour (:func:`resolve_background`).
        display_size: on-screen side of each image in CSS pixels.

    Example:
        >>> from pix2pix_tf.config import Pix2PixConfig
        >>> opts = widget_options(Pix2PixConfig(image_size=64, load_size=72), None, EDGE_PAPER)
        >>> opts["palette"], opts["default_width"], opts["titles"][0]
        ([['ink', [0, 0, 0]]], 1, 'you draw A (edges)')
    """
    size = int(config.image_size)
    direction = getattr(config, "direction", "AtoB")
    a, b = ("A", "B") if direction == "AtoB" else ("B", "A")
    kind = "edges" if palette is None else "label map"
    return dict(size=size, display_size=int(display_size),
                palette=[[name, list(rgb)] for name, rgb in brushes(palette)],
                background=list(background),
                smooth_upload=palette is None,
                max_width=max(2, size // 4),
                default_width=max(1, size // (64 if palette is None else 16)),
                titles=[f"you draw {a} ({kind})", f"the generator's {b}"])


# --------------------------------------------------------------------------
# strokes -> image
# --------------------------------------------------------------------------
def _rgb(value, where: str) -> tuple[int, int, int]:
    """``value`` as an (r, g, b) tuple of ints in 0..255, or a ValueError naming ``where``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 3:
        raise ValueError(f"{where} must be [r, g, b] with integers 0..255, got {value!r}")
    out = []
    for c in value:
        integral = isinstance(c, numbers.Integral) or (isinstance(c, float) and c.is_integer())
        if isinstance(c, bool) or not integral or not 0 <= c <= 255:
            raise ValueError(f"{where} must be [r, g, b] with integers 0..255, got {value!r}")
        out.append(int(c))
    return tuple(out)


def _number(value) -> bool:
    """A finite real number (bools are not numbers here)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _check_stroke(stroke, i: int, background: tuple[int, int, int]):
    """One stroke dict checked: (points (n, 2) float array, radius, colour); ValueError names the field."""
    if not isinstance(stroke, dict):
        raise ValueError(f"stroke {i}: must be a dict with 'color', 'width' and 'points', "
                         f"got {type(stroke).__name__}")
    eraser = stroke.get("eraser", False)
    if not isinstance(eraser, bool):
        raise ValueError(f"stroke {i}: field 'eraser' must be true or false, got {eraser!r}")
    if eraser:
        color = background
    elif "color" not in stroke:
        raise ValueError(f"stroke {i}: field 'color' is missing")
    else:
        color = _rgb(stroke["color"], f"stroke {i}: field 'color'")
    if "width" not in stroke:
        raise ValueError(f"stroke {i}: field 'width' is missing")
    width = stroke["width"]
    if not _number(width) or width <= 0:
        raise ValueError(f"stroke {i}: field 'width' must be a positive number of pixels, got {width!r}")
    if "points" not in stroke:
        raise ValueError(f"stroke {i}: field 'points' is missing")
    points = stroke["points"]
    if isinstance(points, (str, bytes, dict)) or not hasattr(points, "__len__") or len(points) == 0:
        raise ValueError(f"stroke {i}: field 'points' must be a non-empty list of [x, y], got {points!r}")
    for p in points:
        if (isinstance(p, (str, bytes, dict)) or not hasattr(p, "__len__") or len(p) != 2
                or not all(_number(v) for v in p)):
            raise ValueError(f"stroke {i}: field 'points' must hold [x, y] pairs of finite numbers, "
                             f"got {p!r}")
    return np.asarray(points, dtype=np.float64).reshape(-1, 2), float(width) / 2.0, color


def _paint(canvas: np.ndarray, points: np.ndarray, radius: float, color) -> None:
    """Paint every pixel whose centre is within ``radius`` of the polyline (round caps and joins)."""
    h, w = canvas.shape[:2]
    if len(points) == 1:
        points = np.concatenate([points, points])  # a dot: a segment of length 0
    r2 = radius * radius + 1e-9  # a pixel exactly on the edge counts as covered
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        # the segment's bounding box grown by the radius, clipped to the canvas
        c0 = max(0, math.floor(min(x0, x1) - radius))
        c1 = min(w - 1, math.ceil(max(x0, x1) + radius))
        r0 = max(0, math.floor(min(y0, y1) - radius))
        r1 = min(h - 1, math.ceil(max(y0, y1) + radius))
        if c0 > c1 or r0 > r1:
            continue  # entirely outside the canvas
        ys, xs = np.mgrid[r0:r1 + 1, c0:c1 + 1]  # (rows, cols) pixel centres in the box
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
        d2 = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2  # squared distance to the segment
        canvas[r0:r1 + 1, c0:c1 + 1][d2 <= r2] = color


def render_strokes(strokes, size: int, background=EDGE_PAPER, base: np.ndarray | None = None) -> np.ndarray:
    """Rasterise strokes into a (size, size, 3) uint8 image, numpy only, no anti-aliasing.

    A point ``[x, y]`` is the centre of the pixel in column ``x``, row ``y`` (fractions allowed);
    a stroke covers every pixel whose centre lies within ``width / 2`` of its path (round caps
    and joins), so a stroke of one point is a round dot. Strokes are painted in order; points
    outside the canvas are clipped, not an error.

    Args:
        strokes: list of ``{"color": [r, g, b], "width": px, "points": [[x, y], ...]}``;
            ``"eraser": true`` paints with ``background`` instead (``color`` may be left out).
        size: side of the square image in pixels.
        background: (r, g, b) of the empty canvas and of the eraser.
        base: a (size, size, 3) uint8 image to draw on instead of the empty canvas.

    Returns:
        uint8 array (size, size, 3).

    Raises:
        ValueError: a stroke is malformed (the message names the stroke and the field), or
            ``base`` has the wrong shape.

    Example:
        >>> dot = render_strokes([{"color": [255, 0, 0], "width": 3, "points": [[2, 2]]}], 5,
        ...                      background=(0, 0, 0))
        >>> (dot[..., 0] // 255).tolist()  # a width-3 dot: the centre and its 8 neighbours
        [[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]]
    """
    size = int(size)
    background = _rgb(background, "background")
    if base is None:
        canvas = np.empty((size, size, 3), np.uint8)
        canvas[...] = background
    else:
        canvas = np.array(base, dtype=np.uint8, copy=True)
        if canvas.shape != (size, size, 3):
            raise ValueError(f"base image must have shape ({size}, {size}, 3), got {canvas.shape}")
    if isinstance(strokes, (str, bytes, dict)) or not hasattr(strokes, "__iter__"):
        raise ValueError(f"strokes must be a list of stroke dicts, got {type(strokes).__name__}")
    checked = [_check_stroke(s, i, background) for i, s in enumerate(strokes)]  # all checked first
    for points, radius, color in checked:
        _paint(canvas, points, radius, color)
    return canvas


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
            class name -> (r, g, b) for label maps; or a name in :data:`PALETTES`.
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

