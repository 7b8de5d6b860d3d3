"""notebooks/CHEATSHEET.md says only what is true of the package: its flags exist in the help of
their command, its dotted names resolve, its config defaults are the config's, its links exist."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import io
import re
from pathlib import Path

import pytest

from pix2pix_tf.apps.cli_parser import build_parser
from pix2pix_tf.config import Pix2PixConfig

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
SHEET = NB_DIR / "CHEATSHEET.md"
TEXT = SHEET.read_text(encoding="utf-8")
COMMANDS = ("train", "predict", "export", "evaluate", "make-pairs", "make-sample", "download", "combine")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
DOTTED = re.compile(r"\bpix2pix_tf(?:\.[A-Za-z_]\w*)+")
SETTING = re.compile(r"`(\w+) ?= ?([^`]+)`")  # `field = value` (or field=value) in backticks
FIELDS = {f.name: f for f in dataclasses.fields(Pix2PixConfig)}
TABLE_HEADER = "| paper's choice | config field = default | in the library | train flag |"


def help_text(command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return out.getvalue()


HELP = {command: help_text(command) for command in COMMANDS}


def flag_uses() -> list[tuple[str, str, str]]:
    """``(command, flag, line)`` for every flag in the sheet: a flag after ``pix2pix-tf CMD`` on
    its line belongs to CMD, any other to ``train``."""
    uses = []
    for line in TEXT.splitlines():
        parts = re.split(r"pix2pix-tf (?=[a-z])", line)
        for n, part in enumerate(parts):
            command = "train"
            if n > 0:
                command = re.match(r"[a-z-]+", part).group()
                assert command in COMMANDS, f"unknown command in: {line}"
            uses += [(command, flag, line) for flag in FLAG.findall(part)]
    return uses


def choices_table() -> list[list[str]]:
    """The rows (cells) of the table of the paper's choices."""
    lines = TEXT.splitlines()
    start = lines.index(TABLE_HEADER)
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def resolve(dotted: str):
    """Import the longest module prefix of ``dotted``, then get the rest as attributes."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:n]))
        except ModuleNotFoundError:
            continue
        for name in parts[n:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_every_flag_is_in_the_help_of_its_command():
    uses = flag_uses()
    assert {c for c, _, _ in uses} >= {"train", "export", "evaluate", "predict", "make-sample", "make-pairs"}
    missing = [(command, flag, line) for command, flag, line in uses
               if not re.search(rf"(?<![\w-]){re.escape(flag)}\b(?!-)", HELP[command])]
    assert not missing, missing


def test_the_flag_finder_sees_flags_and_not_table_rules():
    # the checks above must not pass by finding nothing: the table's flags are there, its "---" rules are not
    flags = {flag for _, flag, _ in flag_uses()}
    assert {"--lambda-l1", "--n-layers-d", "--no-random-mirror", "--resume", "--format"} <= flags
    assert not any(flag.startswith("---") for flag in flags)
    assert not re.search(r"(?<![\w-])--nope\b(?!-)", HELP["train"])  # a made-up flag is not found


def test_every_dotted_name_resolves():
    names = sorted(set(DOTTED.findall(TEXT)))
    assert len(names) >= 15
    for name in names:
        assert resolve(name) is not None, name
    with pytest.raises(AttributeError):
        resolve("pix2pix_tf.losses.no_such_loss")


def test_the_table_states_the_config_defaults_and_the_flag_that_sets_each():
    rows = choices_table()
    assert len(rows) >= 12
    seen = set()
    parser = build_parser()
    for choice, fields, where, flags in rows:
        settings = SETTING.findall(fields)
        assert settings, f"row {choice!r} names no config field"
        row_flags = FLAG.findall(flags)
        for name, value in settings:
            assert name in FIELDS, f"{choice}: {name} is not a Pix2PixConfig field"
            assert ast.literal_eval(value) == FIELDS[name].default, (choice, name, value)
            seen.add(name)
            # the row names the flag that sets this field, and the parser maps it to the field
            flag = next((f for f in row_flags if f in (f"--{name.replace('_', '-')}",
                                                         f"--no-{name.replace('_', '-')}")), None)
            assert flag, f"{choice}: no flag for {name} among {row_flags}"
            value_args = [] if isinstance(FIELDS[name].default, bool) else [value.strip('"')]
            args = parser.parse_args(["train", "--data", "d", flag, *value_args])
            assert getattr(args, name) is not None, (flag, name)
        assert DOTTED.search(where), f"{choice}: no place in the library"
    assert {"lambda_l1", "learning_rate", "beta_1", "batch_size", "leaky_slope", "dropout_rate",
            "d_loss_weight", "load_size", "random_mirror", "n_layers_d", "inference_mode"} <= seen


def test_settings_outside_the_table_are_valid_values():
    for name, value in SETTING.findall(TEXT):
        if name in FIELDS:
            Pix2PixConfig().replace(**{name: ast.literal_eval(value)}).check_trainable()


def test_the_notebooks_are_listed_in_order_and_their_links_exist():
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", TEXT)
    assert links == sorted(p.name for p in NB_DIR.glob("*.ipynb"))
    assert len(links) == 9
    for link in links:
        assert (SHEET.parent / link).is_file(), link


def test_the_receptive_fields_it_states_are_the_built_ones():
    from pix2pix_tf.course.ablations import discriminator_receptive_field

    lines = TEXT.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("* **Receptive field**"))
    line = " ".join(lines[i:i + 2])  # the bullet's two lines
    stated = [int(n) for n in re.findall(r"(\d+) \((?:PixelGAN|`n_layers_d)", line)]
    depths = [None] + [int(n) for n in re.findall(r"`n_layers_d = (\d+)`", line)]
    # not 286 at n_layers_d = 5: that is the answer of exercise 02.receptive_field
    assert stated == [1, 16, 70] and depths == [None, 1, 3]
    base = Pix2PixConfig(image_size=256, ndf=2)
    built = [discriminator_receptive_field(base.replace(net_d="pixel") if d is None else base.replace(n_layers_d=d))
             for d in depths]
    assert built == stated
