"""The ``pix2pix-tf`` command line's flags: the parser, its argument types, and the config
and run options ``train`` is given.

:func:`build_parser` declares every subcommand and flag (every config field is also a
``train`` flag, and so is every run option a user sets: :data:`_RUN_FLAGS`); the argument
types refuse bad values in one line (:class:`_Parser`) while parsing;
:func:`_config_from_args` turns ``train``'s ``--config``, ``--preset`` and flags into a
checked :class:`~pix2pix_tf.config.Pix2PixConfig`, :func:`_run_overrides` its run flags into
:class:`~pix2pix_tf.run.options.RunOptions` fields. Kept apart from the command
runners (:mod:`pix2pix_tf.apps.cli_commands`) and the entry point
(:mod:`pix2pix_tf.apps.cli`) because parsing is what can run, and refuse, without
TensorFlow: nothing here imports it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing

from ..config import Pix2PixConfig, default_load_size
from ..errors import one_line
from ..host.memory import check_memory
from .. import config as config_module
from ..successors.config import MAX_NUM_D, PRESETS, SuccessorConfig, make_config
from ..datasets.recipe_options import DEFAULT_OPTIONS, OPTION_HELP, TASKS
from ..run.folder import load_config_json
from ..run.options import TFLITE_QUANTIZATIONS, RunOptions, option_choices

_CHOICES = config_module.field_choices(SuccessorConfig)  # each choice field's values, from the configs
_RUN_FIELDS = {f.name: f for f in dataclasses.fields(RunOptions)}  # defaults and choices of the run flags
# the PyTorch reference implementation's flag names, accepted as well
_ALIASES = {"net_g": ["--netG"], "net_d": ["--netD"], "n_layers_d": ["--n_layers_D"],
            "lambda_l1": ["--lambda_L1"], "gan_mode": ["--gan_mode"],
            "dataset_mode": ["--dataset_mode"]}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``PROG: error: MESSAGE``, exit status 2.

    The usage text comes with ``--help`` only: forty lines of options would bury the line
    that says what is wrong. Sub-command parsers are of this class too.
    """

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def _integer_in(low: int, high: int | None = None, what: str = "int"):
    """An argparse type: an integer in low..high (high None: no upper bound)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid int") from None
        if value < low or (high is not None and value > high):
            bound = f"in {low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    parse.__name__ = what
    return parse


_seed = _integer_in(0, config_module.MAX_SEED, "seed")
_non_negative = _integer_in(0, None, "non-negative int")


def _sample_size(text):
    """An argparse type for make-sample --size: a multiple of 16, at least 16."""
    from ..datasets.synthetic import MIN_SIZE  # numpy only, no TensorFlow

    value = _integer_in(MIN_SIZE, None)(text)
    if value % MIN_SIZE:
        raise argparse.ArgumentTypeError(f"must be a multiple of {MIN_SIZE} (at least {MIN_SIZE}), got {text}")
    return value


def _number(kind, positive: bool = False, non_negative: bool = False):
    """An argparse type: a finite ``kind`` (int or float; no nan, no inf), > 0 if ``positive``,
    >= 0 if ``non_negative`` (a time, a share)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if positive and not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        if non_negative and value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value
    parse.__name__ = ("positive " if positive else "non-negative " if non_negative else "") + kind.__name__
    return parse


def _positive(kind):
    return _number(kind, positive=True)


_finite = _number(float)


def _mode_list(text: str) -> tuple[str, ...]:
    """``deterministic,paper`` -> a tuple of inference modes (argparse type)."""
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in modes if m not in _CHOICES["inference_mode"]]
    if bad or not modes:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give inference modes from {', '.join(_CHOICES['inference_mode'])}, "
            "separated by commas")
    return modes


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and data settings (default: the paper's)")
    hints = typing.get_type_hints(SuccessorConfig)
    for field in dataclasses.fields(SuccessorConfig):  # the paper's fields, then the successors' levers
        flags = ["--" + field.name.replace("_", "-"), *_ALIASES.get(field.name, [])]
        kind = hints[field.name]
        if kind is bool:
            group.add_argument(*flags, dest=field.name, action=argparse.BooleanOptionalAction, default=None)
            continue
        base = int if kind in (int, int | None) else _finite if kind is float else str
        if field.name in ("image_size", "load_size", "batch_size", "ngf", "ndf", "learning_rate",
                          "input_channels", "output_channels", "unet_depth"):
            base = _positive(int if base is int else float)
        elif field.name == "seed":
            base = _seed
        elif field.name in ("n_layers_d", "num_dropout_blocks"):
            base = _non_negative
        elif field.name == "num_d":
            base = _integer_in(1, MAX_NUM_D)
        group.add_argument(*flags, dest=field.name, type=base, default=None,
                           choices=_CHOICES.get(field.name), metavar=None if field.name in _CHOICES
                           else field.name.upper(), help=f"default: {field.default}")


def _config_from_args(args) -> Pix2PixConfig:
    """The config of ``train``: ``--config`` FILE (or the defaults), then the flags over it.

    Checked for training (:meth:`Pix2PixConfig.check_trainable`: the PatchGAN fits the
    image, the memory estimate fits the machine) before anything is built or written.

    Raises:
        ConfigError: naming the file or the field.
    """
    base = load_config_json(args.config)[0] if args.config else Pix2PixConfig()
    values = base.to_dict()
    if getattr(args, "preset", None):  # a named set of values over the file; the flags win
        values.update(PRESETS[args.preset])
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(SuccessorConfig)
               if getattr(args, f.name) is not None}
    if "image_size" in changes and "load_size" not in changes:
        changes["load_size"] = default_load_size(changes["image_size"])
    if changes.get("dataset_mode") == "colorization" and "input_channels" not in changes:
        changes["input_channels"] = 1  # the input is the grayscale of the target
    config = make_config(**{**values, **changes}).check_trainable()  # the successors' when a lever is on
    check_memory(config)  # the memory training needs, against what this machine has
    return config


def _same(value):
    return value


# run option -> (its train flags, argparse settings, flag value -> option value; None: unset).
# The default and the choices of each are its RunOptions field's (help: %(default)s). The
# options a resumed run keeps (precision, conv_impl) default to unset, so that --resume
# keeps the run's own. log_every, snapshot_count and startup_seconds have no flag.
_RUN_FLAGS = {
    "steps": (["--steps"], {"type": _positive(int), "help": "total generator updates"}, _same),
    "epochs": (["--epochs"], {"type": _positive(int), "help": "passes over train/ (default 200)"}, _same),
    "steps_per_epoch": (["--steps-per-epoch"], {"type": _positive(int), "help": "default: images / batch size"},
                        _same),
    "checkpoint_every": (["--checkpoint-every"], {"type": _positive(int),
                                                  "help": "also checkpoint every N steps"}, _same),
    "keep_checkpoints": (["--keep-checkpoints"], {"type": _positive(int),
                                                  "help": "how many checkpoints to keep (default %(default)s)"},
                         _same),
    "checkpoint_min_seconds": (["--checkpoint-min-seconds"], {
        "type": _number(float, non_negative=True), "metavar": "S",
        "help": "checkpoint at an epoch end only when the last checkpoint is at least S seconds old "
                "(default %(default)g; 0: every epoch end); the end is always saved"}, _same),
    "validation_budget": (["--validation-budget"], {
        "type": _number(float, non_negative=True), "metavar": "F",
        "help": "share of the training time that epoch-end validation and snapshots may take "
                "(default %(default)s; the first and last epochs always get them; 1: every epoch)"}, _same),
    "eval_modes": (["--eval-modes"], {"type": _mode_list, "metavar": "MODE[,MODE]",
                                      "help": "inference modes the test split is scored in at the end "
                                              "(default: --inference-mode only; e.g. deterministic,paper "
                                              "for both)"}, _same),
    "export": (["--no-export"], {"action": "store_true", "dest": "no_export",
                                 "help": "skip the SavedModel export"}, lambda no_export: not no_export),
    "jit_compile": (["--xla"], {"action": argparse.BooleanOptionalAction, "default": None, "dest": "xla",
                                "help": "compile the train step with XLA (default: on with a GPU, off on CPU)"},
                    lambda xla: "auto" if xla is None else xla),
    "deterministic": (["--deterministic"], {"action": "store_true", "help": "bitwise-repeatable run "
                                            "(TensorFlow op determinism; a little slower)"}, _same),
    "strategy": (["--strategy"], {"help": "tf.distribute strategy (default %(default)s; batch size is the "
                                          "global batch)"}, _same),
    "precision": (["--precision"], {"default": None, "help": "16-bit compute with float32 weights, or auto: "
                                    "per device (default: float32; --resume: the run's)"}, _same),
    "conv_impl": (["--conv-impl"], {"default": None, "help": "small-map convolutions as matmuls: auto (on "
                                    "CPU), native (never), matmul (always) (default: auto; --resume: the "
                                    "run's)"}, _same),
    "skip_bad_files": (["--skip-bad-files"], {"action": "store_true", "help": "leave unreadable images out "
                                              "with a warning instead of stopping"}, _same),
    "verbose": (["--quiet"], {"action": "store_true", "dest": "quiet", "help": "no progress bar"},
                lambda quiet: 0 if quiet else "auto"),
}


def _add_run_flags(parser: argparse.ArgumentParser, length: argparse._MutuallyExclusiveGroup) -> None:
    """``train``'s run flags (:data:`_RUN_FLAGS`), in :class:`RunOptions`' field order; ``--steps``
    and ``--epochs`` go into ``length``, the group that makes them exclusive."""
    choices = option_choices()
    for name, field in _RUN_FIELDS.items():
        if name not in _RUN_FLAGS:
            continue
        flags, settings, _ = _RUN_FLAGS[name]
        settings = dict(settings)
        if "action" not in settings or settings["action"] != "store_true":
            settings.setdefault("default", field.default)
        if name in choices:
            settings["choices"] = choices[name]
        container = length if name in ("steps", "epochs") else parser
        container.add_argument(*flags, **settings)


def _run_overrides(args) -> dict:
    """The run options ``train``'s flags set, as :class:`RunOptions` field values.

    ``precision`` and ``conv_impl`` are set only when given: by their flag, or (for a
    non-default value) by a ``--config`` file from before they became run options, which
    holds them among the config's fields; else a resumed run keeps its own.
    """
    overrides = {}
    for name, (_, settings, to_option) in _RUN_FLAGS.items():
        value = to_option(getattr(args, settings.get("dest", name)))
        if value is not None:
            overrides[name] = value
    if getattr(args, "config", None):
        defaults = RunOptions()
        for name, value in load_config_json(args.config)[1].items():
            if name not in overrides and value != getattr(defaults, name):
                overrides[name] = value
    return overrides


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = _Parser(prog="pix2pix-tf", description="Pix2Pix in Keras 3 / TensorFlow.")
    parser.add_argument("--version", action="version", version=f"pix2pix-tf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train on an aligned A|B dataset and export a SavedModel")
    p.add_argument("--data", required=True, help="folder with train/ and test/ (or val/) of A|B images")
    p.add_argument("--out", default="runs/pix2pix", help="run folder (default: runs/pix2pix)")
    length = p.add_mutually_exclusive_group()
    _add_run_flags(p, length)
    length.add_argument("--n-epochs", "--n_epochs", type=_positive(int), dest="n_epochs",
                        help="epochs at the initial learning rate, then --n-epochs-decay epochs of "
                             "linear decay to 0 (the reference code's schedule)")
    p.add_argument("--n-epochs-decay", "--n_epochs_decay", type=int, dest="n_epochs_decay",
                   help="with --n-epochs: epochs of linear decay (default: as many as --n-epochs)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="start again in an existing --out")
    p.add_argument("--config", help="a config.json to start from (flags override it)")
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="named config values over --config and the defaults (flags override "
                        "them): paper (the defaults), quality (EMA of G, spectral norm on D), lite32 / lite16 "
                        "(ngf 32 / 16 for small exports)")
    _add_config_flags(p)

    p = sub.add_parser("predict", help="translate images with an exported SavedModel")
    p.add_argument("--model", required=True, help="SavedModel folder or run folder")
    p.add_argument("--input", required=True, help="an image or a folder of images (any size)")
    p.add_argument("--out", required=True, help="output folder (same file names and formats as the inputs)")
    p.add_argument("--aligned", action="store_true", help="inputs are A|B files: use the input half")
    p.add_argument("--side-by-side", action="store_true", help="write input | output")
    p.add_argument("--size-mode", choices=("resize", "native"), default="resize",
                   help="resize: to the training size and back (default); native: at each image's "
                        "own size (reflect-padded to the generator's stride, cropped back)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the images an earlier predict wrote in --out (never other files)")

    p = sub.add_parser("export", help="export a run's generator as a SavedModel, a TFLite file "
                                      "or a web page")
    p.add_argument("--run", required=True, help="run folder (config.json + checkpoints/)")
    p.add_argument("--out", required=True, help="SavedModel folder, .tflite file, or web folder")
    p.add_argument("--format", choices=("savedmodel", "tflite", "web"), default="savedmodel",
                   help="savedmodel (default), tflite, or web: a static folder with a drawing page "
                        "(index.html, pix2pix_web.js, the model as TFLite, LiteRT.js) where the "
                        "generator runs in the browser (WebGPU, else WebAssembly); serve it with "
                        "any static server, e.g. python -m http.server -d OUT")
    p.add_argument("--runtime", choices=("auto", "copy", "cdn"), default="auto",
                   help="web: copy LiteRT.js from a local npm install into OUT/litert (works "
                        "offline), or cdn: load it from cdn.jsdelivr.net at the pinned version "
                        "(integrity-checked); auto (default): copy when a local install is found "
                        "(--litert-dir or ./node_modules), else cdn; one line says which")
    p.add_argument("--litert-dir", metavar="DIR",
                   help="web: the npm package @litertjs/core (or the folder whose node_modules "
                        "holds it); default ./node_modules/@litertjs/core")
    p.add_argument("--palette",
                   help="web: what the page draws with: edges (black on white) or facades (the "
                        "synthetic facades' label colours); default: from the run's snapshots "
                        "(its own label colours for label-map inputs, else edges), said in one line")
    p.add_argument("--inference-mode", choices=config_module.INFERENCE_MODES,
                   help="default: the run's (TFLite: deterministic)")
    p.add_argument("--quantize", choices=TFLITE_QUANTIZATIONS, default="none",
                   help="TFLite quantization (default none: float32): float16 or dynamic (int8) "
                        "weights, or int8 weights and activations calibrated on --calibration-data "
                        "(the file still takes and gives float32 in [-1, 1])")
    p.add_argument("--calibration-data", metavar="DIR",
                   help="--quantize int8: a dataset folder; the inputs of its train/ pairs, "
                        "preprocessed as at inference, calibrate the activation ranges")
    p.add_argument("--calibration-count", type=_positive(int), metavar="N",
                   help="--quantize int8: images taken from DIR/train, evenly spread (default 100)")

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
    p.add_argument("--seed", type=_seed, default=0, help="default 0")
    p.add_argument("--mode", choices=("center_crop", "resize"), default="center_crop",
                   help="how photos become square (default center_crop)")
    p.add_argument("--opt", action="append", default=[], metavar="NAME=VALUE",
                   help="a task option, repeatable (e.g. --opt factor=8)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the pairs an earlier make-pairs wrote in --out (never other files)")

    p = sub.add_parser("make-sample", help="write the synthetic facades dataset")
    p.add_argument("--out", default="data/facades_synthetic", help="output folder")
    p.add_argument("--train", type=_positive(int), default=40, help="training pairs (default 40)")
    p.add_argument("--test", type=_non_negative, default=10, help="test pairs (default 10)")
    p.add_argument("--size", type=_sample_size, default=256,
                   help="image size, a multiple of 16, at least 16 (default 256)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the images an earlier make-sample wrote in --out (never other files)")

    from ..datasets.standard import STANDARD_DATASETS
    p = sub.add_parser("download", help="download and extract a standard pix2pix dataset")
    p.add_argument("name", metavar="NAME", help=", ".join(STANDARD_DATASETS))
    p.add_argument("--out", metavar="DIR", help="folder to extract NAME/ into (default: ~/.keras/datasets)")
    p.add_argument("--url", metavar="URL", help="the archive's URL, instead of the authors' server "
                                 "(a mirror, file:///path/NAME.tar.gz, or a local path used in place)")
    p.add_argument("--sha256", metavar="HEX", help="the archive's expected SHA-256; checked before extracting")

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
    p.add_argument("--overwrite", action="store_true",
                   help="replace the pairs an earlier combine wrote in --out (never other files)")

    p = sub.add_parser("demo", help="a local web app: draw or upload an input, see the translation",
                       description='Needs the extra: pip install "pix2pix-tf[demo]" (Gradio). Serves '
                                   "until Ctrl+C. In Colab use --share, or pix2pix_tf.apps.demo.launch() "
                                   "in a cell (shown inline).")
    p.add_argument("--model", required=True, help="SavedModel folder or run folder")
    p.add_argument("--palette", default="facades", metavar="NAME",
                   help="the brushes: facades (the sample's label colours, default) or edges "
                        "(black on white); names from pix2pix_tf.web.draw.PALETTES")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: the network)")
    p.add_argument("--port", type=_integer_in(1, 65535, "port"),
                   help="default: the first free port from 7860")
    p.add_argument("--share", action=argparse.BooleanOptionalAction, default=None,
                   help="also make a public https://*.gradio.live link through Gradio's tunnel "
                        "(default off, or GRADIO_SHARE=True; needed to open it from a Colab "
                        "terminal or ! cell)")
    return parser
