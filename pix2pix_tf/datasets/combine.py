"""Pair two folders of images into the aligned A|B files the trainer reads.

Your own paired data usually comes as two folders with one file per image and the same
names in both (``A/0001.png`` + ``B/0001.jpg``). :func:`combine_folders` writes one
aligned file per pair, A on the left half and B on the right, the layout of the standard
datasets (the reference implementation's ``datasets/combine_A_and_B.py``)::

    A_DIR/x.png + B_DIR/x.jpg              ->  OUT/x.png           (A | B)
    A_DIR/train/x.png + B_DIR/train/x.jpg  ->  OUT/train/x.png     (splits mirrored)

Files are matched on their name without the extension (.jpg, .jpeg or .png, any case).
Where A and B differ in size, B is resized to A's size, since A is the input the model
sees at test time (``size`` resizes both to a square instead). Grayscale, RGBA and 16-bit
inputs are converted to 8-bit RGB (alpha is dropped).

Example:
    >>> combine_folders("photos", "labels", "data/mine/train")   # doctest: +SKIP
    {'pairs': 120, 'splits': {}, 'resized': 0, 'format': 'keep', ...}
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tensorflow as tf

from ..config import RESIZE_METHODS
from ..data import DataError, list_images, read_image
from ..host.output_folder import OutputFolder
from ..host.memory import check_data_memory, square_images_memory_bytes
from .standard import SPLITS

FORMATS = ("jpg", "png")
OUTPUT_KIND = "combined-dataset"  # the manifest kind of a folder written by combine_folders
_SHOW = 3  # file names listed in an error message


def _some(names: list[str]) -> str:
    """'a.jpg, b.jpg, c.jpg and 4 more'."""
    more = f" and {len(names) - _SHOW} more" if len(names) > _SHOW else ""
    return ", ".join(names[:_SHOW]) + more


def _by_stem(folder: Path) -> dict[str, Path]:
    """``{stem: file}`` of the images directly in ``folder``; DataError if empty or ambiguous."""
    files: dict[str, Path] = {}
    for path in list_images(folder):  # DataError: missing, empty or no images
        if path.stem in files:
            raise DataError(f"{folder}: {files[path.stem].name} and {path.name} have the same name; "
                            "keep one image per name")
        files[path.stem] = path
    return files


def match_pairs(a_dir: str | Path, b_dir: str | Path) -> list[tuple[Path, Path]]:
    """The (A file, B file) pairs of two folders, matched on file name without extension.

    Raises:
        DataError: a folder is missing or holds no images, holds two images with one
            name, or names found only in A or only in B (counted, with a few listed).

    Example:
        >>> match_pairs("A/train", "B/train")   # doctest: +SKIP
        [(PosixPath('A/train/1.png'), PosixPath('B/train/1.jpg')), ...]
    """
    a_files, b_files = _by_stem(Path(a_dir)), _by_stem(Path(b_dir))
    only_a = sorted(a_files.keys() - b_files.keys())
    only_b = sorted(b_files.keys() - a_files.keys())
    if only_a or only_b:
        parts = [f"{len(only)} only in {folder} ({_some([files[s].name for s in only])})"
                 for only, files, folder in ((only_a, a_files, a_dir), (only_b, b_files, b_dir)) if only]
        raise DataError(f"A and B file names do not match: {'; '.join(parts)}")
    return [(a_files[s], b_files[s]) for s in sorted(a_files)]


def _groups(a_root: Path, b_root: Path, out: Path) -> list[tuple[Path, Path, Path, str | None]]:
    """(A folder, B folder, output folder, split) for each split, or one for flat folders."""
    a_splits = [s for s in SPLITS if (a_root / s).is_dir()]
    b_splits = [s for s in SPLITS if (b_root / s).is_dir()]
    if a_splits != b_splits:
        def has(root, splits):
            return f"{root} has {'/, '.join(splits) + '/' if splits else 'no split folders'}"
        raise DataError(f"A and B split folders differ: {has(a_root, a_splits)} but {has(b_root, b_splits)}")
    if not a_splits:
        return [(a_root, b_root, out, None)]
    return [(a_root / s, b_root / s, out / s, s) for s in a_splits]


def _resize(image: tf.Tensor, height: int, width: int, method: str) -> tf.Tensor:
    """uint8 (H, W, 3) -> uint8 (height, width, 3), antialiased when shrinking."""
    resized = tf.image.resize(tf.cast(image, tf.float32), (height, width), method=method,
                              antialias=method != "nearest")
    return tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8)  # bicubic overshoots


def _encode(image: tf.Tensor, suffix: str, jpeg_quality: int) -> bytes:
    if suffix == ".png":
        return tf.io.encode_png(image).numpy()
    # full-resolution chroma: 4:2:0 subsampling would bleed B's colour into A's last column
    return tf.io.encode_jpeg(image, quality=jpeg_quality, format="rgb", chroma_downsampling=False).numpy()


def combine_pair(a_path: Path, b_path: Path, size: int | None = None,
                 resize_method: str = "bicubic") -> tuple[tf.Tensor, bool]:
    """Read one A file and one B file and put them side by side.

    Args:
        a_path, b_path: image files (.jpg/.jpeg/.png; gray, RGB, RGBA, 8 or 16 bit).
        size: resize both to (size, size); None keeps A's size and resizes B to it.
        resize_method: one of :data:`pix2pix_tf.config.RESIZE_METHODS`.

    Returns:
        (uint8 (H, 2W, 3) tensor with A left and B right, whether B was resized to A's size).

    Raises:
        DataError: naming the file that cannot be read.
    """
    a, b = read_image(a_path, channels=3), read_image(b_path, channels=3)  # (H, W, 3) uint8 each
    if size:
        a, b = _resize(a, size, size, resize_method), _resize(b, size, size, resize_method)
    (ha, wa), (hb, wb) = a.shape[:2], b.shape[:2]
    resized = not size and (ha, wa) != (hb, wb)
    if resized:
        b = _resize(b, ha, wa, resize_method)
    return tf.concat([a, b], axis=1), resized  # (H, 2W, 3)


def _prepare_out(groups, out: Path, overwrite: bool) -> OutputFolder:
    """Check ``out`` before anything is written: not an input folder, empty or ours.

    Raises:
        DataError: an output folder is also an input folder.
        WriteError: ``out`` is unusable, holds files pix2pix-tf did not write, or holds an
            earlier combine without ``overwrite``.
    """
    for a_folder, b_folder, out_folder, _ in groups:
        if out_folder.resolve() in (a_folder.resolve(), b_folder.resolve()) \
                or out.resolve() in (a_folder.resolve(), b_folder.resolve()):
            raise DataError(f"{out_folder}: is also an input folder; writing there would "
                            "overwrite its images")
    return OutputFolder(out, OUTPUT_KIND, overwrite=overwrite).check()


def combine_folders(a_dir: str | Path, b_dir: str | Path, out_dir: str | Path, size: int | None = None,
                    image_format: str | None = None, jpeg_quality: int = 95,
                    resize_method: str = "bicubic", overwrite: bool = False, workers: int = 8) -> dict:
    """Write aligned A|B images from two folders of images with matching names.

    Args:
        a_dir: folder of A images (the model's input with ``direction="AtoB"``), or a folder
            holding ``train/``, ``val/``, ``test/`` sub-folders of them.
        b_dir: the same for B, with the same file names (extensions may differ) and, if
            ``a_dir`` has split folders, the same split folders.
        out_dir: where the pairs go: ``out_dir/NAME.EXT``, or ``out_dir/SPLIT/NAME.EXT`` with
            split folders. Must be empty or missing, or (with ``overwrite``) written by an
            earlier combine_folders. It gets a ``.pix2pix-tf.json`` manifest of the files
            written; every file goes to a temporary name and is renamed into place.
        size: resize A and B to (size, size); None (default) keeps A's size and resizes B
            to it where they differ.
        image_format: "jpg" or "png"; None keeps each A file's extension (.jpg/.jpeg ->
            JPEG, .png -> PNG).
        jpeg_quality: JPEG quality (1..100), 4:4:4 chroma so A and B do not bleed into
            each other.
        resize_method: one of :data:`pix2pix_tf.config.RESIZE_METHODS` ("nearest" keeps
            label colours exact).
        overwrite: replace the pairs an earlier combine_folders wrote in ``out_dir`` (its
            stale files are removed; files it did not write are never touched).
        workers: threads reading and writing in parallel.

    Returns:
        ``{"pairs": n, "splits": {split: n} (empty for flat folders), "resized": n of B
        files resized to their A's size, "format", "out_dir", "seconds"}``.

    Raises:
        DataError: naming the folders or files: missing or empty folders, names only in A
            or only in B, differing split folders, unreadable images (nothing is left
            written then), an output folder that is an input folder, or bad arguments.
        ResourceError: images of ``size`` would not fit in this machine's memory
            (:func:`pix2pix_tf.host.memory.check_data_memory`); an A or B image too large to
            decode here is an unreadable image (DataError, named with its size).
        NameCollision: two A files map to one output name (``x.png`` and ``X.png``).
        WriteError: ``out_dir`` unusable or not ours (see above), or a file cannot be
            written (disk full: the files this call created are removed again).

    Example:
        >>> info = combine_folders("A", "B", "data/mine", image_format="png")  # doctest: +SKIP
        >>> info["splits"]  # doctest: +SKIP
        {'train': 300, 'test': 30}
    """
    start = time.perf_counter()
    if image_format is not None and image_format not in FORMATS:
        raise DataError(f"image_format={image_format!r}: use one of {', '.join(FORMATS)} or None")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise DataError(f"size={size!r}: must be a positive integer or None")
    if size is not None:  # before anything is read or written
        check_data_memory(square_images_memory_bytes(size, workers), f"size={size}: combining "
                          f"images resized to {size}x{size}")
    if not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise DataError(f"jpeg_quality={jpeg_quality!r}: must be an integer in 1..100")
    if resize_method not in RESIZE_METHODS:
        raise DataError(f"resize_method={resize_method!r}: use one of {', '.join(RESIZE_METHODS)}")
    a_root, b_root, out = Path(a_dir), Path(b_dir), Path(out_dir)
    for root, which in ((a_root, "A"), (b_root, "B")):
        if not root.is_dir():
            problem = "is not a folder" if root.exists() else "not found"
            raise DataError(f"{root}: {which} folder {problem}")

    groups = _groups(a_root, b_root, out)
    jobs = [(a, b, out_folder / (a.stem + (f".{image_format}" if image_format else a.suffix)), split)
            for a_folder, b_folder, out_folder, split in groups
            for a, b in match_pairs(a_folder, b_folder)]  # every name checked before writing
    target = _prepare_out(groups, out, overwrite)
    target.plan({job[2].relative_to(out).as_posix(): f"{job[0]}" for job in jobs},
                folders=tuple(split for *_, split in groups if split))

    def work(job) -> tuple[bool, str | None]:
        a, b, path, _ = job
        try:
            ab, resized = combine_pair(a, b, size, resize_method)
        except DataError as e:
            return False, str(e)
        target.write(path.relative_to(out).as_posix(), _encode(ab, path.suffix.lower(), jpeg_quality))
        return resized, None

    target.open()
    pool = ThreadPoolExecutor(max_workers=max(1, int(workers)))
    try:
        results = list(pool.map(work, jobs))
        bad = [why for _, why in results if why]
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise DataError(f"{len(bad)} of {len(jobs)} pairs have an unreadable image, nothing "
                            f"written; first: {bad[0]}{more}")
        target.finish()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # no write may land after the clean-up
        target.abort()  # the files and folders this call created
        raise
    finally:
        pool.shutdown(wait=True)
    splits = {split: sum(1 for job in jobs if job[3] == split) for _, _, _, split in groups if split}
    return {"pairs": len(jobs), "splits": splits, "resized": sum(r for r, _ in results),
            "format": image_format or "keep", "out_dir": str(out),
            "seconds": round(time.perf_counter() - start, 3)}
