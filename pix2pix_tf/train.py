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
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from . import callbacks as cb
from .blocks import set_inference_mode
from .config import ConfigError, Pix2PixConfig, Pix2PixError
from .data import DataError, find_test_split, make_dataset, split_pairs, train_image_shape
from .distribute import check_global_batch, make_strategy
from .export import export_saved_model
from .model import Pix2Pix

RUN_FILES = ("config.json", "image_shape.json", "checkpoints", "logs", "images", "history.csv",
             "summary.json", "saved_model")
PAPER_EPOCHS = 200  # facades: 200 epochs (appendix 6.3)


class RunDirError(Pix2PixError):
    """The run directory cannot be used as asked (exists, or nothing to resume)."""


def prepare_run_dir(out_dir: Path, resume: bool, overwrite: bool) -> None:
    """Create ``out_dir``; refuse to write into a non-empty one unless resuming or overwriting.

    ``overwrite`` removes only the entries a run writes (:data:`RUN_FILES`), never other files.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise RunDirError(f"{out_dir}: exists and is not a folder")
    if resume:
        if not (out_dir / "config.json").is_file():
            raise RunDirError(f"{out_dir}: nothing to resume (no config.json)")
        return
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise RunDirError(f"{out_dir}: run folder exists and is not empty; pass --resume to "
                              "continue it or --overwrite to start again")
        for name in RUN_FILES:
            p = out_dir / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _resolve_config(config: Pix2PixConfig | None, out_dir: Path, resume: bool) -> Pix2PixConfig:
    if not resume:
        return config or Pix2PixConfig()
    saved = Pix2PixConfig.load(out_dir / "config.json")
    if config is not None and config != saved:
        diff = [k for k, v in config.to_dict().items() if saved.to_dict()[k] != v]
        raise RunDirError(f"{out_dir}: --resume with a config that differs from the run's "
                          f"config.json in: {', '.join(diff)}")
    return saved


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
        strategy: tf.distribute strategy name (see :mod:`pix2pix_tf.distribute`); the
            config's batch_size is the global batch.
        verbose: Keras progress bar setting.

    Returns:
        The summary dict also written to ``summary.json``.
    """
    out_dir, data_dir = Path(out_dir), Path(data_dir)
    if steps is not None and epochs is not None:
        raise ConfigError("give steps or epochs, not both")
    for name, value in (("steps", steps), ("epochs", epochs), ("steps_per_epoch", steps_per_epoch),
                        ("checkpoint_every", checkpoint_every)):
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value}")
    config = _resolve_config(config, out_dir, resume).validate()

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

    prepare_run_dir(out_dir, resume, overwrite)
    if not resume:
        config.save(out_dir / "config.json")
        (out_dir / "image_shape.json").write_text(json.dumps(list(shape)) + "\n")

    spe = steps_per_epoch or max(1, n_train // config.batch_size)
    total_steps = steps if steps is not None else (epochs or PAPER_EPOCHS) * spe
    spe = min(spe, total_steps)

    keras.utils.set_random_seed(config.seed)
    with strategy.scope():  # variables and optimizer slots are mirrored across replicas
        model = Pix2Pix.from_config_object(config, shape=shape)
        model.compile(total_steps=total_steps, jit_compile=jit_compile)
        ckpt = model.checkpoint()
        manager = tf.train.CheckpointManager(ckpt, str(out_dir / "checkpoints"),
                                             max_to_keep=keep_checkpoints)
        if resume:
            restore_latest(ckpt, manager)
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
        export_saved_model(model.generator, config, out_dir / "saved_model")

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
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def restore_latest(ckpt: tf.train.Checkpoint, manager: tf.train.CheckpointManager) -> str | None:
    """Restore the newest checkpoint that loads; fall back to older ones if it is damaged.

    Returns:
        The checkpoint path restored, or None when there is none.
    """
    for path in reversed(manager.checkpoints):
        try:
            ckpt.restore(path).assert_existing_objects_matched()
            return path
        except (tf.errors.OpError, ValueError, AssertionError) as e:
            print(f"pix2pix-tf: warning: checkpoint {path} cannot be restored "
                  f"({type(e).__name__}); trying the previous one", file=sys.stderr)
    if manager.checkpoints:
        raise RunDirError(f"{manager.directory}: no checkpoint could be restored")
    return None


def load_run(run_dir: str | Path) -> Pix2Pix:
    """Rebuild the model of a run directory and restore its latest checkpoint."""
    run_dir = Path(run_dir)
    config = Pix2PixConfig.load(run_dir / "config.json")
    shape_file = run_dir / "image_shape.json"
    shape = tuple(json.loads(shape_file.read_text())) if shape_file.is_file() else None
    model = Pix2Pix.from_config_object(config, shape=shape)
    model.compile()
    ckpt = model.checkpoint()
    manager = tf.train.CheckpointManager(ckpt, str(run_dir / "checkpoints"), max_to_keep=None)
    if restore_latest(ckpt, manager) is None:
        raise RunDirError(f"{run_dir}: no checkpoint found in checkpoints/")
    return model
