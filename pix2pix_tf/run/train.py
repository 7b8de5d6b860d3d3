"""``train(config, data_dir, out_dir, options)``: the one high-level entry point of a training run.

The config (:class:`~pix2pix_tf.config.Pix2PixConfig`) says what model is trained, the
options (:class:`~pix2pix_tf.run.options.RunOptions`) how this run goes about it. What the
run folder holds and who may write it is :mod:`pix2pix_tf.run.folder`, how a run starts or
resumes in it :mod:`pix2pix_tf.run.resume`; this module checks the data, builds the model,
runs ``fit`` with the callbacks of :mod:`pix2pix_tf.run.callbacks`, and writes the summary
and the SavedModel.

Example:
    >>> summary = train(Pix2PixConfig(image_size=64, load_size=72), "data/facades_synthetic",
    ...                 "runs/demo", steps=10)  # doctest: +SKIP
    >>> summary["steps"]  # doctest: +SKIP
    10
    >>> summary = train(None, "data/facades_synthetic", "runs/demo", RunOptions(steps=20),
    ...                 resume=True)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from pathlib import Path
from typing import Iterator

import keras
import tensorflow as tf

from . import callbacks as cb
from ..host import manifests
from ..host import writes as safety
from ..config import Pix2PixConfig, Pix2PixError
from ..data import DataError, find_test_split, make_dataset, split_pairs, train_image_shape
from ..fast.distribute import check_global_batch, make_strategy
from ..fast.precision import resolve_precision
from ..fast.transform import speed_up
from ..host.memory import check_memory
from ..layers import set_inference_mode
from ..successors.model import model_class
from .export import export_saved_model
from .folder import (CHECKPOINTS, HISTORY, IMAGES, LOG_FOLDERS, LOGS, SAVED_MODEL, lock_run,
                     save_run_start, save_summary)
from .options import RunOptions, run_options
from .resume import (check_run_dir, checkpoint_candidates, open_run_dir, resolve_run_config,
                     resolve_run_options, restore_latest, rewrite_pointer)

PAPER_EPOCHS = 200  # facades: 200 epochs (appendix 6.3)


class Laps:
    """Seconds of the phases of a run, in the order they happen (``summary.json: timings``)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._t0 = self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        """Charge the time since the last lap to phase ``name``."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._t
        self._t = now

    def total(self) -> float:
        return time.perf_counter() - self._t0


def process_seconds() -> float | None:
    """Seconds since this process started (Linux ``/proc``), or None where that is unknown.

    The CLI passes it to :func:`train` as the run option ``startup_seconds``: interpreter start, imports
    (TensorFlow's above all) and flag checks, before the first line of :func:`train`.
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# ------------------------------------------------------------------ errors during fit
_PATH_IN_MESSAGE = re.compile(r"(/[^\s;:'\"\]\[,]+)")


def _path_in(message: str, under: Path) -> str | None:
    """The first absolute path in ``message`` that lies under ``under``."""
    root = str(under.resolve())
    for candidate in _PATH_IN_MESSAGE.findall(message):
        if candidate.startswith(root + "/") or candidate.startswith(str(under) + "/"):
            return candidate
    return None


def data_state(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``data_dir`` (links followed), by path.

    Taken after the up-front data check, so that a file that changes or vanishes during
    training can be named (TensorFlow's decode errors do not name it).
    """
    state = {}
    for folder, _, files in os.walk(data_dir, followlinks=True):
        for name in files:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                st = os.stat(path)
                state[path] = (st.st_size, st.st_mtime_ns)
    return state


def changed_file(data_dir: Path, before: dict[str, tuple[int, int]]) -> str | None:
    """The first file of ``before`` that is gone or differs now, or None."""
    for path, (size, mtime) in sorted(before.items()):
        try:
            st = os.stat(path)
        except OSError:
            return path
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            return path
    return None


KEPT = "; the last good checkpoint is kept"
NOTHING_KEPT = "; the run had saved no checkpoint yet and was removed"


def _out_of_memory(out_dir: Path, what: str) -> Pix2PixError:
    return Pix2PixError(f"{out_dir}: out of memory during training ({what}); lower --batch-size "
                        "or --image-size, or close other programs")


@contextlib.contextmanager
def errors_as_one_line(data_dir: Path, out_dir: Path,
                       before: dict[str, tuple[int, int]] | None = None) -> Iterator[None]:
    """Turn a full disk, exhausted memory or a training file that changed mid-run into one line.

    Args:
        before: :func:`data_state` of ``data_dir`` after the up-front checks, to name the
            training file that changed when TensorFlow's error does not.

    Raises:
        WriteError: the run folder cannot be written (disk full, read-only ...).
        DataError: a training file disappeared or changed after the up-front check.
        Pix2PixError: memory ran out.
    """
    try:
        yield
    except Pix2PixError:
        raise
    except MemoryError:
        raise _out_of_memory(out_dir, "MemoryError") from None
    except OSError as e:
        where = e.filename or out_dir
        raise safety.WriteError(f"{where}: cannot write ({safety.describe_os_error(e)}){KEPT}") from None
    except tf.errors.OpError as e:
        message = str(e.message or e)
        if "No space left" in message or "Disk quota" in message or "Read-only file" in message:
            where = re.sub(r"(ckpt-\d+)_temp[^/]*/.*", r"\1", _path_in(message, out_dir) or str(out_dir))
            reason = "disk full" if "No space" in message else message.splitlines()[0][:80]
            raise safety.WriteError(f"{where}: cannot write ({reason}){KEPT}") from None
        if isinstance(e, tf.errors.ResourceExhaustedError):
            raise _out_of_memory(out_dir, type(e).__name__) from None
        where = _path_in(message, data_dir) or (changed_file(data_dir, before) if before else None)
        first = message.strip().splitlines()[0][:120] if message.strip() else type(e).__name__
        if where is not None:
            raise DataError(f"{where}: changed or disappeared during training ({first})") from None
        if isinstance(e, (tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
                          tf.errors.DataLossError)):
            raise DataError(f"{data_dir}: a training file changed or disappeared during training "
                            f"({type(e).__name__}: {first})") from None
        raise


def train(config: Pix2PixConfig | None, data_dir: str | Path, out_dir: str | Path,
          options: RunOptions | None = None, *, resume: bool = False, overwrite: bool = False,
          **overrides) -> dict:
    """Train pix2pix on an aligned A|B dataset and write a complete run directory.

    Args:
        config: the model and data settings (None: the paper's defaults; on resume, the
            saved config).
        data_dir: folder with ``train/`` and optionally ``test/`` or ``val/``.
        out_dir: the run directory (its layout: :mod:`pix2pix_tf.run.folder`).
        options: how the run goes: its length, checkpoints, validation, export, devices and
            numerics (:class:`~pix2pix_tf.run.options.RunOptions`; None: the defaults).
        resume: continue the run in ``out_dir`` from its latest checkpoint. The run keeps the
            ``precision`` and ``conv_impl`` it started with; asking for other values (by
            name, or non-default in ``options``) is refused.
        overwrite: start again in an existing ``out_dir`` (removes only run files).
        **overrides: :class:`~pix2pix_tf.run.options.RunOptions` fields over ``options``
            (``steps=100, export=False``).

    Returns:
        The summary dict also written to ``summary.json``.

    Raises:
        TypeError: an override that is not a RunOptions field (named).
        RunDirError: ``out_dir`` is not a run this call may write (see :func:`check_run_dir`),
            or ``resume`` finds no checkpoint that loads (it never starts again from step 0).
        FolderBusy: another process is writing the run (its pid is named).
        WriteError: a file of the run cannot be written (disk full ...); the last good
            checkpoint is kept.
        DataError, ConfigError: bad data, settings or options, found before anything is written.
    """
    laps = Laps()
    out_dir, data_dir = Path(out_dir), Path(data_dir)
    options = run_options(options, **overrides)  # validated: each refusal names its option
    state = check_run_dir(out_dir, resume, overwrite)  # reads only
    # every field, the PatchGAN's depth for the image size, and the memory training needs
    config = resolve_run_config(config, out_dir, resume).check_trainable()
    options = resolve_run_options(options, out_dir, resume, given=overrides)  # a resumed run's precision
    check_memory(config)
    with contextlib.ExitStack() as held:
        if state != "new":  # a second writer is refused here, before anything is written
            lock_run(out_dir, held)
        strategy = make_strategy(options.strategy)
        check_global_batch(strategy, config.batch_size)
        jit_compile = options.jit_compile
        if jit_compile == "auto":
            jit_compile = bool(tf.config.list_physical_devices("GPU")) and strategy.num_replicas_in_sync == 1
        if options.deterministic:
            tf.config.experimental.enable_op_determinism()  # process-wide; CPU kernels become bitwise repeatable

        # Check all data before touching the run folder: a bad file stops us here, not an hour in.
        skip_bad = options.skip_bad_files
        train_pairs = split_pairs(data_dir, "train", skip_bad=skip_bad, config=config)
        shape = train_image_shape(config, train_pairs)  # (S, S) unless preprocess keeps the aspect
        n_train = len(train_pairs)
        if n_train < config.batch_size:
            raise DataError(f"{data_dir}/train: {n_train} images, fewer than batch_size={config.batch_size}")
        test_split = find_test_split(data_dir)
        test_ds, n_test = (make_dataset(data_dir, test_split, config, skip_bad=skip_bad)
                           if test_split else (None, 0))

        before = data_state(data_dir)
        laps.lap("checks")
        existed = out_dir.exists()
        open_run_dir(out_dir, state, resume, overwrite, held)  # a new folder is locked here
        try:
            if not resume:
                save_run_start(out_dir, config, shape, options)
            with errors_as_one_line(data_dir, out_dir, before):
                return _train_in_run(
                    config, options, data_dir, out_dir, train_pairs, shape, test_ds, test_split,
                    n_test, resume=resume, strategy=strategy, jit_compile=jit_compile, laps=laps)
        except BaseException as e:
            if not resume and not checkpoint_candidates(out_dir / CHECKPOINTS)[0]:
                remove_failed_start(out_dir, created=not existed, was_new=state == "new")
                if isinstance(e, Pix2PixError) and e.args and isinstance(e.args[0], str):
                    e.args = (e.args[0].replace(KEPT, NOTHING_KEPT),)
            raise


def remove_failed_start(out_dir: Path, created: bool, was_new: bool) -> None:
    """Undo a run that failed before its first checkpoint, so the same command can run again.

    Removes the entries the run recorded (all of which it wrote: a new or overwritten run
    folder holds nothing else of ours); a folder that was new loses its manifest and lock
    too, and is removed when this run created it. Never raises.
    """
    try:
        manifests.remove_recorded(out_dir)
        safety.remove_temporaries(out_dir)
        if was_new:
            for name in (safety.MANIFEST, safety.LOCK):
                (out_dir / name).unlink(missing_ok=True)
            if created:
                out_dir.rmdir()
    except (OSError, Pix2PixError):
        pass


def _train_in_run(config: Pix2PixConfig, options: RunOptions, data_dir, out_dir, train_pairs, shape,
                  test_ds, test_split, n_test, *, resume, strategy, jit_compile, laps) -> dict:
    """The part of :func:`train` that runs with the run folder prepared and locked."""
    n_train = len(train_pairs)
    spe = options.steps_per_epoch or max(1, n_train // config.batch_size)
    total_steps = options.steps if options.steps is not None else (options.epochs or PAPER_EPOCHS) * spe
    spe = min(spe, total_steps)
    eval_modes = tuple(options.eval_modes or (config.inference_mode,))

    keras.utils.set_random_seed(config.seed)
    # the folders TensorFlow's writers fill, checked (and made) without following a link
    ckpt_dir = safety.make_dirs(out_dir, CHECKPOINTS)
    for sub in (IMAGES, *(f"{LOGS}/{name}" for name in LOG_FOLDERS)):
        safety.make_dirs(out_dir, sub)
    with strategy.scope():  # variables and optimizer slots are mirrored across replicas
        model = model_class(config).from_config_object(config, shape=shape,
                                           precision=resolve_precision(options.precision))
        model.compile(total_steps=total_steps, jit_compile=jit_compile)
        speed_up(model, options.conv_impl)  # the CPU speed paths, chosen here by the run (fast/transform.py)
        ckpt = model.checkpoint()
        if resume:
            restored = restore_latest(ckpt, ckpt_dir)
            print(f"resumed from step {model.step} ({Path(restored).name})")
            rewrite_pointer(ckpt_dir, restored)
        manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=options.keep_checkpoints)
    start_step = model.step
    laps.lap("build")
    # the same example stream an uninterrupted run would see from this step on
    train_ds, _ = make_dataset(data_dir, "train", config, pairs=train_pairs,
                               skip=start_step * config.batch_size)

    snap_ds = (test_ds if test_ds is not None
               else make_dataset(data_dir, "train", config, training=False, pairs=train_pairs)[0])
    snap = next(iter(snap_ds.unbatch().batch(options.snapshot_count)))
    timer = cb.Throughput(config.batch_size)
    saver = cb.CheckpointEvery(manager, options.checkpoint_every, min_seconds=options.checkpoint_min_seconds)
    snapshots = cb.ImageSnapshot(snap[0], snap[1], out_dir / IMAGES, log_dir=out_dir / LOGS)
    report = cb.EpochReport(test_ds, snapshots, budget=options.validation_budget)  # val_* and the PNGs
    callbacks = [
        timer,
        cb.NaNGuard(manager),  # before the checkpointer: a NaN step is never saved
        cb.StopAtStep(total_steps),
        report,  # before the loggers: they read the val_* it adds to the epoch's logs
        cb.ScalarLogger(out_dir / LOGS, every_steps=options.log_every),
        cb.HistoryCSV(out_dir, HISTORY, append=resume),
        saver,
    ]
    laps.lap("input_pipeline")
    t0 = time.perf_counter()
    history = {}
    if start_step < total_steps:
        h = model.fit(train_ds, epochs=math.ceil(total_steps / spe), initial_epoch=start_step // spe,
                      steps_per_epoch=spe, callbacks=callbacks,
                      shuffle=False, verbose=options.verbose)
        history = h.history
    saver.save(model)
    wall = time.perf_counter() - t0
    laps.lap("fit")

    test_metrics = {}
    if test_ds is not None:
        # The last epoch's validation scored these very weights in the config's mode: reuse it.
        last_step, last_validated = report.last_scores or (None, {})
        reusable = bool(last_validated) and last_step == model.step
        for mode in dict.fromkeys(eval_modes):
            if reusable and mode == config.inference_mode:
                test_metrics[mode] = dict(last_validated)
                continue
            set_inference_mode(model, mode)  # also drops Pix2Pix's cached test function
            test_metrics[mode] = {k: float(v) for k, v in
                                  model.evaluate(test_ds, verbose=0, return_dict=True).items()}
        set_inference_mode(model, config.inference_mode)
    laps.lap("evaluation")
    if options.export:
        manifests.record_written(out_dir, [SAVED_MODEL])
        export_saved_model(model.inference_generator, config, out_dir / SAVED_MODEL,  # G's EMA when on
                           replace_recorded_in=out_dir)
    laps.lap("export")

    summary = {
        "steps": model.step,
        "start_step": start_step,
        "epochs_run": len(next(iter(history.values()), [])),
        "train_images": n_train,
        "test_images": n_test,
        "test_split": test_split,
        "wall_seconds": round(wall, 2),
        "checkpoints_saved": saver.saves,
        "epochs_validated": report.reports,
        "seconds_per_step": timer.seconds_per_step,
        "images_per_second": timer.images_per_second,
        "final_losses": {k: float(v[-1]) for k, v in history.items() if not k.startswith("val_")},
        "inference_mode": config.inference_mode,
        "precision": model.precision,
        "jit_compile": bool(jit_compile),
        "strategy": options.strategy,
        "replicas": strategy.num_replicas_in_sync,
        "test": test_metrics.get(config.inference_mode, {}),
        "test_by_inference_mode": test_metrics,
        "saved_model": str(out_dir / SAVED_MODEL) if options.export else None,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "timings": _timings(laps, timer, report=report, snapshots=snapshots, saver=saver,
                            startup_seconds=options.startup_seconds),
    }
    save_summary(out_dir, summary)
    return summary


def _timings(laps: Laps, timer: cb.Throughput, report: cb.EpochReport, snapshots: cb.ImageSnapshot,
             saver: cb.CheckpointEvery, startup_seconds: float | None) -> dict:
    """The run's phases in seconds: what a short run waits for besides its steps.

    ``startup`` (CLI only: process start to :func:`train`), ``checks`` (flags, config, every
    data file), ``build`` (run folder, model, optimizer, restore), ``input_pipeline``, then
    inside ``fit``: ``first_step`` (fit's set-up, tracing and the first step), ``steps``
    (the others), ``validation``, ``snapshots``, ``checkpoints`` and ``fit_other`` (callbacks,
    logging); then ``evaluation`` (the test split at the end), ``export`` (the SavedModel),
    ``summary``; ``time_to_first_step`` and ``total`` (from process start when known).
    """
    s = dict(laps.seconds)
    fit = s.pop("fit", 0.0)
    inside = {"first_step": timer.first_step_seconds, "steps": timer.step_seconds,
              "validation": report.validation_seconds, "snapshots": snapshots.seconds,
              "checkpoints": saver.seconds}
    inside["fit_other"] = max(0.0, fit - sum(inside.values()))
    laps.lap("summary")
    ordered = {"startup": startup_seconds} if startup_seconds is not None else {}
    for name in ("checks", "build", "input_pipeline"):
        ordered[name] = s.get(name, 0.0)
    ordered.update(inside)
    for name in ("evaluation", "export"):
        ordered[name] = s.get(name, 0.0)
    ordered["summary"] = laps.seconds["summary"]
    before = (startup_seconds or 0.0) + sum(s.get(n, 0.0) for n in ("checks", "build", "input_pipeline"))
    ordered["time_to_first_step"] = before + timer.first_step_seconds
    ordered["total"] = (startup_seconds or 0.0) + laps.total()
    return {k: round(v, 2) for k, v in ordered.items()}

