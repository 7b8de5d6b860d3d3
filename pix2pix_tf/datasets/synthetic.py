"""Synthetic facades: a procedural, deterministic paired dataset for Pix2Pix.

Pix2Pix (Isola et al. 2017) is usually demonstrated on the CMP "facades"
dataset: ``A`` is a colour-coded semantic label map of a building front and
``B`` is the matching photograph. Downloading that dataset is not always
possible (offline machines, CI, licensing questions in teaching material), so
this module draws an imitation of it from scratch with numpy.

Every sample is generated from an integer seed. The seed fixes a random
layout -- a sky band, an optional roof, a cornice line under the roof, a wall
with a regular grid of windows, some balconies, cornices between floors and
one or two doors on the ground floor -- and that single layout is rendered
twice:

* the **label map** ``A`` paints every class in one flat colour taken from
  :data:`~pix2pix_tf.datasets.synthetic_layout.LABEL_COLORS`;
* the **photo** ``B`` renders the same geometry photo-like: a sky gradient,
  brick or stucco wall texture with lighting, framed dark glass windows with
  reflections and mullions, wooden doors, railings with shadows, lighter
  cornices with a shadow line, and a little sensor noise.

The photo is a function of the labels up to per-building texture and colour
choices, which is exactly the one-to-many "labels -> photo" mapping Pix2Pix
learns. Files are written in the aligned pix2pix layout (``A`` on the left,
``B`` on the right in one image) by :func:`write_sample`, so any loader that
reads the original ``facades`` folders can read these too.

No third-party images, no PIL/cv2/scipy: numpy does the drawing and
TensorFlow is only used (lazily) to encode JPEG/PNG files.

The module is in three parts: :mod:`pix2pix_tf.datasets.synthetic_layout` (the classes,
their colours, a layout and its label map), :mod:`pix2pix_tf.datasets.synthetic_photo`
(the photo rendering), and this one, the public face: :func:`render_facade`,
:func:`make_pair` and :func:`write_sample`.
"""

from __future__ import annotations

import numpy as np

from ..config import Pix2PixError
from .synthetic_layout import _PALETTE, _class_map, _sample_layout
from .synthetic_photo import _render_photo

__all__ = ["render_facade", "make_pair", "write_sample", "SampleError", "MIN_SIZE", "OUTPUT_KIND"]

MIN_SIZE = 16  # smallest side write_sample draws (and the step of its sizes)
OUTPUT_KIND = "sample-dataset"  # the manifest kind of a folder written by write_sample


class SampleError(Pix2PixError):
    """An argument of :func:`write_sample` is out of range (a ValueError; the CLI exits 2)."""


_IMAGE_FORMATS = {"jpg": "jpg", "jpeg": "jpg", "png": "png"}


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def render_facade(seed: int, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Render one random facade as a (label map, photo) pair.

    Args:
        seed: integer seed; the same seed always gives the same pair.
        size: side of the square images in pixels (at least 16).

    Returns:
        ``(labels, photo)``, both uint8 arrays of shape (size, size, 3). The
        label map only contains colours from
        :data:`~pix2pix_tf.datasets.synthetic_layout.LABEL_COLORS`.
    """
    size = int(size)
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    rng = np.random.default_rng(seed)
    layout = _sample_layout(rng, size)
    cls = _class_map(layout)
    labels = _PALETTE[cls]
    photo = _render_photo(rng, layout, cls)
    return labels, photo


def make_pair(seed: int, size: int = 256) -> np.ndarray:
    """Render one facade in the aligned pix2pix format (A | B side by side).

    Args:
        seed: integer seed.
        size: side of each half in pixels.

    Returns:
        uint8 array (size, 2 * size, 3): label map A on the left, photo B on the right.
    """
    labels, photo = render_facade(seed, size)
    return np.concatenate([labels, photo], axis=1)


def _image_seed(seed: int, split: str, index: int) -> int:
    """Derive a per-image seed from the dataset seed, the split and the index."""
    split_id = {"train": 0, "test": 1}[split]
    state = np.random.SeedSequence([int(seed), split_id, int(index)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def _encode(image: np.ndarray, fmt: str, quality: int) -> bytes:
    """Encode a uint8 RGB image to JPEG or PNG bytes with TensorFlow."""
    import tensorflow as tf  # lazy: rendering alone does not need TensorFlow

    if fmt == "png":
        return tf.io.encode_png(image).numpy()
    return tf.io.encode_jpeg(image, quality=quality, format="rgb").numpy()


def write_sample(
    out_dir,
    n_train: int = 40,
    n_test: int = 10,
    size: int = 256,
    seed: int = 0,
    image_format: str = "jpg",
    quality: int = 95,
    overwrite: bool = False,
) -> dict:
    """Write a small synthetic facades dataset in the aligned pix2pix layout.

    Files are ``out_dir/train/0000.jpg ...`` and ``out_dir/test/0000.jpg ...``,
    each an A|B image of shape (size, 2 * size, 3); with ``n_test=0`` no ``test/`` folder
    is written (nor kept from an earlier sample replaced with ``overwrite``), so the folder
    trains without a test split. Per-image seeds are derived
    from ``seed``, the split and the index, so train and test never share a
    seed and the same arguments always give byte-identical files.

    Every file is written to a temporary name and renamed into place; each folder gets
    a ``.pix2pix-tf.json`` manifest listing what was written (see
    :class:`pix2pix_tf.host.output_folder.OutputFolder`). On a failure (a full disk) the files and
    folders this call created are removed again.

    Args:
        out_dir: destination folder: missing, empty, or (with ``overwrite``) one written
            by an earlier ``write_sample``.
        n_train: number of training images (>= 1).
        n_test: number of test images (>= 0).
        size: side of each half in pixels; a multiple of 16, at least 16.
        seed: dataset seed, in 0..2**32 - 1.
        image_format: ``"jpg"``/``"jpeg"`` or ``"png"``.
        quality: JPEG quality in [1, 100] (ignored for PNG).
        overwrite: replace the files an earlier ``write_sample`` wrote in ``out_dir``
            (stale ones are removed; files it did not write are never touched).

    Returns:
        ``{"train": n_train, "test": n_test, "size": size, "seed": seed, "out_dir": str(out_dir)}``.

    Raises:
        SampleError: on invalid counts, size, seed, format or quality (a ValueError).
        WriteError: ``out_dir`` is unusable, holds files pix2pix-tf did not write, holds
            an earlier sample without ``overwrite``, or a file cannot be written.
    """
    from ..host.output_folder import OutputFolder

    def integer(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not integer(n_train) or n_train < 1:
        raise SampleError(f"n_train must be an integer >= 1, got {n_train!r}")
    if not integer(n_test) or n_test < 0:
        raise SampleError(f"n_test must be an integer >= 0, got {n_test!r}")
    if not integer(size) or size < MIN_SIZE or size % MIN_SIZE != 0:
        raise SampleError(f"size must be a multiple of {MIN_SIZE} and at least {MIN_SIZE}, got {size!r}")
    if not integer(seed) or not 0 <= seed < 2 ** 32:
        raise SampleError(f"seed must be an integer in 0..{2 ** 32 - 1}, got {seed!r}")
    fmt = _IMAGE_FORMATS.get(str(image_format).lower())
    if fmt is None:
        raise SampleError(f"unknown image_format {image_format!r}; use one of {sorted(_IMAGE_FORMATS)}")
    if not integer(quality) or not 1 <= quality <= 100:
        raise SampleError(f"quality must be in [1, 100], got {quality!r}")

    counts = {"train": int(n_train), "test": int(n_test)}
    files = {f"{split}/{i:04d}.{fmt}": f"{split} image {i}"
             for split, count in counts.items() for i in range(count)}
    out = OutputFolder(out_dir, OUTPUT_KIND, overwrite=overwrite).check()
    # no test/ at all when n_test = 0: an empty split folder is one ``train`` refuses, while
    # a dataset without one trains without a test split
    out.plan(files, folders=tuple(split for split, count in counts.items() if count)).open()
    try:
        for split, count in counts.items():
            for i in range(count):
                pair = make_pair(_image_seed(seed, split, i), int(size))
                out.write(f"{split}/{i:04d}.{fmt}", _encode(pair, fmt, int(quality)))
        out.finish()
    except BaseException:
        out.abort()
        raise
    return {"train": int(n_train), "test": int(n_test), "size": int(size), "seed": seed, "out_dir": str(out_dir)}
