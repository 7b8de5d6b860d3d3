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
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from ..config import Pix2PixError
from ..data import DataError, IMAGE_EXTENSIONS, list_images, read_image
from ..outputs import OutputFolder
from .folder import load_saved_model

OUTPUT_KIND = "predictions"  # the manifest kind of a folder written by predict_files
SIZE_MODES = ("resize", "native")
SIGNATURES = {"resize": "translate_uint8", "native": "translate_uint8_native"}


def check_output(input_path: str | Path, out_dir: str | Path, overwrite: bool = False) -> OutputFolder:
    """Refuse an output folder before any work: it is the input folder, unusable or not ours.

    Needs no model and no TensorFlow work, so the CLI runs it first.

    Returns:
        The checked :class:`~pix2pix_tf.outputs.OutputFolder` (nothing written yet).

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
        {"written": [...paths], "skipped": {path: reason}}. Unreadable files are skipped and
        reported, the others are still written. Outputs have the input's height and width
        and ``output_channels`` channels.

    Raises:
        Pix2PixError: unknown size mode, a SavedModel without the size mode's signature.
        ModelError: not a SavedModel folder nor a run folder with ``saved_model/``, or a
            damaged one (see :func:`pix2pix_tf.run.folder.load_saved_model`).
        DataError: input missing or not an image, output folder = input folder.
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
    model, cfg = load_saved_model(model_path, signatures=("translate_uint8",))
    if SIGNATURES[size_mode] not in model.signatures:
        raise Pix2PixError(f"{model_path}: SavedModel has no '{SIGNATURES[size_mode]}' signature "
                           "(exported by an older pix2pix-tf); re-export it with `pix2pix-tf "
                           "export` or use the 'resize' size mode")
    translate = model.signatures[SIGNATURES[size_mode]]
    input_path, out_dir = Path(input_path), Path(out_dir)
    if input_path.is_dir():
        files = list_images(input_path)
    elif input_path.is_file():
        if input_path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DataError(f"{input_path}: not a .jpg/.jpeg/.png file")
        files = [input_path]
    else:
        raise DataError(f"{input_path}: no such file or folder")
    output.plan({path.name: path.name for path in files})  # same name, same format

    written, skipped = [], {}
    bar = keras.utils.Progbar(len(files), verbose=verbose, unit_name="image")
    output.open()
    try:
        for i, path in enumerate(files):
            try:
                img = read_image(path, channels=3)  # (H, W, 3) uint8
                if aligned:
                    half = img.shape[1] // 2
                    img = img[:, :half] if cfg["direction"] == "AtoB" else img[:, half:2 * half]
                x = tf.image.rgb_to_grayscale(img) if cfg["input_channels"] == 1 else img
                y = translate(images=x[None])["output"][0]  # (H, W, C_out) uint8
                if side_by_side:
                    y = tf.concat([img, tf.repeat(y, 3 // y.shape[-1], axis=-1)], axis=1)  # (H, 2W, 3)
                encoded = (tf.io.encode_png(y) if path.suffix.lower() == ".png"
                           else tf.io.encode_jpeg(y, quality=95))  # JPEG at quality 95
            except DataError as e:
                skipped[str(path)] = str(e)
            else:
                written.append(str(output.write(path.name, encoded.numpy())))  # WriteError: stop
            bar.update(i + 1)
        output.finish()
    except BaseException:
        output.abort()  # the files this call created; nothing half-written is left
        raise
    return {"written": written, "skipped": skipped}
