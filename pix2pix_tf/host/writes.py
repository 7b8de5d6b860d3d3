"""Writing files without losing anyone's data: atomic writes, owned folders, a run lock.

Every command that writes follows three rules, and this module is where they live:

1. **Nothing half-written.** A file goes to a hidden temporary name in its own folder
   and is renamed into place when complete (:func:`atomic_write_bytes`,
   :func:`atomic_dir`); a failure removes the temporary. A full disk or a read-only
   folder becomes one :class:`WriteError` naming the file.
2. **Only what we wrote is ours.** A folder the tool fills carries a small manifest,
   ``.pix2pix-tf.json``, naming what kind of folder it is and every entry the tool
   wrote (:func:`claim_folder`, :func:`record_written`). Replacing or clearing is allowed
   only on entries listed there (:func:`remove_recorded`); a folder without the
   manifest is somebody else's.
3. **One writer at a time.** :class:`FolderLock` holds an OS lock (``flock``) on
   ``.pix2pix-tf.lock`` for as long as a run writes; a second writer is refused naming
   the holder's pid. The OS drops the lock when its process dies, so a stale lock from a
   killed run is taken over without asking.
4. **Never through a link.** Inside a folder the tool owns, nothing is written through a
   symbolic link somebody put there: :func:`check_no_links` refuses a link (or a special
   file) among the entries a command is about to write, :func:`open_in_place` opens a file
   that is appended to or locked in place with ``O_NOFOLLOW`` at every path component, and
   :func:`make_dirs` creates sub-folders the same way. A file replaced by rename (rule 1)
   replaces a link itself, never what it points to. The folder the user named may itself be
   a link: the user chose it.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_text(d / "a.txt", "hello")  # doctest: +ELLIPSIS
    PosixPath('...a.txt')
    >>> (d / "a.txt").read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from ..config import Pix2PixError

MANIFEST = ".pix2pix-tf.json"
LOCK = ".pix2pix-tf.lock"
TMP_PREFIX = ".pix2pix-tf-tmp-"  # every temporary this package makes starts with it


class WriteError(Pix2PixError):
    """A file or folder cannot be written (full disk, read-only, not a folder, foreign files)."""


class FolderBusy(Pix2PixError):
    """Another live process holds the folder's lock."""


def describe_os_error(e: OSError) -> str:
    """A short reason for an OSError: 'disk full', 'read-only file system', ..."""
    return {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.ENOTDIR: "a path component is a file", errno.EEXIST: "already exists",
            errno.EDQUOT: "disk quota exceeded", errno.ENAMETOOLONG: "name too long"}.get(
        e.errno, e.strerror or type(e).__name__)


@contextlib.contextmanager
def os_errors_as(path: str | Path, what: str = "cannot write") -> Iterator[None]:
    """Turn an OSError raised inside the block into a one-line :class:`WriteError` on ``path``."""
    try:
        yield
    except OSError as e:
        raise WriteError(f"{path}: {what} ({describe_os_error(e)})") from None


def check_out_dir(path: str | Path, flag: str = "--out") -> Path:
    """Check that ``path`` is, or can become, a writable folder; nothing is created.

    Raises:
        WriteError: ``path`` is a file, lies under a file, or its nearest existing
            ancestor is not writable. The message names ``flag`` and the path.
    """
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():  # a dangling symlink: we would write wherever it points
            raise WriteError(f"{flag} {path}: {probe} is a dangling symbolic link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == path else f"lies under a file ({probe})"
        raise WriteError(f"{flag} {path}: {where}")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise WriteError(f"{flag} {path}: {probe} is not writable")
    return path


# ---------------------------------------------------------------- never through a link
def _link_refusal(path: Path, root: Path, what: str = "is a symbolic link") -> WriteError:
    return WriteError(f"{path}: {what} inside {root}; pix2pix-tf never writes through links or "
                      "special files in its folders; nothing was changed; remove it")


def check_no_links(root: str | Path, names: Iterable[str] | None = None) -> None:
    """Refuse a symbolic link or special file among ``root``'s entries ``names`` (None: all).

    Folders are walked to the bottom without following anything; absent names are skipped.
    Call it before a command writes into a folder it owns: a link planted inside (by an
    archive, a shared drive, another user) would otherwise lead the write outside.

    Raises:
        WriteError: one line naming the first link, FIFO, socket or device found.
    """
    root = Path(root)
    todo = [root / n for n in (sorted(names) if names is not None else sorted(os.listdir(root)))]
    while todo:
        p = todo.pop()
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise WriteError(f"{p}: cannot inspect ({describe_os_error(e)})") from None
        if stat.S_ISLNK(st.st_mode):
            raise _link_refusal(p, root)
        if stat.S_ISDIR(st.st_mode):
            with os_errors_as(p, "cannot list the folder"):
                todo.extend(p / n for n in sorted(os.listdir(p)))
        elif not stat.S_ISREG(st.st_mode):
            raise _link_refusal(p, root, "is not a regular file")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_BY_FD = {os.open, os.mkdir} <= os.supports_dir_fd and bool(_NOFOLLOW)


def _walk_dirs(root: Path, parts: tuple[str, ...], create: bool) -> int:
    """An fd of ``root/parts...``, opened component by component without following links."""
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    here = root
    try:
        for part in parts:
            here = here / part
            if part in ("", ".", ".."):
                raise WriteError(f"{here}: not a plain name")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    what = ("is a symbolic link" if os.path.islink(here)
                            else "is not a folder")
                    raise _link_refusal(here, root, what) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_dirs(root: str | Path, rel: str | Path) -> Path:
    """Create (or check) the folder ``root/rel`` without following a link at any component.

    Returns:
        ``root/rel``.

    Raises:
        WriteError: a component is a symbolic link or a file (one line naming it), or the
            folder cannot be created.
    """
    root, parts = Path(root), Path(rel).parts
    if not _BY_FD:  # pragma: no cover - no dir_fd/O_NOFOLLOW (Windows)
        check_no_links(root, parts[:1])
        with os_errors_as(root / rel, "cannot create"):
            (root / rel).mkdir(parents=True, exist_ok=True)
        return root / rel
    with os_errors_as(root / rel, "cannot create"):
        os.close(_walk_dirs(root, parts, create=True))
    return root / rel


def open_in_place(root: str | Path, rel: str | Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` of ``root/rel`` for a file written in place (a lock, an appended log).

    Every component below ``root`` is opened with ``O_NOFOLLOW`` (missing folders are
    created), and the file itself must be a regular file with one name: a link, a FIFO or a
    hard link to somebody's file is refused instead of written through.

    Returns:
        The file descriptor (the caller closes it).

    Raises:
        WriteError: one line naming the file and why.
    """
    root, parts = Path(root), Path(rel).parts
    path = root / rel
    flags |= _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    with os_errors_as(path, "cannot open"):
        if _BY_FD:
            dfd = _walk_dirs(root, parts[:-1], create=True)
            try:
                fd = os.open(parts[-1], flags, mode, dir_fd=dfd)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise _link_refusal(path, root) from None
                raise
            finally:
                os.close(dfd)
        else:  # pragma: no cover - Windows
            check_no_links(root, parts[:1])
            fd = os.open(path, flags, mode)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
        os.close(fd)
        raise _link_refusal(path, root, "is not a regular file" if not stat.S_ISREG(st.st_mode)
                            else f"has {st.st_nlink} hard links")
    if flags & getattr(os, "O_NONBLOCK", 0):
        os.set_blocking(fd, True)
    return fd


def is_empty_dir(path: str | Path) -> bool:
    path = Path(path)
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once, at import: os.umask can only be read by setting it


def _tmp_sibling(path: Path, suffix: str = "") -> Path:
    fd, name = tempfile.mkstemp(prefix=TMP_PREFIX + path.name[:40] + ".", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; the file gets the mode open() would give
    except (AttributeError, OSError):  # pragma: no cover - no fchmod (Windows)
        pass
    os.close(fd)
    return Path(name)


def atomic_write_bytes(path: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader never sees a partial file; on any failure the temporary is removed and the
    previous ``path`` (if any) is untouched. ``overwrite=False`` refuses an existing path.

    Raises:
        WriteError: the file cannot be written (message names it and why).
    """
    path = Path(path)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise WriteError(f"{path}: already exists; not overwriting it")
    tmp = None
    try:
        with os_errors_as(path):
            tmp = _tmp_sibling(path)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if not overwrite:  # link() fails if the name appeared meanwhile (no clobbering race)
                os.link(tmp, path)
                tmp.unlink()
            else:
                os.replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return path


def atomic_write_text(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, replace_recorded_in: Path | None = None,
               replace_kind: str | None = None) -> Iterator[Path]:
    """Build a folder under a temporary name next to ``path``; rename it into place on success.

    Yields the temporary folder to fill. On an exception it is removed and ``path`` is left
    as it was. If ``path`` exists it must be empty, or (with ``replace_recorded_in``) be an
    entry that folder's manifest records as written by us, or (with ``replace_kind``) a
    folder whose own manifest is of that kind; it is then replaced.

    Raises:
        WriteError: ``path`` exists and is not ours, or the folder cannot be written.
    """
    path = Path(path)

    def check_replaceable() -> None:
        if path.exists() or path.is_symlink():
            ours = replace_recorded_in is not None and path.name in recorded_entries(replace_recorded_in)
            ours = ours or (replace_kind is not None and path.is_dir() and not path.is_symlink()
                            and folder_kind(path) == replace_kind)
            if not ours and not (path.is_dir() and not path.is_symlink() and is_empty_dir(path)):
                raise WriteError(f"{path}: already exists and was not written by pix2pix-tf; "
                                 "choose a new path or remove it yourself")

    check_replaceable()
    with os_errors_as(path.parent, "cannot create"):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + path.name[:40] + ".", dir=path.parent))
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700: others could not read a SavedModel
    try:
        yield tmp
        check_replaceable()  # again: something may have appeared there meanwhile
        with os_errors_as(path):
            if path.exists() or path.is_symlink():
                old = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "old.", dir=path.parent))
                os.replace(path, old / "x")  # move aside, then swap in, then drop the old
                try:
                    os.replace(tmp, path)
                except OSError:
                    os.replace(old / "x", path)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_temporaries(folder: str | Path) -> None:
    """Remove temporaries this module left in ``folder`` (after a crash); nothing else."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.name.startswith(TMP_PREFIX):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()


# ---------------------------------------------------------------- manifests: what is ours
def read_manifest(folder: str | Path) -> dict | None:
    """The folder's manifest, or None when the folder has none (it is not ours)."""
    f = Path(folder) / MANIFEST
    if not f.is_file() or f.is_symlink():
        return None
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    entries = data.get("written", [])
    data["written"] = [e for e in entries if isinstance(e, str) and _plain_name(e)] \
        if isinstance(entries, list) else []
    return data


def _plain_name(name: str) -> bool:
    """A single path component that cannot point outside its folder."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


def folder_kind(folder: str | Path) -> str | None:
    """'run', 'dataset', 'predictions', ... for a folder pix2pix-tf made; None otherwise."""
    m = read_manifest(folder)
    return m["kind"] if m else None


def recorded_entries(folder: str | Path) -> list[str]:
    """Top-level names in ``folder`` that its manifest says pix2pix-tf wrote."""
    m = read_manifest(folder)
    return list(m["written"]) if m else []


def claim_folder(folder: str | Path, kind: str, flag: str = "--out") -> Path:
    """Create ``folder`` (or take an empty one, or one of ours of the same kind) for ``kind``.

    Raises:
        WriteError: the folder holds files and no manifest of this kind: it is not ours.
    """
    folder = check_out_dir(folder, flag)
    existing = folder_kind(folder) if folder.is_dir() else None
    if folder.is_dir() and existing is None and not is_empty_dir(folder):
        raise WriteError(f"{flag} {folder}: folder is not empty and was not written by pix2pix-tf; "
                         "choose a new or empty folder")
    if existing is not None and existing != kind:
        raise WriteError(f"{flag} {folder}: is a pix2pix-tf {existing} folder, not a {kind} folder")
    with os_errors_as(folder, "cannot create"):
        folder.mkdir(parents=True, exist_ok=True)
    if existing is None:
        _write_manifest(folder, {"kind": kind, "written": [], "created": time.time()})
    return folder


def _write_manifest(folder: Path, data: dict) -> None:
    atomic_write_text(folder / MANIFEST, json.dumps(data, indent=1) + "\n")


def record_written(folder: str | Path, names: Iterable[str]) -> None:
    """Add top-level entry names to the folder's manifest (call before writing them)."""
    folder = Path(folder)
    m = read_manifest(folder)
    if m is None:
        raise WriteError(f"{folder}: has no {MANIFEST}; claim_folder() it first")
    new = [n for n in names if _plain_name(n) and n not in m["written"]]
    if new:
        m["written"] = m["written"] + new
        _write_manifest(folder, m)


def remove_recorded(folder: str | Path, keep: Iterable[str] = ()) -> list[str]:
    """Remove the entries the manifest records (except ``keep``); never anything else.

    Symbolic links are removed as links, never followed. Returns the names removed.
    """
    folder = Path(folder)
    keep = set(keep)
    removed = []
    for name in recorded_entries(folder):
        if name in keep or name in (MANIFEST, LOCK):
            continue
        p = folder / name
        with os_errors_as(p, "cannot remove"):
            if p.is_symlink() or p.is_file():
                p.unlink()
            elif p.is_dir():
                shutil.rmtree(p)
            else:
                continue
        removed.append(name)
    m = read_manifest(folder)
    if m is not None:
        m["written"] = [n for n in m["written"] if n not in removed]
        _write_manifest(folder, m)
    return removed


# ---------------------------------------------------------------- one writer at a time
class FolderLock:
    """An exclusive lock on a folder, held by this process until :meth:`release`.

    Uses ``fcntl.flock`` on ``FOLDER/.pix2pix-tf.lock`` (released by the OS when the
    process dies, so a killed run's lock is stale by construction and simply taken over).
    The file records the holder's pid, host and start time for the refusal message. Where
    ``fcntl`` does not exist (Windows) it falls back to an exclusive-create file whose pid
    is checked for liveness.

    Example:
        >>> import tempfile
        >>> with FolderLock(tempfile.mkdtemp()):
        ...     pass
    """

    def __init__(self, folder: str | Path, what: str = "run folder"):
        self.folder = Path(folder)
        self.what = what
        self.path = self.folder / LOCK
        self._fd: int | None = None

    def acquire(self) -> "FolderLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on Linux/macOS
            return self._acquire_by_pid()
        fd = open_in_place(self.folder, LOCK, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise FolderBusy(f"{self.folder}: {self.what} is in use by another pix2pix-tf process "
                             f"({self._holder()}); wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self._fd = fd
        return self

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text())
            return f"pid {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "holder unknown"

    def _acquire_by_pid(self) -> "FolderLock":  # pragma: no cover - Windows
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    pid = int(json.loads(self.path.read_text())["pid"])
                    os.kill(pid, 0)
                except (OSError, ValueError, KeyError, TypeError):
                    self.path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                raise FolderBusy(f"{self.folder}: {self.what} is in use by another pix2pix-tf "
                                 f"process ({self._holder()})") from None
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
            self._fd = fd
            return self
        raise FolderBusy(f"{self.folder}: cannot take the lock {self.path}")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # drops the flock; the file stays (harmless, reused)
            self._fd = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
