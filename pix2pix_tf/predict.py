"""Translate image files with an exported SavedModel (needs only TensorFlow at serving time)."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from .config import Pix2PixError
from .data import DataError, IMAGE_EXTENSIONS, list_images, read_image
from .export import load_exported_config


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
                  aligned: bool = False, side_by_side: bool = False, verbose: int = 1) -> dict:
    """Translate one image or every image of a folder; write files with the same names.

    Args:
        model_path: SavedModel folder or run folder.
        input_path: an image file or a folder of images (any size).
        out_dir: output folder (created); it must not be the input folder.
        aligned: inputs are A|B files: take the input half given by the model's direction.
        side_by_side: write input | output instead of the output alone.

    Returns:
        {"written": [...paths], "skipped": {path: reason}}. Unreadable files are skipped and
        reported, the others are still written.
    """
    model = load_saved_model(model_path)
    cfg = load_exported_config(model)
    translate = model.signatures["translate_uint8"]
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
            if y.shape[-1] == 1:
                y = tf.repeat(y, 3, axis=-1)
            if side_by_side:
                y = tf.concat([img, y], axis=1)
            target = out_dir / path.name  # same name, same format (JPEG at quality 95)
            encoded = (tf.io.encode_png(y) if path.suffix.lower() == ".png"
                       else tf.io.encode_jpeg(y, quality=95))
            target.write_bytes(encoded.numpy())
            written.append(str(target))
        except DataError as e:
            skipped[str(path)] = str(e)
        bar.update(i + 1)
    return {"written": written, "skipped": skipped}
