"""The demo's Gradio page (:func:`build_demo`) and what it calls: the model behind a
one-image call (:class:`Translator`, :func:`load_translator`) and the canvas (its palette,
and what the browser sends made the generator's input: :func:`flatten_drawing`).

Kept apart from the refusals (:mod:`pix2pix_tf.apps.demo_checks`) and from the demo's
lifetime, its serving and upload folder (:mod:`pix2pix_tf.apps.demo`): this module builds
the page and translates, it starts nothing. Gradio and TensorFlow are imported when a page
is built or an image translated, never at import time.

Example:
    >>> flatten_drawing(np.zeros((2, 2, 4), np.uint8), background=(0, 60, 255))[0, 0].tolist()
    [0, 60, 255]
    >>> app = build_demo("runs/facades", palette="facades")  # doctest: +SKIP
    >>> app.launch(prevent_thread_lock=True)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..web.draw import brushes, resolve_background, resolve_palette, widget_options
from .demo_checks import (INSTALL_HINT, MAX_UPLOAD_PIXELS, DemoError, ImageRefused, _file_name, _pixels,
                          _reason, check_demo_args, check_image, read_image)

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

__all__ = ["build_demo", "load_translator", "Translator", "canvas_style", "flatten_drawing",
           "DEFAULT_PALETTE", "API_NAMES"]

DEFAULT_PALETTE = "facades"  # the bundled sample's label colours (notebook 05's default too)
API_NAMES = {"drawing": "translate_drawing", "upload": "translate_upload"}  # gradio_client


def _import_gradio():
    """``import gradio``, or a DemoError naming the extra to install."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage reports by default
    try:
        import gradio as gr
    except ImportError:
        raise DemoError(INSTALL_HINT) from None
    return gr


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
    from ..run.loading import load_run, load_saved_model, resolve_model

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
    """(palette, background, brushes) as the notebook widget (:mod:`pix2pix_tf.web.draw_widget`)
    has them.

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
            header before decoding); default
            :data:`~pix2pix_tf.apps.demo_checks.MAX_UPLOAD_PIXELS`. A larger one, a file that
            is no image or a damaged one is refused with one line in the page
            (``gradio.Error``) and the same line on stderr.

    Returns:
        A ``gradio.Blocks``, not started: call ``.launch()`` (or use
        :func:`~pix2pix_tf.apps.demo.launch`). Its API endpoints (for ``gradio_client``) are
        ``/translate_drawing`` (the editor's value: ``{"background", "layers",
        "composite"}``) and ``/translate_upload`` (an image). Its files go to Gradio's cache
        (``GRADIO_TEMP_DIR``); :func:`~pix2pix_tf.apps.demo.launch` gives it a folder of its
        own, removed when it stops.

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
