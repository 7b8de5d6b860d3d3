"""A local web app over a trained generator: draw or upload an input, see its translation.

    pix2pix-tf demo --model RUN_OR_SAVEDMODEL [--palette facades|edges] [--port 7860] [--share]

From Python or a notebook (Colab included)::

    from pix2pix_tf import demo
    demo.launch("runs/facades")                 # Colab: inline, through a gradio.live link
    demo.launch("runs/facades", share=False)    # Colab: inline through Colab's own proxy

The page has two inputs and the output beside them:

* **Draw**: a canvas of the generator's training size with the palette's colours as fixed
  brushes (:data:`pix2pix_tf.draw.PALETTES`: black on white for edges, the sample's classes
  for label maps), an eraser (it paints the background class), undo and a Clear button; an
  image dropped on it becomes the canvas to draw over (e.g. a test label map to edit). The
  translation follows each finished stroke. Where the browser blends colours (an image scaled
  to the canvas, a soft brush edge), a label map's pixels are snapped to the nearest class
  colour before the generator sees them: a label map has no colours between its classes.
* **Upload**: any image, any size, translated as it is.

Either way the output is the SavedModel's ``translate_uint8`` signature on that uint8 image
(resized to the training size, translated, resized back; see :mod:`pix2pix_tf.run.export`),
sent to the browser as PNG: what ``pix2pix-tf predict`` writes for the same input. A run
folder without ``saved_model/`` is served by the same signature, built in memory from its
newest checkpoint.

Why Gradio (the optional extra ``pip install "pix2pix-tf[demo]"``): a drawing canvas with
brush, eraser and undo, an upload box and a web server in one package that runs locally and
in Colab (``launch`` shows the app inline in a notebook; in Colab it makes a public
``*.gradio.live`` link by default). The notebook widget :mod:`pix2pix_tf.draw` needs no
server; this app needs no notebook. Gradio's usage analytics are off unless the environment
sets ``GRADIO_ANALYTICS_ENABLED=True``.

Nothing here imports Gradio or TensorFlow at import time: ``import pix2pix_tf.demo`` is cheap
and works without the extra.

Example:
    >>> flatten_drawing(np.zeros((2, 2, 4), np.uint8), background=(0, 60, 255))[0, 0].tolist()
    [0, 60, 255]
    >>> app = build_demo("runs/facades", palette="facades")  # doctest: +SKIP
    >>> app.launch(prevent_thread_lock=True)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable

import numpy as np

from .draw import PALETTES, brushes, resolve_background, resolve_palette, widget_options
from .errors import Pix2PixError

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

__all__ = ["build_demo", "launch", "serve", "load_translator", "Translator", "canvas_style",
           "flatten_drawing", "gradio_available", "gradio_version",
           "check_demo_args", "INSTALL_HINT", "DEFAULT_HOST", "DEFAULT_PALETTE", "DemoError"]

INSTALL_HINT = 'the demo needs gradio: pip install "pix2pix-tf[demo]"'
DEFAULT_HOST = "127.0.0.1"  # this machine only; "0.0.0.0" serves the local network
DEFAULT_PALETTE = "facades"  # the bundled sample's label colours (notebook 05's default too)
MIN_GRADIO = 6  # the major version tested (setup.cfg's extra says the same)
API_NAMES = {"drawing": "translate_drawing", "upload": "translate_upload"}  # gradio_client


class DemoError(Pix2PixError):
    """The demo cannot start as asked (gradio missing, no such model, bad palette, port taken)."""


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


def check_demo_args(model_path: str | Path, palette: str | None = None) -> None:
    """The refusals that need neither TensorFlow nor Gradio loaded (the CLI makes them first).

    Raises:
        DemoError: ``model_path`` does not exist, ``palette`` is not a name in
            :data:`pix2pix_tf.draw.PALETTES`, or gradio is missing or older than 6 (with the
            pip command).

    Example:
        >>> check_demo_args("no/such/run")
        Traceback (most recent call last):
        ...
        pix2pix_tf.demo.DemoError: no/such/run: no such SavedModel or run folder
    """
    if not Path(model_path).exists():
        raise DemoError(f"{model_path}: no such SavedModel or run folder")
    if palette is not None and palette not in PALETTES:
        raise DemoError(f"unknown palette {palette!r}; choose one of {', '.join(PALETTES)}")
    problem = _gradio_problem()
    if problem:
        raise DemoError(problem)


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
    from .inference import set_inference_mode
    from .run.folder import load_run, load_saved_model, resolve_model

    kind, path = resolve_model(model_path)
    if kind == "run":
        from .run.export import GeneratorModule

        run = load_run(path)
        mode = run.config.inference_mode
        generator = set_inference_mode(run.generator, mode)
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
    """(palette, background, brushes) as the notebook widget :mod:`pix2pix_tf.draw` has them.

    ``palette`` None or "edges": black ink on white paper; a name in
    :data:`~pix2pix_tf.draw.PALETTES` or a dict class -> (r, g, b): a label map on its
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
def build_demo(model_path: str | Path, palette: str | dict | None = DEFAULT_PALETTE,
               translator: Translator | None = None) -> "gr.Blocks":
    """The Gradio app: a drawing canvas and an upload box, the translation beside them.

    Args:
        model_path: a SavedModel folder, or a run folder (with ``saved_model/`` or only
            checkpoints).
        palette: the brushes: "edges" (or None) for black on white, a name in
            :data:`pix2pix_tf.draw.PALETTES` or a dict class -> (r, g, b) for label maps.
            Default: the bundled facades sample's classes.
        translator: an already loaded model (:func:`load_translator`); default: load
            ``model_path``.

    Returns:
        A ``gradio.Blocks``, not started: call ``.launch()`` (or use :func:`launch`). Its
        API endpoints (for ``gradio_client``) are ``/translate_drawing`` (the editor's value:
        ``{"background", "layers", "composite"}``) and ``/translate_upload`` (an image).

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

    def translate_upload(image):
        return None if image is None else model(image)

    a, b = ("A", "B") if cfg.get("direction", "AtoB") == "AtoB" else ("B", "A")
    header = (f"### pix2pix-tf: {a} -> {b}\n{model.description}; trained at "
              f"{h}x{w}, inference mode {cfg.get('inference_mode', '?')}. Draw (the output "
              "follows each stroke) or upload an image of any size.")
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
                    clear = gr.Button("Clear")
                with gr.Tab("Upload"):
                    upload = gr.Image(type="numpy", image_mode="RGB", sources=("upload", "clipboard"),
                                      label=f"{a}: an image of any size", elem_id="p2p-upload")
            with gr.Column():
                output = gr.Image(value=model(blank), type="numpy", format="png",
                                  interactive=False, label=output_title, elem_id="p2p-output")
        # "input", not "change": Gradio 6's editor swallows the first "change" after the page
        # loads (the first stroke would show nothing); "input" comes once at load, then per stroke
        editor.input(translate_drawing, editor, output, api_name=API_NAMES["drawing"],
                     trigger_mode="always_last", show_progress="minimal")
        upload.change(translate_upload, upload, output, api_name=API_NAMES["upload"],
                      show_progress="minimal")
        # a value set by a function raises no "input": the output is set here too
        clear.click(lambda: (blank, model(blank)), None, [editor, output], api_name="clear")
    app.translator = model  # for tests and notebooks: the function behind the page
    return app


def launch(model_path: str | Path, *, palette: str | dict | None = DEFAULT_PALETTE,
           host: str = DEFAULT_HOST, port: int | None = None, share: bool | None = None,
           inline: bool | None = None, prevent_thread_lock: bool = False,
           quiet: bool = False) -> "gr.Blocks":
    """Build the app (:func:`build_demo`) and serve it.

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

    Returns:
        The running ``gradio.Blocks`` (``.local_url``, ``.share_url``; ``.close()`` stops it).

    Raises:
        DemoError: gradio missing, no such model path, or the server cannot start (port taken).

    Example:
        >>> app = launch("runs/facades", share=False, prevent_thread_lock=True)  # doctest: +SKIP
        >>> app.close()  # doctest: +SKIP
    """
    app = build_demo(model_path, palette=palette)
    try:
        app.launch(server_name=host, server_port=port, share=share, inline=inline,
                   prevent_thread_lock=prevent_thread_lock, quiet=quiet, max_file_size="50mb")
    except OSError as e:
        where = f"{host}:{port}" if port is not None else host
        raise DemoError(f"cannot serve the demo on {where}: {str(e).splitlines()[0]}") from None
    return app


def serve(model_path: str | Path, *, palette: str | dict | None = DEFAULT_PALETTE,
          host: str = DEFAULT_HOST, port: int | None = None, share: bool | None = None) -> None:
    """Serve the app until Ctrl+C, saying where in a few lines of its own (the ``demo`` command).

    Raises:
        DemoError: as :func:`launch`.
    """
    app = launch(model_path, palette=palette, host=host, port=port, share=share, inline=False,
                 prevent_thread_lock=True, quiet=True)
    print(f"serving {app.translator.description} at {app.local_url}", flush=True)
    if app.share_url:
        print(f"public link (valid for a week, through Gradio's tunnel): {app.share_url}", flush=True)
    elif host == DEFAULT_HOST:
        print("only this machine can open it; --share makes a public link (needed in Colab's "
              "terminal), --host 0.0.0.0 serves the network", flush=True)
    print("Ctrl+C stops it", flush=True)
    app.block_thread()  # returns on Ctrl+C, after closing the server
