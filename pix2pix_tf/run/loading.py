"""Loading what a run leaves: the model of a run folder (:func:`load_run`), or an exported
SavedModel (:func:`load_saved_model`).

The commands that take "a SavedModel or a run" (``predict``, ``evaluate``, ``demo``) resolve
the path with :func:`resolve_model` and load a SavedModel with :func:`load_saved_model`,
whose errors are one line naming the file. Kept apart from the run folder's rules
(:mod:`pix2pix_tf.run.folder`) and from starting a run (:mod:`pix2pix_tf.run.resume`)
because loading only reads, and builds the model: this is the module that imports
:class:`~pix2pix_tf.model.Pix2Pix`.

Example:
    >>> model = load_run("runs/facades")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from ..config import Pix2PixError
from ..fast.precision import resolve_precision
from ..fast.transform import speed_up
from ..model import Pix2Pix
from ..successors.model import model_class
from .folder import (CHECKPOINTS, SAVED_MODEL, SAVED_MODEL_PB, RunDirError, is_run, is_saved_model,
                     load_image_shape, load_run_config, load_run_options)
from .resume import restore_latest


class ModelError(Pix2PixError):
    """A model path is not a loadable SavedModel or run folder; the message names the file."""


def load_run(run_dir: str | Path) -> Pix2Pix:
    """Rebuild the model of a run directory and restore its newest checkpoint that loads.

    The networks are built as the run trained them: its config, and the precision and
    convolution kernels of its run options (``run_options.json``, or an older run's
    ``config.json``). Reads only: the pointer file is not repaired here
    (``train(..., resume=True)`` does).

    Raises:
        RunDirError: not a run folder, damaged ``image_shape.json``, or no checkpoint loads.
        ConfigError: damaged ``config.json`` or ``run_options.json`` (one line naming it).

    Example:
        >>> model = load_run("runs/facades")  # doctest: +SKIP
        >>> model.generator(x, training=False)  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    if not is_run(run_dir):
        raise RunDirError(f"{run_dir}: not a run folder (needs config.json and checkpoints/)")
    config = load_run_config(run_dir)
    options, _ = load_run_options(run_dir)
    shape = load_image_shape(run_dir)
    model = model_class(config).from_config_object(config, shape=shape, precision=resolve_precision(options["precision"]))
    model.compile()
    speed_up(model, options["conv_impl"])  # the CPU speed paths, as a run trains (same weights either way)
    restore_latest(model.checkpoint(), run_dir / CHECKPOINTS)
    return model


# ------------------------------------------------------------------ a SavedModel or a run
def resolve_model(path: str | Path, accept_run: bool = True) -> tuple[str, Path]:
    """What a ``--model`` path names: a SavedModel folder, or a run folder.

    A SavedModel folder itself comes first, then a run folder's ``saved_model/``, then (with
    ``accept_run``) a run folder with only ``checkpoints/``.

    Returns:
        ``("saved_model", the SavedModel folder)`` or ``("run", the run folder)``.

    Raises:
        ModelError: none of these, naming ``path``.

    Example:
        >>> import tempfile
        >>> resolve_model(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pix2pix_tf.run.loading.ModelError: ...: neither a SavedModel folder nor a run folder ...
    """
    path = Path(path)
    for folder in (path, path / SAVED_MODEL):
        if is_saved_model(folder):
            return "saved_model", folder
    if not accept_run:
        raise ModelError(f"{path}: not a SavedModel folder (no saved_model.pb) nor a run folder")
    if is_run(path):
        return "run", path
    raise ModelError(f"{path}: neither a SavedModel folder nor a run folder with "
                     "saved_model/ or checkpoints/")


def load_exported_config(model) -> dict:
    """The config dict carried by a loaded SavedModel (from its ``config`` signature)."""
    return json.loads(model.signatures["config"]()["config"].numpy().decode())


def load_saved_model(path: str | Path, signatures: tuple[str, ...] = ()):
    """``tf.saved_model.load`` of a pix2pix-tf SavedModel (or a run's), with one-line errors.

    Args:
        path: a SavedModel folder, or a run folder holding ``saved_model/``.
        signatures: signatures needed beyond ``serving_default`` and ``config``.

    Returns:
        (the loaded model, its config dict from the ``config`` signature).

    Raises:
        ModelError: no ``saved_model.pb``, or it is damaged or not from pix2pix-tf (it names
            the file and the reason).

    Example:
        >>> model, config = load_saved_model("runs/facades")  # doctest: +SKIP
        >>> model.signatures["translate_uint8"](images=tf.zeros((1, 300, 200, 3), tf.uint8))  # doctest: +SKIP
    """
    _, folder = resolve_model(path, accept_run=False)
    pb = folder / SAVED_MODEL_PB
    try:
        model = tf.saved_model.load(str(folder))
    except Exception as e:  # noqa: BLE001  (a damaged SavedModel fails in many ways)
        reason = (str(e).strip().splitlines() or [""])[0][:120]
        raise ModelError(f"{pb}: not a loadable SavedModel ({type(e).__name__}: {reason})") from None
    missing = [k for k in ("serving_default", "config", *signatures) if k not in model.signatures]
    if missing:
        raise ModelError(f"{pb}: SavedModel lacks the {', '.join(missing)} signature(s); "
                         "export it with pix2pix-tf")
    try:
        config = load_exported_config(model)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"{pb}: its config signature is unreadable ({type(e).__name__})") from None
    return model, config
