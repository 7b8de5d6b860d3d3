"""Download and extract the six standard pix2pix datasets of the paper's authors.

Each dataset is one ``{name}.tar.gz`` at :data:`BASE_URL`, holding ``{name}/train/``,
``{name}/val/`` (and for some ``{name}/test/``) with aligned A|B JPEG images: exactly
the layout :func:`pix2pix_tf.data.make_dataset` reads.

====================  ==========================================  ===========
name                  A -> B                                      train pairs
====================  ==========================================  ===========
``cityscapes``        photo -> semantic labels                    2975
``edges2handbags``    edges -> photo                              138567
``edges2shoes``       edges -> photo                              49825
``facades``           photo -> labels (use ``direction="BtoA"``)  400
``maps``              aerial photo -> map                         1096
``night2day``         night -> day                                17823
====================  ==========================================  ===========

Example:
    >>> data_dir = download("facades", "~/.keras/datasets")   # ~30 MB, once
    >>> ds, n = make_dataset(data_dir, "train", Pix2PixConfig(direction="BtoA"))

Extraction is safe: members with absolute paths, ``..`` components or links pointing
outside the destination are refused, and nothing is written before every member is checked.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import urllib.request
import zlib
from pathlib import Path

from ..config import Pix2PixError

STANDARD_DATASETS = ("cityscapes", "edges2handbags", "edges2shoes", "facades", "maps", "night2day")
BASE_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets"
SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # the same as data.IMAGE_EXTENSIONS; no TensorFlow import here


class DatasetError(Pix2PixError):
    """A standard dataset cannot be downloaded or extracted; the message says why."""


def default_cache_dir() -> Path:
    """``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``), where Keras caches downloads."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def check_name(name: str) -> str:
    """``name`` if it is one of :data:`STANDARD_DATASETS`.

    Raises:
        DatasetError: (a ValueError) naming the six valid names.
    """
    if name not in STANDARD_DATASETS:
        raise DatasetError(f"unknown pix2pix dataset {name!r}; choose one of {', '.join(STANDARD_DATASETS)}")
    return name


def dataset_url(name: str, base_url: str = BASE_URL) -> str:
    """The archive URL of one standard dataset; :class:`DatasetError` for an unknown name."""
    return f"{base_url.rstrip('/')}/{check_name(name)}.tar.gz"


def is_extracted(folder: str | Path) -> bool:
    """True when ``folder`` holds a ``train/`` split folder (an extracted dataset)."""
    return (Path(folder) / "train").is_dir()


def find_splits(folder: str | Path) -> dict[str, Path]:
    """The split folders of an extracted dataset, read from what is there.

    Every sub-folder of ``folder`` directly holding at least one .jpg/.jpeg/.png file is a
    split, named after the folder: ``train``, ``val``, ``test`` first (in that order), then
    any other in sorted order. Folders without images (and hidden ones) are left out.

    Returns:
        ``{split name: folder}``; empty when ``folder`` is missing or holds no split.

    Example:
        >>> find_splits("~/.keras/datasets/facades")   # doctest: +SKIP
        {'train': PosixPath('.../facades/train'), 'val': ..., 'test': ...}
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return {}
    found = {d.name: d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
             and any(f.suffix.lower() in IMAGE_SUFFIXES and f.is_file() for f in d.iterdir())}
    order = [s for s in SPLITS if s in found] + sorted(set(found) - set(SPLITS))
    return {s: found[s] for s in order}


def _check_members(tar: tarfile.TarFile, dest: Path) -> list[tarfile.TarInfo]:
    """Every member, after checking none would be written (or link) outside ``dest``."""
    dest = dest.resolve()
    members = tar.getmembers()
    for m in members:
        target = (dest / m.name).resolve()
        if os.path.isabs(m.name) or not target.is_relative_to(dest):
            raise DatasetError(f"refusing to extract {m.name!r}: it would be written outside {dest}")
        if m.issym() or m.islnk():
            base = target.parent if m.issym() else dest
            link = (base / m.linkname).resolve()
            if os.path.isabs(m.linkname) or not link.is_relative_to(dest):
                raise DatasetError(f"refusing to extract {m.name!r}: it links to {m.linkname!r} "
                                   f"outside {dest}")
        elif not (m.isfile() or m.isdir()):
            raise DatasetError(f"refusing to extract {m.name!r}: not a regular file or folder")
    return members


def safe_extract(archive: str | Path, dest: str | Path) -> None:
    """Extract a tar archive into ``dest``, refusing members that escape it.

    Raises:
        DatasetError: a member has an absolute path, ``..`` or a link out of ``dest``, or
            is a device/fifo; or the file is not a readable tar archive.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _check_members(tar, dest)
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(dest, members=members, **kwargs)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:  # truncated / corrupt
        reason = str(e).splitlines()[0].rstrip(":") if str(e) else type(e).__name__
        if len(str(e).splitlines()) > 1:  # "could not be opened": every compression was tried
            with open(archive, "rb") as f:
                reason = f"no tar data, plain or compressed; the file starts with {f.read(24)!r}"
        raise DatasetError(f"{archive}: not a readable tar archive ({reason})") from None


def download(name: str, dest_dir: str | Path | None = None, base_url: str = BASE_URL,
             keep_archive: bool = False, verbose: bool = True, url: str | None = None) -> Path:
    """Download and extract one standard pix2pix dataset; return its folder.

    Args:
        name: one of :data:`STANDARD_DATASETS`.
        dest_dir: where ``{name}/`` is extracted (default :func:`default_cache_dir`).
        base_url: where ``{name}.tar.gz`` lives (``http(s)://`` or ``file://``).
        keep_archive: keep ``{name}.tar.gz`` in ``dest_dir`` after extracting.
        verbose: print what is downloaded and where.
        url: the archive's own URL (a mirror, or a ``file://`` copy); overrides ``base_url``.

    Returns:
        ``dest_dir/name``, holding ``train/`` and ``val/`` (and ``test/`` where the
        archive has one). If it is already extracted nothing is downloaded; an archive
        already at ``dest_dir/{name}.tar.gz`` is extracted without downloading.

    Raises:
        DatasetError: (a ValueError) unknown ``name`` (the message lists the six names);
            the download failed; the archive is corrupt (a freshly downloaded one is
            deleted), unsafe or holds no ``name/train/``.
    """
    check_name(name)
    url = url or dataset_url(name, base_url)
    dest_dir = Path(dest_dir).expanduser() if dest_dir is not None else default_cache_dir()
    folder = dest_dir / name
    if is_extracted(folder):
        if verbose:
            print(f"{name}: already at {folder}")
        return folder
    dest_dir.mkdir(parents=True, exist_ok=True)
    archive = dest_dir / f"{name}.tar.gz"
    downloaded = not archive.is_file()
    if downloaded:
        part = archive.with_name(archive.name + ".part")
        if verbose:
            print(f"{name}: downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as f:
                shutil.copyfileobj(response, f, length=1 << 20)
        except OSError as e:  # URLError, HTTPError, timeouts, disk errors
            part.unlink(missing_ok=True)
            raise DatasetError(f"{name}: download from {url} failed ({e})") from None
        part.replace(archive)
    if verbose:
        print(f"{name}: extracting {archive} ({archive.stat().st_size / 2**20:.1f} MB) into {dest_dir}")
    try:
        safe_extract(archive, dest_dir)
    except DatasetError as e:
        if downloaded:  # do not leave a bad download for the next call to reuse
            archive.unlink()
            raise DatasetError(f"{e}; downloaded from {url} and deleted") from None
        raise DatasetError(f"{e}; delete it to download {name} again") from None
    if not keep_archive:
        archive.unlink()
    if not is_extracted(folder):
        raise DatasetError(f"{archive}: extracted, but it holds no {name}/train/ folder")
    if verbose:
        counts = {s: len(list(d.iterdir())) for s, d in find_splits(folder).items()}
        print(f"{name}: {counts} images in {folder}")
    return folder


# ------------------------------------------------------------------ for the notebooks
# The direction that gives the paper's "labels/edges/aerial -> ..." task for each archive:
# facades and cityscapes store the photo as A and the labels as B.
PAPER_DIRECTIONS = {"cityscapes": "BtoA", "edges2handbags": "AtoB", "edges2shoes": "AtoB",
                    "facades": "BtoA", "maps": "AtoB", "night2day": "AtoB"}
SAMPLE_NAME = "facades_synthetic"


def sample_dir(cache_dir: str | Path | None = None) -> Path:
    """The bundled synthetic sample: the repository's ``data/facades_synthetic`` if the
    package runs from a checkout, else a copy drawn by
    :func:`pix2pix_tf.datasets.synthetic.write_sample` into ``cache_dir`` (default
    :func:`default_cache_dir`) the first time (about 3 s).
    """
    repo_copy = Path(__file__).resolve().parents[2] / "data" / SAMPLE_NAME
    if is_extracted(repo_copy):
        return repo_copy
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = folder / SAMPLE_NAME
    if not is_extracted(folder):
        from .synthetic import write_sample
        write_sample(folder)
    return folder


def course_dataset(name: str = "facades", quick: bool = False, dest_dir: str | Path | None = None,
                   base_url: str = BASE_URL) -> tuple[Path, str]:
    """The dataset a notebook of the course uses: ``(folder, direction)``.

    ``quick`` (the tests' quick mode) uses the bundled sample, direction "AtoB"
    (labels -> photo), and ignores the environment variables below. Otherwise the
    standard dataset ``name`` is downloaded (once) and paired with its
    :data:`PAPER_DIRECTIONS` entry; when the download fails (offline), a message says so
    and the sample is used instead.

    Environment overrides (not in quick mode), for offline or reduced runs:

    - ``PIX2PIX_DATA_DIR``: a local folder in the aligned A|B layout (``train/`` and
      ``test/`` or ``val/``), returned instead of downloading ``name``. Its direction is
      ``PIX2PIX_DIRECTION`` if set, else the :data:`PAPER_DIRECTIONS` entry of the
      folder's name (``.../facades`` -> "BtoA"), else "AtoB".
    - ``PIX2PIX_DIRECTION``: "AtoB" or "BtoA", used with ``PIX2PIX_DATA_DIR``.

    Raises:
        DatasetError: ``PIX2PIX_DATA_DIR`` is not a folder holding ``train/`` and
            ``test/`` or ``val/``, or ``PIX2PIX_DIRECTION`` is not "AtoB" / "BtoA".
    """
    if not quick and os.environ.get("PIX2PIX_DATA_DIR"):
        return _local_dataset(os.environ["PIX2PIX_DATA_DIR"], os.environ.get("PIX2PIX_DIRECTION"))
    if not quick:
        check_name(name)  # a typo is an error, not a reason to fall back to the sample
        try:
            return download(name, dest_dir, base_url), PAPER_DIRECTIONS[name]
        except DatasetError as e:
            print(f"{e}\n-> using the bundled synthetic sample instead")
    return sample_dir(), "AtoB"


def _local_dataset(data_dir: str | Path, direction: str | None) -> tuple[Path, str]:
    """``(folder, direction)`` for ``PIX2PIX_DATA_DIR``, after checking its layout."""
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"PIX2PIX_DATA_DIR={data_dir}: no such folder")
    missing = [] if (folder / "train").is_dir() else ["train/"]
    if not ((folder / "test").is_dir() or (folder / "val").is_dir()):
        missing.append("test/ or val/")
    if missing:
        raise DatasetError(f"PIX2PIX_DATA_DIR={data_dir}: not an aligned A|B dataset folder "
                           f"(no {' and no '.join(missing)} in it)")
    if not direction:
        direction = PAPER_DIRECTIONS.get(folder.resolve().name, "AtoB")
    if direction not in ("AtoB", "BtoA"):
        raise DatasetError(f"PIX2PIX_DIRECTION={direction!r}: use 'AtoB' or 'BtoA'")
    return folder, direction
