"""Evaluate a trained generator over a dataset split: L1, PSNR, SSIM (and optionally FID).

The model can be an exported SavedModel, a run folder with ``saved_model/``, or a run
folder with checkpoints only. Results go to ``OUT/metrics.json`` with per-image values,
and ``OUT/worst.png`` / ``OUT/best.png`` show input | output | target for the images with
the highest and lowest L1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from .callbacks import image_grid, save_png
from .config import Pix2PixConfig, Pix2PixError
from .data import find_test_split, make_dataset, split_pairs
from .export import load_exported_config
from .metrics import fid_from_features, image_metrics, inception_feature_extractor
from .train import load_run


def load_generator_fn(model_path: str | Path):
    """Return (fn, config, description) where fn maps float32 [-1, 1] batches to outputs.

    Accepts a SavedModel folder, a run folder with ``saved_model/`` or a run folder with only
    ``checkpoints/`` (then the generator is rebuilt in the run's configured inference mode).
    """
    path = Path(model_path)
    sm = path if (path / "saved_model.pb").is_file() else path / "saved_model"
    if (sm / "saved_model.pb").is_file():
        model = tf.saved_model.load(str(sm))
        serve = model.signatures["serving_default"]
        config = Pix2PixConfig.from_dict(load_exported_config(model))
        return (lambda x: serve(images=tf.cast(x, tf.float32))["output"]), config, f"SavedModel {sm}"
    if (path / "config.json").is_file() and (path / "checkpoints").is_dir():
        run = load_run(path)
        return (lambda x: run.generator(x, training=False)), run.config, f"run {path} (checkpoint)"
    raise Pix2PixError(f"{path}: neither a SavedModel folder nor a run folder with "
                       "saved_model/ or checkpoints/")


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
    """
    fn, config, description = load_generator_fn(model_path)
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
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        best, worst = worst_best[:grid_count], worst_best[::-1][:grid_count]  # sorted by L1
        for name, rows in (("best", best), ("worst", worst)):
            _, xs, gs, ys = zip(*rows)
            save_png(image_grid(np.stack(xs), np.stack(gs), np.stack(ys)), out / f"{name}.png")
        (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
