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
    >>> data_dir = download("facades", "~/.keras/datasets")   # ~30 MB, once  # doctest: +SKIP
    >>> ds, n = make_dataset(data_dir, "train", Pix2PixConfig(direction="BtoA"))  # doctest: +SKIP

Nothing lost, nobody in: an archive is downloaded (to a hidden ``.part`` file) and
extracted into a hidden folder next to the destination, file by file through folder
descriptors with ``O_NOFOLLOW``/``O_EXCL``, and renamed to ``{name}/`` only when complete.
An archive holding a link, device, fifo, absolute path, ``..``, an over-long name, a member
outside ``{name}/`` or more than the size/member ceilings is refused whole, with nothing
left behind. ``{name}/`` carries a marker (``.pix2pix-tf.json``) so that only a complete
extraction of ours counts as "already there"; a folder of somebody else's is never touched.
Checksums: ``download(..., sha256=HEX)`` (``--sha256``), else :data:`KNOWN_SHA256`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import lzma
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import IO, Iterator

from ..host import writes as safety
from ..errors import Pix2PixError, one_line
from ..host.writes import LOCK, MANIFEST, WriteError, check_out_dir, describe_os_error

STANDARD_DATASETS = ("cityscapes", "edges2handbags", "edges2shoes", "facades", "maps", "night2day")
BASE_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets"
SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # the same as data.IMAGE_EXTENSIONS; no TensorFlow import here

# Ceilings, parameters of download() / safe_extract(); generous for the real archives
# (the largest, edges2handbags, is ~8.6 GB in ~140k files).
MAX_DOWNLOAD_BYTES = 32 * 2**30  # the downloaded archive
MAX_EXTRACT_BYTES = 64 * 2**30  # all files once uncompressed
MAX_MEMBERS = 1_000_000  # files and folders in one archive
MAX_PATH_CHARS = 1024  # one member's path
MAX_COMPONENT_BYTES = 255  # one component of it (the usual file-name limit)

# SHA-256 of each archive on the authors' server, checked when downloading from there without
# --sha256. Empty on purpose: an entry is added only once its value is verified against the
# authors' file (none could be here, offline); a wrong value would refuse every download.
KNOWN_SHA256: dict[str, str] = {}

_WORK_PREFIX = safety.TMP_PREFIX + "download-"  # safety.remove_temporaries() removes what starts so
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)


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


# ------------------------------------------------------------------ safe extraction
class _Tree:
    """Folders under one root folder we created, opened component by component.

    Every component is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's
    descriptor, and every file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` in such a
    descriptor: whatever a name says, nothing can be written outside the root.
    """

    def __init__(self, root: Path, archive: str | Path):
        if not {os.open, os.mkdir} <= os.supports_dir_fd:  # pragma: no cover - Windows
            raise DatasetError(f"{archive}: safe extraction needs directory descriptors (Linux, macOS)")
        self.archive = archive
        self.root = os.open(root, _DIR_FLAGS)
        self._cached: tuple[tuple[str, ...], int] | None = None

    def folder(self, parts: tuple[str, ...], member: str) -> int:
        """A descriptor of the folder ``root/parts``, creating missing folders (kept open).

        Raises:
            DatasetError: a component exists and is not a folder we created.
        """
        if self._cached is not None and self._cached[0] == parts:
            return self._cached[1]
        self._drop_cache()
        fd = os.dup(self.root)
        try:
            for part in parts:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except OSError as e:
            os.close(fd)
            raise _refusal(self.archive, member, f"cannot make its folder ({describe_os_error(e)})") from None
        self._cached = (parts, fd)
        return fd

    def write(self, parts: tuple[str, ...], data: IO[bytes], size: int, member: str) -> None:
        """Create the new file ``root/parts`` and copy ``size`` bytes of ``data`` into it.

        Raises:
            DatasetError: the file exists already (a duplicate member) or cannot be written.
            tarfile.ReadError: the archive ends inside the member.
        """
        parent = self.folder(parts[:-1], member)
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, 0o644, dir_fd=parent)
        except FileExistsError:
            raise _refusal(self.archive, member, "it is in the archive twice (or also as a folder)") from None
        except OSError as e:
            raise _refusal(self.archive, member, f"cannot create it ({describe_os_error(e)})") from None
        with os.fdopen(fd, "wb") as out:
            remaining = size
            while remaining:
                chunk = data.read(min(remaining, 1 << 20))
                if not chunk:
                    raise tarfile.ReadError(f"unexpected end of data in {member!r}")
                try:
                    out.write(chunk)
                except OSError as e:
                    raise DatasetError(f"{self.archive}: cannot extract {_short(member)} "
                                       f"({describe_os_error(e)})") from None
                remaining -= len(chunk)

    def _drop_cache(self) -> None:
        """Close the cached folder descriptor, if any."""
        if self._cached is not None:
            os.close(self._cached[1])
            self._cached = None

    def close(self) -> None:
        """Close every descriptor this tree holds."""
        self._drop_cache()
        os.close(self.root)


def _short(text: str, limit: int = 80) -> str:
    """``repr(text)``, cut in the middle when longer than ``limit`` characters."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit // 2]!r}...{text[-limit // 4:]!r} ({len(text)} characters)"


def _refusal(archive: str | Path, member: str, why: str) -> DatasetError:
    """The one-line error for a refused member."""
    return DatasetError(f"{archive}: refusing member {_short(member)}: {why}; nothing was extracted")


def _member_parts(member: tarfile.TarInfo, top: str | None, archive: str | Path) -> tuple[str, ...]:
    """The path components of a member, after refusing names that could point anywhere else.

    Args:
        member: one archive member.
        top: the folder every member must lie under (None: any single top folder).
        archive: the archive's name or URL, for messages.

    Returns:
        The non-empty components, ``"."`` dropped; the first is the top folder.

    Raises:
        DatasetError: NUL, absolute path, backslash, ``..``, an over-long path or
            component, a member outside ``top/``, or a reserved name below it.
    """
    raw = member.name
    if "\0" in raw:
        raise _refusal(archive, raw, "its name holds a NUL byte")
    if len(raw) > MAX_PATH_CHARS:
        raise _refusal(archive, raw, f"its path is longer than {MAX_PATH_CHARS} characters")
    if raw.startswith(("/", "\\")) or raw[1:2] == ":":
        raise _refusal(archive, raw, "it has an absolute path")
    if "\\" in raw:
        raise _refusal(archive, raw, "its name holds a backslash")
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _refusal(archive, raw, "its path has a '..' component")
    if any(len(os.fsencode(p)) > MAX_COMPONENT_BYTES for p in parts):
        raise _refusal(archive, raw, f"a component of its path is longer than {MAX_COMPONENT_BYTES} bytes")
    if not parts or (top is not None and parts[0] != top):
        raise _refusal(archive, raw, f"it is not under {top or parts[0] if parts else ''}/")
    if len(parts) > 1 and (parts[1] in (MANIFEST, LOCK) or parts[1].startswith(safety.TMP_PREFIX)):
        raise _refusal(archive, raw, "its name is reserved for pix2pix-tf's own files")
    return parts


def _member_kind(member: tarfile.TarInfo, archive: str | Path) -> str:
    """``"file"`` or ``"dir"``; links, devices and fifos are refused.

    Raises:
        DatasetError: naming the member and what it is.
    """
    if member.isfile():
        return "file"
    if member.isdir():
        return "dir"
    what = {tarfile.SYMTYPE: f"a symbolic link (it links to {_short(member.linkname)})",
            tarfile.LNKTYPE: f"a hard link (it links to {_short(member.linkname)})",
            tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device",
            tarfile.FIFOTYPE: "a fifo"}.get(member.type, f"of tar type {member.type!r}")
    raise _refusal(archive, member.name, f"it is {what}, not a regular file or folder")


def _extract_members(tar: tarfile.TarFile, tree: _Tree, top: str | None, archive: str | Path,
                     max_bytes: int, max_members: int) -> str:
    """Check and write every member of ``tar`` into ``tree``, one pass; return the top folder.

    Raises:
        DatasetError: an unsafe member, or a ceiling on members or bytes is exceeded.
    """
    total = count = 0
    for member in tar:
        count += 1
        if count > max_members:
            raise DatasetError(f"{archive}: refusing it: more than {max_members} members "
                               "(the max_members ceiling); nothing was extracted")
        parts = _member_parts(member, top, archive)
        top = parts[0]
        kind = _member_kind(member, archive)
        if kind == "dir":
            tree.folder(parts[1:], member.name)
            continue
        if len(parts) == 1:
            raise _refusal(archive, member.name, f"{top} must be a folder, not a file")
        total += member.size
        if total > max_bytes:
            raise DatasetError(f"{archive}: refusing it: more than {max_bytes} bytes once "
                               "uncompressed (the max_bytes ceiling); nothing was extracted")
        tree.write(parts[1:], tar.extractfile(member), member.size, member.name)
    if top is None:
        raise DatasetError(f"{archive}: the archive is empty; nothing was extracted")
    return top


def _extract_into(archive: Path, root: Path, top: str | None, max_bytes: int, max_members: int,
                  label: str) -> str:
    """Extract the single top folder of ``archive`` into the new folder ``root`` (its contents).

    ``label`` names the archive in messages (its URL when it was downloaded).

    Raises:
        DatasetError: unsafe member, ceiling exceeded, or not a readable tar archive.
    """
    tree = _Tree(root, label)
    read_any = []
    try:
        with tarfile.open(archive, "r|*") as tar:
            read_any.append(True)
            return _extract_members(tar, tree, top, label, max_bytes, max_members)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as e:  # corrupt / truncated
        reason = one_line(e) or type(e).__name__
        if not read_any:
            reason = _unopened_reason(archive, e)
        raise DatasetError(f"{label}: not a readable tar archive ({reason}); nothing was extracted") from None
    finally:
        tree.close()


def _unopened_reason(archive: Path, error: Exception) -> str:
    """Why ``archive`` could not be opened as a tar: unreadable, or what it starts with."""
    if isinstance(error, OSError) and error.errno is not None:  # e.g. permission denied
        return describe_os_error(error)
    try:
        with open(archive, "rb") as f:
            return f"no tar data, plain or compressed; the file starts with {f.read(24)!r}"
    except OSError as e:
        return describe_os_error(e)


def _extract_to_work(archive: Path, work: Path, top: str | None, max_bytes: int, max_members: int,
                     label: str | None = None) -> tuple[Path, str]:
    """Extract ``archive`` into ``work/tree``, marked as a pix2pix-tf dataset folder.

    ``label`` names the archive in messages (default: its path).

    Returns:
        ``(work/tree, top folder name)``; ``work/tree`` holds what was under ``top/``.
    """
    tree = work / "tree"
    os.mkdir(tree, 0o755)
    safety.claim_folder(tree, kind="dataset")  # the marker goes in first: no member may be named so
    top = _extract_into(archive, tree, top, max_bytes, max_members, label or str(archive))
    safety.record_written(tree, sorted(n for n in os.listdir(tree) if n != MANIFEST))
    return tree, top


def is_downloaded(folder: str | Path) -> bool:
    """True for a dataset folder this module extracted completely (it carries the marker)."""
    return safety.folder_kind(folder) == "dataset" and is_extracted(folder)


def _check_free(folder: Path) -> None:
    """Refuse an existing ``folder`` that is not an empty folder (nothing is merged or replaced).

    Raises:
        DatasetError: naming the folder.
    """
    if folder.is_symlink() or (folder.exists() and not (folder.is_dir() and safety.is_empty_dir(folder))):
        raise DatasetError(f"{folder}: already exists and is not a dataset extracted by pix2pix-tf "
                           f"(no {MANIFEST} marker); left as it is: move it away or choose another --out")


def _publish(tree: Path, folder: Path) -> bool:
    """Rename the complete ``tree`` to ``folder``; False when another run published it first.

    ``rename`` replaces nothing but an empty folder, so a folder that appeared meanwhile
    is never overwritten.

    Raises:
        DatasetError: ``folder`` exists (not ours), or the rename failed.
    """
    try:
        os.rename(tree, folder)
        return True
    except OSError as e:
        if is_downloaded(folder):
            return False
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            _check_free(folder)
        raise DatasetError(f"{folder}: cannot move the extracted dataset into place "
                           f"({describe_os_error(e)})") from None


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; return those created, deepest first.

    Raises:
        DatasetError: a folder cannot be created.
    """
    missing = []
    probe = path
    while not (probe.exists() or probe.is_symlink()) and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except OSError as e:
            _remove_dirs(missing)
            raise DatasetError(f"--out {path}: cannot create {folder} ({describe_os_error(e)})") from None
    return missing


def _remove_dirs(created: list[Path]) -> None:
    """Remove the folders :func:`_make_dirs` created, if still empty (deepest first)."""
    for folder in created:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


@contextlib.contextmanager
def _workdir(parent: Path, name: str) -> Iterator[Path]:
    """A new hidden locked folder in ``parent`` for one download; always removed afterwards.

    Its name starts like :mod:`pix2pix_tf.host.writes`'s temporaries, so
    :func:`~pix2pix_tf.host.writes.remove_temporaries` clears it too; a killed run's leftover
    (its lock is free) is removed by the next download of the same name.

    Raises:
        DatasetError: ``parent`` is not writable.
    """
    _remove_stale_workdirs(parent, name)
    try:
        work = Path(tempfile.mkdtemp(prefix=f"{_WORK_PREFIX}{name}.", dir=parent))
    except OSError as e:
        raise DatasetError(f"--out {parent}: cannot write there ({describe_os_error(e)})") from None
    lock = safety.FolderLock(work, "download folder")
    try:
        lock.acquire()
        yield work
    finally:
        lock.release()
        shutil.rmtree(work, ignore_errors=True)


def _remove_stale_workdirs(parent: Path, name: str, min_age: float = 60.0) -> None:
    """Remove leftovers of killed downloads of ``name``: folders whose lock nobody holds."""
    for work in parent.glob(f"{_WORK_PREFIX}{name}.*"):
        lock_file = work / LOCK
        try:
            stale = (not work.is_symlink() and lock_file.is_file()
                     and time.time() - lock_file.stat().st_mtime > min_age)
        except OSError:
            continue
        if not stale:
            continue
        try:
            safety.FolderLock(work, "download folder").acquire().release()
        except (safety.FolderBusy, safety.WriteError):
            continue  # a live download
        shutil.rmtree(work, ignore_errors=True)


def safe_extract(archive: str | Path, dest: str | Path, name: str | None = None, *,
                 max_bytes: int | None = None, max_members: int | None = None) -> Path:
    """Extract a tar archive holding one top folder into ``dest``, all or nothing.

    Every member must be a regular file or folder under ``name/`` (or, without ``name``,
    under the first member's top folder). Files are created new, one path component at a
    time below a hidden folder in ``dest``, which is renamed to ``dest/name`` only once
    the whole archive is extracted; on any refusal it is removed and ``dest`` is as before.

    Args:
        archive: a tar file, plain or gzip/bz2/xz compressed.
        dest: the folder to extract into (created if missing; removed again on failure).
        name: the archive's top folder (default: whatever its first member's is).
        max_bytes: ceiling on the total size of the files once uncompressed (default
            :data:`MAX_EXTRACT_BYTES`).
        max_members: ceiling on the number of members (default :data:`MAX_MEMBERS`).

    Returns:
        ``dest/name``, carrying the marker of a dataset folder written by pix2pix-tf.

    Raises:
        DatasetError: a member is a link, device or fifo, has an absolute path, ``..``,
            NUL, an over-long name, or lies outside ``name/``; a ceiling is exceeded; the
            file is not a readable tar archive; ``dest/name`` exists and is not empty.
    """
    archive, dest = Path(archive), Path(dest).expanduser()
    max_bytes, max_members, _ = _ceilings(max_bytes, max_members, None)
    if name is not None:
        _check_free(dest / name)
    created = _make_dirs(dest)
    try:
        with _workdir(dest, name or "archive") as work:
            tree, top = _extract_to_work(archive, work, name, max_bytes, max_members)
            _check_free(dest / top)
            _publish(tree, dest / top)
    except BaseException:
        _remove_dirs(created)
        raise
    return dest / top


# ------------------------------------------------------------------ download
def _ceilings(max_bytes: int | None, max_members: int | None,
              max_download_bytes: int | None) -> tuple[int, int, int]:
    """The ceilings to apply: each given value, else the module's current default."""
    return (MAX_EXTRACT_BYTES if max_bytes is None else max_bytes,
            MAX_MEMBERS if max_members is None else max_members,
            MAX_DOWNLOAD_BYTES if max_download_bytes is None else max_download_bytes)


def _expected_sha256(name: str, sha256: str | None, url: str | None, base_url: str) -> str | None:
    """The checksum the archive must have: ``sha256``, else a :data:`KNOWN_SHA256` entry
    when the archive comes from the authors' server; None when there is none.

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
        name: one of :data:`STANDARD_DATASETS`.
        dest_dir: where ``{name}/`` is extracted (default :func:`default_cache_dir`).
        base_url: where ``{name}.tar.gz`` lives (``http(s)://`` or ``file://``).
        keep_archive: keep a downloaded archive as ``dest_dir/{name}.tar.gz`` (never
            replacing a file there).
        verbose: print what is downloaded and where.
        url: the archive's own URL (a mirror, or a ``file://`` copy), or a local archive
            path (read in place, never deleted); overrides ``base_url``.
        sha256: the archive's expected SHA-256 (hex), checked before extracting; default
            the :data:`KNOWN_SHA256` entry for the authors' server, if any.
        max_bytes: ceiling on the extracted size in bytes (default :data:`MAX_EXTRACT_BYTES`).
        max_members: ceiling on the number of archive members (default :data:`MAX_MEMBERS`).
        max_download_bytes: ceiling on the downloaded archive's size in bytes (default
            :data:`MAX_DOWNLOAD_BYTES`).

    Returns:
        ``dest_dir/name``, holding ``train/`` and ``val/`` (and ``test/`` where the
        archive has one). If this module already extracted it there, nothing is
        downloaded. An archive the user placed at ``dest_dir/{name}.tar.gz`` is extracted
        without downloading, and kept.

    Raises:
        DatasetError: (a ValueError) unknown ``name`` (the message lists the six names);
            ``dest_dir`` is unusable; ``dest_dir/name`` exists and was not extracted by
            this module; the download failed or exceeds a ceiling; the checksum differs;
            the archive is corrupt, unsafe (see :func:`safe_extract`) or holds no
            ``name/train/``. A freshly downloaded archive is deleted; the user's never.
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
