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
* **Upload**: any image of any shape up to
  :data:`~pix2pix_tf.apps.demo_checks.MAX_UPLOAD_PIXELS`, translated at its size.

An upload is checked from its header before its pixels are decoded: a file that is no image,
a damaged one, or one larger than :data:`~pix2pix_tf.apps.demo_checks.MAX_UPLOAD_PIXELS` is
refused with one line in the page and the same line in the server's log (no traceback).

Either way the output is the SavedModel's ``translate_uint8`` signature on that uint8 image
(resized to the training size, translated, resized back; see :mod:`pix2pix_tf.run.export`),
sent to the browser as PNG: what ``pix2pix-tf predict`` writes for the same input. A run
folder without ``saved_model/`` is served by the same signature, built in memory from its
newest checkpoint.

Why Gradio (the optional extra ``pip install "pix2pix-tf[demo]"``): a drawing canvas with
brush, eraser and undo, an upload box and a web server in one package that runs locally and
in Colab (``launch`` shows the app inline in a notebook; in Colab it makes a public
``*.gradio.live`` link by default). The notebook widget :mod:`pix2pix_tf.web.draw_widget`
needs no server; this app needs no notebook. Gradio's usage analytics are off unless the environment
sets ``GRADIO_ANALYTICS_ENABLED=True``.

:func:`launch` and :func:`serve` keep what the page uploads and shows in a folder of their
own (``pix2pix-tf-demo-*`` in the system's temporary folder, or in ``GRADIO_TEMP_DIR`` when
that names a folder), removed when the demo stops (``.close()``, Ctrl+C, SIGTERM for
``serve``, or the interpreter's exit): no upload outlives the demo in Gradio's shared cache.

The demo is three modules: :mod:`pix2pix_tf.apps.demo_checks` (the refusals made before
anything loads: the arguments, the installed Gradio, each upload from its header),
:mod:`pix2pix_tf.apps.demo_app` (the model behind a one-image call, the canvas, the Gradio
page: :func:`~pix2pix_tf.apps.demo_app.build_demo`) and this one, the demo's lifetime:
:func:`launch` and :func:`serve`, and the upload folder they make and remove. None of them
imports Gradio or TensorFlow at import time: ``import pix2pix_tf.apps.demo`` is cheap and
works without the extra.

Example:
    >>> app = launch("runs/facades", palette="facades", prevent_thread_lock=True)  # doctest: +SKIP
    >>> app.close()  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .demo_app import DEFAULT_PALETTE, build_demo
from .demo_checks import MAX_UPLOAD_PIXELS, DemoError, check_demo_args, check_host

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

__all__ = ["launch", "serve", "upload_folder", "DEFAULT_HOST"]

DEFAULT_HOST = "127.0.0.1"  # this machine only; "0.0.0.0" serves the local network
UPLOAD_FOLDER_PREFIX = "pix2pix-tf-demo-"


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
    """Build the app (:func:`~pix2pix_tf.apps.demo_app.build_demo`) and serve it, its files in
    a folder of its own.

    Uploads and outputs go to a new ``pix2pix-tf-demo-*`` folder (in the system's temporary
    folder, or in ``GRADIO_TEMP_DIR`` when that names a folder; ``.upload_folder`` on the
    returned app), set as ``GRADIO_TEMP_DIR`` while the demo runs and removed with
    everything in it when the demo stops: ``.close()``, Ctrl+C in a blocking launch, or the
    interpreter's exit. Demos running at once in one process share it; the last to stop
    removes it. Nothing else is removed.

    Args:
        model_path: a SavedModel folder or a run folder.
        palette: see :func:`~pix2pix_tf.apps.demo_app.build_demo`.
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
        max_upload_pixels: see :func:`~pix2pix_tf.apps.demo_app.build_demo`.

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
