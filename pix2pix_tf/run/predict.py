"""Translate image files with an exported SavedModel (needs only TensorFlow at serving time).

Two ways to handle an image whose size is not the model's (``size_mode``):

* ``"resize"`` (default): resize to the training size, translate, resize back
  (signature ``translate_uint8``); every size works, fine detail is resampled twice.
* ``"native"``: translate at the image's own resolution (signature
  ``translate_uint8_native``): reflect-pad to a multiple of the generator's stride, run
  the generator fully convolutionally, crop back. Sharper on large images; the network
  then sees more (or less) context than in training.

Outputs keep the input's name and format; a 1-channel model (``output_channels=1``)
writes 1-channel (grayscale) PNG/JPEG files.

The model is a SavedModel, a run folder's ``saved_model/``, or a run folder with checkpoints
only: then the same two functions are built in memory from its newest checkpoint, in its
inference mode (:class:`~pix2pix_tf.run.export.GeneratorModule`, what ``export`` would
save), as ``evaluate`` and ``demo`` do. Images are read as viewers show them (EXIF
orientation applied, :func:`~pix2pix_tf.data.read_image`); an input that cannot be
translated (unreadable, a dangling link, too large to decode here, too narrow to split into
A|B) is listed and the others are still written.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from ..config import Pix2PixError
from ..data import DataError, IMAGE_EXTENSIONS, list_images, read_image
from ..host.output_folder import OutputFolder
from .loading import ModelError, load_run, load_saved_model, resolve_model

OUTPUT_KIND = "predictions"  # the manifest kind of a folder written by predict_files
SIZE_MODES = ("resize", "native")
SIGNATURES = {"resize": "translate_uint8", "native": "translate_uint8_native"}


def check_output(input_path: str | Path, out_dir: str | Path, overwrite: bool = False) -> OutputFolder:
    """Refuse an output folder before any work: it is the input folder, unusable or not ours.

    Needs no model and no TensorFlow work, so the CLI runs it first.

    Returns:
        The checked :class:`~pix2pix_tf.host.output_folder.OutputFolder` (nothing written yet).

    Raises:
        DataError: ``out_dir`` is the input folder (or the input file's folder).
        WriteError: ``out_dir`` is a file, lies under a file, is not writable, or is not
            empty and not an earlier prediction folder (or is one, without ``overwrite``).
    """
    input_path, out_dir = Path(input_path), Path(out_dir)
    source = input_path if input_path.is_dir() else input_path.parent
    if out_dir.exists() and source.exists() and out_dir.resolve() == source.resolve():
        raise DataError(f"{out_dir}: output folder is the input folder; the inputs would be overwritten")
    return OutputFolder(out_dir, OUTPUT_KIND, overwrite=overwrite).check()


def load_translator(model_path: str | Path, size_mode: str = "resize") -> tuple[Callable, dict]:
    """The uint8 -> uint8 function of ``size_mode`` of a SavedModel or a run, and its config.

    A SavedModel (or a run's ``saved_model/``) gives its own signature; a run folder with
    checkpoints only gives the same function of
    :class:`~pix2pix_tf.run.export.GeneratorModule`, built from its newest checkpoint's
    inference generator (G's weight average when the run keeps one) in the run's inference
    mode, as ``evaluate`` uses it.

    Returns:
        ``(translate, config dict)``: ``translate`` maps uint8 (batch, H, W, C_in) to uint8
        (batch, H, W, C_out).

    Raises:
        ModelError: neither a SavedModel folder nor a run folder, or a damaged one (named).
        RunDirError, ConfigError: a run folder whose files are damaged (named).
        Pix2PixError: a SavedModel without the size mode's signature.
    """
    try:
        kind, path = resolve_model(model_path)
    except ModelError:
        raise ModelError(f"{model_path}: not a SavedModel folder (no saved_model.pb) nor a run "
                         "folder (config.json and checkpoints/)") from None
    if kind == "run":
        from ..layers import set_inference_mode
        from .export import GeneratorModule

        run = load_run(path)
        mode = run.config.inference_mode
        module = GeneratorModule(set_inference_mode(run.inference_generator, mode), run.config, mode)
        function = getattr(module, SIGNATURES[size_mode])
        return (lambda images: function(images=images)["output"]), {**run.config.to_dict(),
                                                                    "inference_mode": mode}
    model, config = load_saved_model(path, signatures=("translate_uint8",))
    if SIGNATURES[size_mode] not in model.signatures:
        raise Pix2PixError(f"{model_path}: SavedModel has no '{SIGNATURES[size_mode]}' signature "
                           "(exported by an older pix2pix-tf); re-export it with `pix2pix-tf "
                           "export` or use the 'resize' size mode")
    signature = model.signatures[SIGNATURES[size_mode]]
    # the default argument keeps the loaded object (and its variables) alive with the function
    return (lambda images, _model=model: signature(images=images)["output"]), config


def broken_links(folder: Path) -> dict[Path, str]:
    """The image-named symbolic links in ``folder`` that lead to no file: ``{link: why}``.

    :func:`~pix2pix_tf.data.list_images` leaves them out (they are not files); predict
    lists them with the other inputs it could not read, saying why.
    """
    broken = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_symlink():
            continue
        try:
            os.stat(path)
        except OSError as e:
            broken[path] = f"{path}: {link_problem(path, e)}"
    return broken


def link_problem(path: Path, error: OSError) -> str:
    """Why following the link ``path`` failed with ``error``: a loop, a missing target, or else."""
    if error.errno == errno.ELOOP:
        return "link loop (following it comes back to a link on the way, never to a file)"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        try:
            target = os.readlink(path)
        except OSError:  # pragma: no cover - it was a link a moment ago
            target = "?"
        return f"dangling link (its target {target} does not exist)"
    return f"cannot be read ({error.strerror or error})"


def predict_files(model_path: str | Path, input_path: str | Path, out_dir: str | Path,
                  aligned: bool = False, side_by_side: bool = False, verbose: int = 1,
                  size_mode: str = "resize", overwrite: bool = False) -> dict:
    """Translate one image or every image of a folder; write files with the same names.

    Args:
        model_path: SavedModel folder or run folder.
        input_path: an image file or a folder of images (any size).
        out_dir: output folder (created): missing, empty, or (with ``overwrite``) one an
            earlier predict_files wrote; never the input folder. It gets a
            ``.pix2pix-tf.json`` manifest; each file is written to a temporary name and
            renamed into place, and on a failure the files this call created are removed.
        aligned: inputs are A|B files: take the input half given by the model's direction.
        side_by_side: write input | output instead of the output alone (RGB; a grayscale
            output is repeated on 3 channels there).
        size_mode: "resize" (to the training size and back) or "native" (the image's own
            resolution, padded to the generator's stride); see the module docstring.
        overwrite: replace the files an earlier predict_files wrote in ``out_dir`` (and
            remove its stale ones); files it did not write are never touched.

    Returns:
        {"written": [...paths], "skipped": {path: reason}}. Inputs that cannot be translated
        are skipped and reported (unreadable or corrupt files, dangling or looping links,
        images too large to decode here, A|B files too narrow to split), the others are
        still written. Outputs have the input's height and width as viewers show it (EXIF
        orientation applied) and ``output_channels`` channels.

    Raises:
        Pix2PixError: unknown size mode, a SavedModel without the size mode's signature.
        ModelError: not a SavedModel folder nor a run folder, or a damaged one (see
            :func:`load_translator`).
        DataError: input missing or not an image, output folder = input folder; or no input
            could be translated (the only one's reason, or the first of several): then
            nothing is left written.
        NameCollision: two inputs would be written to one name (``x.png`` and ``X.png``).
        WriteError: the output folder is unusable or not ours (see :func:`check_output`),
            an output name is taken by a file pix2pix-tf did not write, or a file cannot
            be written (disk full, read-only).

    Example:
        >>> predict_files("runs/facades", "photos/", "out/", size_mode="native",
        ...               verbose=0)  # doctest: +SKIP
        {'written': ['out/a.jpg'], 'skipped': {}}
    """
    if size_mode not in SIZE_MODES:
        raise Pix2PixError(f"unknown size mode {size_mode!r}; choose one of {', '.join(SIZE_MODES)}")
    output = check_output(input_path, out_dir, overwrite)
    translate, cfg = load_translator(model_path, size_mode)
    input_path, out_dir = Path(input_path), Path(out_dir)
    skipped = {}
    if input_path.is_dir():
        skipped = {str(link): why for link, why in broken_links(input_path).items()}
        try:
            files = list_images(input_path)
        except DataError:
            if not skipped:
                raise
            files = []  # only broken links: refused below, naming the first
    elif input_path.is_file():
        if input_path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DataError(f"{input_path}: not a .jpg/.jpeg/.png file")
        files = [input_path]
    elif input_path.is_symlink():
        try:
            os.stat(input_path)
        except OSError as e:
            raise DataError(f"{input_path}: {link_problem(input_path, e)}") from None
        raise DataError(f"{input_path}: not a file or folder")  # pragma: no cover - a special file
    else:
        raise DataError(f"{input_path}: no such file or folder")
    if not files:
        _refuse_all(input_path, skipped)
    output.plan({path.name: path.name for path in files})  # same name, same format

    written = []
    bar = keras.utils.Progbar(len(files), verbose=verbose, unit_name="image")
    output.open()
    try:
        for i, path in enumerate(files):
            try:
                encoded = _translate_file(path, translate, cfg, aligned, side_by_side)
            except DataError as e:
                skipped[str(path)] = str(e)
            else:
                written.append(str(output.write(path.name, encoded)))  # WriteError: stop
            bar.update(i + 1)
        skipped = dict(sorted(skipped.items()))  # broken links among the others, by name
        if not written:
            _refuse_all(input_path, skipped)
        output.finish()
    except BaseException:
        output.abort()  # the files this call created; nothing half-written is left
        raise
    return {"written": written, "skipped": skipped}


def _translate_file(path: Path, translate: Callable, cfg: dict, aligned: bool,
                    side_by_side: bool) -> bytes:
    """One input file -> the encoded output (PNG or JPEG by the input's suffix).

    Raises:
        DataError: naming the file: unreadable, too large to decode here, too narrow to split
            into A|B, or more than this machine's memory to translate.
    """
    img = read_image(path, channels=3)  # (H, W, 3) uint8, as viewers show it
    if aligned:
        h, w = img.shape[:2]
        if w < 2:
            raise DataError(f"{path}: image of {w}x{h} is too narrow to split into A|B halves "
                            "side by side (aligned inputs need a width of at least 2)")
        half = w // 2
        img = img[:, :half] if cfg["direction"] == "AtoB" else img[:, half:2 * half]
    x = tf.image.rgb_to_grayscale(img) if cfg["input_channels"] == 1 else img
    try:
        y = translate(x[None])[0]  # (H, W, C_out) uint8
    except tf.errors.ResourceExhaustedError:
        h, w = img.shape[:2]
        raise DataError(f"{path}: translating its {w}x{h} pixels ran out of memory") from None
    if side_by_side:
        y = tf.concat([img, tf.repeat(y, 3 // y.shape[-1], axis=-1)], axis=1)  # (H, 2W, 3)
    encoded = (tf.io.encode_png(y) if path.suffix.lower() == ".png"
               else tf.io.encode_jpeg(y, quality=95))  # JPEG at quality 95
    return encoded.numpy()


def _refuse_all(input_path: Path, skipped: dict[str, str]) -> None:
    """Raise the one-line refusal of a predict whose every input was skipped."""
    first = next(iter(skipped.values()))
    if len(skipped) == 1:
        raise DataError(first)
    raise DataError(f"{input_path}: none of the {len(skipped)} inputs could be translated; "
                    f"first: {first}")
