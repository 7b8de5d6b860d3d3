"""The run folder in one place: its layout, who may write it, resuming from it, loading it.

A run directory holds everything a run produces::

    RUN/config.json        the Pix2PixConfig (read back on --resume)          CONFIG
    RUN/image_shape.json   [height, width] the networks were built for        IMAGE_SHAPE
    RUN/checkpoints/       tf.train checkpoints: G, D, both Adam states, step  CHECKPOINTS
    RUN/logs/              TensorBoard: train/ and validation/ scalars, images/ LOGS
    RUN/images/            epoch_0001.png ...: input | output | target        IMAGES
    RUN/history.csv        per-epoch losses and validation metrics             HISTORY
    RUN/summary.json       steps, wall seconds, images/s, losses, test metrics SUMMARY
    RUN/saved_model/       the generator as a SavedModel (see export.py)       SAVED_MODEL
    RUN/evaluation_SPLIT/  metrics.json, best.png, worst.png (evaluate.py)     EVALUATION
    RUN/ablation.json      what an ablation variant trained with (ablations.py) ABLATION_RECORD
    RUN/.pix2pix-tf.json   the manifest: this is a pix2pix-tf run, and which entries it wrote
    RUN/.pix2pix-tf.lock   held (flock) by the one process writing the run

Nothing is lost: ``overwrite`` removes only entries the manifest records that still are what
a run writes (a folder holding only a run's files, a file of the run's own kind: JSON config,
CSV history ...), and refuses otherwise; a folder without a manifest is never cleared.
Nothing is written through a link: a command that writes into a run first refuses any
symbolic link or special file among the entries it writes (:func:`check_run_entries`), the
lock and ``history.csv`` are opened in place with ``O_NOFOLLOW``; so logs on another disk
means the whole run folder there (``--out`` itself may be a link). ``resume`` finds checkpoints from their files when ``checkpoints/checkpoint``
is missing or damaged, falls back to older ones that load, and never starts again from 0.

The commands that take "a SavedModel or a run" (``predict``, ``evaluate``) resolve the path
with :func:`resolve_model` and load a SavedModel with :func:`load_saved_model`.

Example:
    >>> import tempfile
    >>> check_run_dir(Path(tempfile.mkdtemp()) / "new_run")  # absent: a new run may go there
    'new'
    >>> model = load_run("runs/facades")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

import tensorflow as tf

from ..host import writes as safety
from ..config import ConfigError, Pix2PixConfig, Pix2PixError
from ..fast.transform import speed_up
from ..model import Pix2Pix

# ------------------------------------------------------------------ the layout
CONFIG = "config.json"
IMAGE_SHAPE = "image_shape.json"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
IMAGES = "images"
HISTORY = "history.csv"
SUMMARY = "summary.json"
SAVED_MODEL = "saved_model"
SAVED_MODEL_PB = "saved_model.pb"  # the file that makes a folder a SavedModel
EVALUATION = "evaluation_"  # evaluation folders: RUN/evaluation_SPLIT, SAVEDMODEL_evaluation_SPLIT
ABLATION_RECORD = "ablation.json"
TFLITE_SUFFIX = ".tflite"  # RUN/NAME.tflite: a TFLite export written into the run (export.py)
LOG_FOLDERS = ("train", "validation", "images")  # LOGS/NAME: one TensorBoard writer each
RUN_FILES = (CONFIG, IMAGE_SHAPE, CHECKPOINTS, LOGS, IMAGES, HISTORY, SUMMARY, SAVED_MODEL)
RUN_KIND = "run"  # the manifest kind of a run folder (see pix2pix_tf.host.writes)

# what a run writes inside its folders (paths relative to the entry); anything else is foreign
_OWN_FILES = {
    CHECKPOINTS: re.compile(r"(checkpoint(\.tmp\w*)?|ckpt-\d+\.(index|data-\d+-of-\d+)"
                            r"|ckpt-\d+_temp[^/]*(/.*)?)"),
    IMAGES: re.compile(r"epoch_\d+\.png"),
    LOGS: re.compile(r"(train|validation|images)/events\.out\.tfevents\.[^/]+"),
    SAVED_MODEL: re.compile(r"(saved_model\.pb|fingerprint\.pb|variables/variables\.[^/]+"
                            r"|assets/.*|assets\.extra/[^/]+|\.pix2pix-tf\.json)"),
    EVALUATION: re.compile(r"(metrics\.json|best\.png|worst\.png|\.pix2pix-tf\.json)"),
}
# what a run's top-level files hold, to recognise them before --overwrite removes one
_FILE_KINDS = {CONFIG: dict, IMAGE_SHAPE: list, SUMMARY: dict, ABLATION_RECORD: dict, HISTORY: "csv"}
_CKPT_INDEX = re.compile(r"ckpt-(\d+)\.index")
_POINTER = re.compile(r'^model_checkpoint_path:\s*"([^"]+)"\s*$', re.M)


class RunDirError(Pix2PixError):
    """The run directory cannot be used as asked (exists, or nothing to resume)."""


class ModelError(Pix2PixError):
    """A model path is not a loadable SavedModel or run folder; the message names the file."""


def is_run(folder: str | Path) -> bool:
    """``folder`` has what loading a run needs: ``config.json`` and ``checkpoints/``."""
    folder = Path(folder)
    return (folder / CONFIG).is_file() and (folder / CHECKPOINTS).is_dir()


def evaluation_dir(model_path: str | Path, split: str) -> Path:
    """Where ``evaluate`` writes by default: ``RUN/evaluation_SPLIT``, or next to a bare
    SavedModel ``SM``: ``SM_evaluation_SPLIT``.

    Example:
        >>> evaluation_dir("runs/facades", "test").as_posix()
        'runs/facades/evaluation_test'
    """
    model_path = Path(model_path)
    if is_saved_model(model_path):
        return model_path.parent / f"{model_path.name}_{EVALUATION}{split}"
    return model_path / f"{EVALUATION}{split}"


# ------------------------------------------------------------------ reading a run's files
def load_run_config(run_dir: str | Path) -> Pix2PixConfig:
    """The run's ``config.json``, checked.

    Raises:
        ConfigError: one line naming the file (missing, not UTF-8, not JSON, bad fields).
    """
    path = Path(run_dir) / CONFIG
    try:
        return Pix2PixConfig.load(path)
    except Pix2PixError:
        raise
    except (TypeError, ValueError, OSError) as e:  # anything the loader did not phrase itself
        raise ConfigError(f"{path}: not a usable config ({type(e).__name__}: {e})") from None


def load_image_shape(run_dir: str | Path) -> tuple[int, int] | None:
    """The ``[height, width]`` in ``image_shape.json``, or None when the file is absent.

    Raises:
        RunDirError: the file is not UTF-8 JSON holding two positive integers.
    """
    path = Path(run_dir) / IMAGE_SHAPE
    if not path.exists():
        return None
    try:
        shape = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = getattr(e, "strerror", None) or type(e).__name__
        raise RunDirError(f"{path}: not a readable JSON file ({reason}); it should hold "
                          "[height, width]") from None
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise RunDirError(f"{path}: should hold [height, width] as two positive integers, "
                          f"found {json.dumps(shape)[:60]}")
    return shape[0], shape[1]


def save_run_start(run_dir: Path, config: Pix2PixConfig, shape: tuple[int, int]) -> None:
    """Write what a new run starts from: ``config.json`` and ``image_shape.json`` (atomically)."""
    safety.atomic_write_text(run_dir / CONFIG, config.to_json() + "\n")  # as config.save writes it
    safety.atomic_write_text(run_dir / IMAGE_SHAPE, json.dumps(list(shape)) + "\n")


def save_summary(run_dir: Path, summary: dict) -> None:
    """Write ``summary.json`` (atomically; recorded in the run's manifest first)."""
    safety.record_written(run_dir, [SUMMARY])
    safety.atomic_write_text(run_dir / SUMMARY, json.dumps(summary, indent=2) + "\n")


# ------------------------------------------------------------------ whose folder is it
def is_legacy_run(folder: str | Path) -> bool:
    """A run written before run folders had a manifest: config.json + checkpoints/, no manifest."""
    return is_run(folder) and safety.read_manifest(folder) is None


def find_enclosing_run(path: str | Path) -> Path | None:
    """The run folder that is ``path`` or holds it (manifest of kind run, or a legacy run)."""
    path = Path(path).resolve()
    for folder in (path, *path.parents):
        if folder.is_dir() and (safety.folder_kind(folder) == RUN_KIND or is_legacy_run(folder)):
            return folder
    return None


def foreign_file_in(run_dir: Path, name: str) -> Path | None:
    """The first file inside the recorded folder ``run_dir/name`` that a run does not write."""
    entry = run_dir / name
    if entry.is_symlink() or not entry.is_dir():
        return None
    pattern = _OWN_FILES.get(EVALUATION if EVALUATION in name else name)
    for p in sorted(entry.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(entry).as_posix()
        if p.name.startswith(safety.TMP_PREFIX) or rel.startswith(safety.TMP_PREFIX):
            continue  # a temporary an interrupted write of ours left
        if pattern is None or p.is_symlink() or not pattern.fullmatch(rel):
            return p
    return None


def is_run_path(rel: str) -> bool:
    """``rel`` (posix, relative to a run folder) is a path a run, export or evaluation writes.

    The layout's one home: the tests enumerate what commands wrote and check it against this.

    Example:
        >>> is_run_path("checkpoints/ckpt-4.index"), is_run_path("notes.txt")
        (True, False)
    """
    top, _, inner = rel.partition("/")
    if top in (safety.MANIFEST, safety.LOCK, *_FILE_KINDS):
        return not inner
    if top.startswith(safety.TMP_PREFIX):
        return True
    if top.endswith(TFLITE_SUFFIX):
        return not inner
    key = EVALUATION if EVALUATION in top else SAVED_MODEL if top.startswith(SAVED_MODEL) else top
    if key not in _OWN_FILES:
        return False
    return not inner or bool(_OWN_FILES[key].fullmatch(inner)) or _is_own_folder(key, inner)


def _is_own_folder(key: str, inner: str) -> bool:
    """``inner`` is a folder on the way to files of ``key`` (logs/train, saved_model/variables)."""
    folders = {LOGS: set(LOG_FOLDERS), SAVED_MODEL: {"variables", "assets", "assets.extra"}}
    return inner in folders.get(key, set()) or (key == CHECKPOINTS and bool(
        re.fullmatch(r"ckpt-\d+_temp[^/]*", inner)))


def check_run_entries(run_dir: str | Path, names: list[str] | None = None) -> None:
    """Refuse a symbolic link or special file among the run entries a command will write.

    ``names``: top-level entries (None: every entry of the run's layout present, with the
    manifest and the lock).

    Raises:
        WriteError: one line naming the link.
    """
    run_dir = Path(run_dir)
    if names is None:
        names = [n for n in os.listdir(run_dir) if is_run_path(n)]
    safety.check_no_links(run_dir, [*names, safety.MANIFEST, safety.LOCK])


def check_links_to_run_entry(out: str | Path) -> None:
    """If ``out`` lies in a run folder (as written, links not followed), refuse links on the way.

    ``evaluate`` and ``export`` write ``RUN/evaluation_SPLIT`` and ``RUN/saved_model``: a link
    planted there (or a linked folder above the entry) would take the write outside the run.

    Raises:
        WriteError: one line naming the link.
    """
    out = Path(os.path.abspath(out))
    for folder in out.parents:
        if folder.is_dir() and (safety.folder_kind(folder) == RUN_KIND or is_run(folder)):
            check_run_entries(folder, [out.relative_to(folder).parts[0]])
            return


def _unrecognised_entry(run_dir: Path, name: str) -> str | None:
    """Why the recorded entry ``name`` is not (any more) what a run wrote, or None if it is."""
    entry = run_dir / name
    if not (entry.exists() or entry.is_symlink()):
        return None
    if not is_run_path(name) or name in (safety.MANIFEST, safety.LOCK):
        return f"{entry} is recorded in {safety.MANIFEST} but is not an entry a run writes"
    if entry.is_symlink():
        return f"{entry} is a symbolic link, not what pix2pix-tf wrote"
    kind = _FILE_KINDS.get(name)
    if name.endswith(TFLITE_SUFFIX):
        with contextlib.suppress(OSError):
            if entry.is_file() and entry.read_bytes()[4:8] == b"TFL3":  # the flatbuffer's identifier
                return None
        return f"{entry} is not a TFLite file"
    if kind is None:
        if not entry.is_dir():
            return f"{entry} is not the folder pix2pix-tf wrote"
        foreign = foreign_file_in(run_dir, name)
        return None if foreign is None else f"{foreign} was not written by pix2pix-tf"
    if not entry.is_file():
        return f"{entry} is not the file pix2pix-tf wrote"
    try:
        text = entry.read_bytes()[:1 << 20].decode("utf-8")
        ok = (text.startswith("epoch,") or text == "") if kind == "csv" \
            else isinstance(json.loads(text), kind)
    except (OSError, ValueError, RecursionError):
        ok = False
    return None if ok else f"{entry} does not hold what pix2pix-tf writes there"


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
    kind = safety.folder_kind(out_dir) if out_dir.is_dir() else None
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
    for name in safety.recorded_entries(out_dir):
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


def lock_run(run_dir: Path, held: contextlib.ExitStack) -> None:
    """Hold the run folder's lock until ``held`` closes: one writer at a time.

    Raises:
        FolderBusy: another live process holds it (its pid is named).
    """
    held.enter_context(safety.FolderLock(run_dir))


def open_run_dir(out_dir: Path, state: str, resume: bool, overwrite: bool,
                 held: contextlib.ExitStack) -> None:
    """Make ``out_dir`` this run's folder, ``state`` being what :func:`check_run_dir` found.

    A new folder is claimed (manifest written), then locked until ``held`` closes; any other
    must already be locked (:func:`lock_run`) and is prepared by :func:`prepare_run_dir`.

    Raises:
        RunDirError: another run claimed the new folder meanwhile; see also :func:`check_run_dir`.
    """
    if state != "new":
        prepare_run_dir(out_dir, resume, overwrite)
        return
    safety.claim_folder(out_dir, RUN_KIND)
    lock_run(out_dir, held)
    if safety.recorded_entries(out_dir):
        raise RunDirError(f"{out_dir}: another pix2pix-tf run started in this folder meanwhile; "
                          "nothing was changed")
    safety.record_written(out_dir, RUN_FILES)


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
        safety.claim_folder(out_dir, RUN_KIND)
    if overwrite and state == "run":
        safety.remove_recorded(out_dir)
    safety.remove_temporaries(out_dir)
    safety.record_written(out_dir, RUN_FILES)


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


def check_resume_flags(run_dir: str | Path, wanted: Pix2PixConfig, given: set[str]) -> None:
    """Refuse a ``--resume`` whose config flags disagree with the run's ``config.json``.

    Compares the fields the user set (``given``) and every field where ``wanted`` (the config
    the same flags would make for a new run, derived defaults included) is not the paper
    default; the others are unset, so the run's own values stand.

    Raises:
        RunDirError: one line naming the field and both values.
        ConfigError: the run's config.json is damaged.
    """
    path = Path(run_dir) / CONFIG
    saved, default = load_run_config(run_dir).to_dict(), Pix2PixConfig().to_dict()
    for name, value in wanted.to_dict().items():
        if (name in given or value != default[name]) and saved[name] != value:
            raise RunDirError(f"--resume: {name} is {saved[name]!r} in {path} but the flags "
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


# ------------------------------------------------------------------ loading
def load_run(run_dir: str | Path) -> Pix2Pix:
    """Rebuild the model of a run directory and restore its newest checkpoint that loads.

    Reads only: the pointer file is not repaired here (``train(..., resume=True)`` does).

    Raises:
        RunDirError: not a run folder, damaged ``image_shape.json``, or no checkpoint loads.
        ConfigError: damaged ``config.json`` (one line naming it).

    Example:
        >>> model = load_run("runs/facades")  # doctest: +SKIP
        >>> model.generator(x, training=False)  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    if not is_run(run_dir):
        raise RunDirError(f"{run_dir}: not a run folder (needs config.json and checkpoints/)")
    config = load_run_config(run_dir)
    shape = load_image_shape(run_dir)
    model = Pix2Pix.from_config_object(config, shape=shape)
    model.compile()
    speed_up(model)  # the CPU speed paths, as a run trains (same weights either way)
    restore_latest(model.checkpoint(), run_dir / CHECKPOINTS)
    return model


# ------------------------------------------------------------------ a SavedModel or a run
def is_saved_model(folder: str | Path) -> bool:
    """``folder`` holds a ``saved_model.pb`` (whether it loads is :func:`load_saved_model`'s job)."""
    return (Path(folder) / SAVED_MODEL_PB).is_file()


def resolve_model(path: str | Path, accept_run: bool = True) -> tuple[str, Path]:
    """What a ``--model`` path names: a SavedModel folder, or a run folder.

    A SavedModel folder itself comes first, then a run folder's ``saved_model/``, then (with
    ``accept_run``) a run folder with only ``checkpoints/``.

    Returns:
        ``("saved_model", the SavedModel folder)`` or ``("run", the run folder)``.

    Raises:
        ModelError: none of these, naming ``path``.

    Example:
        >>> import tempfile
        >>> resolve_model(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pix2pix_tf.run.folder.ModelError: ...: neither a SavedModel folder nor a run folder ...
    """
    path = Path(path)
    for folder in (path, path / SAVED_MODEL):
        if is_saved_model(folder):
            return "saved_model", folder
    if not accept_run:
        raise ModelError(f"{path}: not a SavedModel folder (no saved_model.pb) nor a run folder")
    if is_run(path):
        return "run", path
    raise ModelError(f"{path}: neither a SavedModel folder nor a run folder with "
                     "saved_model/ or checkpoints/")


def load_exported_config(model) -> dict:
    """The config dict carried by a loaded SavedModel (from its ``config`` signature)."""
    return json.loads(model.signatures["config"]()["config"].numpy().decode())


def load_saved_model(path: str | Path, signatures: tuple[str, ...] = ()):
    """``tf.saved_model.load`` of a pix2pix-tf SavedModel (or a run's), with one-line errors.

    Args:
        path: a SavedModel folder, or a run folder holding ``saved_model/``.
        signatures: signatures needed beyond ``serving_default`` and ``config``.

    Returns:
        (the loaded model, its config dict from the ``config`` signature).

    Raises:
        ModelError: no ``saved_model.pb``, or it is damaged or not from pix2pix-tf (it names
            the file and the reason).

    Example:
        >>> model, config = load_saved_model("runs/facades")  # doctest: +SKIP
        >>> model.signatures["translate_uint8"](images=tf.zeros((1, 300, 200, 3), tf.uint8))  # doctest: +SKIP
    """
    _, folder = resolve_model(path, accept_run=False)
    pb = folder / SAVED_MODEL_PB
    try:
        model = tf.saved_model.load(str(folder))
    except Exception as e:  # noqa: BLE001  (a damaged SavedModel fails in many ways)
        reason = (str(e).strip().splitlines() or [""])[0][:120]
        raise ModelError(f"{pb}: not a loadable SavedModel ({type(e).__name__}: {reason})") from None
    missing = [k for k in ("serving_default", "config", *signatures) if k not in model.signatures]
    if missing:
        raise ModelError(f"{pb}: SavedModel lacks the {', '.join(missing)} signature(s); "
                         "export it with pix2pix-tf")
    try:
        config = load_exported_config(model)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"{pb}: its config signature is unreadable ({type(e).__name__})") from None
    return model, config
