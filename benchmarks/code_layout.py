"""The shape of the library's code, as JSON: files, lines, imports between modules, and the
lines a reader follows from the command line to one weights update.

    python benchmarks/code_layout.py [--root pix2pix_tf] [--path MODULE:QUALNAME ...]

Lines are physical lines of source (docstrings and comments included: a reader reads them).
``--path`` lists the functions on the reading path (default: the training step's path in the
current layout); each is counted as the lines of its definition.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

# CLI -> train() -> Pix2Pix.train_step -> the update, in the current layout
DEFAULT_PATH = [
    "apps/cli:main", "apps/cli_commands:_run", "apps/cli_commands:_train", "run/train:train",
    "run/train:_train_in_run",
    "model:Pix2Pix.train_step", "model:Pix2Pix.discriminate", "model:Pix2Pix._update",
    "model:Pix2Pix._log",
]


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(root: Path, path: Path) -> set[str]:
    """The package's own modules that ``path`` imports (absolute names)."""
    tree = ast.parse(path.read_text())
    here = module_name(root, path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != root.name:
                continue
            found.add(target)
            for alias in node.names:  # "from . import losses" imports a module
                candidate = f"{target}.{alias.name}"
                sub = root.parent / Path(*candidate.split("."))
                if sub.with_suffix(".py").is_file() or (sub / "__init__.py").is_file():
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == root.name)
    found.discard(module_name(root, path))
    return found


def definition_lines(root: Path, spec: str) -> int:
    """Lines of ``module/path:Qual.name``'s definition (decorators included)."""
    file, qual = spec.split(":")
    tree = ast.parse((root / f"{file}.py").read_text())
    nodes = tree.body
    node = None
    for part in qual.split("."):
        node = next(n for n in nodes if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
        nodes = node.body
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return node.end_lineno - start + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "pix2pix_tf"))
    parser.add_argument("--path", nargs="*", default=DEFAULT_PATH)
    parser.add_argument("--train-step", default=None, help="MODULE:QUALNAME of train_step")
    args = parser.parse_args()
    root = Path(args.root)
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    lines = {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in files}
    edges = {module_name(root, p): sorted(imports_of(root, p)) for p in files}
    longest = max(lines, key=lines.get)
    path = {spec: definition_lines(root, spec) for spec in args.path}
    step = args.train_step or next(s for s in args.path if s.endswith("train_step"))
    print(json.dumps({
        "files": len(files),
        "lines": sum(lines.values()),
        "longest_file": {longest: lines[longest]},
        "import_edges": sum(len(v) for v in edges.values()),
        "reading_path": path,
        "reading_path_lines": sum(path.values()),
        "train_step_lines": definition_lines(root, step),
        "lines_per_file": lines,
        "imports": edges,
    }, indent=1))


if __name__ == "__main__":
    main()
