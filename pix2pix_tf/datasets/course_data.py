"""The dataset a notebook of the course uses: :func:`course_dataset` (a standard dataset,
downloaded once, with the paper's direction; the bundled sample in quick mode or offline;
a local folder named by ``PIX2PIX_DATA_DIR``) and :func:`sample_dir` (the bundled sample).

Kept apart from the catalogue (:mod:`pix2pix_tf.datasets.standard`) and the download
(:mod:`pix2pix_tf.datasets.download`) because these are the course's choices (fall back to
the sample, the environment overrides), not facts about the datasets.

Example:
    >>> data_dir, direction = course_dataset("facades")  # ~30 MB, once; "BtoA"  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from .download import download
from .standard import (BASE_URL, PAPER_DIRECTIONS, DatasetError, check_name, dataset_note,
                       default_cache_dir, is_extracted)

SAMPLE_NAME = "facades_synthetic"


def sample_dir(cache_dir: str | Path | None = None) -> Path:
    """The bundled synthetic sample: the repository's ``data/facades_synthetic`` if the
    package runs from a checkout, else a copy drawn by
    :func:`pix2pix_tf.datasets.synthetic.write_sample` into ``cache_dir`` (default
    :func:`~pix2pix_tf.datasets.standard.default_cache_dir`) the first time (about 3 s).
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
    :data:`~pix2pix_tf.datasets.standard.PAPER_DIRECTIONS` entry; when the download fails
    (offline), a message says so and the sample is used instead.

    Environment overrides (not in quick mode), for offline or reduced runs:

    - ``PIX2PIX_DATA_DIR``: a local folder in the aligned A|B layout (``train/`` and
      ``test/`` or ``val/``), returned instead of downloading ``name``. Its direction is
      ``PIX2PIX_DIRECTION`` if set, else the
      :data:`~pix2pix_tf.datasets.standard.PAPER_DIRECTIONS` entry of the folder's name
      (``.../facades`` -> "BtoA"), else "AtoB".
    - ``PIX2PIX_DIRECTION``: "AtoB" or "BtoA", used with ``PIX2PIX_DATA_DIR``.

    Raises:
        DatasetError: ``PIX2PIX_DATA_DIR`` is not a folder holding ``train/`` and
            ``test/`` or ``val/``, or ``PIX2PIX_DIRECTION`` is not "AtoB" / "BtoA".
    """
    if not quick and os.environ.get("PIX2PIX_DATA_DIR"):
        return _local_dataset(os.environ["PIX2PIX_DATA_DIR"], os.environ.get("PIX2PIX_DIRECTION"))
    if not quick:
        check_name(name)  # a typo is an error, not a reason to fall back to the sample
        if not is_extracted(Path(dest_dir or default_cache_dir()) / name):
            print(dataset_note(name))
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
