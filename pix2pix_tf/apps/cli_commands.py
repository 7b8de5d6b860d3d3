"""The ``pix2pix-tf`` subcommands' runners: one function a command, each a thin call into
the library that prints what it did.

:func:`_run` dispatches the parsed arguments (:mod:`pix2pix_tf.apps.cli_parser`) to the
runner in :data:`_COMMANDS`; each runner imports the library parts it drives when it runs,
so the entry point (:mod:`pix2pix_tf.apps.cli`) can refuse bad input before TensorFlow is
imported. Kept apart from the parser because what a command does is read and changed
apart from how its flags are spelled.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from ..config import Pix2PixError
from ..successors.config import SuccessorConfig, preset_fields
from .epochs import epoch_schedule  # --n-epochs / --n-epochs-decay
from .cli_parser import _config_from_args, _run_overrides


def _train(args) -> int:
    """Train a run (or continue one with ``--resume``) and print its summary."""
    from ..run.options import KEPT_ON_RESUME
    from ..run.resume import check_resume_flags, check_run_dir
    from ..run.train import process_seconds, train
    config = getattr(args, "checked_config", None) or _config_from_args(args)  # _precheck's
    if args.resume:  # the same flags as the run's are fine; a different value is refused
        check_run_dir(args.out, resume=True)
        wanted = (epoch_schedule(config, args.n_epochs, args.n_epochs_decay)[0]
                  if args.n_epochs is not None else config)
        given = {f.name for f in dataclasses.fields(SuccessorConfig) if getattr(args, f.name) is not None}
        if args.preset:  # the preset decides every field a preset sets: checked like flags
            given |= preset_fields()
        kept = {k: v for k, v in _run_overrides(args).items() if k in KEPT_ON_RESUME}
        check_resume_flags(args.out, wanted, given, kept)
        config = None
    if args.n_epochs is not None or args.n_epochs_decay is not None:
        config, args.epochs = epoch_schedule(config, args.n_epochs, args.n_epochs_decay)
    summary = train(config, args.data, args.out, resume=args.resume, overwrite=args.overwrite,
                    startup_seconds=process_seconds(), **_run_overrides(args))
    print(json.dumps({k: summary[k] for k in ("steps", "wall_seconds", "seconds_per_step",
                                              "test", "saved_model")}, indent=2))
    print(f"run written to {args.out}")
    return 0


def _predict(args) -> int:
    """Translate an image or a folder of images; the inputs it could not translate are listed
    (when none could be, predict_files refuses in one line: status 2, nothing written)."""
    from ..run.predict import predict_files
    result = predict_files(args.model, args.input, args.out, aligned=args.aligned,
                           side_by_side=args.side_by_side, size_mode=args.size_mode,
                           overwrite=args.overwrite)
    for path, reason in result["skipped"].items():
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"wrote {len(result['written'])} image(s) to {args.out}; skipped {len(result['skipped'])}")
    return 0 if result["written"] else 1


def _export(args) -> int:
    """Export a run's generator as a SavedModel, a TFLite file or a web page."""
    from ..run.export import export_run
    if args.quantize == "int8" and args.format != "tflite":
        raise Pix2PixError("--quantize int8 applies to --format tflite only")
    if args.quantize == "int8" and args.calibration_data is None:
        raise Pix2PixError("--quantize int8 needs --calibration-data DIR: a dataset folder whose "
                           "train/ images calibrate the int8 ranges")
    if args.quantize != "int8" and (args.calibration_data or args.calibration_count) is not None:
        raise Pix2PixError("--calibration-data and --calibration-count apply to --quantize int8 only")
    if args.format == "web":
        from ..web.page import export_web_run
        path = export_web_run(args.run, args.out, args.inference_mode, runtime=args.runtime,
                              litert_dir=args.litert_dir, palette=args.palette, quantize=args.quantize)
        print(f"exported web to {path}; serve it with: python -m http.server -d {path} 8000 "
              "(then open http://localhost:8000/)")
        return 0
    if args.litert_dir is not None or args.runtime != "auto" or args.palette is not None:
        raise Pix2PixError("--runtime, --litert-dir and --palette apply to --format web only")
    calibration = {} if args.quantize != "int8" else {
        "calibration_data": args.calibration_data,
        **({"calibration_count": args.calibration_count} if args.calibration_count else {})}
    path = export_run(args.run, args.out, args.format, args.inference_mode, quantize=args.quantize,
                      **calibration)
    print(f"exported {args.format} to {path}")
    return 0


def _evaluate(args) -> int:
    """Evaluate a SavedModel or run on a split; metrics.json, best.png and worst.png."""
    from ..data import find_test_split
    from ..run.evaluate import evaluate
    from ..run.folder import evaluation_dir
    split = args.split or find_test_split(args.data) or "test"
    out = args.out or str(evaluation_dir(args.model, split))  # in the run, or beside a SavedModel
    result = evaluate(args.model, args.data, split=args.split, out_dir=out,
                      batch_size=args.batch_size, fid=args.fid)
    result.pop("per_image")
    print(json.dumps(result, indent=2))
    print(f"written to {out}/metrics.json, best.png, worst.png")
    return 0


def _make_pairs(args) -> int:
    """Turn a folder of photos into a paired dataset for one task recipe."""
    from ..datasets.recipes import make_pairs
    options = {}
    for item in args.opt:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise Pix2PixError(f"--opt {item!r}: expected NAME=VALUE")
        options[name] = value
    info = make_pairs(args.task, args.src, args.out, size=args.size, val_fraction=args.val_fraction,
                      test_fraction=args.test_fraction, seed=args.seed, mode=args.mode,
                      overwrite=args.overwrite, **options)
    for item in info.get("skipped", []):
        print(f"skipped: {item['file']}: {item['reason']}", file=sys.stderr)
    print(json.dumps({k: v for k, v in info.items() if k != "skipped"}
                     | {"skipped": len(info.get("skipped", []))}))
    return 0


def _make_sample(args) -> int:
    """Write the synthetic facades sample dataset."""
    from ..datasets.synthetic import write_sample
    info = write_sample(args.out, n_train=args.train, n_test=args.test, size=args.size, seed=args.seed,
                        overwrite=args.overwrite)
    print(json.dumps(info))
    return 0


def _download(args) -> int:
    """Download and extract one standard pix2pix dataset."""
    from ..datasets.download import download
    from ..datasets.standard import PAPER_DIRECTIONS, find_splits
    folder = download(args.name, args.out, url=args.url, sha256=args.sha256)
    for split, path in find_splits(folder).items():
        print(f"{split}: {path}")
    print(f"train with: pix2pix-tf train --data {folder} --direction {PAPER_DIRECTIONS[args.name]}")
    return 0


def _combine(args) -> int:
    """Pair two folders of images with the same names into A|B files."""
    from ..datasets.combine import combine_folders
    info = combine_folders(args.a, args.b, args.out, size=args.size, image_format=args.format,
                           jpeg_quality=args.jpeg_quality, resize_method=args.resize_method,
                           overwrite=args.overwrite)
    print(json.dumps(info))
    return 0


def _demo(args) -> int:
    """Serve the web app over a model until Ctrl+C (pix2pix_tf.apps.demo)."""
    from .demo import serve
    serve(args.model, palette=args.palette, host=args.host, port=args.port, share=args.share)
    return 0


_COMMANDS = {
    "train": _train,
    "predict": _predict,
    "export": _export,
    "evaluate": _evaluate,
    "make-pairs": _make_pairs,
    "make-sample": _make_sample,
    "download": _download,
    "combine": _combine,
    "demo": _demo,
}


def _run(args) -> int:
    """Run the sub-command ``args.command``; returns the exit status."""
    return _COMMANDS[args.command](args)
