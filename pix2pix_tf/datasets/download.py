"""Download one standard pix2pix dataset, check it and extract it: :func:`download` (the
``pix2pix-tf download`` command).

Nothing lost, nobody in: an archive is downloaded (to a hidden ``.part`` file) inside a
locked hidden folder next to the destination, checked (``download(..., sha256=HEX)``,
``--sha256``, else :data:`~pix2pix_tf.datasets.standard.KNOWN_SHA256`) and extracted there
by :mod:`pix2pix_tf.datasets.extraction`; ``{name}/`` appears by one rename only when
complete. Kept apart from the extraction because where an archive comes from (the authors'
server, a mirror, a local file used in place), its checksum and what becomes of it on a
failure are one concern, and refusing a hostile archive's members another; the names,
URLs and ceilings are in the catalogue, :mod:`pix2pix_tf.datasets.standard`.

Example:
    >>> data_dir = download("facades", "~/.keras/datasets")   # ~30 MB, once  # doctest: +SKIP
    >>> ds, n = make_dataset(data_dir, "train", Pix2PixConfig(direction="BtoA"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from ..errors import one_line
from ..host.writes import WriteError, check_out_dir, describe_os_error
from .extraction import (_FILE_FLAGS, _check_free, _extract_to_work, _make_dirs, _publish, _remove_dirs,
                         _workdir, is_downloaded)
from .standard import (BASE_URL, KNOWN_SHA256, DatasetError, _ceilings, check_name, dataset_url,
                       default_cache_dir, find_splits, is_extracted)


def _expected_sha256(name: str, sha256: str | None, url: str | None, base_url: str) -> str | None:
    """The checksum the archive must have: ``sha256``, else a
    :data:`~pix2pix_tf.datasets.standard.KNOWN_SHA256` entry when the archive comes from the
    authors' server; None when there is none.

    Raises:
        DatasetError: ``sha256`` is not 64 hexadecimal digits.
    """
    if sha256 is not None:
        value = sha256.strip().lower()
        if len(value) != 64 or not set(value) <= set("0123456789abcdef"):
            raise DatasetError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
        return value
    return KNOWN_SHA256.get(name) if url is None and base_url == BASE_URL else None


def _source(name: str, dest_dir: Path, url: str | None, base_url: str) -> tuple[Path | None, str, str]:
    """Where the archive comes from: ``(local file or None, URL, how a bad local file is kept)``.

    A plain path given as ``url`` is a local archive used in place; otherwise an archive
    already at ``dest_dir/{name}.tar.gz`` (placed there by the user) is used in place;
    otherwise ``url`` (default: the authors' server) is downloaded.

    Raises:
        DatasetError: ``url`` is a path to no file, or has an unsupported scheme.
    """
    if url is not None:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("", "http", "https", "file") and len(scheme) > 1:  # "c:" is a drive
            raise DatasetError(f"--url {url}: unsupported scheme {scheme!r}; use https://, http://, "
                               "file:// or a local path")
        if scheme not in ("http", "https", "file"):
            local = Path(url).expanduser()
            if not local.is_file():
                raise DatasetError(f"--url {url}: no such file (give an archive's path, or an "
                                   "https://, http:// or file:// URL)")
            return local, url, "the file is left as it is"
    placed = dest_dir / f"{name}.tar.gz"
    if placed.is_file():
        return placed, str(placed), f"delete it to download {name} again"
    return None, url or dataset_url(name, base_url), ""


def _fetch(url: str, part: Path, max_download_bytes: int) -> str:
    """Download ``url`` to the new file ``part``; return its sha256.

    Raises:
        DatasetError: the download failed or exceeds ``max_download_bytes``.
    """
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_download_bytes:
                raise DatasetError(f"{url}: refusing a {length}-byte download (more than the "
                                   f"max_download_bytes ceiling, {max_download_bytes})")
            with os.fdopen(os.open(part, _FILE_FLAGS, 0o644), "wb") as f:
                total = 0
                while chunk := response.read(1 << 20):
                    total += len(chunk)
                    if total > max_download_bytes:
                        raise DatasetError(f"{url}: refusing the download: more than "
                                           f"{max_download_bytes} bytes (the max_download_bytes ceiling)")
                    digest.update(chunk)
                    f.write(chunk)
    except DatasetError:
        raise
    except (OSError, ValueError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts, disk
        raise DatasetError(f"download from {url} failed ({one_line(e) or type(e).__name__})") from None
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _warn_plain_http(name: str, url: str, expected: str | None) -> None:
    """One warning line on stderr for a download over plain http with no checksum to check."""
    if expected is None and url.lower().startswith("http://"):
        print(f"{name}: warning: downloading over plain http with no --sha256 to check the "
              f"archive against: {url}", file=sys.stderr)


def download(name: str, dest_dir: str | Path | None = None, base_url: str = BASE_URL,
             keep_archive: bool = False, verbose: bool = True, url: str | None = None,
             sha256: str | None = None, max_bytes: int | None = None,
             max_members: int | None = None, max_download_bytes: int | None = None) -> Path:
    """Download and extract one standard pix2pix dataset; return its folder.

    The archive is downloaded to a hidden folder in ``dest_dir``, checked, and extracted
    there; ``dest_dir/name`` appears (by one rename) only when complete, carrying the
    marker of a dataset folder written by pix2pix-tf. On any failure nothing is left and
    nothing outside ``dest_dir/name`` changes (a ``dest_dir`` created for the call is removed).

    Args:
        name: one of :data:`~pix2pix_tf.datasets.standard.STANDARD_DATASETS`.
        dest_dir: where ``{name}/`` is extracted (default
            :func:`~pix2pix_tf.datasets.standard.default_cache_dir`).
        base_url: where ``{name}.tar.gz`` lives (``http(s)://`` or ``file://``).
        keep_archive: keep a downloaded archive as ``dest_dir/{name}.tar.gz`` (never
            replacing a file there).
        verbose: print what is downloaded and where.
        url: the archive's own URL (a mirror, or a ``file://`` copy), or a local archive
            path (read in place, never deleted); overrides ``base_url``.
        sha256: the archive's expected SHA-256 (hex), checked before extracting; default
            the :data:`~pix2pix_tf.datasets.standard.KNOWN_SHA256` entry for the authors'
            server, if any.
        max_bytes: ceiling on the extracted size in bytes (default
            :data:`~pix2pix_tf.datasets.standard.MAX_EXTRACT_BYTES`).
        max_members: ceiling on the number of archive members (default
            :data:`~pix2pix_tf.datasets.standard.MAX_MEMBERS`).
        max_download_bytes: ceiling on the downloaded archive's size in bytes (default
            :data:`~pix2pix_tf.datasets.standard.MAX_DOWNLOAD_BYTES`).

    Returns:
        ``dest_dir/name``, holding ``train/`` and ``val/`` (and ``test/`` where the
        archive has one). If this module already extracted it there, nothing is
        downloaded. An archive the user placed at ``dest_dir/{name}.tar.gz`` is extracted
        without downloading, and kept.

    Raises:
        DatasetError: (a ValueError) unknown ``name`` (the message lists the six names);
            ``dest_dir`` is unusable; ``dest_dir/name`` exists and was not extracted by
            this module; the download failed or exceeds a ceiling; the checksum differs;
            the archive is corrupt, unsafe (see
            :func:`~pix2pix_tf.datasets.extraction.safe_extract`) or holds no ``name/train/``.
            A freshly downloaded archive is deleted; the user's never.
    """
    check_name(name)
    expected = _expected_sha256(name, sha256, url, base_url)
    max_bytes, max_members, max_download_bytes = _ceilings(max_bytes, max_members, max_download_bytes)
    dest_dir = Path(dest_dir).expanduser() if dest_dir is not None else default_cache_dir()
    folder = dest_dir / name
    if is_downloaded(folder):
        if verbose:
            print(f"{name}: already at {folder}")
        return folder
    try:
        _check_free(folder)
        check_out_dir(dest_dir, "--out")
        local, url, keep_note = _source(name, dest_dir, url, base_url)
        created = _make_dirs(dest_dir)
        try:
            with _workdir(dest_dir, name) as work:
                new = _download_into(work, name, local, url, keep_note, expected, verbose,
                                     max_bytes, max_members, max_download_bytes)
                published = _publish(new, folder)
                if published and keep_archive and local is None:
                    _keep(work / f"{name}.tar.gz.part", dest_dir / f"{name}.tar.gz", verbose)
        except BaseException:
            _remove_dirs(created)
            raise
    except WriteError as e:
        raise DatasetError(str(e)) from None
    if verbose:
        counts = {s: len(list(d.iterdir())) for s, d in find_splits(folder).items()}
        print(f"{name}: {counts} images in {folder}" if published else f"{name}: already at {folder}")
    return folder


def _download_into(work: Path, name: str, local: Path | None, url: str, keep_note: str,
                   expected: str | None, verbose: bool, max_bytes: int, max_members: int,
                   max_download_bytes: int) -> Path:
    """Fetch (unless ``local``), check and extract the archive inside ``work``; return the tree.

    Raises:
        DatasetError: as :func:`download`, the message ending with what became of the file.
    """
    if local is None:
        archive = work / f"{name}.tar.gz.part"
        _warn_plain_http(name, url, expected)
        if verbose:
            print(f"{name}: downloading {url}")
        actual = _fetch(url, archive, max_download_bytes)
        if verbose:
            print(f"{name}: sha256 {actual} (pass it as --sha256 to check later downloads)")
        label, fate = url, "the download was deleted"
    else:
        archive, label, fate = local, str(local), keep_note
        try:
            actual = _file_sha256(local) if expected else None
        except OSError as e:
            raise DatasetError(f"{label}: cannot read it ({describe_os_error(e)})") from None
    if expected and actual != expected:
        raise DatasetError(f"{label}: sha256 is {actual}, not the expected {expected} "
                           f"(--sha256); nothing was extracted; {fate}")
    if verbose:
        print(f"{name}: extracting {label} ({archive.stat().st_size / 2**20:.1f} MB)")
    try:
        tree, _ = _extract_to_work(archive, work, name, max_bytes, max_members, label)
    except DatasetError as e:
        raise DatasetError(f"{e}; {fate}") from None
    if not is_extracted(tree):
        raise DatasetError(f"{label}: holds no {name}/train/ folder; nothing was extracted; {fate}")
    return tree


def _keep(part: Path, archive: Path, verbose: bool) -> None:
    """Keep the downloaded ``part`` as ``archive``, never replacing a file already there."""
    try:
        os.link(part, archive)
    except FileExistsError:
        if verbose:
            print(f"{archive}: already exists; the downloaded copy was not kept")
    except OSError as e:
        raise DatasetError(f"{archive}: cannot keep the downloaded archive ({describe_os_error(e)})") from None
