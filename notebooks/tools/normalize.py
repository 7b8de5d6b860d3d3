"""Strip and normalise the course notebooks so they are committed clean.

Removes outputs, sets execution counts to null, keeps only the ``tags`` of each cell's
metadata, reduces the notebook metadata to the kernelspec and gives cells stable ids;
writes with nbformat (indent 1, sorted keys). ``--check`` only reports notebooks that
would change (exit status 1), for CI.

Usage:
    python notebooks/tools/normalize.py [--check] [NOTEBOOK ...]   (default: notebooks/*.ipynb)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` stripped of outputs and volatile metadata (modified in place)."""
    nb.metadata = nbformat.NotebookNode({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags")
        cell.metadata = nbformat.NotebookNode({"tags": list(tags)} if tags else {})
        cell.id = f"c{i:02d}"
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path(__file__).resolve().parents[1].glob("*.ipynb"))
    dirty = []
    for path in paths:
        before = path.read_text(encoding="utf-8")
        after = nbformat.writes(normalize(nbformat.reads(before, as_version=4))) + "\n"
        if after != before:
            dirty.append(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    for path in dirty:
        print(("would normalise " if args.check else "normalised ") + str(path))
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
