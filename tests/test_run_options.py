"""RunOptions: how a run goes, apart from the model's config.

Validation naming the field, ``train(options=...)`` equal to the keywords, the run's
``run_options.json`` (written, read back, kept on ``--resume``, checked by ``--overwrite``),
and runs written before precision and conv_impl left the config: their ``config.json`` holds
them, and such a run still loads, resumes, exports and evaluates.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import make_pair, write_image
from pix2pix_tf.apps import cli
from pix2pix_tf.apps.cli_parser import _RUN_FLAGS, _run_overrides, build_parser
from pix2pix_tf.config import ConfigError, Pix2PixConfig
from pix2pix_tf.host.manifests import recorded_entries
from pix2pix_tf.layers import walk_layers
from pix2pix_tf.run.folder import (RUN_OPTIONS, RunDirError, is_run_path, load_run_config,
                                   load_run_options)
from pix2pix_tf.run.options import (CONV_IMPLS, PRECISIONS, TFLITE_QUANTIZATIONS, RunOptions,
                                    option_choices, run_options)

CFG = Pix2PixConfig(image_size=32, load_size=36, ngf=4, ndf=4)
MODEL_FLAGS = ["--image-size", "32", "--load-size", "36", "--ngf", "4", "--ndf", "4"]
QUICK = {"steps_per_epoch": 2, "export": False, "verbose": 0, "checkpoint_min_seconds": 0}


# ------------------------------------------------------------------ the options themselves
@pytest.mark.parametrize("name,bad", [
    ("steps", 0), ("steps", -3), ("steps", 2.5), ("steps", True), ("epochs", 0),
    ("steps_per_epoch", "4"), ("checkpoint_every", 0), ("keep_checkpoints", 0),
    ("keep_checkpoints", None), ("checkpoint_min_seconds", -1), ("checkpoint_min_seconds", float("nan")),
    ("log_every", 0), ("snapshot_count", 0), ("validation_budget", -0.5), ("validation_budget", "0.1"),
    ("eval_modes", ()), ("eval_modes", ("sharp",)), ("eval_modes", "paper"), ("export", 1),
    ("jit_compile", "yes"), ("deterministic", "no"), ("skip_bad_files", None), ("strategy", "gpus"),
    ("verbose", 3), ("verbose", True), ("startup_seconds", -1.0), ("startup_seconds", float("inf")),
    ("precision", "float8"), ("precision", "auto "), ("conv_impl", "fast"), ("conv_impl", None),
])
def test_each_bad_value_is_refused_naming_the_field(name, bad):
    with pytest.raises(ConfigError, match=rf"^run option {name} must be .*, got ") as info:
        RunOptions(**{name: bad})
    assert info.value.field == name and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=name):
        RunOptions().replace(**{name: bad})


def test_defaults_and_good_values():
    options = RunOptions()
    assert (options.precision, options.conv_impl, options.strategy) == ("float32", "auto", "none")
    assert options.kept_on_resume() == {"precision": "float32", "conv_impl": "auto"}
    assert RunOptions(eval_modes=["deterministic", "paper"]).eval_modes == ("deterministic", "paper")
    assert RunOptions(checkpoint_min_seconds=float("inf"), jit_compile=False, verbose=2).verbose == 2
    with pytest.raises(ConfigError, match="give steps or epochs, not both"):
        RunOptions(steps=2, epochs=1)


def test_choices_live_in_the_fields_and_match_what_the_speed_paths_take():
    from pix2pix_tf.fast.matmul import _MATMUL_FOR
    from pix2pix_tf.fast.precision import POLICIES
    from pix2pix_tf.run import export

    assert option_choices() == {"strategy": ("none", "mirrored", "multiworker", "tpu", "auto"),
                                "precision": PRECISIONS, "conv_impl": CONV_IMPLS}
    assert set(PRECISIONS) == {*POLICIES, "auto"} and set(CONV_IMPLS) == set(_MATMUL_FOR)
    assert TFLITE_QUANTIZATIONS == export.TFLITE_QUANTIZATIONS
    assert not {"precision", "conv_impl"} & {f.name for f in dataclasses.fields(Pix2PixConfig)}


def test_unknown_names_are_type_errors_naming_them(pair_dir, tmp_path):
    from pix2pix_tf.run.train import train

    with pytest.raises(TypeError, match="unexpected keyword argument 'stpes'"):
        run_options(RunOptions(steps=2), stpes=3)
    with pytest.raises(TypeError, match="unknown run option.*: colour"):
        RunOptions().replace(colour="red")
    with pytest.raises(TypeError, match=r"train\(\) got an unexpected keyword argument 'stpes'"):
        train(CFG, pair_dir, tmp_path / "run", stpes=2)
    with pytest.raises(TypeError, match="options must be a RunOptions"):
        train(CFG, pair_dir, tmp_path / "run", {"steps": 2})
    with pytest.raises(ConfigError, match="run option steps"):
        train(CFG, pair_dir, tmp_path / "run", RunOptions(), steps=0)
    assert not (tmp_path / "run").exists()  # refused before anything was written


# ------------------------------------------------------------------ the command line
def test_the_train_flags_come_from_the_fields():
    no_flag = {"log_every", "snapshot_count", "startup_seconds"}  # the CLI sets startup_seconds itself
    fields = {f.name for f in dataclasses.fields(RunOptions)}
    assert set(_RUN_FLAGS) | no_flag == fields and not set(_RUN_FLAGS) & no_flag
    parser = build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    by_dest = {a.dest: a for a in train_parser._actions}
    for name, choices in option_choices().items():
        assert tuple(by_dest[name].choices) == choices, name
    assert by_dest["keep_checkpoints"].default == RunOptions().keep_checkpoints
    export_parser = parser._subparsers._group_actions[0].choices["export"]
    assert tuple(next(a for a in export_parser._actions if a.dest == "quantize").choices) == TFLITE_QUANTIZATIONS
    args = parser.parse_args(["train", "--data", "d", "--steps", "3", "--quiet", "--no-export", "--xla",
                              "--precision", "mixed_bfloat16", "--eval-modes", "deterministic,paper"])
    overrides = _run_overrides(args)
    assert {k: overrides[k] for k in ("steps", "verbose", "export", "jit_compile", "precision", "eval_modes")} == {
        "steps": 3, "verbose": 0, "export": False, "jit_compile": True, "precision": "mixed_bfloat16",
        "eval_modes": ("deterministic", "paper")}
    assert "conv_impl" not in overrides and "epochs" not in overrides  # unset: a resume keeps the run's
    RunOptions(**overrides)  # every flag value is a valid option
    defaults = _run_overrides(parser.parse_args(["train", "--data", "d"]))
    assert RunOptions(**defaults) == RunOptions()


def test_a_config_file_from_before_the_split_starts_a_run(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**CFG.to_dict(), "precision": "mixed_bfloat16", "conv_impl": "auto"}))
    args = build_parser().parse_args(["train", "--data", "d", "--config", str(path)])
    from pix2pix_tf.apps.cli_parser import _config_from_args
    assert _config_from_args(args) == CFG
    overrides = _run_overrides(args)
    assert overrides["precision"] == "mixed_bfloat16" and "conv_impl" not in overrides  # default: unset
    args = build_parser().parse_args(["train", "--data", "d", "--config", str(path), "--precision", "float32"])
    assert _run_overrides(args)["precision"] == "float32"  # the flag wins
    path.write_text(json.dumps({**CFG.to_dict(), "precision": "float8"}))
    with pytest.raises(ConfigError, match=rf"^{path}: run option precision must be one of"):
        _config_from_args(args)


# ------------------------------------------------------------------ runs
@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("options_data")
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        for i in range(n):
            write_image(root / split / f"{i:03d}.png", make_pair(rng))
    return root


@pytest.fixture(scope="module")
def bf16_run(data, tmp_path_factory) -> Path:
    """A 2-step run trained in mixed bfloat16 (a run option that a resume keeps)."""
    from pix2pix_tf.run.train import train

    run = tmp_path_factory.mktemp("options_runs") / "bf16"
    summary = train(CFG, data, run, steps=2, precision="mixed_bfloat16", **QUICK)
    assert summary["precision"] == "mixed_bfloat16"
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def _make_old_style(run: Path, precision: str, conv_impl: str) -> None:
    """What a run written before the split looks like: the two options among config.json's fields."""
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "precision": precision, "conv_impl": conv_impl},
                                                indent=2, sort_keys=True) + "\n")
    (run / RUN_OPTIONS).unlink()


@pytest.mark.slow  # two short trainings each: the slow tier (CI runs it)
def test_options_object_equals_the_keywords_and_keywords_win(data, tmp_path):
    from pix2pix_tf.run.train import train

    by_object = train(CFG, data, tmp_path / "a", RunOptions(steps=5, **QUICK), steps=2)
    by_keywords = train(CFG, data, tmp_path / "b", steps=2, **QUICK)
    for key in ("steps", "start_step", "epochs_run", "precision", "strategy", "saved_model", "checkpoints_saved"):
        assert by_object[key] == by_keywords[key], key
    assert by_object["steps"] == 2
    for name, value in by_keywords["final_losses"].items():
        np.testing.assert_allclose(by_object["final_losses"][name], value, rtol=1e-3, err_msg=name)
    for run in ("a", "b"):
        assert json.loads((tmp_path / run / RUN_OPTIONS).read_text()) == {"conv_impl": "auto", "precision": "float32"}


@pytest.mark.slow  # two short trainings each: the slow tier (CI runs it)
def test_a_new_run_writes_its_options_and_a_resume_keeps_them(bf16_run, data, tmp_path):
    from pix2pix_tf.run.loading import load_run
    from pix2pix_tf.run.train import train

    run = _copy(bf16_run, tmp_path)
    assert json.loads((run / RUN_OPTIONS).read_text()) == {"conv_impl": "auto", "precision": "mixed_bfloat16"}
    assert is_run_path(RUN_OPTIONS) and RUN_OPTIONS in recorded_entries(run)
    assert "precision" not in json.loads((run / "config.json").read_text())
    assert load_run_options(run) == ({"precision": "mixed_bfloat16", "conv_impl": "auto"}, run / RUN_OPTIONS)
    assert load_run(run).precision == "mixed_bfloat16"
    # unset (an options object's default counts as unset): the run's own precision
    summary = train(None, data, run, RunOptions(steps=3, **QUICK), resume=True)
    assert summary["start_step"] == 2 and summary["precision"] == "mixed_bfloat16"
    for asked in ({"precision": "float32"}, {"conv_impl": "native"}):  # asked for by name: refused
        name, value = next(iter(asked.items()))
        with pytest.raises(RunDirError, match=rf"--resume with run option {name} '{value}', but the run's "
                                              rf"{RUN_OPTIONS} has"):
            train(None, data, run, steps=4, resume=True, **asked, **QUICK)
    with pytest.raises(RunDirError, match="precision 'mixed_float16'"):
        train(None, data, run, RunOptions(steps=4, precision="mixed_float16"), resume=True)


def test_a_run_from_before_the_split_loads_resumes_exports_and_evaluates(bf16_run, data, tmp_path, capsys):
    from pix2pix_tf.run.evaluate import evaluate
    from pix2pix_tf.run.export import export_run
    from pix2pix_tf.run.loading import load_run
    from pix2pix_tf.run.train import train

    run = _copy(bf16_run, tmp_path)
    _make_old_style(run, "mixed_bfloat16", "native")
    assert load_run_config(run) == CFG
    assert load_run_options(run) == ({"precision": "mixed_bfloat16", "conv_impl": "native"}, run / "config.json")
    model = load_run(run)
    assert model.precision == "mixed_bfloat16" and model.step == 2
    assert not any(getattr(layer, "max_matmul_size", 0) for layer in walk_layers(model.generator))  # native
    # the flags are checked against the options config.json holds, in the message of a config flag
    for flag, value, saved in (("--precision", "float32", "mixed_bfloat16"), ("--conv-impl", "matmul", "native")):
        code = cli.main([str(a) for a in ("train", "--data", data, "--out", run, "--resume", "--steps", 3,
                                          *MODEL_FLAGS, "--quiet", "--no-export", flag, value)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err == (f"pix2pix-tf train: error: --resume: {flag[2:].replace('-', '_')} is "
                                     f"{saved!r} in {run / 'config.json'} but the flags say {value!r}"), err
    summary = train(None, data, run, steps=3, resume=True, **QUICK)
    assert summary["start_step"] == 2 and summary["precision"] == "mixed_bfloat16"
    assert not (run / RUN_OPTIONS).exists()  # a resume rewrites nothing of the run's start
    sm = export_run(run, tmp_path / "sm")
    assert "precision" not in json.loads((sm / "assets.extra" / "pix2pix_config.json").read_text())
    for model_path in (run, sm):
        assert evaluate(model_path, data)["images"] == 2


def test_a_damaged_run_options_file_is_named_and_overwrite_checks_it(bf16_run, data, tmp_path):
    from pix2pix_tf.run.train import train

    run = _copy(bf16_run, tmp_path)
    for content, fragment in ((b"[1]", "not a JSON object of run options"),
                              (b"{oops", "not a readable JSON file"),
                              (b'{"precision": "float8"}', "run option precision must be one of"),
                              (b'{"colour": "red"}', "unknown run option(s): colour")):
        (run / RUN_OPTIONS).write_bytes(content)
        with pytest.raises(ConfigError) as info:
            load_run_options(run)
        assert str(info.value).startswith(f"{run / RUN_OPTIONS}: ") and fragment in str(info.value)
    (run / RUN_OPTIONS).write_bytes(b"[1]")
    with pytest.raises(RunDirError, match=rf"{RUN_OPTIONS} does not hold what pix2pix-tf writes there"):
        train(CFG, data, run, steps=2, overwrite=True, **QUICK)
    assert (run / RUN_OPTIONS).read_bytes() == b"[1]"  # nothing was removed
    (run / RUN_OPTIONS).write_text('{"precision": "float32"}')  # a JSON object: ours to replace
    train(CFG, data, run, steps=2, overwrite=True, **QUICK)
    assert json.loads((run / RUN_OPTIONS).read_text()) == {"conv_impl": "auto", "precision": "float32"}

