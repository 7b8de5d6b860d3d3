"""The drawing canvas, numpy only: its palettes, its settings, and strokes made pixels.

* :data:`PALETTES` (``edges``: black ink on white; ``facades``: the synthetic sample's label
  colours), :func:`resolve_palette`, :func:`resolve_background` and :func:`brushes` say what
  a canvas draws with; :func:`widget_options` is the drawing front end's settings.
* :func:`palette_from_inputs` picks a palette from a run's input images by counting their
  colours: a label map's own colours (``facades`` when they are those), or ``edges`` for
  black-on-white drawings and for photos.
* :func:`render_strokes` turns strokes (lists of points with a colour and a width, in image
  pixels) into a uint8 image with numpy only: hard edges and exact palette colours, which is
  what a label map must be (an anti-aliased edge would invent colours no class has).

Three front ends share this module so that they draw alike: the notebook widget
(:class:`pix2pix_tf.web.draw_widget.DrawAndSee`), the static web page
(:mod:`pix2pix_tf.web.page`, whose ``web_page.js`` ports :func:`render_strokes`) and the
Gradio demo (:mod:`pix2pix_tf.apps.demo_app`). Kept apart from the widget because none of
this needs anywidget, TensorFlow or a generator.

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

import dataclasses
import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..datasets.synthetic_layout import LABEL_COLORS

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Pix2PixConfig

__all__ = ["render_strokes", "facades_palette", "PALETTES", "EDGE_INK", "EDGE_PAPER",
           "resolve_palette", "resolve_background", "brushes", "widget_options",
           "PaletteChoice", "palette_from_inputs"]

EDGE_INK = (0, 0, 0)  # edges are drawn black ...
EDGE_PAPER = (255, 255, 255)  # ... on white, as in edges2shoes / edges2handbags
BACKGROUND_CLASSES = ("background", "wall")  # the class a label-map canvas starts filled with


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


#: Named palettes for :class:`~pix2pix_tf.web.draw_widget.DrawAndSee`: None = edges (black
#: strokes on white).
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

    Shared by the notebook widget (:meth:`~pix2pix_tf.web.draw_widget.DrawAndSee.widget`) and
    the static web page (``pix2pix-tf export --format web``, :mod:`pix2pix_tf.web.page`), so
    both draw alike.

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
# a palette from the images a model takes
# --------------------------------------------------------------------------
COLOUR_RADIUS = 3  # colours this close (largest channel difference) count as one: JPEG noise
CLASS_RADIUS = 12  # ... and this close, as one class of a label map's palette
GRAY_SPREAD = 24  # a pixel whose channels differ by at most this is gray
LABEL_COLOURS_MAX = 16  # a label map: at most this many colours ...
LABEL_COVERAGE = 0.7  # ... hold at least this share of the pixels (measured: label maps 0.8-0.9
#                       after JPEG and resizing, the synthetic facades' photos 0.3-0.55)
LABEL_CLASS_SHARE = 0.01  # a colour holding this share of the pixels is a class of the palette
FACADES_MATCH = 0.75  # share of pixels within 24 levels of a facades colour: "facades"


@dataclasses.dataclass(frozen=True)
class PaletteChoice:
    """What :func:`palette_from_inputs` chose: a name in :data:`PALETTES` or a dict, and why."""

    palette: str | dict[str, tuple[int, int, int]]
    why: str  # "the inputs are ...", for one printed line

    @property
    def label(self) -> str:
        """The palette as a person reads it: "edges (black ink on white)", "facades (8 label colours)"."""
        if self.palette == "edges":
            return "edges (black ink on white)"
        if isinstance(self.palette, str):
            return f"{self.palette} ({len(PALETTES[self.palette])} label colours)"
        return f"the run's {len(self.palette)} label colours ({', '.join(self.palette)})"


def _colour_clusters(pixels: np.ndarray, radius: int = COLOUR_RADIUS,
                     limit: int = 4 * LABEL_COLOURS_MAX) -> list[tuple[tuple[int, int, int], int]]:
    """Greedy clusters of an (N, 3) uint8 array, most frequent first: (colour, pixel count).

    The most frequent colour not yet taken opens a cluster and takes every colour within
    ``radius`` of it (largest channel difference); at most ``limit`` clusters."""
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    colours, counts = colours[order].astype(np.int16), counts[order]
    free = np.ones(len(colours), bool)
    clusters = []
    while len(clusters) < limit and free.any():
        i = int(np.argmax(free))
        near = free & (np.abs(colours - colours[i]).max(axis=1) <= radius)
        clusters.append((tuple(int(c) for c in colours[i]), int(counts[near].sum())))
        free &= ~near
    return clusters


def palette_from_inputs(images: np.ndarray) -> PaletteChoice:
    """Pick the canvas palette for a model from images of its inputs, by counting colours.

    * gray images (every channel within :data:`GRAY_SPREAD` of the others for 98% of the
      pixels): black-on-white drawings (edges, sketches) or gray photos: ``"edges"``;
    * at most :data:`LABEL_COLOURS_MAX` colours (clusters of :data:`COLOUR_RADIUS`, for JPEG
      noise) hold :data:`LABEL_COVERAGE` of the pixels: flat colour regions, a label map. Its
      palette is ``"facades"`` when 75% of the pixels lie near the facades colours
      (:func:`facades_palette`), else the run's own colours: those (clusters of
      :data:`CLASS_RADIUS`) holding 1% of the pixels or more, most frequent first (the
      canvas starts filled with the first), named by hex;
    * else photos: no palette fits a photo; ``"edges"`` (draw lines, or upload a photo).

    Args:
        images: uint8 (..., 3) pixels (one or more images; gray is repeated to RGB first).

    Example:
        >>> from pix2pix_tf.datasets.synthetic import render_facade
        >>> labels, photo = render_facade(0, 64)
        >>> palette_from_inputs(labels).palette, palette_from_inputs(photo).palette
        ('facades', 'edges')
        >>> sketch = render_strokes([{"color": [0, 0, 0], "width": 2, "points": [[4, 4], [60, 50]]}], 64)
        >>> palette_from_inputs(sketch).why
        'the inputs are gray: black-on-white drawings (2 gray levels hold 100% of the pixels)'
    """
    pixels = np.asarray(images, dtype=np.uint8)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    pixels = pixels.reshape(-1, 3)
    if pixels.size == 0:
        raise ValueError("no pixels to choose a palette from")
    n = len(pixels)
    wide = pixels.astype(np.int16)
    clusters = _colour_clusters(pixels)
    top = clusters[:LABEL_COLOURS_MAX]
    covered = sum(count for _, count in top) / n
    if (np.ptp(wide, axis=1) <= GRAY_SPREAD).mean() >= 0.98:
        two = sum(count for _, count in clusters[:2]) / n
        what = ("black-on-white drawings" if two >= 0.8 else "gray photos or drawings")
        return PaletteChoice("edges", f"the inputs are gray: {what} (2 gray levels hold "
                                      f"{two:.0%} of the pixels)")
    if covered < LABEL_COVERAGE:
        return PaletteChoice("edges", f"the inputs are photos ({LABEL_COLOURS_MAX} colours hold "
                                      f"{covered:.0%} of the pixels, a label map needs "
                                      f"{LABEL_COVERAGE:.0%}); no label palette fits a photo")
    facades = np.array(list(facades_palette().values()), np.int16)
    near = (np.abs(wide[:, None, :] - facades[None]).max(axis=2) <= 24).any(axis=1)
    classes = [(rgb, count) for rgb, count in _colour_clusters(pixels, CLASS_RADIUS, LABEL_COLOURS_MAX)
               if count / n >= LABEL_CLASS_SHARE]
    if near.mean() >= FACADES_MATCH:
        return PaletteChoice("facades", f"the inputs are label maps in the facades colours "
                                        f"({near.mean():.0%} of their pixels)")
    own = {"#%02x%02x%02x" % rgb: rgb for rgb, _ in classes}
    return PaletteChoice(own, f"the inputs are label maps ({len(top)} colours hold "
                              f"{covered:.0%} of the pixels)")


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

