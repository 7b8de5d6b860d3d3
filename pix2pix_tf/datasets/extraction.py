"""Hardened extraction of a dataset archive: all or nothing, nobody in.

An archive is extracted into a hidden folder next to the destination, file by file through
folder descriptors with ``O_NOFOLLOW``/``O_EXCL``, and renamed to ``{name}/`` only when
complete. An archive holding a link, device, fifo, absolute path, ``..``, an over-long name,
a member outside ``{name}/`` or more than the size/member ceilings
(:data:`~pix2pix_tf.datasets.standard.MAX_EXTRACT_BYTES`,
:data:`~pix2pix_tf.datasets.standard.MAX_MEMBERS`) is refused whole, with nothing left
behind. ``{name}/`` carries a marker (``.pix2pix-tf.json``) so that only a complete
extraction of ours counts as "already there" (:func:`is_downloaded`); a folder of somebody
else's is never touched.

Kept apart from the download (:mod:`pix2pix_tf.datasets.download`, which fetches and checks
an archive, then extracts it with the helpers here) because this is the code that faces a
hostile file: :func:`safe_extract` is usable on any tar archive holding one top folder, and
is tested against hostile archives on its own.
"""

from __future__ import annotations

import contextlib
import errno
import lzma
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from typing import IO, Iterator

from ..host.folder_lock import FolderLock
from ..host import manifests
from ..host import writes as safety
from ..errors import one_line
from ..host.writes import LOCK, MANIFEST, describe_os_error
from .standard import DatasetError, _ceilings, is_extracted

# Ceilings on one member's name; those on a whole archive (bytes, members) are in .standard
MAX_PATH_CHARS = 1024  # one member's path
MAX_COMPONENT_BYTES = 255  # one component of it (the usual file-name limit)

_WORK_PREFIX = safety.TMP_PREFIX + "download-"  # safety.remove_temporaries() removes what starts so
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)


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
    manifests.claim_folder(tree, kind="dataset")  # the marker goes in first: no member may be named so
    top = _extract_into(archive, tree, top, max_bytes, max_members, label or str(archive))
    manifests.record_written(tree, sorted(n for n in os.listdir(tree) if n != MANIFEST))
    return tree, top


def is_downloaded(folder: str | Path) -> bool:
    """True for a dataset folder this module extracted completely (it carries the marker)."""
    return manifests.folder_kind(folder) == "dataset" and is_extracted(folder)


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
    lock = FolderLock(work, "download folder")
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
            FolderLock(work, "download folder").acquire().release()
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
            :data:`~pix2pix_tf.datasets.standard.MAX_EXTRACT_BYTES`).
        max_members: ceiling on the number of members (default
            :data:`~pix2pix_tf.datasets.standard.MAX_MEMBERS`).

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

