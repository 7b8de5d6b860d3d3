"""Evaluate a trained generator over a dataset split: L1, PSNR, SSIM (and optionally FID).

The model can be an exported SavedModel, a run folder with ``saved_model/``, or a run
folder with checkpoints only. Results go to ``OUT/metrics.json`` with per-image values,
and ``OUT/worst.png`` / ``OUT/best.png`` show input | output | target for the images with
the highest and lowest L1.

Writing is careful: OUT gets a manifest of kind ``evaluation`` (a non-empty folder without
one is refused), every file goes through a temporary name, and when OUT lies in a run folder
(``RUN/evaluation_SPLIT``) that run is locked for the time and records the entry.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..host import manifests
from ..host import writes as safety
from ..config import Pix2PixError
from ..successors.config import config_from_dict
from .options import split_config_dict
from ..data import find_test_split, make_dataset, split_pairs
from ..metrics import fid_from_features, image_metrics, inception_feature_extractor
from .callbacks import image_grid, save_png
from .folder import EVALUATION, SAVED_MODEL_PB, check_links_to_run_entry, find_enclosing_run, lock_run
from .loading import ModelError, load_run, load_saved_model, resolve_model

EVALUATION_KIND = "evaluation"  # manifest kind of an evaluation output folder


def load_generator_fn(model_path: str | Path):
    """Return (fn, config, description) where fn maps float32 [-1, 1] batches to outputs.

    Accepts a SavedModel folder, a run folder with ``saved_model/`` or a run folder with only
    ``checkpoints/`` (then the generator is rebuilt in the run's configured inference mode).

    Raises:
        ModelError: missing or damaged ``saved_model.pb`` (named), or not a model path.
        RunDirError, ConfigError: a run folder whose files are damaged (named).
    """
    kind, path = resolve_model(model_path)
    if kind == "run":
        run = load_run(path)
        return (lambda x: run.inference_generator(x, training=False)), run.config, f"run {path} (checkpoint)"
    model, info = load_saved_model(path)
    serve = model.signatures["serving_default"]
    try:
        config = config_from_dict(split_config_dict(info)[0])  # older exports hold run options too
    except (Pix2PixError, TypeError) as e:
        raise ModelError(f"{path / SAVED_MODEL_PB}: its config is not a pix2pix-tf config "
                         f"({e})") from None
    return (lambda x: serve(images=tf.cast(x, tf.float32))["output"]), config, f"SavedModel {path}"


def evaluate(model_path: str | Path, data_dir: str | Path, split: str | None = None,
             out_dir: str | Path | None = None, batch_size: int = 8, grid_count: int = 4,
             fid: bool = False, fid_weights: str | None = "imagenet") -> dict:
    """Mean L1 / PSNR / SSIM (and FID) of a model over one split of an aligned dataset.

    Args:
        model_path: SavedModel or run folder (see :func:`load_generator_fn`).
        data_dir: dataset folder; ``split`` defaults to test/, else val/.
        out_dir: where to write metrics.json, worst.png and best.png (None: write nothing).
        batch_size: images per generator call.
        grid_count: rows in the worst/best grids.
        fid: also compute FID between generated and real images with Inception-v3 features.
        fid_weights: "imagenet" (needs a download the first time) or None (random, for tests).

    Returns:
        {"model", "data", "split", "images", "l1", "psnr", "ssim", ["fid"], "per_image": {...}}

    Raises:
        WriteError: ``out_dir`` cannot be used (see :func:`check_evaluation_out`); checked first.
        FolderBusy: ``out_dir`` is in a run folder another process is writing.
        ModelError, RunDirError, ConfigError: the model cannot be loaded (one line naming it).
    """
    holder = check_evaluation_out(Path(out_dir)) if out_dir is not None else None  # refuse early
    loaded = load_generator_fn(model_path)
    with contextlib.ExitStack() as held:
        if holder is not None:  # writing into a run folder: one writer at a time
            lock_run(holder, held)
        return _evaluate(loaded, data_dir, split, out_dir, batch_size, grid_count, fid,
                         fid_weights, holder)


def _evaluate(loaded, data_dir, split, out_dir, batch_size, grid_count, fid, fid_weights,
              holder) -> dict:
    """:func:`evaluate` with the model loaded and the output folder checked (its run locked)."""
    fn, config, description = loaded
    split = split or find_test_split(data_dir)
    if split is None:
        raise Pix2PixError(f"{data_dir}: no test/ or val/ split to evaluate (pass --split)")
    pairs = split_pairs(data_dir, split, config=config)
    files = [a for a, _ in pairs]
    ds, n = make_dataset(data_dir, split, config, training=False, batch_size=batch_size, pairs=pairs)

    values = {"l1": [], "psnr": [], "ssim": []}
    fakes, reals = [], []
    worst_best = []  # (l1, input, output, target) kept only for the grids
    for x, y in ds:
        g = fn(x)
        for k, v in image_metrics(y, g).items():
            values[k].extend(v.numpy().tolist())
        worst_best.extend(zip(values["l1"][-len(x):], x.numpy(), g.numpy(), y.numpy()))
        worst_best = sorted(worst_best, key=lambda t: t[0])
        if len(worst_best) > 2 * grid_count:  # keep the extremes only
            worst_best = worst_best[:grid_count] + worst_best[-grid_count:]
        if fid:
            fakes.append(g)
            reals.append(y)

    result = {"model": description, "data": str(data_dir), "split": split, "images": n,
              **{k: float(np.mean(v)) for k, v in values.items()}}
    if fid:
        try:
            features = inception_feature_extractor(fid_weights)
        except Exception as e:  # noqa: BLE001  (a failed download surfaces as many types)
            raise Pix2PixError("FID needs the ImageNet Inception-v3 weights, which could not be "
                               f"loaded or downloaded ({type(e).__name__}: {e})") from None
        result["fid"] = fid_from_features(np.concatenate([features(b) for b in fakes]),
                                          np.concatenate([features(b) for b in reals]))
        result["fid_images"] = n
    order = np.argsort(values["l1"])
    result["best"] = [{"file": files[i].name, "l1": values["l1"][i]} for i in order[:grid_count]]
    result["worst"] = [{"file": files[i].name, "l1": values["l1"][i]} for i in order[::-1][:grid_count]]
    result["per_image"] = {f.name: {k: values[k][i] for k in values} for i, f in enumerate(files)}

    if out_dir is not None:
        write_evaluation(Path(out_dir), result, worst_best, grid_count, holder)
    return result


def check_evaluation_out(out: Path) -> Path | None:
    """Check, without writing, that ``out`` may receive an evaluation.

    Inside a run folder only a direct child named ``*evaluation_*`` is accepted (the
    command's defaults: ``RUN/evaluation_SPLIT``, ``RUN/saved_model_evaluation_SPLIT``).

    Returns:
        The run folder holding ``out`` (to lock and record it in), or None.

    Raises:
        WriteError: ``out`` is a file, under a file, not writable, inside a run folder
            elsewhere than ``RUN/evaluation_*``, or a non-empty folder that is not ours.
    """
    safety.check_out_dir(out)
    check_links_to_run_entry(out)
    holder = find_enclosing_run(out)
    target = out.resolve()
    if holder is not None and (target.parent != holder or EVALUATION not in target.name):
        raise safety.WriteError(f"--out {out}: inside the run folder {holder}; nothing was changed; "
                                "only an *evaluation_* folder directly in it is written there")
    kind = manifests.folder_kind(out) if out.is_dir() else None
    if out.is_dir() and kind != EVALUATION_KIND and not safety.is_empty_dir(out):
        raise safety.WriteError(f"--out {out}: folder is not empty and is not a pix2pix-tf "
                                "evaluation; nothing was changed; choose a new or empty folder")
    return holder


def write_evaluation(out: Path, result: dict, worst_best: list, grid_count: int,
                     holder: Path | None = None) -> None:
    """Write metrics.json, best.png and worst.png into ``out``; record it in ``holder``'s manifest."""
    if holder is not None and manifests.read_manifest(holder) is not None:
        manifests.record_written(holder, [out.resolve().name])
    manifests.claim_folder(out, EVALUATION_KIND)
    manifests.record_written(out, ["best.png", "worst.png", "metrics.json"])
    best, worst = worst_best[:grid_count], worst_best[::-1][:grid_count]  # sorted by L1
    for name, rows in (("best", best), ("worst", worst)):
        _, xs, gs, ys = zip(*rows)
        save_png(image_grid(np.stack(xs), np.stack(gs), np.stack(ys)), out / f"{name}.png")
    safety.atomic_write_text(out / "metrics.json", json.dumps(result, indent=2) + "\n")
