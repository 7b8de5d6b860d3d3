"""Strip and normalise the course notebooks so they are committed clean.

Removes outputs, sets execution counts to null, keeps only the ``tags`` of each cell's
metadata and gives cells stable ids; writes with nbformat (indent 1, sorted keys).

The notebook metadata is reduced to the kernelspec and the keys Colab reads: every notebook
has ``colab.provenance = []``; a notebook that trains (:data:`GPU_NOTEBOOKS`) asks Colab
for a GPU runtime (``accelerator: GPU``, ``colab.gpuType: T4``); on the others an
``accelerator`` / ``gpuType`` already there is kept.

Where the course comes from is written in one place, ``pix2pix_tf/course/colab.py``
(``REPOSITORY``, ``BRANCH``): this tool rewrites every notebook's badge row (in the first
cell) and its install cell (the first code cell) from it. To point the course at a fork,
one command: ``--repository OWNER/NAME`` (and/or ``--branch BRANCH``) writes the new values
into ``colab.py``, re-points the links to the old ones in ``README.md``, ``docs/*.md`` and
``notebooks/*.md`` (Colab badges, GitHub file links, the pip install spec), then normalises
every notebook from them. ``--check`` only reports notebooks that would change (exit
status 1), for CI.

Usage:
    python notebooks/tools/normalize.py [--check] [NOTEBOOK ...]   (default: notebooks/*.ipynb)
    python notebooks/tools/normalize.py --repository your-name/pix2pix-tf [--branch main]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
NOTEBOOK_DIR = Path(__file__).resolve().parents[1]
CHECKOUT = NOTEBOOK_DIR.parent
COLAB_FILE = Path("pix2pix_tf") / "course" / "colab.py"  # relative to the checkout
# the text files, besides the notebooks, whose links --repository / --branch re-point
LINKED_FILES = ("README.md", "docs/*.md", "notebooks/*.md")
# Notebooks that train something: Colab opens them on a GPU runtime.
GPU_NOTEBOOKS = ("02_generator_and_discriminator", "03_train_step_from_scratch", "04_training_on_gpu",
                 "05_visualizing_results", "06_export_savedmodel", "07_paper_ablations",
                 "08_when_gans_go_wrong", "09_task_recipes")
GPU_TYPE = "T4"  # the GPU of Colab's free tier


class NotebookError(ValueError):
    """A notebook lacks a part this tool rewrites (badge row, install cell)."""


def load_colab(checkout: Path = CHECKOUT):
    """``pix2pix_tf/course/colab.py`` of this checkout (by path: the installed package may be another)."""
    path = Path(checkout) / COLAB_FILE
    spec = importlib.util.spec_from_file_location("_pix2pix_tf_colab", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _links(repository: str, branch: str) -> tuple[str, ...]:
    """The URL prefixes that name the repository and branch: Colab badge, GitHub file, pip spec."""
    return (f"https://colab.research.google.com/github/{repository}/blob/{branch}/",
            f"https://github.com/{repository}/blob/{branch}/",
            f"git+https://github.com/{repository}@{branch}")


def set_origin(repository: str | None = None, branch: str | None = None,
               checkout: Path = CHECKOUT) -> list[Path]:
    """Point the course at ``repository`` / ``branch``: the one place, then the links to it.

    Writes ``REPOSITORY`` and ``BRANCH`` in ``pix2pix_tf/course/colab.py`` and replaces the
    links to the old repository and branch (see :func:`_links`) there and in
    :data:`LINKED_FILES`. The notebooks are rewritten afterwards by :func:`normalize`.

    Returns:
        The files it changed.

    Raises:
        NotebookError: ``repository`` is not ``owner/name`` or ``branch`` is not a plain name.
    """
    checkout = Path(checkout)
    colab = load_colab(checkout)
    old = (colab.REPOSITORY, colab.BRANCH)
    new = (repository or old[0], branch or old[1])
    try:
        colab.install_spec(*new)
    except ValueError as e:
        raise NotebookError(str(e)) from None
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", new[1]) or not re.fullmatch(r"[\w.-]+/[\w.-]+", new[0]):
        raise NotebookError(f"repository {new[0]!r} / branch {new[1]!r}: expected plain GitHub names")
    changed = []

    def rewrite(path: Path, constants: bool = False) -> None:
        text = path.read_text(encoding="utf-8")
        after = text
        if constants:
            for name, value in (("REPOSITORY", new[0]), ("BRANCH", new[1])):
                after, count = re.subn(rf'^{name} = "[^"]*"', f'{name} = "{value}"', after, count=1, flags=re.M)
                if count != 1:
                    raise NotebookError(f"{path}: no line {name} = \"...\" to rewrite")
        for before, now in zip(_links(*old), _links(*new)):
            after = after.replace(before, now)
        if after != text:
            path.write_text(after, encoding="utf-8")
            changed.append(path)

    rewrite(checkout / COLAB_FILE, constants=True)
    for pattern in LINKED_FILES:
        for path in sorted(checkout.glob(pattern)):
            rewrite(path)
    return changed


def notebook_metadata(old: dict, gpu: bool) -> nbformat.NotebookNode:
    """The committed notebook metadata: kernelspec, language and the Colab keys."""
    old_colab = old.get("colab") or {}
    colab = {"provenance": []}
    accelerator = "GPU" if gpu else old.get("accelerator")
    gpu_type = GPU_TYPE if gpu else old_colab.get("gpuType")
    if gpu_type:
        colab["gpuType"] = gpu_type
    meta = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}, "colab": colab}
    if accelerator:
        meta["accelerator"] = accelerator
    return nbformat.from_dict(meta)


def set_repository(nb: nbformat.NotebookNode, name: str, colab=None) -> nbformat.NotebookNode:
    """Rewrite the badge row and the install cell of notebook ``name`` from ``pix2pix_tf.course.colab``."""
    colab = colab or load_colab()
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown":
        raise NotebookError(f"{name}: the first cell is not the Markdown title cell")
    lines = first.source.split("\n")
    badge = colab.badge_row(name)
    rows = [i for i, line in enumerate(lines) if "colab-badge.svg" in line]
    if rows:
        lines[rows[0]] = badge
    else:
        lines[1:1] = ["", badge]
    first.source = "\n".join(lines)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or not ("PIX2PIX_REPO" in code[0].source or "pip install" in code[0].source):
        raise NotebookError(f"{name}: the first code cell is not the install cell")
    code[0].source = colab.install_cell_source()
    return nb


def normalize(nb: nbformat.NotebookNode, name: str | None = None, colab=None) -> nbformat.NotebookNode:
    """Return ``nb`` stripped of outputs and volatile metadata (modified in place).

    With ``name`` (the file's stem), also set its Colab metadata and rewrite its badge row and
    install cell from ``pix2pix_tf.course.colab``.
    """
    nb.metadata = notebook_metadata(nb.metadata, gpu=name in GPU_NOTEBOOKS)
    nb.nbformat, nb.nbformat_minor = 4, 5
    if name is not None:
        set_repository(nb, name, colab)
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


def normalized_text(path: Path, colab=None) -> str:
    """What this tool writes for the notebook at ``path``."""
    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    return nbformat.writes(normalize(nb, path.stem, colab)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    parser.add_argument("--repository", metavar="OWNER/NAME",
                        help="point the course at this GitHub repository (a fork): written into "
                             "pix2pix_tf/course/colab.py, README/docs links, every badge and install cell")
    parser.add_argument("--branch", help="the branch the badges open and the install cell installs")
    args = parser.parse_args(argv)
    if args.repository or args.branch:
        if args.check:
            parser.error("--repository / --branch rewrite files: not with --check")
        try:
            for path in set_origin(args.repository, args.branch):
                print(f"re-pointed {path}")
        except NotebookError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    colab = load_colab()
    dirty = []
    for path in paths:
        before = path.read_text(encoding="utf-8")
        try:
            after = normalized_text(path, colab)
        except NotebookError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if after != before:
            dirty.append(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    for path in dirty:
        print(("would normalise " if args.check else "normalised ") + str(path))
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
