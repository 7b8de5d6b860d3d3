"""The catalogue of the six standard pix2pix datasets of the paper's authors: their names,
where their archives are, their checksums, the paper's direction and size of each, and how
an extracted one is laid out.

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

What is done with them lives beside this module, each part importing the catalogue:
:mod:`pix2pix_tf.datasets.download` downloads and checks an archive
(:func:`~pix2pix_tf.datasets.download.download`, the ``download`` command),
:mod:`pix2pix_tf.datasets.extraction` extracts it, all or nothing, refusing hostile members
(:func:`~pix2pix_tf.datasets.extraction.safe_extract`), and
:mod:`pix2pix_tf.datasets.course_data` picks the dataset a notebook of the course uses.
The TFDS builder (:mod:`pix2pix_tf.datasets.tfds_pix2pix`) reads the same catalogue. This
module imports neither TensorFlow nor the network code: the CLI's flag help reads it.

Example:
    >>> dataset_url("maps")
    'http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz'
    >>> PAPER_DIRECTIONS["facades"]
    'BtoA'
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Pix2PixError

STANDARD_DATASETS = ("cityscapes", "edges2handbags", "edges2shoes", "facades", "maps", "night2day")
BASE_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets"
SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # the same as data.IMAGE_EXTENSIONS; no TensorFlow import here

# Ceilings, parameters of download() / safe_extract(); generous for the real archives
# (the largest, edges2handbags, is ~8.6 GB in ~140k files).
MAX_DOWNLOAD_BYTES = 32 * 2**30  # the downloaded archive
MAX_EXTRACT_BYTES = 64 * 2**30  # all files once uncompressed
MAX_MEMBERS = 1_000_000  # files and folders in one archive

# SHA-256 of each archive on the authors' server, checked when downloading from there without
# --sha256. Empty on purpose: an entry is added only once its value is verified against the
# authors' file (none could be here, offline); a wrong value would refuse every download.
KNOWN_SHA256: dict[str, str] = {}

# The direction that gives the paper's "labels/edges/aerial -> ..." task for each archive:
# facades and cityscapes store the photo as A and the labels as B.
PAPER_DIRECTIONS = {"cityscapes": "BtoA", "edges2handbags": "AtoB", "edges2shoes": "AtoB",
                    "facades": "BtoA", "maps": "AtoB", "night2day": "AtoB"}


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


def _ceilings(max_bytes: int | None, max_members: int | None,
              max_download_bytes: int | None) -> tuple[int, int, int]:
    """The ceilings to apply: each given value, else the module's current default."""
    return (MAX_EXTRACT_BYTES if max_bytes is None else max_bytes,
            MAX_MEMBERS if max_members is None else max_members,
            MAX_DOWNLOAD_BYTES if max_download_bytes is None else max_download_bytes)


# name -> (download size in MB, training pairs): approximate, to warn before a download
DATASET_SIZES = {"facades": (30, 400), "cityscapes": (100, 2975), "maps": (240, 1096),
                 "night2day": (1900, 17823), "edges2shoes": (2200, 49825),
                 "edges2handbags": (8600, 138567)}


def dataset_note(name: str) -> str:
    """One line on what choosing ``name`` costs: download size and training pairs.

    Example:
        >>> print(dataset_note("edges2handbags"))
        edges2handbags: about 8.6 GB to download and unpack, 138567 training pairs (an epoch at batch 1 is 138567 steps: hours on a GPU; the course uses a few thousand steps)
    """
    check_name(name)
    megabytes, pairs = DATASET_SIZES[name]
    size = f"{megabytes / 1000:.1f} GB" if megabytes >= 1000 else f"{megabytes} MB"
    line = f"{name}: about {size} to download and unpack, {pairs} training pairs"
    if megabytes >= 1000:
        line += (f" (an epoch at batch 1 is {pairs} steps: hours on a GPU; the course uses a few "
                 "thousand steps)")
    return line
