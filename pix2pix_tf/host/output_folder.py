"""One output folder of a data-writing command (predict, make-sample, make-pairs, combine).

:class:`OutputFolder` applies the rules of :mod:`pix2pix_tf.host.writes` to a folder that
receives many files, possibly in split sub-folders (``OUT/train/0000.jpg``):

1. **Checked before the first byte.** :meth:`OutputFolder.check` refuses a ``--out`` that
   is a file, lies under a file or is not writable, and a non-empty folder that
   pix2pix-tf did not write (no manifest) or wrote for another command.
   :meth:`OutputFolder.plan` then refuses, still writing nothing, two sources mapped to
   one output name (compared case-insensitively: ``b.jpg`` and ``b.JPG`` are one file on
   macOS and Windows) and any output name taken by a file pix2pix-tf did not write.
2. **Only what we wrote is ours.** The folder carries a manifest (``.pix2pix-tf.json``,
   :func:`pix2pix_tf.host.manifests.claim_folder`) listing every file written into it, those in
   sub-folders under its ``files`` key as ``"train/0000.jpg"``, and the SHA-256 of each
   under ``sha256``. ``overwrite`` replaces those files and removes the stale ones only
   while their content still has the recorded hash (a name added to the manifest by hand,
   or a file changed since, is somebody's); other files are never touched.
3. **Nothing half-written.** :meth:`OutputFolder.write` goes through
   :func:`pix2pix_tf.host.writes.atomic_write_bytes`; :meth:`OutputFolder.abort` (on any
   failure) removes the files and folders this call created, so a full disk leaves the
   folder as it was, apart from files already replaced in place.

No TensorFlow here: the CLI runs these checks before importing it.

Example:
    >>> import tempfile, pathlib
    >>> out = OutputFolder(pathlib.Path(tempfile.mkdtemp()) / "out", "predictions").check()
    >>> out.plan({"a.png": "in/a.png"}).open().write("a.png", b"...").name
    'a.png'
    >>> out.finish()
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Mapping

from ..config import Pix2PixError
from .manifests import claim_folder, folder_kind, read_manifest, record_written
from .writes import (LOCK, MANIFEST, WriteError, atomic_write_bytes, atomic_write_text, check_out_dir,
                     os_errors_as, remove_temporaries)

__all__ = ["OutputFolder", "NameCollision", "find_collisions", "describe_collisions"]

_SHOW = 3  # collisions or entries listed in one message


class NameCollision(Pix2PixError):
    """Two inputs would be written to the same output file."""


def find_collisions(targets: Mapping[str, str]) -> dict[str, list[str]]:
    """Group sources whose output names are equal ignoring case.

    Args:
        targets: {source label: output name or relative path}.

    Returns:
        {output name: [sources]} for every name claimed by more than one source.

    Example:
        >>> find_collisions({"b.jpg": "b_jpg.jpg", "b.JPG": "b_jpg.jpg", "c.png": "c.jpg"})
        {'b_jpg.jpg': ['b.jpg', 'b.JPG']}
    """
    groups: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for source, name in targets.items():
        key = name.casefold()
        first.setdefault(key, name)
        groups.setdefault(key, []).append(source)
    return {first[k]: sources for k, sources in groups.items() if len(sources) > 1}


def describe_collisions(collisions: Mapping[str, list[str]]) -> str:
    """'a.png and a_png.jpg would both be written as a_png.jpg; ... (2 more)' on one line."""
    parts = [f"{' and '.join(sources)} would {'both' if len(sources) == 2 else 'all'} be written "
             f"as {name}" for name, sources in list(collisions.items())[:_SHOW]]
    more = f" (and {len(collisions) - _SHOW} more)" if len(collisions) > _SHOW else ""
    return "; ".join(parts) + more


class OutputFolder:
    """The folder a command fills, checked before anything is written.

    Args:
        path: the folder (``--out``).
        kind: what the command makes ("predictions", "sample-dataset", ...); stored in the
            manifest, and a folder of another kind is refused.
        overwrite: allow a folder that already holds this kind of output from pix2pix-tf;
            its recorded files are replaced, the stale ones removed.
        flag: the option named in messages.

    Use: ``check()`` -> ``plan(files)`` -> ``open()`` -> ``write(...)``... -> ``finish()``,
    and ``abort()`` when anything fails after ``open()``.
    """

    def __init__(self, path: str | Path, kind: str, overwrite: bool = False, flag: str = "--out"):
        self.path = Path(path)
        self.kind = kind
        self.overwrite = overwrite
        self.flag = flag
        self.existing = False  # holds output of ours from an earlier call
        self._plan: dict[str, str] = {}
        self._empty_folders: list[str] = []
        self._written: set[str] = set()
        self._created_dirs: list[Path] = []
        self._created_files: set[Path] = set()
        self._existed_before: set[Path] = set()
        self._hashes: dict[str, str] = {}
        self._verdicts: dict[str, tuple[tuple, bool]] = {}  # rel -> (file stamp, still ours)

    # ------------------------------------------------------------------ checks
    def check(self) -> "OutputFolder":
        """Refuse an unusable or foreign folder; nothing is written.

        Raises:
            WriteError: the path is a file, lies under a file or is not writable; or the
                folder is not empty and pix2pix-tf did not write it, or wrote it for another
                command; or it holds our output and ``overwrite`` is off.
        """
        check_out_dir(self.path, self.flag)
        if self.path.is_symlink() and not self.path.is_dir():
            raise WriteError(f"{self.flag} {self.path}: is a symbolic link to a non-folder")
        if not self.path.is_dir():
            return self
        with os_errors_as(self.path, "cannot list the folder"):
            entries = sorted(os.listdir(self.path))
        if not entries:
            return self
        kind = folder_kind(self.path)
        if kind is None:
            n = len(entries)
            raise WriteError(f"{self.flag} {self.path}: not empty ({n} entries, e.g. {entries[0]}) "
                             "and not written by pix2pix-tf; choose a new or empty folder")
        if kind != self.kind:
            raise WriteError(f"{self.flag} {self.path}: is a pix2pix-tf {kind} folder, not a "
                             f"{self.kind} folder; choose another folder")
        self.existing = True
        if not self.overwrite:
            raise WriteError(f"{self.flag} {self.path}: already holds {self.kind} written by "
                             "pix2pix-tf; use --overwrite to replace them, or a new folder")
        return self

    def plan(self, files: Mapping[str, str], folders: tuple[str, ...] = ()) -> "OutputFolder":
        """Check every file to be written; nothing is written.

        Args:
            files: {relative output path ("x.png" or "train/x.jpg"): source label for
                messages}.
            folders: sub-folders to create even when no file goes there (left empty).

        Raises:
            NameCollision: two sources map to one output path (ignoring case).
            WriteError: an output path, or its sub-folder, is taken by something
                pix2pix-tf did not write.
        """
        collisions = find_collisions({src: rel for rel, src in files.items()})
        if collisions:
            raise NameCollision(f"{len(collisions)} output name collision(s): "
                                f"{describe_collisions(collisions)}; rename one of each")
        for rel in files:
            parts = PurePosixPath(rel).parts
            if not parts or any(p in ("", ".", "..") for p in parts) or len(parts) > 2 \
                    or parts[0] in (MANIFEST, LOCK):
                raise WriteError(f"{self.path / rel}: not a plain output name")
        ours = _recorded(self.path) if folder_kind(self.path) == self.kind else set()
        hashes = _hashes(self.path)
        by_folder = self._by_folder(files)
        for folder in [*by_folder, *folders]:
            where = self.path / folder if folder else self.path
            if folder and (where.is_symlink() or (where.exists() and not where.is_dir())):
                raise WriteError(f"{where}: exists and is not a folder; not writing into it")
            if not where.is_dir():
                continue
            with os_errors_as(where, "cannot list the folder"):
                present = {n.casefold(): n for n in os.listdir(where)}
            for name in by_folder.get(folder, []):
                found = present.get(name.casefold())
                if found is None:
                    continue
                rel = f"{folder}/{name}" if folder else name
                target = where / found
                if (found != name or rel not in ours or target.is_symlink() or not target.is_file()
                        or not self._still_ours(rel, target, hashes.get(rel))):
                    raise WriteError(f"{target}: exists and was not written by pix2pix-tf as "
                                     f"{rel}; not overwriting it (move it away or choose "
                                     f"another {self.flag})")
                self._existed_before.add(where / name)
        self._plan = dict(files)
        self._empty_folders = [f for f in folders if f not in by_folder]
        return self

    @staticmethod
    def _by_folder(files) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for rel in files:
            p = PurePosixPath(rel)
            groups.setdefault("" if len(p.parts) == 1 else p.parts[0], []).append(p.name)
        return groups

    # ------------------------------------------------------------------ writing
    def open(self) -> "OutputFolder":
        """Create the folders, claim ``path`` and record every planned file in its manifest.

        The manifest's ``written`` lists the planned files directly in ``path``; its
        ``files`` lists those in sub-folders as ``"SPLIT/NAME"`` (the folders themselves are
        not recorded: a foreign file put into one is never removed with it).

        Raises:
            WriteError: a folder or the manifest cannot be written (nothing is left then).
        """
        try:
            if not self.path.exists():
                self._created_dirs.append(self.path)
            claim_folder(self.path, self.kind, self.flag)
            by_folder = self._by_folder(self._plan)
            record_written(self.path, by_folder.get("", []))
            _add_files(self.path, [rel for rel in self._plan if "/" in rel])
            for folder in [f for f in by_folder if f] + self._empty_folders:
                sub = self.path / folder
                if not sub.exists():
                    self._created_dirs.append(sub)
                    with os_errors_as(sub, "cannot create"):
                        sub.mkdir()
        except BaseException:
            self.abort()
            raise
        return self

    def write(self, rel: str, data: bytes) -> Path:
        """Write one planned file atomically; returns its path.

        Raises:
            WriteError: naming the file (disk full, read-only, ...); its temporary is removed.
        """
        target = self.path / rel
        if target not in self._existed_before:
            self._created_files.add(target)
        atomic_write_bytes(target, data)
        self._written.add(rel)
        self._hashes[rel] = hashlib.sha256(data).hexdigest()
        return target

    def finish(self) -> None:
        """Remove the files an earlier call recorded that this call did not write again.

        Sub-folders left empty by that are removed; nothing unrecorded is touched. The
        manifest then lists exactly the files this call wrote.

        Raises:
            WriteError: a stale file cannot be removed or the manifest cannot be updated.
        """
        stale = sorted(_recorded(self.path) - self._written)
        hashes = _hashes(self.path)
        for rel in stale:
            p = self.path / rel
            with os_errors_as(p, "cannot remove"):
                if not p.is_symlink() and p.is_file() and self._still_ours(rel, p, hashes.get(rel)):
                    p.unlink()  # else: not what we wrote any more; it is left, and forgotten
        for folder in sorted({PurePosixPath(rel).parts[0] for rel in stale if "/" in rel}):
            sub = self.path / folder
            if folder not in self._empty_folders and sub.is_dir() and not sub.is_symlink() \
                    and not os.listdir(sub):
                sub.rmdir()
        data = read_manifest(self.path)
        if data is not None:
            data["written"] = sorted(rel for rel in self._written if "/" not in rel)
            data["files"] = sorted(rel for rel in self._written if "/" in rel)
            data["sha256"] = dict(sorted(self._hashes.items()))
            atomic_write_text(self.path / MANIFEST, json.dumps(data, indent=1) + "\n")

    def _still_ours(self, rel: str, path: Path, digest: str | None) -> bool:
        """:func:`_still_ours`, each file hashed once per call.

        A planned file that this call did not write after all (an input it skipped) is
        asked about twice, by :meth:`plan` and by :meth:`finish`: the second answer is the
        first one while the file is unchanged (same size, modification time and inode), and
        a fresh hash otherwise.
        """
        try:
            st = path.stat()
        except OSError:
            return False
        stamp = (digest, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
        known = self._verdicts.get(rel)
        if known is not None and known[0] == stamp:
            return known[1]
        verdict = _still_ours(path, digest)
        self._verdicts[rel] = (stamp, verdict)
        return verdict

    def abort(self) -> None:
        """Undo what this call created: new files, then new folders left empty.

        Files that existed before and were already replaced stay replaced. Never raises.
        """
        for f in self._created_files:
            try:
                f.unlink(missing_ok=True)
            except OSError:
                pass
        folders = {self.path, *(self.path / f for f in self._by_folder(self._plan) if f)}
        for folder in folders:
            try:
                remove_temporaries(folder)
            except OSError:
                pass
        for folder in reversed(self._created_dirs):
            try:
                if folder.is_dir() and set(os.listdir(folder)) <= {MANIFEST}:
                    (folder / MANIFEST).unlink(missing_ok=True)
                    folder.rmdir()
            except OSError:
                pass


def _recorded(folder: Path) -> set[str]:
    """Relative paths the manifest of ``folder`` says pix2pix-tf wrote (files only)."""
    data = read_manifest(folder)
    if data is None:
        return set()
    files = data.get("files", [])
    nested = {f for f in files if isinstance(f, str) and _plain_relative(f)} if isinstance(files, list) else set()
    return set(data["written"]) | nested


def _hashes(folder: Path) -> dict[str, str]:
    """The manifest's ``sha256`` record: {relative path: hex digest} of the files we wrote."""
    data = read_manifest(folder)
    hashes = data.get("sha256") if data else None
    return {k: v for k, v in hashes.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(hashes, dict) else {}


def _still_ours(path: Path, digest: str | None) -> bool:
    """``path`` still holds the bytes pix2pix-tf wrote (its recorded SHA-256)."""
    if digest is None:
        return False
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return False
    return h.hexdigest() == digest


def _plain_relative(rel: str) -> bool:
    parts = rel.split("/")
    return len(parts) == 2 and all(p and p not in (".", "..") and "\\" not in p and "\0" not in p
                                   for p in parts)


def _add_files(folder: Path, rels: list[str]) -> None:
    """Add sub-folder file paths to the manifest's ``files`` list."""
    data = read_manifest(folder)
    if data is None or not rels:
        return
    old = data.get("files") if isinstance(data.get("files"), list) else []
    data["files"] = sorted(set(old) | set(rels))
    atomic_write_text(folder / MANIFEST, json.dumps(data, indent=1) + "\n")
