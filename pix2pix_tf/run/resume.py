"""Starting a run in its folder, or resuming one: the checks of ``--resume`` and
``--overwrite``, the config and run options a resumed run keeps, and the checkpoints it
resumes from.

:func:`check_run_dir` says what a folder is for a new run (new, ours, made by an older
pix2pix-tf, somebody else's) and refuses what may not be done there; :func:`open_run_dir` /
:func:`prepare_run_dir` claim it, or clear our old run. ``resume`` finds checkpoints from
their files when ``checkpoints/checkpoint`` is missing or damaged
(:func:`checkpoint_candidates`), falls back to older ones that load (:func:`restore_latest`),
and never starts again from 0. The layout and the ownership rules these build on are
:mod:`pix2pix_tf.run.folder`; kept apart because this is the part that runs once, before
training, and the part TensorFlow's checkpoint files fail in.

Example:
    >>> import tempfile
    >>> check_run_dir(Path(tempfile.mkdtemp()) / "new_run")  # absent: a new run may go there
    'new'
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Collection, Mapping

import tensorflow as tf

from ..host import manifests
from ..host import writes as safety
from ..config import Pix2PixConfig
from ..successors.config import SuccessorConfig
from .folder import (CHECKPOINTS, CONFIG, RUN_FILES, RUN_KIND, RunDirError, _unrecognised_entry,
                     check_run_entries, is_legacy_run, load_run_config, load_run_options, lock_run)
from .options import KEPT_ON_RESUME, RunOptions

_CKPT_INDEX = re.compile(r"ckpt-(\d+)\.index")
_POINTER = re.compile(r'^model_checkpoint_path:\s*"([^"]+)"\s*$', re.M)


def check_run_dir(out_dir: str | Path, resume: bool = False, overwrite: bool = False) -> str:
    """Decide, without writing anything, whether ``out_dir`` can hold this run.

    Returns:
        "new" (absent or empty), "run" (a pix2pix-tf run folder) or "legacy" (a run made
        before run folders had a manifest; only ``resume`` accepts it).

    Raises:
        WriteError: ``out_dir`` is a file, lies under a file or is not writable.
        RunDirError: one line saying why the folder cannot be used and that nothing changed.
    """
    out_dir = safety.check_out_dir(out_dir)
    if resume and overwrite:
        raise RunDirError("--resume and --overwrite exclude each other: continue the run or "
                          "start it again")
    kind = manifests.folder_kind(out_dir) if out_dir.is_dir() else None
    if kind not in (None, RUN_KIND):
        raise RunDirError(f"{out_dir}: is a pix2pix-tf {kind} folder, not a run folder")
    state = ("run" if kind == RUN_KIND else "legacy" if is_legacy_run(out_dir)
             else "new" if safety.is_empty_dir(out_dir) else "foreign")
    if resume:
        return _check_resumable(out_dir, state)
    if state == "new":
        return state
    if state == "foreign":
        raise RunDirError(f"{'--overwrite ' if overwrite else ''}{out_dir}: folder is not empty and is "
                          "not a pix2pix-tf run (no .pix2pix-tf.json); nothing was changed; "
                          "choose a new or empty folder")
    if not overwrite:
        raise RunDirError(f"{out_dir}: run folder exists and is not empty; pass --resume to "
                          "continue it or --overwrite to start again")
    if state == "legacy":
        raise RunDirError(f"--overwrite {out_dir}: run folder made by an older pix2pix-tf has no "
                          ".pix2pix-tf.json record of what it wrote, so --overwrite cannot tell "
                          "its files from yours; nothing was removed; --resume it or use a new folder")
    for name in manifests.recorded_entries(out_dir):
        problem = _unrecognised_entry(out_dir, name)
        if problem is not None:
            raise RunDirError(f"--overwrite {out_dir}: {problem}; nothing was removed; move it "
                              "out of the run folder first")
    check_run_entries(out_dir)
    return state


def _check_resumable(out_dir: Path, state: str) -> str:
    if state in ("new", "foreign"):
        what = "is empty or absent" if state == "new" else "is not a pix2pix-tf run folder"
        raise RunDirError(f"--resume {out_dir}: {what} (no config.json and checkpoints/); "
                          "nothing to resume")
    if not (out_dir / CONFIG).is_file():
        raise RunDirError(f"--resume {out_dir}: nothing to resume (no config.json)")
    check_run_entries(out_dir)
    if not checkpoint_candidates(out_dir / CHECKPOINTS)[0]:
        raise RunDirError(f"--resume {out_dir}: nothing to resume (no checkpoint ckpt-N.index in "
                          "checkpoints/); start it again with --overwrite")
    return state


def open_run_dir(out_dir: Path, state: str, resume: bool, overwrite: bool,
                 held: contextlib.ExitStack) -> None:
    """Make ``out_dir`` this run's folder, ``state`` being what :func:`check_run_dir` found.

    A new folder is claimed (manifest written), then locked until ``held`` closes; any other
    must already be locked (:func:`~pix2pix_tf.run.folder.lock_run`) and is prepared by
    :func:`prepare_run_dir`.

    Raises:
        RunDirError: another run claimed the new folder meanwhile; see also :func:`check_run_dir`.
    """
    if state != "new":
        prepare_run_dir(out_dir, resume, overwrite)
        return
    manifests.claim_folder(out_dir, RUN_KIND)
    lock_run(out_dir, held)
    if manifests.recorded_entries(out_dir):
        raise RunDirError(f"{out_dir}: another pix2pix-tf run started in this folder meanwhile; "
                          "nothing was changed")
    manifests.record_written(out_dir, RUN_FILES)


def prepare_run_dir(out_dir: Path, resume: bool, overwrite: bool) -> None:
    """Make ``out_dir`` a run folder this run may write: claim it, or clear our old run.

    A new folder gets a manifest; ``overwrite`` removes only the entries the manifest records
    (after :func:`check_run_dir` made sure they hold nothing foreign); a run made before
    manifests existed is adopted on ``resume``. The standard run entries are then recorded.

    Raises:
        RunDirError, WriteError: see :func:`check_run_dir`.
    """
    out_dir = Path(out_dir)
    state = check_run_dir(out_dir, resume, overwrite)
    if state == "legacy":
        _adopt_legacy_run(out_dir)
    else:
        manifests.claim_folder(out_dir, RUN_KIND)
    if overwrite and state == "run":
        manifests.remove_recorded(out_dir)
    safety.remove_temporaries(out_dir)
    manifests.record_written(out_dir, RUN_FILES)


def _adopt_legacy_run(out_dir: Path) -> None:
    """Give a pre-manifest run a manifest listing the standard run entries it has."""
    present = [n for n in RUN_FILES if (out_dir / n).exists()]
    safety.atomic_write_text(out_dir / safety.MANIFEST, json.dumps(
        {"kind": RUN_KIND, "written": present, "created": time.time(), "adopted": True}, indent=1) + "\n")


# ------------------------------------------------------------------ the config of a resumed run
def resolve_run_config(config: Pix2PixConfig | None, out_dir: Path, resume: bool) -> Pix2PixConfig:
    """The config a run trains with: ``config`` (None: the paper's), or on ``resume`` the run's own.

    Raises:
        RunDirError: ``resume`` with a ``config`` that differs from the run's, naming the fields.
        ConfigError: the run's config.json is damaged.
    """
    if not resume:
        return config or Pix2PixConfig()
    saved = load_run_config(out_dir)
    if config is not None and config != saved:
        diff = [k for k, v in config.to_dict().items() if saved.to_dict()[k] != v]
        raise RunDirError(f"{out_dir}: --resume with a config that differs from the run's "
                          f"config.json in: {', '.join(diff)}")
    return saved


def resolve_run_options(options: RunOptions, out_dir: Path, resume: bool,
                        given: Collection[str] = ()) -> RunOptions:
    """The run options a run trains with: ``options``, with on ``resume`` the run's own
    ``precision`` and ``conv_impl`` (:data:`~pix2pix_tf.run.options.KEPT_ON_RESUME`).

    Each of those is asked for when it is in ``given`` (passed by name) or differs from its
    default; else it is unset and the run's saved value stands, as a config field left unset
    does (:func:`check_resume_flags`).

    Raises:
        RunDirError: ``resume`` asking for a value that differs from the run's, naming the
            option, both values and the file.
        ConfigError: the run's run_options.json (or config.json) is damaged.
    """
    if not resume:
        return options
    saved, path = load_run_options(out_dir)
    default = RunOptions()
    for name in KEPT_ON_RESUME:
        asked = getattr(options, name)
        if (name in given or asked != getattr(default, name)) and asked != saved[name]:
            raise RunDirError(f"{out_dir}: --resume with run option {name} {asked!r}, but the run's "
                              f"{path.name} has {saved[name]!r}")
    return options.replace(**saved)


def check_resume_flags(run_dir: str | Path, wanted: Pix2PixConfig, given: set[str],
                       options: Mapping[str, str] | None = None) -> None:
    """Refuse a ``--resume`` whose flags disagree with the run's ``config.json`` or
    ``run_options.json``.

    Compares the fields the user set (``given``) and every field where ``wanted`` (the config
    the same flags would make for a new run, derived defaults included) is not the paper
    default; the others are unset, so the run's own values stand. ``options``: the run
    options the flags set among those a run keeps (``precision``, ``conv_impl``), compared
    with the run's saved ones (:func:`~pix2pix_tf.run.folder.load_run_options`).

    Raises:
        RunDirError: one line naming the field and both values.
        ConfigError: the run's config.json (or run_options.json) is damaged.
    """
    path = Path(run_dir) / CONFIG
    def fields(config):  # every field, the levers' too (at their defaults in a paper config)
        return SuccessorConfig.from_dict(config.to_dict()).to_dict()

    saved, default = fields(load_run_config(run_dir)), SuccessorConfig().to_dict()
    for name, value in fields(wanted).items():
        if (name in given or value != default[name]) and saved[name] != value:
            raise RunDirError(f"--resume: {name} is {saved[name]!r} in {path} but the flags "
                              f"say {value!r}")
    if options:
        kept, where = load_run_options(run_dir)
        for name, value in options.items():
            if kept[name] != value:
                raise RunDirError(f"--resume: {name} is {kept[name]!r} in {where} but the flags "
                                  f"say {value!r}")


# ------------------------------------------------------------------ checkpoints
def checkpoint_candidates(ckpt_dir: str | Path) -> tuple[list[str], str | None]:
    """Checkpoint prefixes to restore, newest first, found from the ``ckpt-N.index`` files.

    With a good pointer file (``checkpoints/checkpoint``) only checkpoints up to the one it
    names are candidates (a newer file may be one a kill interrupted); without one, all are.

    Returns:
        (prefixes, note): ``note`` says what is wrong with the pointer file, else None.

    Example:
        >>> import tempfile
        >>> checkpoint_candidates(tempfile.mkdtemp())
        ([], 'missing')
    """
    ckpt_dir = Path(ckpt_dir)
    found = sorted(((int(m.group(1)), str(ckpt_dir / p.name[:-len(".index")]))
                    for p in (ckpt_dir.iterdir() if ckpt_dir.is_dir() else ())
                    if (m := _CKPT_INDEX.fullmatch(p.name))), reverse=True)
    registered, note = _pointer_step(ckpt_dir)
    if registered is not None:
        found = [(n, prefix) for n, prefix in found if n <= registered]
    return [prefix for _, prefix in found], note


def _pointer_step(ckpt_dir: Path) -> tuple[int | None, str | None]:
    """The step of the checkpoint the pointer file names, or (None, what is wrong with it)."""
    pointer = ckpt_dir / "checkpoint"
    try:
        text = pointer.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError):
        return None, "unreadable"
    if not text.strip():
        return None, "empty"
    m = _POINTER.search(text)
    name = Path(m.group(1)).name if m else ""
    if not m or not re.fullmatch(r"ckpt-\d+", name):
        return None, "garbled"
    if not (ckpt_dir / f"{name}.index").is_file():
        return None, f"pointing at {name}, which is not there"
    return int(name.split("-")[1]), None


def _warn(message: str) -> None:
    print(f"pix2pix-tf: warning: {message}", file=sys.stderr)


def restore_latest(ckpt: tf.train.Checkpoint, ckpt_dir: str | Path) -> str:
    """Restore the newest checkpoint in ``ckpt_dir`` that loads; fall back to older ones.

    Damaged checkpoints (truncated data, missing shards: TensorFlow raises many error types,
    IndexError included) are reported on stderr and skipped.

    Returns:
        The checkpoint prefix restored.

    Raises:
        RunDirError: there is no checkpoint, or none of them loads.
    """
    ckpt_dir = Path(ckpt_dir)
    candidates, note = checkpoint_candidates(ckpt_dir)
    if note and candidates:
        _warn(f"{ckpt_dir / 'checkpoint'} is {note}; using the checkpoint files themselves")
    if not candidates:
        raise RunDirError(f"{ckpt_dir}: no checkpoint to restore (no ckpt-N.index files)")
    for prefix in candidates:
        try:
            ckpt.restore(prefix).assert_existing_objects_matched()
            return prefix
        except Exception as e:  # noqa: BLE001  (a damaged file surfaces as many types)
            _warn(f"checkpoint {prefix} cannot be restored ({type(e).__name__}); "
                  "trying the previous one")
    raise RunDirError(f"{ckpt_dir}: none of the {len(candidates)} checkpoint(s) could be restored "
                      f"(newest: {Path(candidates[0]).name})")


def rewrite_pointer(ckpt_dir: Path, restored: str) -> None:
    """Point ``checkpoints/checkpoint`` at the restored checkpoint and the older ones (atomically).

    Timestamps are the files' own, so the CheckpointManager keeps rotating the old ones.
    """
    step = int(Path(restored).name.split("-")[1])
    kept = sorted((int(m.group(1)), p) for p in ckpt_dir.iterdir()
                  if (m := _CKPT_INDEX.fullmatch(p.name)) and int(m.group(1)) <= step)
    times = [p.stat().st_mtime for _, p in kept]
    lines = [f'model_checkpoint_path: "{Path(restored).name}"']
    lines += [f'all_model_checkpoint_paths: "{p.name[:-len(".index")]}"' for _, p in kept]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in times]
    lines.append(f"last_preserved_timestamp: {min(times) - 1.0!r}")
    safety.atomic_write_text(ckpt_dir / "checkpoint", "\n".join(lines) + "\n")

