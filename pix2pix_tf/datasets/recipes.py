"""Recipes: turn any folder of photos into a paired A|B dataset by degrading each photo.

Most people have photos but no pairs. A *recipe* makes the pairs: ``B`` is the photo and
``A`` is a degraded version of it, so a pix2pix model trained AtoB learns to undo the
degradation. Five tasks are built in (:data:`~pix2pix_tf.datasets.recipe_options.TASKS`;
what each does: :mod:`pix2pix_tf.datasets.degradations`).

:func:`make_pairs` writes ``out_dir/{train,val,test}/NAME.jpg`` aligned A|B files (A on the
left) that :func:`pix2pix_tf.data.make_dataset` reads as is::

    make_pairs("inpaint", "my_photos", "data/my_inpaint", size=256, mask="strokes")

The same degradations run on the fly in a ``tf.data`` pipeline
(:func:`~pix2pix_tf.datasets.degradations.degradation_map`). Options of each task, with
their defaults, are in :data:`~pix2pix_tf.datasets.recipe_options.DEFAULT_OPTIONS` (help
texts in :data:`~pix2pix_tf.datasets.recipe_options.OPTION_HELP`, checks in
:func:`~pix2pix_tf.datasets.recipe_options.resolve_options`), so a CLI can expose them.
This module is the dataset writer: the split of each file, its seed, the output names,
threads, and the output folder written all or nothing.
"""

from __future__ import annotations

import math
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from ..data import IMAGE_EXTENSIONS, DataError, list_images, read_image
from ..host.output_folder import NameCollision, OutputFolder, describe_collisions, find_collisions
from ..host.memory import check_data_memory, square_images_memory_bytes
from ..host.manifests import folder_kind
from .degradations import _check_mode, _check_size, degrade, prepare_photo
from .recipe_options import RecipeError, resolve_options

__all__ = ["SPLITS", "assign_splits", "make_pairs"]

SPLITS = ("train", "val", "test")
OUTPUT_KIND = "pairs-dataset"  # the manifest kind of a folder written by make_pairs


# ----------------------------------------------------------------------- datasets
def assign_splits(n: int, val_fraction: float, test_fraction: float, seed: int) -> list[str]:
    """The split ("train"/"val"/"test") of each of ``n`` sorted files, from a seeded permutation.

    Split sizes are the rounded fractions of ``n``; a split with a non-zero fraction gets at
    least one file when n >= 3, and train always keeps at least one.
    """
    def rounded(x: float) -> int:
        return int(math.floor(x + 0.5))

    n_val, n_test = rounded(n * val_fraction), rounded(n * test_fraction)
    if n >= 3:
        n_val = max(n_val, 1 if val_fraction > 0 else 0)
        n_test = max(n_test, 1 if test_fraction > 0 else 0)
    while n - n_val - n_test < 1 and n_val + n_test > 0:  # keep one for training
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    order = np.random.default_rng(seed).permutation(n)
    splits = ["train"] * n
    for rank, i in enumerate(order):
        splits[i] = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
    return splits


def _file_seed(seed: int, name: str) -> np.ndarray:
    """Per-file seed from the recipe seed and the file name (stable when files are added)."""
    return np.array([seed, zlib.crc32(name.encode("utf-8"))], dtype=np.int64)


def _out_names(files: list[Path]) -> list[str]:
    """Output file names: NAME.jpg, or NAME_ext.jpg where two sources share a stem.

    Raises:
        NameCollision: two sources still get one name, compared ignoring case (``a.png`` +
            ``a.jpg`` + ``a_png.jpg``; ``b.jpg`` + ``b.JPG``; ``C.png`` + ``c.png``); the
            message lists them. Nothing is renamed silently: a pair would be lost.
    """
    stems = [f.stem for f in files]
    names = [f"{f.stem}.jpg" if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix[1:].lower()}.jpg"
             for f in files]
    collisions = find_collisions({f.name: name for f, name in zip(files, names)})
    if collisions:
        raise NameCollision(f"{files[0].parent}: {len(collisions)} output name collision(s): "
                            f"{describe_collisions(collisions)}; rename one of each")
    return names


def _decode_photo(path: Path) -> tf.Tensor:
    """Read one source photo as (H, W, 3) uint8, or raise DataError saying why not."""
    return read_image(path, channels=3)


def _pair_encoder(task: str, size: int, mode: str, jpeg_quality: int, opts: dict) -> Callable:
    """A tf.function (photo uint8 (H, W, 3), seed (2,)) -> JPEG bytes of the A|B pair."""
    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8),
                                  tf.TensorSpec((2,), tf.int64)])
    def encode(photo, seed):
        b = tf.round(prepare_photo(photo, size, mode))  # (size, size, 3) integral, as stored
        a = degrade(task, b, seed, **opts)  # (size, size, 3 or 1)
        if a.shape[-1] == 1:
            a = tf.tile(a, [1, 1, 3])
        ab = tf.concat([a, b], axis=1)  # (size, 2 * size, 3): A left, B right
        ab = tf.cast(tf.round(tf.clip_by_value(ab, 0.0, 255.0)), tf.uint8)
        # full-resolution chroma: 4:2:0 subsampling would bleed B's colour into A's last column
        return tf.io.encode_jpeg(ab, quality=jpeg_quality, format="rgb", chroma_downsampling=False)

    return encode


def _existing_pairs(out: Path) -> list[Path]:
    return [p for split in SPLITS if (out / split).is_dir() for p in (out / split).iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]


def make_pairs(task: str, src_dir, out_dir, size: int = 256, val_fraction: float = 0.1,
               test_fraction: float = 0.1, seed: int = 0, verbose: int = 1,
               mode: str = "center_crop", jpeg_quality: int = 95, overwrite: bool = False,
               workers: int = 8, **options) -> dict:
    """Write a paired dataset made from a folder of photos by degrading each photo.

    Every image directly inside ``src_dir`` becomes ``out_dir/SPLIT/NAME.jpg``: one aligned
    (size, 2 * size, 3) JPEG, A (degraded) left, B (the photo, squared) right. The split of
    each file comes from a seeded permutation of the sorted file list and its randomness
    from ``[seed, crc32(file name)]``, so the same arguments write byte-identical files.
    Unreadable files are skipped, counted and reported, never fatal (unless all are).

    Args:
        task: one of :data:`~pix2pix_tf.datasets.recipe_options.TASKS`.
        src_dir: folder of .jpg/.jpeg/.png photos of any size and aspect.
        out_dir: destination (created); must not already hold pairs unless ``overwrite``.
        size: side of each half, >= 16.
        val_fraction, test_fraction: shares of the photos for val/ and test/ (each in
            [0, 1), summing to < 1); splits with no files are not created.
        seed: recipe seed (splits, holes, noise).
        verbose: 1 shows a keras Progbar, 0 is silent.
        mode: :func:`~pix2pix_tf.datasets.degradations.prepare_photo` mode,
            ``"center_crop"`` or ``"resize"``.
        jpeg_quality: quality of the written files (1..100).
        overwrite: replace a dataset an earlier make_pairs wrote in out_dir (its stale
            pairs are removed; files it did not write are never touched).
        workers: threads decoding and encoding in parallel (the output does not depend on it).
        **options: the task's options, see :data:`~pix2pix_tf.datasets.recipe_options.DEFAULT_OPTIONS`.

    Returns:
        ``{"train": n, "val": n, "test": n, "skipped": [{"file", "reason"}], "seconds": s,
        "task", "options", "size", "seed", "out_dir"}``.

    Every file goes to a temporary name and is renamed into place; ``out_dir`` gets a
    ``.pix2pix-tf.json`` manifest of what was written (:class:`pix2pix_tf.host.output_folder.OutputFolder`).
    A failure (full disk, no readable photo) removes the files and folders this call created.

    Raises:
        RecipeError: unknown task or bad options/arguments.
        ResourceError: pairs of ``size`` would not fit in this machine's memory
            (:func:`pix2pix_tf.host.memory.check_data_memory`), refused before anything is read.
        DataError: src_dir missing or without images, out_dir already holds pairs (without
            ``overwrite``), or no readable photo (one too large to decode here is skipped).
        NameCollision: two photos would get the same output name (listed).
        WriteError: out_dir unusable or holding files pix2pix-tf did not write, or a file
            cannot be written (disk full, read-only).
    """
    start = time.perf_counter()
    opts = resolve_options(task, **options)
    size = _check_size(size)
    check_data_memory(square_images_memory_bytes(size, workers), f"size = {size}: making pairs "
                      f"of {size}x{size} images")
    _check_mode(mode)
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise RecipeError(f"{name} = {frac!r}: must be a number in [0, 1)")
    if val_fraction + test_fraction >= 1:
        raise RecipeError(f"val_fraction + test_fraction = {val_fraction + test_fraction:g}: must be "
                          "< 1 so that some photos are left for training")
    if not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise RecipeError(f"jpeg_quality = {jpeg_quality!r}: must be an integer in 1..100")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2 ** 32:
        raise RecipeError(f"seed = {seed!r}: must be an integer in 0..{2 ** 32 - 1}")

    src, out = Path(src_dir), Path(out_dir)
    files = list_images(src)  # DataError: missing folder / no images
    if any(src.resolve() == p.resolve() for p in (out, *(out / s for s in SPLITS))):
        raise DataError(f"{out}: is the source folder {src} (or one of its splits); choose another "
                        "output folder")
    if folder_kind(out) == OUTPUT_KIND and not overwrite:
        existing = _existing_pairs(out)
        raise DataError(f"{out}: already holds {len(existing)} image(s) in "
                        f"{'/'.join(SPLITS)}/; use an empty folder or --overwrite (overwrite=True)")
    target = OutputFolder(out, OUTPUT_KIND, overwrite=overwrite).check()  # foreign folder: refused

    splits = assign_splits(len(files), val_fraction, test_fraction, int(seed))
    names = _out_names(files)  # NameCollision
    target.plan({f"{split}/{name}": str(f) for f, split, name in zip(files, splits, names)})
    encode = _pair_encoder(task, size, mode, jpeg_quality, opts).get_concrete_function()  # trace once, here

    def work(i: int) -> str | None:
        try:
            photo = _decode_photo(files[i])
        except DataError as e:
            return str(e)
        jpeg = encode(photo, tf.constant(_file_seed(int(seed), files[i].name)))
        target.write(f"{splits[i]}/{names[i]}", jpeg.numpy())  # WriteError names the file
        return None

    counts = dict.fromkeys(SPLITS, 0)
    skipped = []
    bar = keras.utils.Progbar(len(files), verbose=1 if verbose else 0, unit_name="photo")
    target.open()
    pool = ThreadPoolExecutor(max_workers=max(1, int(workers)))
    try:
        for i, problem in enumerate(pool.map(work, range(len(files)))):
            if problem:
                skipped.append({"file": str(files[i]), "reason": problem})
            else:
                counts[splits[i]] += 1
            bar.update(i + 1, finalize=i + 1 == len(files))
        if not any(counts.values()):
            raise DataError(f"{src}: none of the {len(files)} images is readable; first: "
                            f"{skipped[0]['reason']}")
        target.finish()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # no write may land after the clean-up
        target.abort()
        raise
    finally:
        pool.shutdown(wait=True)
    if verbose and skipped:
        print(f"skipped {len(skipped)} unreadable file(s); first: {skipped[0]['reason']}")
    return {**counts, "skipped": skipped, "seconds": time.perf_counter() - start, "task": task,
            "options": opts, "size": size, "seed": int(seed), "out_dir": str(out)}
