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

from .config import Pix2PixError
from .data import DataError, IMAGE_EXTENSIONS, list_images, read_image
from .export import load_exported_config

SIZE_MODES = ("resize", "native")
SIGNATURES = {"resize": "translate_uint8", "native": "translate_uint8_native"}


def load_saved_model(path: str | Path):
    """Load a SavedModel folder, or the ``saved_model/`` of a run folder, with a clear error."""
    path = Path(path)
    if (path / "saved_model" / "saved_model.pb").is_file():
        path = path / "saved_model"
    if not (path / "saved_model.pb").is_file():
        raise Pix2PixError(f"{path}: not a SavedModel folder (no saved_model.pb) nor a run folder")
    model = tf.saved_model.load(str(path))
    if "translate_uint8" not in model.signatures:
        raise Pix2PixError(f"{path}: SavedModel has no 'translate_uint8' signature; export it "
                           "with pix2pix-tf")
    return model


def predict_files(model_path: str | Path, input_path: str | Path, out_dir: str | Path,
                  aligned: bool = False, side_by_side: bool = False, verbose: int = 1,
                  size_mode: str = "resize") -> dict:
    """Translate one image or every image of a folder; write files with the same names.

    Args:
        model_path: SavedModel folder or run folder.
        input_path: an image file or a folder of images (any size).
        out_dir: output folder (created); it must not be the input folder.
        aligned: inputs are A|B files: take the input half given by the model's direction.
        side_by_side: write input | output instead of the output alone (RGB; a grayscale
            output is repeated on 3 channels there).
        size_mode: "resize" (to the training size and back) or "native" (the image's own
            resolution, padded to the generator's stride); see the module docstring.

    Returns:
        {"written": [...paths], "skipped": {path: reason}}. Unreadable files are skipped and
        reported, the others are still written. Outputs have the input's height and width
        and ``output_channels`` channels.

    Example:
        >>> predict_files("runs/facades", "photos/", "out/", size_mode="native", verbose=0)
        {'written': ['out/a.jpg'], 'skipped': {}}
    """
    if size_mode not in SIZE_MODES:
        raise Pix2PixError(f"unknown size mode {size_mode!r}; choose one of {', '.join(SIZE_MODES)}")
    model = load_saved_model(model_path)
    cfg = load_exported_config(model)
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
    if out_dir.resolve() == (input_path if input_path.is_dir() else input_path.parent).resolve():
        raise DataError(f"{out_dir}: output folder is the input folder; the inputs would be overwritten")
    out_dir.mkdir(parents=True, exist_ok=True)

    written, skipped = [], {}
    bar = keras.utils.Progbar(len(files), verbose=verbose, unit_name="image")
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
            target = out_dir / path.name  # same name, same format (JPEG at quality 95)
            encoded = (tf.io.encode_png(y) if path.suffix.lower() == ".png"
                       else tf.io.encode_jpeg(y, quality=95))
            target.write_bytes(encoded.numpy())
            written.append(str(target))
        except DataError as e:
            skipped[str(path)] = str(e)
        bar.update(i + 1)
    return {"written": written, "skipped": skipped}
