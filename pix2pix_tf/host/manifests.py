"""Only what we wrote is ours: the manifest (``.pix2pix-tf.json``) of a folder pix2pix-tf
fills, and what may be replaced or cleared because of it.

A folder the tool fills carries a small manifest naming what kind of folder it is and every
entry the tool wrote (:func:`claim_folder`, :func:`record_written`). Replacing or clearing
is allowed only on entries listed there (:func:`remove_recorded`; :func:`atomic_dir`
replaces a folder only when the manifest says it is ours); a folder without the manifest is
somebody else's. Kept apart from the atomic writes it builds on
(:mod:`pix2pix_tf.host.writes`, rules 1 and 4) because this is the ownership rule, read by
every command before it replaces or removes anything.

Example:
    >>> import tempfile
    >>> folder = claim_folder(tempfile.mkdtemp(), "predictions")
    >>> folder_kind(folder), recorded_entries(folder)
    ('predictions', [])
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from .writes import (_UMASK, LOCK, MANIFEST, TMP_PREFIX, WriteError, atomic_write_text, check_out_dir,
                     is_empty_dir, os_errors_as)


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
