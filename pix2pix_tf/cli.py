"""The ``pix2pix-tf`` command line: thin subcommands over the library.

    pix2pix-tf train --data DIR [--out RUN] [--steps N | --epochs N] [--image-size 256] ...
    pix2pix-tf predict --model SAVEDMODEL_OR_RUN --input FILE_OR_DIR --out DIR [--aligned]
    pix2pix-tf export --run RUN --out PATH [--format savedmodel|tflite] [--inference-mode ...]
    pix2pix-tf evaluate --model SAVEDMODEL_OR_RUN --data DIR [--split test] [--out DIR] [--fid]
    pix2pix-tf make-sample --out DIR [--train 40] [--test 10] [--size 256] [--seed 0]
    pix2pix-tf make-pairs --task TASK --src PHOTOS_DIR --out DATA_DIR [--size 256] [--opt K=V ...]
    pix2pix-tf download NAME [--out DIR] [--url URL]
    pix2pix-tf combine --a DIR_A --b DIR_B --out DIR [--resize-to-a | --size N] [--format png|jpg]

Every config field is also a ``train`` flag (``--lambda-l1 10``, ``--no-random-mirror``).
Errors in what the user typed or pointed at print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import typing

from .config import Pix2PixConfig, Pix2PixError, default_load_size
from . import config as config_module
from .recipe_options import DEFAULT_OPTIONS, OPTION_HELP, TASKS

_CHOICES = {
    "direction": config_module.DIRECTIONS, "norm": config_module.NORMS,
    "gan_mode": config_module.GAN_MODES, "gan_update": config_module.GAN_UPDATES,
    "inference_mode": config_module.INFERENCE_MODES, "resize_method": config_module.RESIZE_METHODS,
    "lr_policy": config_module.LR_POLICIES, "net_g": config_module.NET_GS,
    "net_d": config_module.NET_DS, "loss": config_module.LOSSES,
    "recon_loss": config_module.RECON_LOSSES, "preprocess": config_module.PREPROCESSES,
    "dataset_mode": config_module.DATASET_MODES, "precision": config_module.PRECISIONS,
    "conv_impl": config_module.CONV_IMPLS,
}
# the PyTorch reference implementation's flag names, accepted as well
_ALIASES = {"net_g": ["--netG"], "net_d": ["--netD"], "n_layers_d": ["--n_layers_D"],
            "lambda_l1": ["--lambda_L1"], "gan_mode": ["--gan_mode"],
            "dataset_mode": ["--dataset_mode"]}


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and data settings (default: the paper's)")
    hints = typing.get_type_hints(Pix2PixConfig)
    for field in dataclasses.fields(Pix2PixConfig):
        flags = ["--" + field.name.replace("_", "-"), *_ALIASES.get(field.name, [])]
        kind = hints[field.name]
        if kind is bool:
            group.add_argument(*flags, dest=field.name, action=argparse.BooleanOptionalAction, default=None)
            continue
        base = int if kind in (int, int | None) else float if kind is float else str
        if field.name in ("image_size", "load_size", "batch_size", "ngf", "ndf", "learning_rate",
                          "input_channels", "output_channels", "unet_depth"):
            base = _positive(base)
        group.add_argument(*flags, dest=field.name, type=base, default=None,
                           choices=_CHOICES.get(field.name), metavar=None if field.name in _CHOICES
                           else field.name.upper(), help=f"default: {field.default}")


def _config_from_args(args) -> Pix2PixConfig:
    base = Pix2PixConfig.load(args.config) if args.config else Pix2PixConfig()
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(Pix2PixConfig)
               if getattr(args, f.name) is not None}
    if "image_size" in changes and "load_size" not in changes:
        changes["load_size"] = default_load_size(changes["image_size"])
    if changes.get("dataset_mode") == "colorization" and "input_channels" not in changes:
        changes["input_channels"] = 1  # the input is the grayscale of the target
    return base.replace(**changes)


def epoch_schedule(config: Pix2PixConfig | None, n_epochs: int | None,
                   n_epochs_decay: int | None) -> tuple[Pix2PixConfig | None, int]:
    """The reference code's schedule: ``n_epochs`` at the initial LR, then ``n_epochs_decay``
    epochs of linear decay to 0 (default: as many). Returns (config, total epochs)."""
    if n_epochs is None:
        raise Pix2PixError("--n-epochs-decay needs --n-epochs")
    decay = n_epochs if n_epochs_decay is None else n_epochs_decay
    if decay < 0:
        raise Pix2PixError(f"--n-epochs-decay must be >= 0, got {decay}")
    epochs = n_epochs + decay
    if config is not None and decay:
        config = config.replace(lr_policy="linear", lr_decay_start=n_epochs / epochs)
    return config, epochs


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog="pix2pix-tf", description="Pix2Pix in Keras 3 / TensorFlow.")
    parser.add_argument("--version", action="version", version=f"pix2pix-tf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train on an aligned A|B dataset and export a SavedModel")
    p.add_argument("--data", required=True, help="folder with train/ and test/ (or val/) of A|B images")
    p.add_argument("--out", default="runs/pix2pix", help="run folder (default: runs/pix2pix)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive(int), help="total generator updates")
    length.add_argument("--epochs", type=_positive(int), help="passes over train/ (default 200)")
    length.add_argument("--n-epochs", "--n_epochs", type=_positive(int), dest="n_epochs",
                        help="epochs at the initial learning rate, then --n-epochs-decay epochs of "
                             "linear decay to 0 (the reference code's schedule)")
    p.add_argument("--n-epochs-decay", "--n_epochs_decay", type=int, dest="n_epochs_decay",
                   help="with --n-epochs: epochs of linear decay (default: as many as --n-epochs)")
    p.add_argument("--steps-per-epoch", type=_positive(int), help="default: images / batch size")
    p.add_argument("--checkpoint-every", type=_positive(int), help="also checkpoint every N steps")
    p.add_argument("--keep-checkpoints", type=_positive(int), default=3,
                   help="how many checkpoints to keep (default 3)")
    p.add_argument("--deterministic", action="store_true",
                   help="bitwise-repeatable run (TensorFlow op determinism; a little slower)")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="leave unreadable images out with a warning instead of stopping")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="start again in an existing --out")
    p.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                   help="compile the train step with XLA (default: on with a GPU, off on CPU)")
    p.add_argument("--strategy", choices=config_module.STRATEGIES, default="none",
                   help="tf.distribute strategy (default none; batch size is the global batch)")
    p.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    p.add_argument("--config", help="a config.json to start from (flags override it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_config_flags(p)

    p = sub.add_parser("predict", help="translate images with an exported SavedModel")
    p.add_argument("--model", required=True, help="SavedModel folder or run folder")
    p.add_argument("--input", required=True, help="an image or a folder of images (any size)")
    p.add_argument("--out", required=True, help="output folder (PNG, same file names)")
    p.add_argument("--aligned", action="store_true", help="inputs are A|B files: use the input half")
    p.add_argument("--side-by-side", action="store_true", help="write input | output")
    p.add_argument("--size-mode", choices=("resize", "native"), default="resize",
                   help="resize: to the training size and back (default); native: at each image's "
                        "own size (reflect-padded to the generator's stride, cropped back)")

    p = sub.add_parser("export", help="export a run's generator as a SavedModel or TFLite file")
    p.add_argument("--run", required=True, help="run folder (config.json + checkpoints/)")
    p.add_argument("--out", required=True, help="SavedModel folder, or .tflite file")
    p.add_argument("--format", choices=("savedmodel", "tflite"), default="savedmodel")
    p.add_argument("--inference-mode", choices=config_module.INFERENCE_MODES,
                   help="default: the run's (TFLite: deterministic)")
    p.add_argument("--quantize", choices=("none", "float16", "dynamic"), default="none",
                   help="TFLite weight quantization (default none)")

    p = sub.add_parser("evaluate", help="L1 / PSNR / SSIM (and FID) of a model over a split")
    p.add_argument("--model", required=True, help="SavedModel folder or run folder")
    p.add_argument("--data", required=True, help="dataset folder with aligned A|B images")
    p.add_argument("--split", help="split folder (default: test, else val)")
    p.add_argument("--out", help="where metrics.json, best.png, worst.png go "
                                 "(default: MODEL/evaluation_SPLIT)")
    p.add_argument("--batch-size", type=_positive(int), default=8)
    p.add_argument("--fid", action="store_true",
                   help="also compute FID (Inception-v3 ImageNet weights are downloaded once)")

    task_help = "; ".join(f"{t}: " + ", ".join(f"{k}={v} ({OPTION_HELP[t][k]})" for k, v in opts.items())
                          for t, opts in DEFAULT_OPTIONS.items())
    p = sub.add_parser("make-pairs", help="turn a folder of photos into a paired dataset",
                       description="Degrade every photo (A) and pair it with the original (B). "
                                   "Task options, set with --opt NAME=VALUE: " + task_help)
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--src", required=True, help="folder of photos (any size; unreadable files skipped)")
    p.add_argument("--out", required=True, help="dataset folder to write (train/ val/ test/)")
    p.add_argument("--size", type=_positive(int), default=256, help="square size (default 256)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="default 0.1")
    p.add_argument("--test-fraction", type=float, default=0.1, help="default 0.1")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--mode", choices=("center_crop", "resize"), default="center_crop",
                   help="how photos become square (default center_crop)")
    p.add_argument("--opt", action="append", default=[], metavar="NAME=VALUE",
                   help="a task option, repeatable (e.g. --opt factor=8)")
    p.add_argument("--overwrite", action="store_true", help="replace pairs already in --out")

    p = sub.add_parser("make-sample", help="write the synthetic facades dataset")
    p.add_argument("--out", default="data/facades_synthetic", help="output folder")
    p.add_argument("--train", type=_positive(int), default=40, help="training pairs (default 40)")
    p.add_argument("--test", type=int, default=10, help="test pairs (default 10)")
    p.add_argument("--size", type=_positive(int), default=256, help="image size (default 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    from .datasets.standard import STANDARD_DATASETS
    p = sub.add_parser("download", help="download and extract a standard pix2pix dataset")
    p.add_argument("name", metavar="NAME", help=", ".join(STANDARD_DATASETS))
    p.add_argument("--out", metavar="DIR", help="folder to extract NAME/ into (default: ~/.keras/datasets)")
    p.add_argument("--url", metavar="URL", help="the archive's URL, instead of the authors' server "
                                 "(a mirror, or file:///path/NAME.tar.gz)")

    p = sub.add_parser("combine", help="pair two folders of images with the same names into A|B files",
                       description="Match files on their name without extension; split folders "
                                   "(train/ val/ test/) in both are mirrored into --out.")
    p.add_argument("--a", required=True, metavar="DIR_A", help="folder of A images (or of train/ val/ test/)")
    p.add_argument("--b", required=True, metavar="DIR_B", help="folder of B images with the same names")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (empty, or use --overwrite)")
    sizing = p.add_mutually_exclusive_group()
    sizing.add_argument("--resize-to-a", action="store_true",
                        help="resize B to A's size where they differ (the default)")
    sizing.add_argument("--size", type=_positive(int), metavar="N", help="resize A and B to N x N instead")
    p.add_argument("--format", choices=("png", "jpg"), help="output format (default: each A file's)")
    p.add_argument("--jpeg-quality", type=int, default=95, metavar="Q", help="1..100 (default 95)")
    p.add_argument("--resize-method", choices=config_module.RESIZE_METHODS, default="bicubic",
                   help="default bicubic; nearest keeps label colours exact")
    p.add_argument("--overwrite", action="store_true", help="replace the images already in --out")
    return parser


def _run(args) -> int:
    if args.command == "train":
        from .train import train
        if args.resume and (args.config or any(getattr(args, f.name) is not None
                                               for f in dataclasses.fields(Pix2PixConfig))):
            raise Pix2PixError("--resume uses the run's config.json; do not pass config flags with it")
        config = None if args.resume else _config_from_args(args)
        if args.n_epochs is not None or args.n_epochs_decay is not None:
            config, args.epochs = epoch_schedule(config, args.n_epochs, args.n_epochs_decay)
        summary = train(config, args.data, args.out, steps=args.steps, epochs=args.epochs,
                        resume=args.resume, overwrite=args.overwrite,
                        steps_per_epoch=args.steps_per_epoch, checkpoint_every=args.checkpoint_every,
                        keep_checkpoints=args.keep_checkpoints, deterministic=args.deterministic,
                        skip_bad_files=args.skip_bad_files, export=not args.no_export, jit_compile="auto" if args.xla is None else args.xla,
                        strategy=args.strategy,
                        verbose=0 if args.quiet else "auto")
        print(json.dumps({k: summary[k] for k in ("steps", "wall_seconds", "seconds_per_step",
                                                  "test", "saved_model")}, indent=2))
        print(f"run written to {args.out}")
    elif args.command == "predict":
        from .predict import predict_files
        result = predict_files(args.model, args.input, args.out, aligned=args.aligned,
                               side_by_side=args.side_by_side, size_mode=args.size_mode)
        for path, reason in result["skipped"].items():
            print(f"skipped: {reason}", file=sys.stderr)
        print(f"wrote {len(result['written'])} image(s) to {args.out}; skipped {len(result['skipped'])}")
        if not result["written"]:
            return 1
    elif args.command == "export":
        from .export import export_saved_model, export_tflite
        from .train import load_run
        model = load_run(args.run)
        if args.format == "tflite":
            path = export_tflite(model.generator, model.config, args.out, args.inference_mode,
                                 quantize=args.quantize)
        else:
            path = export_saved_model(model.generator, model.config, args.out, args.inference_mode)
        print(f"exported {args.format} to {path}")
    elif args.command == "evaluate":
        from pathlib import Path
        from .data import find_test_split
        from .evaluate import evaluate
        split = args.split or find_test_split(args.data) or "test"
        model = Path(args.model)
        # next to a bare SavedModel, inside a run folder
        out = args.out or str(model.parent / f"{model.name}_evaluation_{split}"
                              if (model / "saved_model.pb").is_file()
                              else model / f"evaluation_{split}")
        result = evaluate(args.model, args.data, split=args.split, out_dir=out,
                          batch_size=args.batch_size, fid=args.fid)
        result.pop("per_image")
        print(json.dumps(result, indent=2))
        print(f"written to {out}/metrics.json, best.png, worst.png")
    elif args.command == "make-pairs":
        from .recipes import make_pairs
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
    elif args.command == "make-sample":
        from .datasets.synthetic import write_sample
        info = write_sample(args.out, n_train=args.train, n_test=args.test, size=args.size, seed=args.seed)
        print(json.dumps(info))
    elif args.command == "download":
        from .datasets.standard import PAPER_DIRECTIONS, download, find_splits
        folder = download(args.name, args.out, url=args.url)
        for split, path in find_splits(folder).items():
            print(f"{split}: {path}")
        print(f"train with: pix2pix-tf train --data {folder} --direction {PAPER_DIRECTIONS[args.name]}")
    elif args.command == "combine":
        from .datasets.combine import combine_folders
        info = combine_folders(args.a, args.b, args.out, size=args.size, image_format=args.format,
                               jpeg_quality=args.jpeg_quality, resize_method=args.resize_method,
                               overwrite=args.overwrite)
        print(json.dumps(info))
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info logs
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except Pix2PixError as e:
        print(f"pix2pix-tf {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
