"""Keras callbacks of a pix2pix run: image snapshots, checkpoints, step limit, timing."""

from __future__ import annotations

import csv
import os
import re
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..host import writes as safety
from ..config import Pix2PixError
from ..data import to_uint8


def image_grid(inputs, outputs, targets) -> np.ndarray:
    """Rows of input | output | target as one uint8 (rows*S, 3*S, 3) image.

    Single-channel images are repeated to RGB so all three columns line up.

    Example:
        >>> image_grid(tf.zeros((2, 8, 8, 3)), tf.zeros((2, 8, 8, 1)), tf.zeros((2, 8, 8, 3))).shape
        (16, 24, 3)
    """
    def rgb(t):
        t = to_uint8(t)
        return tf.repeat(t, 3, axis=-1) if t.shape[-1] == 1 else t

    rows = [tf.concat([rgb(a), rgb(b), rgb(c)], axis=1)
            for a, b, c in zip(inputs, outputs, targets)]  # each (S, 3S, 3)
    return tf.concat(rows, axis=0).numpy()


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 HxWxC array as PNG (written to a temp name, then renamed).

    Raises:
        WriteError: the file cannot be written (one line naming it: disk full, ...).
    """
    return safety.atomic_write_bytes(path, tf.io.encode_png(array).numpy())


class ImageSnapshot(keras.callbacks.Callback):
    """At the end of every epoch, translate a fixed batch and save input | output | target.

    Writes ``out_dir/epoch_{epoch:04d}.png`` and, if ``log_dir`` is given, a TensorBoard image.

    Args:
        inputs, targets: a fixed batch (N, S, S, C) in [-1, 1].
        out_dir: folder for the PNG grids.
        log_dir: TensorBoard folder (its ``images`` sub-folder is used), or None.
    """

    def __init__(self, inputs, targets, out_dir, log_dir=None):
        super().__init__()
        self.inputs, self.targets = inputs, targets
        self.out_dir = Path(out_dir)
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "images")) if log_dir else None
        self.last_path: Path | None = None
        self.seconds = 0.0  # time spent making snapshots

    def on_epoch_end(self, epoch, logs=None):
        started = time.perf_counter()
        self._snapshot(epoch)
        self.seconds += time.perf_counter() - started

    def _snapshot(self, epoch):
        outputs = self.model.inference_generator(self.inputs, training=False)  # the EMA when on, as validation
        grid = image_grid(self.inputs, outputs, self.targets)
        with safety.os_errors_as(self.out_dir, "cannot create"):
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.last_path = save_png(grid, self.out_dir / f"epoch_{epoch + 1:04d}.png")
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("input | output | target", grid[None], step=self.model.step)
            self.writer.flush()


class EpochReport(keras.callbacks.Callback):
    """Epoch-end validation (``val_*`` in the epoch's logs) and image snapshot, within a time budget.

    Keras' ``validation_data`` scores the test split after every epoch. A short run with short
    epochs then spends a large share of its time there: at 256x256 on a 2-core CPU, 10 test
    images and a 4-image snapshot take about 1.6 s after each 47 s epoch of 100 steps; on a GPU,
    where the epoch takes seconds, they take about as long as the epoch. This callback runs both
    after the first and the last epoch of each ``fit``, and after another epoch only when the
    time since the last report is at least the last report's cost divided by ``budget``: the
    reports then take about that share of the run, evenly spread. ``budget >= 1``: every epoch.

    Put it before the callbacks that read ``val_*`` (``CSVLogger``, ``ScalarLogger``): Keras
    hands every callback the same logs dict, and its ``History`` comes last. An epoch without a
    report has no ``val_*`` (``history.csv`` writes NA there).

    Args:
        validation_data: the test split, batched, or None (snapshots only).
        snapshot: an :class:`ImageSnapshot` (not itself in ``fit``'s callbacks), or None.
        budget: the share of the training time the reports may take (default 0.02).

    Attributes:
        validation_seconds, reports, skipped: time spent validating, epochs reported, skipped.
        last_scores: ``(step, {metric: value})`` of the last validation, or None.
    """

    def __init__(self, validation_data=None, snapshot: "ImageSnapshot | None" = None,
                 budget: float = 0.02):
        super().__init__()
        if not budget >= 0:  # also refuses nan
            raise ValueError(f"budget must be >= 0, got {budget}")
        self.data, self.snapshot, self.budget = validation_data, snapshot, budget
        self.validation_seconds, self.reports, self.skipped = 0.0, 0, 0
        self.last_scores: tuple[int, dict] | None = None
        self._first, self._last_end, self._last_cost = True, 0.0, 0.0

    def set_model(self, model):
        super().set_model(model)
        if self.snapshot is not None:
            self.snapshot.set_model(model)

    def on_train_begin(self, logs=None):
        self._first, self._last_end = True, time.perf_counter()

    def due(self, epoch: int) -> bool:
        """Whether the epoch that just ended gets a report."""
        last = self.model.stop_training or epoch + 1 >= self.params.get("epochs", epoch + 1)
        if self._first or last or self.budget >= 1:
            return True
        if self.budget == 0:
            return False
        return time.perf_counter() - self._last_end >= self._last_cost / self.budget

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch):
            self.skipped += 1
            return
        started = time.perf_counter()
        if self.data is not None:
            scores = {k: float(v) for k, v in
                      self.model.evaluate(self.data, verbose=0, return_dict=True).items()}
            if logs is not None:
                logs.update({f"val_{k}": v for k, v in scores.items()})
            self.last_scores = (self.model.step, scores)
        self.validation_seconds += time.perf_counter() - started
        if self.snapshot is not None:
            self.snapshot.on_epoch_end(epoch, logs)
        self._first, self._last_end = False, time.perf_counter()
        self._last_cost = self._last_end - started
        self.reports += 1


def checkpoint_prefix(manager: tf.train.CheckpointManager) -> str:
    """The path a manager's checkpoint numbers are appended to (``DIR/ckpt``)."""
    return getattr(manager, "_prefix", None) or os.path.join(manager.directory, "ckpt")


def checkpoint_temporaries(prefix: str) -> list[str]:
    """The temporary entries TensorFlow's writer makes while saving checkpoint ``prefix``.

    Saving ``DIR/ckpt-8`` first writes the shards under ``DIR/ckpt-8_temp/`` (older
    TensorFlow: ``DIR/ckpt-8_temp_<hex>/``), then merges them into ``ckpt-8.index`` and
    ``ckpt-8.data-*`` and removes the folder. Only names of exactly that form count:
    ``ckpt-80_temp`` is not one of ``ckpt-8``'s.
    """
    folder, name = os.path.split(prefix)
    pattern = re.compile(re.escape(name) + r"_temp(_[0-9a-fA-F]+)?")
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return []
    return sorted(os.path.join(folder, e) for e in entries if pattern.fullmatch(e))


def remove_checkpoint_temporaries(prefix: str, keep=frozenset()) -> list[str]:
    """Remove what a failed save of checkpoint ``prefix`` left: its ``_temp`` entries.

    A full disk stops TensorFlow's writer after it made ``ckpt-N_temp/``, and nothing removes
    it then. Entries in ``keep`` (there before this save) stay. Never raises: the caller is
    already handling the save's own error.

    Returns:
        The paths removed.
    """
    removed = []
    for path in checkpoint_temporaries(prefix):
        if path in keep:
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


class CheckpointEvery(keras.callbacks.Callback):
    """Save a tf.train.CheckpointManager every ``every_steps`` steps and at epoch ends.

    An epoch-end save is skipped when the last save (or the start of training) was less than
    ``min_seconds`` ago: a short run with short epochs would otherwise spend a large share of
    its time writing checkpoints (each holds G, D and both Adam states: about 650 MB at the
    paper's size). ``every_steps`` saves and :meth:`save` (the end of the run) always save.

    Args:
        manager: where and how many checkpoints are kept.
        every_steps: also save every N steps (None: only at epoch ends).
        min_seconds: the least time between epoch-end saves (0: save at every epoch end).
    """

    def __init__(self, manager: tf.train.CheckpointManager, every_steps: int | None = None,
                 min_seconds: float = 0.0):
        super().__init__()
        self.manager, self.every_steps, self.min_seconds = manager, every_steps, min_seconds
        self.last_saved_step: int | None = None
        self.seconds = 0.0  # time spent saving
        self.saves = 0
        self._last_time = time.perf_counter()

    def save(self, model=None) -> None:
        """Save now, unless this step is already saved.

        A save that fails (a full disk) removes the ``ckpt-N_temp*`` entries it created (see
        :func:`remove_checkpoint_temporaries`), then raises the error as it came.
        """
        step = (model or self.model).step
        if step != self.last_saved_step:
            started = time.perf_counter()
            prefix = f"{checkpoint_prefix(self.manager)}-{step}"
            before = set(checkpoint_temporaries(prefix))
            try:
                self.manager.save(checkpoint_number=step)
            except BaseException:
                remove_checkpoint_temporaries(prefix, keep=before)
                raise
            self.last_saved_step = step
            self._last_time = time.perf_counter()
            self.seconds += self._last_time - started
            self.saves += 1

    def on_train_begin(self, logs=None):
        self._last_time = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and self.model.step % self.every_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self._last_time >= self.min_seconds:
            self.save()


class TrainingDiverged(Pix2PixError):
    """A loss became NaN or infinite; training stopped without saving the bad weights."""

    exit_code = 3


class NaNGuard(keras.callbacks.Callback):
    """Stop at the first step whose losses are not finite, before anything saves the weights.

    Raises :class:`TrainingDiverged` from inside ``fit`` (so no epoch-end callback runs), naming
    the step, the bad losses and the last good checkpoint, which is kept. Place it before the
    checkpoint callback.
    """

    def __init__(self, manager: tf.train.CheckpointManager | None = None):
        super().__init__()
        self.manager = manager

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items() if not np.isfinite(float(v))}
        if bad:
            last = self.manager.latest_checkpoint if self.manager else None
            losses = ", ".join(f"{k}={v}" for k, v in sorted(bad.items()))
            raise TrainingDiverged(
                f"training diverged at step {self.model.step}: {losses}; the weights of this step "
                f"were not saved; last good checkpoint: {last or 'none'}. Try a lower learning "
                "rate or check the data")


class StopAtStep(keras.callbacks.Callback):
    """Stop training once the model has done ``total_steps`` generator updates."""

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if self.model.step >= self.total_steps:
            self.model.stop_training = True


class Throughput(keras.callbacks.Callback):
    """Wall time of the run and the time spent in train steps.

    Step time is summed between batch begin and end, so epoch-end work (validation,
    snapshots, checkpoints) does not count; the first step is timed apart, from the start of
    ``fit`` to its end (``first_step_seconds``: setting up, tracing and the step itself).
    :class:`EpochReport` times the validation.
    """

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.t_start = self._t_batch = None
        self.step_seconds, self.timed_steps, self.batches = 0.0, 0, 0
        self.first_step_seconds = 0.0

    def on_train_begin(self, logs=None):
        self.t_start = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        self._t_batch = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches > 1:
            self.step_seconds += time.perf_counter() - self._t_batch
            self.timed_steps += 1
        else:
            self.first_step_seconds = time.perf_counter() - self.t_start

    @property
    def wall_seconds(self) -> float:
        return time.perf_counter() - self.t_start

    @property
    def seconds_per_step(self) -> float | None:
        return self.step_seconds / self.timed_steps if self.timed_steps else None

    @property
    def images_per_second(self) -> float | None:
        sps = self.seconds_per_step
        return self.batch_size / sps if sps else None


class ScalarLogger(keras.callbacks.Callback):
    """TensorBoard scalars against the global step (so a resumed run continues its curves).

    Training losses every ``every_steps`` steps into ``log_dir/train``; validation metrics
    at each epoch end into ``log_dir/validation``.
    """

    def __init__(self, log_dir, every_steps: int = 10):
        super().__init__()
        self.every_steps = max(1, every_steps)
        self.train_writer = tf.summary.create_file_writer(str(Path(log_dir) / "train"))
        self.val_writer = tf.summary.create_file_writer(str(Path(log_dir) / "validation"))

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.step
        if logs and step % self.every_steps == 0:
            with self.train_writer.as_default():
                for name, value in logs.items():
                    tf.summary.scalar(name, value, step=step)

    def on_epoch_end(self, epoch, logs=None):
        step = self.model.step
        with self.val_writer.as_default():
            for name, value in (logs or {}).items():
                if name.startswith("val_"):
                    tf.summary.scalar(name[4:], value, step=step)
        self.train_writer.flush()
        self.val_writer.flush()

    def on_train_end(self, logs=None):
        # the steps after the last epoch end reach the file too: nothing stays in a buffer
        self.train_writer.flush()
        self.val_writer.flush()


class HistoryCSV(keras.callbacks.Callback):
    """One row per epoch in ``root/name`` (``history.csv``), in ``keras.callbacks.CSVLogger``'s format.

    The columns are ``epoch`` and the sorted log keys of the first epoch (``val_*`` too, which
    the first epoch always has); a value an epoch lacks is written ``NA``. On ``append`` the
    existing header's columns are kept. The file is opened in place through
    :func:`pix2pix_tf.host.writes.open_in_place`, so a ``history.csv`` that is a link, a FIFO or a
    hard link to somebody's file is refused instead of written through (CSVLogger opens the
    path and follows it).

    Args:
        root: the run folder.
        name: the file's name in it.
        append: continue an existing file (a resumed run); else start it empty.
    """

    def __init__(self, root, name: str, append: bool = False):
        super().__init__()
        self.root, self.name, self.append = Path(root), name, append
        self.columns: list[str] | None = None
        self._file = None

    def on_train_begin(self, logs=None):
        flags = os.O_RDWR | os.O_CREAT | (os.O_APPEND if self.append else os.O_TRUNC)
        fd = safety.open_in_place(self.root, self.name, flags)
        self._file = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self.columns = None
        if self.append and os.fstat(fd).st_size:
            header = os.pread(fd, 1 << 16, 0).split(b"\n", 1)[0].decode("utf-8", "replace")
            self.columns = next(csv.reader([header]), [])[1:] or None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        writer = csv.writer(self._file)
        if self.columns is None:
            self.columns = sorted(logs)
            writer.writerow(["epoch", *self.columns])
        writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.columns)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(value):
    """A log value as CSVLogger writes it: numbers as they are, arrays as "[a, b]"."""
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    return value if array.ndim == 0 else f"[{', '.join(map(str, array.ravel()))}]"
