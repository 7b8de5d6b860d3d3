"""One writer at a time: :class:`FolderLock`, an OS lock on a folder's ``.pix2pix-tf.lock``.

A run (training, export, evaluation, a download's work folder) holds the lock for as long as
it writes; a second writer is refused with :class:`~pix2pix_tf.host.writes.FolderBusy`,
naming the holder's pid, host and start time. The OS drops the lock when its process dies, so a stale lock from a
killed run is taken over without asking. Kept apart from the atomic writes
(:mod:`pix2pix_tf.host.writes`, whose :func:`~pix2pix_tf.host.writes.open_in_place` opens
the lock file without following links) and the manifests because it is about processes,
not files.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from .writes import LOCK, FolderBusy, open_in_place


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
