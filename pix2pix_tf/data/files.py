"""Files on disk: list the pairs of a split, read an image, check every pair before training.

A dataset folder holds one sub-folder per split. The standard pix2pix datasets store each
pair as ONE image, A on the left half and B on the right half::

    DATA_DIR/train/*.jpg|*.jpeg|*.png
    DATA_DIR/test/...      (or val/)

Pairs kept as two files with the same name are read too, in either of these layouts::

    DATA_DIR/train/A/x.jpg + DATA_DIR/train/B/x.jpg
    DATA_DIR/A/train/x.jpg + DATA_DIR/B/train/x.jpg      (the authors' combine_A_and_B layout)

A pair is ``(aligned file, None)`` or ``(A file, B file)``. Every check raises
:class:`DataError` with a message that names the file and says what is wrong.
"""

from __future__ import annotations

from pathlib import Path


from ..config import Pix2PixError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
TEST_SPLITS = ("test", "val")  # first that exists is used for evaluation

Pair = tuple[Path, "Path | None"]  # (aligned A|B file, None) or (A file, B file)


class DataError(Pix2PixError):
    """A data folder or image file cannot be used; the message names it and says why."""


# ---------------------------------------------------------------------------- folders
def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files (.jpg/.jpeg/.png, any case) directly inside ``folder``.

    Raises:
        DataError: the folder is missing, not a folder, or holds no images.

    Example:
        >>> [p.name for p in list_images("data/facades_synthetic/test")][:2]  # doctest: +SKIP
        ['0000.png', '0001.png']
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        others = sum(1 for p in folder.iterdir())
        entries = f"{others} entry" if others == 1 else f"{others} entries"
        what = f"{entries} but no .jpg/.jpeg/.png images" if others else "empty"
        raise DataError(f"{folder}: {what}")
    return files


def split_dir(data_dir: str | Path, split: str) -> Path:
    """The folder of one split, ``data_dir/split``, with a clear error when the layout is wrong.

    Raises:
        DataError: ``data_dir`` is missing, or has no ``split/`` sub-folder (the message lists
            the sub-folders it has).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found" if not data_dir.exists()
                        else f"{data_dir}: not a folder")
    folder = data_dir / split
    if not folder.is_dir():
        present = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
        raise DataError(f"{data_dir}: no '{split}/' split folder (found: "
                        f"{', '.join(present) if present else 'no sub-folders'}); expected "
                        f"{data_dir}/{split}/*.jpg with A|B images side by side")
    return folder


def find_test_split(data_dir: str | Path) -> str | None:
    """'test' if present (in either layout), else 'val', else None.

    Example:
        >>> find_test_split("data/facades_synthetic")  # doctest: +SKIP
        'test'
    """
    for split in TEST_SPLITS:
        if (Path(data_dir) / split).is_dir() or (Path(data_dir) / "A" / split).is_dir():
            return split
    return None


def _separate_dirs(data_dir: Path, split: str) -> tuple[Path, Path] | None:
    """The (A, B) folders of a split kept in two files per pair, or None for aligned files."""
    for a_dir, b_dir in ((data_dir / split / "A", data_dir / split / "B"),
                         (data_dir / "A" / split, data_dir / "B" / split)):
        if a_dir.is_dir() or b_dir.is_dir():
            if not (a_dir.is_dir() and b_dir.is_dir()):
                missing = b_dir if a_dir.is_dir() else a_dir
                raise DataError(f"{missing}: folder not found; pairs in separate files need both "
                                f"{a_dir} and {b_dir}")
            return a_dir, b_dir
    return None


def list_pairs(data_dir: str | Path, split: str) -> list[Pair]:
    """The pairs of one split: (aligned file, None) or (A file, B file) matched by name.

    Nothing is read; :func:`check_pairs` does that.

    Raises:
        DataError: missing folders, no images, or A and B names that do not match.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        split_dir(data_dir, split)  # raises the "data folder not found" error
    dirs = _separate_dirs(data_dir, split)
    if dirs is None:
        return [(f, None) for f in list_images(split_dir(data_dir, split))]
    a_files = {p.stem: p for p in list_images(dirs[0])}
    b_files = {p.stem: p for p in list_images(dirs[1])}
    only_a, only_b = sorted(a_files.keys() - b_files.keys()), sorted(b_files.keys() - a_files.keys())
    if only_a or only_b:
        def some(names, files, folder):
            return f"{len(names)} only in {folder} (e.g. {', '.join(files[n].name for n in names[:3])})"
        parts = [some(n, f, d) for n, f, d in ((only_a, a_files, dirs[0]), (only_b, b_files, dirs[1])) if n]
        raise DataError(f"A and B file names do not match: {'; '.join(parts)}")
    return [(a_files[k], b_files[k]) for k in sorted(a_files)]
