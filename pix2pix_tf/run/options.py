"""RunOptions: how a run executes, apart from what the model is.

:class:`~pix2pix_tf.config.Pix2PixConfig` describes the model, the data and the objective:
two runs with equal configs train the same thing. :class:`RunOptions` holds how one run goes
about it: how long it trains, how often it checkpoints and validates, whether it exports,
on which devices, with which compiler, numeric precision and convolution kernels. None of
these changes what the model is, so ``config.json`` stays a description of the experiment
and most options may change between a run and its ``--resume`` (more steps, another
checkpoint interval).

Two options are kept by a resumed run (:data:`KEPT_ON_RESUME`): ``precision`` and
``conv_impl``, the way the networks were built. A run saves them in its folder
(``run_options.json``, :mod:`pix2pix_tf.run.folder`); runs written before they moved here
have them in ``config.json``, which :func:`split_config_dict` takes apart
(:func:`pix2pix_tf.run.folder.load_config_json`).

Each choice field carries its choices in its metadata (:func:`option_choices`), which the
validation and the command line read: their one home. This module imports no TensorFlow,
so the command line can build its flags and refuse bad values before importing it.

Example:
    >>> options = RunOptions(steps=10, precision="mixed_bfloat16")
    >>> options.replace(export=False).export, options.precision
    (False, 'mixed_bfloat16')
    >>> RunOptions(steps=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pix2pix_tf.errors.ConfigError: run option steps must be a positive integer or None, got 0
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping

from ..config import INFERENCE_MODES, STRATEGIES, ConfigError, choice, short_repr

# float32 (the paper's maths); mixed bfloat16 / float16 compute with float32 weights;
# "auto": a choice per machine (pix2pix_tf.fast.precision.resolve_precision)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
# the 4x4 stride-2 convolutions of small maps as matmuls (pix2pix_tf.fast.matmul):
# "auto" on a CPU only, "native" never (TensorFlow's kernels), "matmul" always
CONV_IMPLS = ("auto", "native", "matmul")
VERBOSITIES = (0, 1, 2, "auto")  # Keras' fit(verbose=...)
# the options a resumed run keeps from its start: how the networks were built
KEPT_ON_RESUME = ("precision", "conv_impl")
# not a run option: the quantizations of a TFLite export (pix2pix_tf.run.export), kept here
# so that the command line reads them without importing TensorFlow
TFLITE_QUANTIZATIONS = ("none", "float16", "dynamic", "int8")


@dataclasses.dataclass
class RunOptions:
    """What one training run does, besides the model it trains (see the module docstring).

    :func:`pix2pix_tf.run.train.train` takes one, and each field as a keyword over it
    (``train(config, data, out, steps=100)``). The fields whose reasons are not in their
    one-line comments:

    Attributes:
        checkpoint_min_seconds: checkpoint at an epoch end only when the last checkpoint is
            at least this old (0: at every epoch end); the end of the run is always saved.
            A crash loses at most this long of training, and a run with short epochs does not
            spend its time writing checkpoints (each holds G, D and both Adam states: hundreds
            of MB at the paper's size).
        validation_budget: the share of the training time that epoch-end validation and
            snapshots may take (:class:`~pix2pix_tf.run.callbacks.EpochReport`): the first and
            last epochs always get them, the others as the budget allows (1: every epoch).
        eval_modes: inference modes the test split is scored in at the end (None: the
            config's ``inference_mode`` only; e.g. ``("deterministic", "paper")`` for both).
            When the last epoch's validation already scored the final weights in that mode,
            its figures are reused instead of evaluating again.
        jit_compile: compile the train step with XLA; "auto": on a GPU without tf.distribute,
            where it pays, and off on a CPU, where it is slower (benchmarks/README.md).
        strategy: a tf.distribute strategy name (:mod:`pix2pix_tf.fast.distribute`); the
            config's ``batch_size`` is then the global batch.
        precision, conv_impl: how the networks compute (:mod:`pix2pix_tf.fast.precision`,
            :mod:`pix2pix_tf.fast.matmul`): the same maths, faster on some machines. A resumed
            run keeps the values it started with (:data:`KEPT_ON_RESUME`).
        startup_seconds: time the caller spent before :func:`~pix2pix_tf.run.train.train`
            (the CLI: process start, imports), recorded in the summary's ``timings``.
    """

    # ---- length
    steps: int | None = None  # total generator updates (None: from epochs); excludes epochs
    epochs: int | None = None  # passes over the training set (None and no steps: the paper's 200)
    steps_per_epoch: int | None = None  # None: training images // batch size (capped at steps)
    # ---- checkpoints, logs, validation
    checkpoint_every: int | None = None  # also checkpoint every N steps
    keep_checkpoints: int = 3  # how many checkpoints to keep
    checkpoint_min_seconds: float = 300.0  # epoch-end checkpoint only when the last is this old
    log_every: int = 10  # TensorBoard scalar interval in steps
    snapshot_count: int = 4  # images in the per-epoch PNG grid
    validation_budget: float = 0.02  # share of the training time epoch-end validation may take
    eval_modes: tuple[str, ...] | None = None  # inference modes scored at the end (None: the config's)
    export: bool = True  # write saved_model/ at the end
    # ---- how it runs: devices, compiler, numerics (the same maths)
    jit_compile: bool | str = "auto"  # XLA for the train step; "auto": on a GPU without tf.distribute
    deterministic: bool = False  # TensorFlow op determinism: bitwise-repeatable runs on CPU
    strategy: str = choice("none", STRATEGIES)  # tf.distribute (config's batch_size is the global batch)
    precision: str = choice("float32", PRECISIONS)  # mixed 16-bit compute; "auto" picks per device
    conv_impl: str = choice("auto", CONV_IMPLS)  # small-map convolutions as matmuls ("auto": on CPU)
    # ---- data and reporting
    skip_bad_files: bool = False  # leave unreadable images out with a warning instead of stopping
    verbose: int | str = "auto"  # Keras progress bar setting
    startup_seconds: float | None = None  # what the caller spent before train() (the CLI: imports)

    def __post_init__(self) -> None:
        if isinstance(self.eval_modes, list):
            self.eval_modes = tuple(self.eval_modes)
        self.validate()

    def validate(self) -> "RunOptions":
        """Check every field; raise :class:`ConfigError` naming the first bad one."""

        def need(cond: bool, name: str, what: str) -> None:
            if not cond:
                raise ConfigError(f"run option {name} must be {what}, got "
                                  f"{short_repr(getattr(self, name))}", field=name)

        def is_int(value) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        def is_number(value) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        for name in ("steps", "epochs", "steps_per_epoch", "checkpoint_every"):
            value = getattr(self, name)
            need(value is None or (is_int(value) and value > 0), name, "a positive integer or None")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give steps or epochs, not both", field="epochs")
        for name in ("keep_checkpoints", "log_every", "snapshot_count"):
            value = getattr(self, name)
            need(is_int(value) and value > 0, name, "a positive integer")
        for name in ("checkpoint_min_seconds", "validation_budget"):  # inf: never / no limit
            value = getattr(self, name)
            need(is_number(value) and value >= 0, name, ">= 0")  # also refuses nan
        need(self.startup_seconds is None or (is_number(self.startup_seconds)
                                              and math.isfinite(self.startup_seconds)
                                              and self.startup_seconds >= 0),
             "startup_seconds", "a finite number >= 0 or None")
        for name in ("export", "deterministic", "skip_bad_files"):
            need(isinstance(getattr(self, name), bool), name, "true or false")
        need(isinstance(self.jit_compile, bool) or self.jit_compile == "auto", "jit_compile",
             "true, false or 'auto'")
        need(self.verbose in VERBOSITIES and (self.verbose == "auto" or is_int(self.verbose)),
             "verbose", "0, 1, 2 or 'auto'")
        modes = self.eval_modes
        need(modes is None or (isinstance(modes, tuple) and len(modes) > 0
                               and all(isinstance(m, str) and m in INFERENCE_MODES for m in modes)),
             "eval_modes", f"None or inference modes from {', '.join(INFERENCE_MODES)}")
        for name, choices in option_choices().items():
            value = getattr(self, name)
            need(isinstance(value, str) and value in choices, name, f"one of {', '.join(choices)}")
        return self

    def replace(self, **changes: Any) -> "RunOptions":
        """A copy with some fields changed (validated).

        Raises:
            TypeError: a name that is not a field (the message names it).
            ConfigError: a bad value (the message names the field).
        """
        unknown = sorted(set(changes) - set(option_names()))
        if unknown:
            raise TypeError(f"unknown run option(s): {', '.join(unknown)}; "
                            f"known: {', '.join(option_names())}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def kept_on_resume(self) -> dict[str, str]:
        """The options a resumed run keeps (:data:`KEPT_ON_RESUME`): what ``run_options.json`` holds.

        Example:
            >>> RunOptions(precision="auto").kept_on_resume()
            {'precision': 'auto', 'conv_impl': 'auto'}
        """
        return {name: getattr(self, name) for name in KEPT_ON_RESUME}


def option_names() -> tuple[str, ...]:
    """The field names of :class:`RunOptions`, in order."""
    return tuple(f.name for f in dataclasses.fields(RunOptions))


def option_choices() -> dict[str, tuple[str, ...]]:
    """Field name -> allowed values, for every choice field of :class:`RunOptions`.

    Example:
        >>> option_choices()["conv_impl"]
        ('auto', 'native', 'matmul')
    """
    return {f.name: f.metadata["choices"] for f in dataclasses.fields(RunOptions) if "choices" in f.metadata}


def run_options(options: RunOptions | None = None, caller: str = "train", **overrides: Any) -> RunOptions:
    """``options`` (None: the defaults) with ``overrides`` (field names) over it.

    Raises:
        TypeError: an override that is not a :class:`RunOptions` field, named as Python names
            an unexpected keyword argument of ``caller``.
        ConfigError: a bad value, naming the field.

    Example:
        >>> run_options(RunOptions(steps=5), export=False)  # doctest: +ELLIPSIS
        RunOptions(steps=5, ..., export=False, ...)
        >>> run_options(stpes=5)
        Traceback (most recent call last):
        ...
        TypeError: train() got an unexpected keyword argument 'stpes' (not a RunOptions field)
    """
    if options is not None and not isinstance(options, RunOptions):
        raise TypeError(f"{caller}() options must be a RunOptions, got {type(options).__name__}")
    for name in overrides:
        if name not in option_names():
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r} "
                            "(not a RunOptions field)")
    return dataclasses.replace(options or RunOptions(), **overrides)


# ------------------------------------------------------------------ runs saved before the split
def split_config_dict(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``config.json``'s fields apart from the run options an older one holds.

    Runs written before ``precision`` and ``conv_impl`` became run options saved them among
    the config's fields; they are taken out here so that the rest builds a
    :class:`~pix2pix_tf.config.Pix2PixConfig`.

    Returns:
        (the config fields, the run options found: a subset of :data:`KEPT_ON_RESUME`).

    Example:
        >>> split_config_dict({"ngf": 8, "precision": "float32"})
        ({'ngf': 8}, {'precision': 'float32'})
    """
    config = {k: v for k, v in data.items() if k not in KEPT_ON_RESUME}
    return config, {k: data[k] for k in KEPT_ON_RESUME if k in data}


def checked_kept_options(values: Mapping[str, Any], where: str | Path) -> dict[str, str]:
    """The options of :data:`KEPT_ON_RESUME` in ``values``, checked; the defaults for those absent.

    Raises:
        ConfigError: one line starting with ``where``: an unknown name or a bad value.
    """
    unknown = sorted(set(values) - set(KEPT_ON_RESUME))
    if unknown:
        raise ConfigError(f"{where}: unknown run option(s): {', '.join(map(str, unknown))}; "
                          f"a run keeps only {', '.join(KEPT_ON_RESUME)}")
    try:
        return RunOptions(**dict(values)).kept_on_resume()
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}", field=e.field) from None

