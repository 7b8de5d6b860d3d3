"""``export --format web``: a static folder where anyone can draw an input and see the generator's output.

The best-known pix2pix demo is the in-browser "edges2cats" page: draw an outline, get a cat.
This writes that page for a run's generator, with nothing to build and no server code:

    OUT/index.html         the page (the drawing widget's style sheet inlined, an import map)
    OUT/pix2pix_web.js     the page's one script of its own: loads LiteRT.js and the model,
                           rasterises the strokes, translates, exposes ``window.pix2pix``
    OUT/draw_widget.js     the notebook widget's front end (pix2pix_tf/web/draw_widget.js), unchanged:
                           brush, eraser, palette, width, undo, clear, upload
    OUT/model.tflite       the generator, batch 1, S x S, float32 [-1, 1] in and out (TFLite)
    OUT/web_config.json    image size, channels, palette and runtime for the script
    OUT/litert/            LiteRT.js (npm @litertjs/core), with ``--runtime copy``
    OUT/.pix2pix-tf.json   the manifest: a folder of kind "web" that pix2pix-tf wrote

Why these choices:

* **LiteRT.js** (``@litertjs/core``, Google's TFLite runtime compiled to WebAssembly, with a
  WebGPU delegate) runs the same ``.tflite`` file as :func:`~pix2pix_tf.run.export.export_tflite`;
  TensorFlow.js' converter does not read Keras 3 models. The wasm path (XNNPack) runs every op
  our generators use; the page asks for WebGPU when the browser has an adapter and falls back
  to WebAssembly (LiteRT.js itself also falls back when a model does not compile for WebGPU).
* **float32 in and out**, as ``--format tflite``: the page does the ``[0, 255] <-> [-1, 1]``
  scaling the library does (``normalize`` / ``to_uint8``, round half to even), so the model
  file is the plain generator and its output can be compared with Keras to 1e-4.
* **the TFLite file of ``--format tflite``**: :func:`~pix2pix_tf.run.export.export_tflite`
  converts the generator's TFLite twin (:func:`pix2pix_tf.fast.lite.lite_twin`: plain CONV_2D
  where the CPU speed path runs matmuls, transposed convolutions as a convolution and a
  DEPTH_TO_SPACE), ops that both LiteRT.js back ends run.
* **the widget's own front end**: ``draw_widget.js`` talks to an anywidget "model" (get, set,
  save_changes, on); in a notebook Python answers, here ``pix2pix_web.js`` does, rasterising
  the strokes like :func:`pix2pix_tf.web.draw.render_strokes` (hard edges: a label map keeps its
  exact colours). One UI for both, and the palettes come from :mod:`pix2pix_tf.web.draw`.
* **runtime files**: ``--runtime copy`` copies LiteRT.js from a local npm install
  (``--litert-dir``, else ``./node_modules/@litertjs/core``): the folder then works offline,
  about 19 MB (the two single-threaded wasm builds: relaxed SIMD and a fallback).
  ``--runtime cdn`` references jsDelivr at the pinned version :data:`LITERT_VERSION` instead.
  ``auto`` (default) copies when a local copy is found (``--litert-dir``, or a complete
  ``./node_modules/@litertjs/core`` of the pinned major version) and otherwise uses the CDN,
  so a fresh machine gets a working page with no flags; one printed line says which
  (:func:`runtime_line`) and how to get the other.
* **Subresource Integrity on the CDN**: the import map's ``integrity`` entries
  (:data:`CDN_INTEGRITY`, sha384, pinned beside :data:`LITERT_VERSION`) make the browser
  refuse the two ES modules the page imports from jsDelivr (``@litertjs/core`` and
  ``@litertjs/wasm-utils``, ``dist/index.js``) unless they are byte for byte the npm
  package's files at the pinned version (jsDelivr's ``/npm/`` paths serve npm's files
  unchanged; import-map integrity is in Chromium since 127). What LiteRT.js fetches itself
  cannot carry SRI: the wasm loader script (``litert_wasm*_internal.js``, appended as a
  classic ``<script>`` by wasm-utils) and the ``.wasm`` binary it fetches come from the same
  pinned, immutable jsDelivr path unchecked; for a page that trusts no CDN use
  ``--runtime copy``.
* **palette from the run** (:func:`palette_for_run`, ``--palette`` not given): the input
  panels of the run's newest snapshot ``RUN/images/epoch_*.png`` (input | output | target,
  always written) are counted (:func:`pix2pix_tf.web.draw.palette_from_inputs`): label maps
  get their label colours (``facades`` for the synthetic sample's), black-on-white drawings
  and photos black ink on white (``edges``); one printed line says which and why.

Serve the folder with any static server (``python -m http.server -d OUT``); a ``file://`` page
cannot fetch the model. Nothing is written outside ``--out`` but its temporary sibling, which is
renamed into place complete; an existing ``--out`` is replaced only when it is an empty folder
or a web export of ours; a run folder and anything inside one is refused.

Example:
    >>> from pix2pix_tf.generator import build_generator  # doctest: +SKIP
    >>> cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=8)  # doctest: +SKIP
    >>> export_web(build_generator(cfg), cfg, "web_demo", runtime="cdn")  # doctest: +SKIP
    PosixPath('web_demo')
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import http.server
import json
import os
import re
import string
import threading
from pathlib import Path
from typing import Callable, Iterator

import keras

from ..host import manifests
from ..host import writes as safety
from ..config import Pix2PixConfig
from .draw import (PALETTES, PaletteChoice, palette_from_inputs, resolve_background,
                   resolve_palette, widget_options)
from .draw_widget import JS_FILE as WIDGET_JS_FILE
from .draw_widget import WIDGET_CSS
from .runtime import INDEX, LITERT_PACKAGE, RUNTIME_DIR, RUNTIME_FILES, WebRuntime, resolve_runtime, runtime_line
from ..run.export import ExportError, export_tflite
from ..run.folder import IMAGES, find_enclosing_run
from ..run.loading import load_run

WEB_KIND = "web"  # manifest kind of a web export folder
SCRIPT, WIDGET, MODEL, CONFIG = (
    "pix2pix_web.js", "draw_widget.js", "model.tflite", "web_config.json")
PAGE_FILES = (INDEX, SCRIPT, WIDGET, MODEL, CONFIG)
PAGE_TEMPLATE = Path(__file__).resolve().parent / "web_page.html"
PAGE_SCRIPT = Path(__file__).resolve().parent / "web_page.js"

def check_web_target(out: str | Path, run_dir: str | Path | None = None) -> Path:
    """Refuse, without writing, an ``--out`` that a web export may not take.

    Accepted: a new path, an empty folder, or a web export folder of ours (replaced whole).
    Refused: a file, a foreign or other-kind folder, a run folder, anything inside a run
    folder (checkpoints, the run's own exports) and a folder holding ``run_dir``.

    Raises:
        ExportError, WriteError: one line naming ``--out`` and why; nothing was changed.
    """
    out = safety.check_out_dir(out)
    target = out.resolve()
    holder = find_enclosing_run(target)
    if holder is not None:
        what = "is a pix2pix-tf run folder" if holder == target else f"is inside the run folder {holder}"
        raise ExportError(f"--out {out}: {what}; nothing was changed; a web export goes in a folder "
                          "of its own outside run folders")
    if run_dir is not None and target in Path(run_dir).resolve().parents:
        raise ExportError(f"--out {out}: holds the run folder {run_dir}; nothing was changed; "
                          "choose a new path")
    if out.exists() or out.is_symlink():
        kind = manifests.folder_kind(out) if out.is_dir() and not out.is_symlink() else None
        if kind == WEB_KIND:
            foreign = foreign_file_in_web(out)
            if foreign is not None:
                raise ExportError(f"--out {out}: holds {foreign}, which pix2pix-tf did not write; "
                                  "nothing was changed; move it away or choose a new path")
            return out
        if out.is_dir() and not out.is_symlink() and safety.is_empty_dir(out):
            return out
        if kind is not None:
            raise ExportError(f"--out {out}: is a pix2pix-tf {kind} folder, not a web export; "
                              "nothing was changed; choose a new path")
        raise ExportError(f"--out {out}: already exists and is not a web export of pix2pix-tf; "
                          "nothing was changed; choose a new path or remove it yourself")
    return out


def foreign_file_in_web(folder: Path) -> Path | None:
    """The first entry of a web export folder that an export does not write (None: all ours).

    A re-export replaces the folder whole, so anything a user added there would be lost."""
    files = {safety.MANIFEST, safety.LOCK, *PAGE_FILES, *(f"{RUNTIME_DIR}/{rel}" for rel in RUNTIME_FILES)}
    folders = {RUNTIME_DIR, *(f"{RUNTIME_DIR}/{rel.split('/')[0]}" for rel in RUNTIME_FILES)}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if any(part.startswith(safety.TMP_PREFIX) for part in rel.split("/")):
            continue  # a temporary an interrupted write of ours left
        expected = folders if p.is_dir() and not p.is_symlink() else files
        if p.is_symlink() or rel not in expected:
            return p
    return None


def export_web(generator: keras.Model, config: Pix2PixConfig, out: str | Path,
               inference_mode: str | None = None, *, runtime: WebRuntime | str = "auto",
               litert_dir: str | Path | None = None, palette: str | dict | None = "edges",
               quantize: str = "none", display_size: int | None = None) -> Path:
    """Write the drawing page for ``generator`` into the folder ``out`` (see the module docstring).

    Args:
        generator, config: the generator (square S x S) and its run's config.
        out: a new path, an empty folder or an earlier web export of ours.
        inference_mode: as for :func:`~pix2pix_tf.run.export.export_tflite` ("paper" is refused).
        runtime: a :class:`WebRuntime` or "auto" / "copy" / "cdn" (:func:`resolve_runtime`).
        litert_dir: where the npm package is, for "auto" / "copy".
        palette: "edges" (black on white), "facades" or any name in
            :data:`pix2pix_tf.web.draw.PALETTES`, or a dict class name -> (r, g, b) for label maps.
        quantize: TFLite weights: "none" (float32), "float16" or "dynamic".
        display_size: on-screen side of each image in CSS pixels (default max(320, S)).

    Returns:
        ``out``.

    Raises:
        ExportError, WriteError: one line; nothing is left half-written.
    """
    out = check_web_target(out)
    if not isinstance(runtime, WebRuntime):
        runtime = resolve_runtime(runtime, litert_dir)
    h, w = (v or config.image_size for v in generator.input_shape[1:3])
    if h != w:
        raise ExportError(f"the web page draws on a square canvas; this generator takes {h}x{w} images")
    try:
        pal = resolve_palette(palette)
    except ValueError as e:
        raise ExportError(f"--palette: {e}") from None
    size = int(h)
    options = widget_options(config.replace(image_size=size) if size != config.image_size else config,
                             pal, resolve_background(pal), display_size or max(320, size))
    runtime_names = sorted(RUNTIME_FILES) if runtime.source == "copy" else []
    with manifests.atomic_dir(out, replace_kind=WEB_KIND) as tmp:
        manifests.claim_folder(tmp, WEB_KIND)
        manifests.record_written(tmp, [*PAGE_FILES, *([RUNTIME_DIR] if runtime_names else [])])
        export_tflite(generator, config, tmp / MODEL, inference_mode, quantize=quantize)
        mode = inference_mode or ("deterministic" if config.inference_mode == "paper"
                                  else config.inference_mode)
        info = {
            "format": "pix2pix-tf web export",
            "model": MODEL,
            "size": size,
            "input_channels": config.input_channels,
            "output_channels": config.output_channels,
            "inference_mode": mode,
            "quantize": quantize,
            "widget": options,
            "runtime": {"name": "LiteRT.js", "package": LITERT_PACKAGE, "version": runtime.version,
                        "wasm_utils_version": runtime.wasm_utils_version or runtime.version,
                        "source": runtime.source, "wasm": runtime.wasm_dir()},
            "pix2pix_config": config.to_dict(),
        }
        with safety.os_errors_as(out):
            for rel in runtime_names:
                package, src = RUNTIME_FILES[rel]
                dest = tmp / RUNTIME_DIR / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                _copy_file((runtime.core if package == "core" else runtime.wasm_utils) / src, dest)
            (tmp / CONFIG).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
            (tmp / SCRIPT).write_bytes(PAGE_SCRIPT.read_bytes())
            (tmp / WIDGET).write_bytes(WIDGET_JS_FILE.read_bytes())
            (tmp / INDEX).write_text(_index_html(config, runtime, pal, size), encoding="utf-8")
    return out


def _copy_file(src: Path, dest: Path) -> None:
    """Copy one runtime file (a plain copy: the folder being filled is renamed into place whole)."""
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)
    os.chmod(dest, 0o644)


def _index_html(config: Pix2PixConfig, runtime: WebRuntime, palette: dict | None, size: int) -> str:
    """index.html from the template: title, import map, the widget's CSS, a line about the model."""
    kind = "edges (black on white)" if palette is None else f"a label map ({len(palette)} classes)"
    a, b = ("A", "B") if config.direction == "AtoB" else ("B", "A")
    about = (f"Draw {a} as {kind} on the left; the generator ({config.net_g}, ngf {config.ngf}, "
             f"{size}x{size}) draws {b} on the right after every stroke. It runs in this browser "
             f"with LiteRT.js {runtime.version}: nothing is uploaded.")
    return string.Template(PAGE_TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=html.escape(f"pix2pix-tf: draw {a}, get {b}"),
        about=html.escape(about),
        import_map=json.dumps(runtime.import_map(), indent=1),
        widget_css=WIDGET_CSS.strip(),
    )


def palette_for_run(run_dir: str | Path) -> PaletteChoice:
    """The page's palette for a run, from the inputs the run was shown: the input panels
    (left third) of its newest readable snapshot ``RUN/images/epoch_*.png`` (input | output |
    target rows, written at every report), counted by
    :func:`~pix2pix_tf.web.draw.palette_from_inputs`. ``edges`` when there is none.

    Example:
        >>> palette_for_run("runs/facades").palette  # doctest: +SKIP
        'facades'
    """
    import tensorflow as tf

    folder = Path(run_dir) / IMAGES
    numbered = [(int(m[1]), p) for p in (folder.iterdir() if folder.is_dir() else ())
                if (m := re.fullmatch(r"epoch_(\d+)\.png", p.name)) and p.is_file()]
    snapshots = [p for _, p in sorted(numbered, reverse=True)]  # newest first
    for png in snapshots:
        try:
            grid = tf.io.decode_png(png.read_bytes(), channels=3).numpy()
        except (OSError, tf.errors.OpError):
            continue  # unreadable: try an older one
        size = grid.shape[1] // 3
        if size == 0 or grid.shape[0] % size:
            continue  # not an input | output | target grid of square images
        choice = palette_from_inputs(grid[:, :size])
        return dataclasses.replace(choice, why=choice.why.replace("the inputs", f"the inputs in {png}", 1))
    return PaletteChoice("edges", f"{folder} holds no snapshot to read the run's inputs from")


def palette_line(choice: PaletteChoice) -> str:
    """One line: the palette the page draws with, why, and the flag that chooses another."""
    others = [name for name in PALETTES if name != choice.palette]
    return (f"palette: {choice.label}: {choice.why}; another: --palette {' or '.join(others)}")


def export_web_run(run_dir: str | Path, out: str | Path, inference_mode: str | None = None, *,
                   runtime: str = "auto", litert_dir: str | Path | None = None,
                   palette: str | None = None, quantize: str = "none",
                   say: Callable[[str], None] | None = print) -> Path:
    """``pix2pix-tf export --format web``: :func:`export_web` for a run's newest checkpoint.

    The target and the runtime files are checked before the run is loaded. ``palette`` None:
    from the run (:func:`palette_for_run`). When it is written, ``say`` (print; None: quiet)
    gets one line on the runtime (:func:`runtime_line`) and, for a palette taken from the run,
    one on the palette (:func:`palette_line`).
    """
    check_web_target(out, run_dir)
    web_runtime = resolve_runtime(runtime, litert_dir)
    if isinstance(palette, str) and palette not in PALETTES:
        raise ExportError(f"--palette {palette}: unknown; choose one of {', '.join(PALETTES)}")
    if inference_mode == "paper":
        raise ExportError("--inference-mode paper: the web page needs a deterministic model "
                          "(TFLite has no dropout noise); use deterministic or moving_average")
    model = load_run(run_dir)
    choice = palette_for_run(run_dir) if palette is None else None
    path = export_web(model.inference_generator, model.config, out, inference_mode,  # G's EMA when on
                      runtime=web_runtime, palette=choice.palette if choice else palette,
                      quantize=quantize)
    if say is not None:
        say(runtime_line(path, web_runtime))
        if choice is not None:
            say(palette_line(choice))
    return path


@contextlib.contextmanager
def serve_folder(folder: str | Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``folder`` over http from a background thread while the block runs; yields its URL.

    For trying an export and for tests (``port=0``: a free port). ES modules and wasm get their
    MIME types whatever the system's table says. Requests are not logged.

    Example:
        >>> with serve_folder("web_demo") as url:  # doctest: +SKIP
        ...     print(url)
        http://127.0.0.1:40123/
    """
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".js": "text/javascript", ".mjs": "text/javascript",
                          ".wasm": "application/wasm", ".json": "application/json",
                          ".tflite": "application/octet-stream"}

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, port), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


__all__ = ["export_web", "export_web_run", "serve_folder", "check_web_target", "WEB_KIND",
           "palette_for_run", "palette_line"]
