"""Writing files without losing anyone's data: atomic writes, never through a link.

Every command that writes follows four rules; this module holds the first and the last,
the names and errors all of them share, and points to the home of the other two:

1. **Nothing half-written.** A file goes to a hidden temporary name in its own folder
   and is renamed into place when complete (:func:`atomic_write_bytes`,
   :func:`~pix2pix_tf.host.manifests.atomic_dir`); a failure removes the temporary. A full
   disk or a read-only folder becomes one :class:`WriteError` naming the file.
2. **Only what we wrote is ours.** A folder the tool fills carries a small manifest,
   ``.pix2pix-tf.json`` (:data:`MANIFEST`), naming what kind of folder it is and every entry
   the tool wrote; replacing or clearing is allowed only on entries listed there, and a
   folder without the manifest is somebody else's: :mod:`pix2pix_tf.host.manifests`.
3. **One writer at a time.** :class:`~pix2pix_tf.host.folder_lock.FolderLock` holds an OS
   lock (``flock``) on ``.pix2pix-tf.lock`` (:data:`LOCK`) for as long as a run writes; a
   second writer is refused naming the holder's pid: :mod:`pix2pix_tf.host.folder_lock`.
4. **Never through a link.** Inside a folder the tool owns, nothing is written through a
   symbolic link somebody put there: :func:`check_no_links` refuses a link (or a special
   file) among the entries a command is about to write, :func:`open_in_place` opens a file
   that is appended to or locked in place with ``O_NOFOLLOW`` at every path component, and
   :func:`make_dirs` creates sub-folders the same way. A file replaced by rename (rule 1)
   replaces a link itself, never what it points to. The folder the user named may itself be
   a link: the user chose it.

The rules are three modules so that each is read, and tested, on its own; this one imports
neither of the other two (they build on it), and holds the errors they raise
(:class:`WriteError`, :class:`FolderBusy`).

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
import os
import shutil
import stat
import tempfile
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
