"""Snapshots of a folder tree, for hostile-input tests: "no byte outside the allowed folder changed"."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def snapshot(root: str | Path, exclude: str | Path | None = None) -> dict[str, str]:
    """Map every entry under ``root`` (relative path) to a digest of its content or link target.

    ``exclude``: a folder under ``root`` whose contents are left out (the one the command
    may write). Folders map to "dir", symlinks to "link:TARGET" (never followed).
    """
    root = Path(root)
    skip = Path(exclude).resolve() if exclude is not None else None
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if skip is not None and (here.resolve() == skip or skip in here.resolve().parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = here / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Entries added, removed or modified between two snapshots (sorted)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
