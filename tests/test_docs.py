"""README.md and docs/*.md say only what is true of the package: their relative links and
#anchors exist, every flag they name is a flag of its subcommand, the README stays a landing
page (under 300 lines) whose test command is the one CI runs, and each docs page links back.

Which subcommand a flag belongs to (the rule the pages are written to): a flag after
``pix2pix-tf CMD`` (or after a code span that starts with a subcommand, `` `train --resume` ``)
on its line belongs to CMD; any other flag belongs to the subcommand last named that way in its
section (a heading that names a subcommand, ``## export``, sets it), else to ``train``. Flags
after another program on the line (``pip``, ``python``, ``tensorboard``, a ``benchmarks/`` script)
are that program's and are not checked.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pix2pix_tf.apps.cli_parser import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBPARSERS = _subcommands(build_parser())
COMMANDS = tuple(SUBPARSERS)
OPTIONS = {name: {s for a in p._actions for s in a.option_strings} for name, p in SUBPARSERS.items()}

FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# where a line changes hands: our command, a code span opening with a subcommand, another program
MARKER = re.compile(r"pix2pix-tf (?P<cmd>[a-z][a-z-]*)"
                    r"|`(?P<short>" + "|".join(map(re.escape, COMMANDS)) + r")(?= --)"
                    r"|(?P<other>benchmarks/\S+\.py|\btensorboard\b|\bpip3?\b|\bpython3?\b|\bnpm\b|\btwine\b)")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _lines_outside_fences(text: str):
    """``(line, in_fence)`` for every line."""
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            yield line, True
            continue
        yield line, in_fence


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces -> hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line, in_fence in _lines_outside_fences(text):
        m = HEADING.match(line)
        if in_fence or not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def link_problems(page: Path) -> list[str]:
    """Relative links of ``page`` that do not resolve (file missing, or #anchor not a heading)."""
    problems = []
    text = _text(page)
    prose = "\n".join(line for line, in_fence in _lines_outside_fences(text) if not in_fence)
    prose = re.sub(r"`[^`\n]*`", "", prose)  # code spans hold no links
    for target in LINK.findall(prose):
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            problems.append(f"{page.name}: {target}: no such file")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(_text(dest)):
            problems.append(f"{page.name}: {target}: no heading #{anchor} in {dest.name}")
    return problems


def flag_uses(text: str) -> list[tuple[str, str, str]]:
    """``(command, flag, line)`` for every flag in ``text``, by the rule in this module's docstring.
    A ``pix2pix-tf WORD`` followed by flags where WORD is no subcommand gives command ``WORD``."""
    uses = []
    section = "train"
    for line, in_fence in _lines_outside_fences(text):
        heading = None if in_fence else HEADING.match(line)
        if heading:
            title = heading.group(2).replace("`", "").strip()
            named = re.search(r"pix2pix-tf ([a-z-]+)", title)
            section = named.group(1) if named and named.group(1) in COMMANDS else (
                title if title in COMMANDS else "train")
            continue
        owner, start = section, 0
        for m in MARKER.finditer(line):
            if owner is not None:
                uses += [(owner, flag, line) for flag in FLAG.findall(line[start:m.start()])]
            start = m.end()
            word = m.group("cmd") or m.group("short")
            if m.group("other"):
                owner = None
            elif word in COMMANDS:
                owner = section = word
            else:  # "the pix2pix-tf command line": prose, unless flags follow
                owner = word
        if owner is not None:
            uses += [(owner, flag, line) for flag in FLAG.findall(line[start:])]
    return uses


def flag_problems(text: str) -> list[tuple[str, str, str]]:
    return [(command, flag, line) for command, flag, line in flag_uses(text)
            if flag not in OPTIONS.get(command, ())]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    assert not link_problems(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_flag_is_a_flag_of_its_subcommand(page):
    assert not flag_problems(_text(page))


def test_the_checks_see_links_flags_and_mistakes(tmp_path):
    # the checks above must not pass by finding nothing
    uses = {(c, f) for page in PAGES for c, f, _ in flag_uses(_text(page))}
    assert {("train", "--resume"), ("export", "--quantize"), ("export", "--runtime"),
            ("predict", "--size-mode"), ("make-pairs", "--opt"), ("combine", "--resize-method"),
            ("download", "--sha256"), ("demo", "--share"), ("evaluate", "--fid")} <= uses
    assert set(COMMANDS) <= {c for c, _ in uses}  # every subcommand is documented with its flags
    assert not any(f.startswith("---") for _, f in uses)
    # a made-up flag, a flag of another subcommand, an unknown subcommand are caught
    assert flag_problems("pix2pix-tf export --nope")
    assert flag_problems("pix2pix-tf predict --quantize dynamic")
    assert flag_problems("## export\n\n`--steps 10`")
    assert flag_problems("pix2pix-tf trian --steps 10")
    assert not flag_problems("## export\n\n`--quantize int8`, `pix2pix-tf train --steps 1`, then `--resume`")
    assert not flag_problems("tensorboard --logdir RUN/logs; python benchmarks/x.py --rounds 2")
    # a broken link and a missing anchor are caught; a good one passes
    (tmp_path / "a.md").write_text("# Top\n\n## Two words: here\n\n[ok](#two-words-here) [ok](a.md#top)\n")
    assert not link_problems(tmp_path / "a.md")
    (tmp_path / "b.md").write_text("[gone](missing.md) [bad](a.md#nowhere) [web](https://x.org/y#z)\n")
    assert len(link_problems(tmp_path / "b.md")) == 2


def test_readme_is_a_landing_page():
    lines = _text(README).splitlines()
    assert len(lines) < 300, f"README.md has {len(lines)} lines: move reference text to docs/"
    assert len(DOCS) >= 6
    for name in ("command-line", "data", "speed", "deployment", "reliability", "paper"):
        assert (ROOT / "docs" / f"{name}.md") in DOCS, name
        assert f"(docs/{name}.md)" in "\n".join(lines), f"README does not link docs/{name}.md"


def test_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    after = ci.split("# The README's test command:", 1)[1].strip().splitlines()[0]
    assert after == "python -m pytest -q"
    commands = re.findall(r"```bash\n(.*?)\n```", _text(README), re.S)
    assert commands[1].strip().endswith("&& " + after)
    assert "pix2pix-tf train --data data/facades_synthetic --out runs/quickstart" in commands[0]


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_each_docs_page_opens_with_a_summary_and_links_back(page):
    text = _text(page)
    first = re.split(r"\n\s*\n", text.split("\n", 1)[1].strip())[0]
    assert text.startswith("# ") and not first.startswith(("#", "|", "```", "-")), page.name
    assert "](../README.md" in first, f"{page.name}: the first paragraph does not link the README"
