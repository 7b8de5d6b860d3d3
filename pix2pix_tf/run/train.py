"""``train(config, data_dir, out_dir)``: the one high-level entry point of a training run.

A run directory holds everything a run produces::

    RUN/config.json        the Pix2PixConfig (read back on --resume)
    RUN/image_shape.json   [height, width] the networks were built for (non-square preprocess)
    RUN/checkpoints/       tf.train checkpoints: G, D, both Adam states, the step count
    RUN/logs/              TensorBoard: train/ and validation/ scalars, images/
    RUN/images/            epoch_0001.png ...: input | output | target of a fixed batch
    RUN/history.csv        per-epoch losses and validation metrics
    RUN/summary.json       steps, wall seconds, images/s, final losses, test metrics
    RUN/saved_model/       the generator as a SavedModel (see export.py)
    RUN/.pix2pix-tf.json   the manifest: this is a pix2pix-tf run, and which entries it wrote
    RUN/.pix2pix-tf.lock   held (flock) by the one process writing the run

Nothing is lost: ``overwrite`` removes only entries the manifest records, and refuses when
one of those folders holds a file the run did not write; a folder without a manifest is
never cleared. ``resume`` finds checkpoints from their files when ``checkpoints/checkpoint``
is missing or damaged, falls back to older ones that load, and never starts again from 0.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Iterator

import keras
import tensorflow as tf

from . import callbacks as cb
from .. import safety
from ..inference import set_inference_mode
from ..config import ConfigError, Pix2PixConfig, Pix2PixError
from ..data import DataError, find_test_split, make_dataset, split_pairs, train_image_shape
from ..fast.distribute import check_global_batch, make_strategy
from .export import export_saved_model
from ..model import Pix2Pix

RUN_KIND = "run"  # the manifest kind of a run folder (see pix2pix_tf.safety)
RUN_FILES = ("config.json", "image_shape.json", "checkpoints", "logs", "images", "history.csv",
             "summary.json", "saved_model")
PAPER_EPOCHS = 200  # facades: 200 epochs (appendix 6.3)

# what a run writes inside its folders (paths relative to the entry); anything else is foreign
_OWN_FILES = {
    "checkpoints": re.compile(r"(checkpoint(\.tmp\w*)?|ckpt-\d+\.(index|data-\d+-of-\d+)"
                              r"|ckpt-\d+_temp[^/]*(/.*)?)"),
    "images": re.compile(r"epoch_\d+\.png"),
    "logs": re.compile(r"(train|validation|images)/events\.out\.tfevents\.[^/]+"),
    "saved_model": re.compile(r"(saved_model\.pb|fingerprint\.pb|variables/variables\.[^/]+"
                              r"|assets/.*|assets\.extra/[^/]+|\.pix2pix-tf\.json)"),
    "evaluation_": re.compile(r"(metrics\.json|best\.png|worst\.png|\.pix2pix-tf\.json)"),
}
_CKPT_INDEX = re.compile(r"ckpt-(\d+)\.index")
_POINTER = re.compile(r'^model_checkpoint_path:\s*"([^"]+)"\s*$', re.M)


class RunDirError(Pix2PixError):
    """The run directory cannot be used as asked (exists, or nothing to resume)."""


# ------------------------------------------------------------------ reading a run's files
def load_run_config(run_dir: str | Path) -> Pix2PixConfig:
    """The run's ``config.json``, checked.

    Raises:
        ConfigError: one line naming the file (missing, not UTF-8, not JSON, bad fields).
    """
    path = Path(run_dir) / "config.json"
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
    path = Path(run_dir) / "image_shape.json"
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


# ------------------------------------------------------------------ whose folder is it
def is_legacy_run(folder: str | Path) -> bool:
    """A run written before run folders had a manifest: config.json + checkpoints/, no manifest."""
    folder = Path(folder)
    return (folder.is_dir() and safety.read_manifest(folder) is None
            and (folder / "config.json").is_file() and (folder / "checkpoints").is_dir())


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
    pattern = _OWN_FILES.get("evaluation_" if "evaluation_" in name else name)
    for p in sorted(entry.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(entry).as_posix()
        if p.name.startswith(safety._TMP_PREFIX) or rel.startswith(safety._TMP_PREFIX):
            continue  # a temporary an interrupted write of ours left
        if pattern is None or p.is_symlink() or not pattern.fullmatch(rel):
            return p
    return None


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
        foreign = foreign_file_in(out_dir, name)
        if foreign is not None:
            raise RunDirError(f"--overwrite {out_dir}: {foreign} was not written by pix2pix-tf; "
                              "nothing was removed; move it out of the run folder first")
    return state


def _check_resumable(out_dir: Path, state: str) -> str:
    if state in ("new", "foreign"):
        what = "is empty or absent" if state == "new" else "is not a pix2pix-tf run folder"
        raise RunDirError(f"--resume {out_dir}: {what} (no config.json and checkpoints/); "
                          "nothing to resume")
    if not (out_dir / "config.json").is_file():
        raise RunDirError(f"--resume {out_dir}: nothing to resume (no config.json)")
    if not checkpoint_candidates(out_dir / "checkpoints")[0]:
        raise RunDirError(f"--resume {out_dir}: nothing to resume (no checkpoint ckpt-N.index in "
                          "checkpoints/); start it again with --overwrite")
    return state


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


def _resolve_config(config: Pix2PixConfig | None, out_dir: Path, resume: bool) -> Pix2PixConfig:
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
    path = Path(run_dir) / "config.json"
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


def _rewrite_pointer(ckpt_dir: Path, restored: str) -> None:
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


# ------------------------------------------------------------------ errors during fit
_PATH_IN_MESSAGE = re.compile(r"(/[^\s;:'\"\]\[,]+)")


def _path_in(message: str, under: Path) -> str | None:
    """The first absolute path in ``message`` that lies under ``under``."""
    root = str(under.resolve())
    for candidate in _PATH_IN_MESSAGE.findall(message):
        if candidate.startswith(root + "/") or candidate.startswith(str(under) + "/"):
            return candidate
    return None


@contextlib.contextmanager
def errors_as_one_line(data_dir: Path, out_dir: Path) -> Iterator[None]:
    """Turn a full disk or a training file that changed mid-run into one line naming the file.

    Raises:
        WriteError: the run folder cannot be written (disk full, read-only ...).
        DataError: a training file disappeared or changed after the up-front check.
    """
    try:
        yield
    except Pix2PixError:
        raise
    except OSError as e:
        where = e.filename or out_dir
        raise safety.WriteError(f"{where}: cannot write ({safety.describe_os_error(e)}); the "
                                "last good checkpoint is kept") from None
    except tf.errors.OpError as e:
        message = str(e.message or e)
        if "No space left" in message or "Disk quota" in message or "Read-only file" in message:
            where = re.sub(r"(ckpt-\d+)_temp[^/]*/.*", r"\1", _path_in(message, out_dir) or str(out_dir))
            reason = "disk full" if "No space" in message else message.splitlines()[0][:80]
            raise safety.WriteError(f"{where}: cannot write ({reason}); the last good checkpoint "
                                    "is kept") from None
        where = _path_in(message, data_dir)
        first = message.strip().splitlines()[0][:120] if message.strip() else type(e).__name__
        if where is not None:
            raise DataError(f"{where}: changed or disappeared during training ({first})") from None
        if isinstance(e, (tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
                          tf.errors.DataLossError)):
            raise DataError(f"{data_dir}: a training file changed or disappeared during training "
                            f"({type(e).__name__}: {first})") from None
        raise


def train(config: Pix2PixConfig | None, data_dir: str | Path, out_dir: str | Path, *,
          steps: int | None = None, epochs: int | None = None, resume: bool = False,
          overwrite: bool = False, steps_per_epoch: int | None = None,
          checkpoint_every: int | None = None, keep_checkpoints: int = 3,
          log_every: int = 10, snapshot_count: int = 4, export: bool = True,
          jit_compile: bool | str = "auto", deterministic: bool = False,
          skip_bad_files: bool = False, strategy: str = "none",
          verbose: int | str = "auto") -> dict:
    """Train pix2pix on an aligned A|B dataset and write a complete run directory.

    Args:
        config: the run's settings (None: the paper's defaults; on resume, the saved config).
        data_dir: folder with ``train/`` and optionally ``test/`` or ``val/``.
        out_dir: the run directory (see the module docstring).
        steps: total generator updates. Mutually exclusive with ``epochs``.
        epochs: passes over the training set (default 200, the paper's facades schedule).
        resume: continue the run in ``out_dir`` from its latest checkpoint.
        overwrite: start again in an existing ``out_dir`` (removes only run files).
        steps_per_epoch: default: training images // batch size (capped at ``steps``).
        checkpoint_every: also checkpoint every N steps (always at each epoch end).
        keep_checkpoints: how many checkpoints to keep.
        log_every: TensorBoard scalar interval in steps.
        snapshot_count: images in the per-epoch PNG grid.
        export: write ``saved_model/`` at the end.
        jit_compile: compile the train step with XLA; "auto": on a GPU without tf.distribute
            (where it pays), off on CPU (where it is slower: benchmarks/train_throughput.py).
        deterministic: enable TensorFlow op determinism (bitwise-repeatable runs on CPU).
        skip_bad_files: leave unreadable images out with a warning instead of stopping.
        strategy: tf.distribute strategy name (see :mod:`pix2pix_tf.fast.distribute`); the
            config's batch_size is the global batch.
        verbose: Keras progress bar setting.

    Returns:
        The summary dict also written to ``summary.json``.

    Raises:
        RunDirError: ``out_dir`` is not a run this call may write (see :func:`check_run_dir`),
            or ``resume`` finds no checkpoint that loads (it never starts again from step 0).
        FolderBusy: another process is writing the run (its pid is named).
        WriteError: a file of the run cannot be written (disk full ...); the last good
            checkpoint is kept.
        DataError, ConfigError: bad data or settings, found before anything is written.
    """
    out_dir, data_dir = Path(out_dir), Path(data_dir)
    if steps is not None and epochs is not None:
        raise ConfigError("give steps or epochs, not both")
    for name, value in (("steps", steps), ("epochs", epochs), ("steps_per_epoch", steps_per_epoch),
                        ("checkpoint_every", checkpoint_every)):
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value}")
    state = check_run_dir(out_dir, resume, overwrite)  # reads only
    # every field, the PatchGAN's depth for the image size, and the memory training needs
    config = _resolve_config(config, out_dir, resume).check_trainable()
    with contextlib.ExitStack() as held:
        if state != "new":  # a second writer is refused here, before anything is written
            held.enter_context(safety.FolderLock(out_dir))
        strategy_name = strategy
        strategy = make_strategy(strategy)
        check_global_batch(strategy, config.batch_size)
        if jit_compile == "auto":
            jit_compile = bool(tf.config.list_physical_devices("GPU")) and strategy.num_replicas_in_sync == 1
        if deterministic:
            tf.config.experimental.enable_op_determinism()  # process-wide; CPU kernels become bitwise repeatable

        # Check all data before touching the run folder: a bad file stops us here, not an hour in.
        train_pairs = split_pairs(data_dir, "train", skip_bad=skip_bad_files, config=config)
        shape = train_image_shape(config, train_pairs)  # (S, S) unless preprocess keeps the aspect
        n_train = len(train_pairs)
        if n_train < config.batch_size:
            raise DataError(f"{data_dir}/train: {n_train} images, fewer than batch_size={config.batch_size}")
        test_split = find_test_split(data_dir)
        test_ds, n_test = (make_dataset(data_dir, test_split, config, skip_bad=skip_bad_files)
                           if test_split else (None, 0))

        if state == "new":
            _claim_new_run(out_dir, held)
        else:
            prepare_run_dir(out_dir, resume, overwrite)
        if not resume:
            config.save(out_dir / "config.json")
            safety.atomic_write_text(out_dir / "image_shape.json", json.dumps(list(shape)) + "\n")
        with errors_as_one_line(data_dir, out_dir):
            return _train_in_run(
                config, data_dir, out_dir, train_pairs, shape, test_ds, test_split, n_test,
                steps=steps, epochs=epochs, resume=resume, steps_per_epoch=steps_per_epoch,
                checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints,
                log_every=log_every, snapshot_count=snapshot_count, export=export,
                jit_compile=jit_compile, skip_bad_files=skip_bad_files, strategy=strategy,
                strategy_name=strategy_name, verbose=verbose)


def _claim_new_run(out_dir: Path, held: contextlib.ExitStack) -> None:
    """Create the run folder and its manifest, then take its lock (held until ``held`` ends)."""
    safety.claim_folder(out_dir, RUN_KIND)
    held.enter_context(safety.FolderLock(out_dir))
    if safety.recorded_entries(out_dir):
        raise RunDirError(f"{out_dir}: another pix2pix-tf run started in this folder meanwhile; "
                          "nothing was changed")
    safety.record_written(out_dir, RUN_FILES)


def _train_in_run(config, data_dir, out_dir, train_pairs, shape, test_ds, test_split, n_test, *,
                  steps, epochs, resume, steps_per_epoch, checkpoint_every, keep_checkpoints,
                  log_every, snapshot_count, export, jit_compile, skip_bad_files, strategy,
                  strategy_name, verbose) -> dict:
    """The part of :func:`train` that runs with the run folder prepared and locked."""
    n_train = len(train_pairs)
    spe = steps_per_epoch or max(1, n_train // config.batch_size)
    total_steps = steps if steps is not None else (epochs or PAPER_EPOCHS) * spe
    spe = min(spe, total_steps)

    keras.utils.set_random_seed(config.seed)
    ckpt_dir = out_dir / "checkpoints"
    with strategy.scope():  # variables and optimizer slots are mirrored across replicas
        model = Pix2Pix.from_config_object(config, shape=shape)
        model.compile(total_steps=total_steps, jit_compile=jit_compile)
        ckpt = model.checkpoint()
        if resume:
            restored = restore_latest(ckpt, ckpt_dir)
            print(f"resumed from step {model.step} ({Path(restored).name})")
            _rewrite_pointer(ckpt_dir, restored)
        manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=keep_checkpoints)
    start_step = model.step
    # the same example stream an uninterrupted run would see from this step on
    train_ds, _ = make_dataset(data_dir, "train", config, pairs=train_pairs,
                               skip=start_step * config.batch_size)

    snap_ds = (test_ds if test_ds is not None
               else make_dataset(data_dir, "train", config, training=False, pairs=train_pairs)[0])
    snap = next(iter(snap_ds.unbatch().batch(snapshot_count)))
    timer = cb.Throughput(config.batch_size)
    saver = cb.CheckpointEvery(manager, checkpoint_every)
    callbacks = [
        timer,
        cb.NaNGuard(manager),  # before the checkpointer: a NaN step is never saved
        cb.StopAtStep(total_steps),
        cb.ScalarLogger(out_dir / "logs", every_steps=log_every),
        cb.ImageSnapshot(snap[0], snap[1], out_dir / "images", log_dir=out_dir / "logs"),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=resume),
        saver,
    ]
    t0 = time.perf_counter()
    history = {}
    if start_step < total_steps:
        h = model.fit(train_ds, epochs=math.ceil(total_steps / spe), initial_epoch=start_step // spe,
                      steps_per_epoch=spe, validation_data=test_ds, callbacks=callbacks,
                      shuffle=False, verbose=verbose)
        history = h.history
    saver.save(model)
    wall = time.perf_counter() - t0

    test_metrics = {}
    if test_ds is not None:
        for mode in dict.fromkeys(("deterministic", "paper", config.inference_mode)):
            set_inference_mode(model, mode)  # also drops Pix2Pix's cached test function
            test_metrics[mode] = {k: float(v) for k, v in
                                  model.evaluate(test_ds, verbose=0, return_dict=True).items()}
        set_inference_mode(model, config.inference_mode)
    if export:
        safety.record_written(out_dir, ["saved_model"])
        export_saved_model(model.generator, config, out_dir / "saved_model", replace_recorded_in=out_dir)

    summary = {
        "steps": model.step,
        "start_step": start_step,
        "epochs_run": len(next(iter(history.values()), [])),
        "train_images": n_train,
        "test_images": n_test,
        "test_split": test_split,
        "wall_seconds": round(wall, 2),
        "seconds_per_step": timer.seconds_per_step,
        "images_per_second": timer.images_per_second,
        "final_losses": {k: float(v[-1]) for k, v in history.items() if not k.startswith("val_")},
        "inference_mode": config.inference_mode,
        "precision": model.precision,
        "jit_compile": bool(jit_compile),
        "strategy": strategy_name,
        "replicas": strategy.num_replicas_in_sync,
        "test": test_metrics.get(config.inference_mode, {}),
        "test_by_inference_mode": test_metrics,
        "saved_model": str(out_dir / "saved_model") if export else None,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    safety.record_written(out_dir, ["summary.json"])
    safety.atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def load_run(run_dir: str | Path) -> Pix2Pix:
    """Rebuild the model of a run directory and restore its newest checkpoint that loads.

    Reads only: the pointer file is not repaired here (``train(..., resume=True)`` does).

    Raises:
        RunDirError: not a run folder, damaged ``image_shape.json``, or no checkpoint loads.
        ConfigError: damaged ``config.json`` (one line naming it).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not (run_dir / "checkpoints").is_dir():
        raise RunDirError(f"{run_dir}: not a run folder (needs config.json and checkpoints/)")
    config = load_run_config(run_dir)
    shape = load_image_shape(run_dir)
    model = Pix2Pix.from_config_object(config, shape=shape)
    model.compile()
    restore_latest(model.checkpoint(), run_dir / "checkpoints")
    return model
