"""The ``pix2pix-tf`` command line: thin subcommands over the library.

    pix2pix-tf train --data DIR [--out RUN] [--steps N | --epochs N] [--image-size 256] ...
    pix2pix-tf predict --model SAVEDMODEL_OR_RUN --input FILE_OR_DIR --out DIR [--aligned]
    pix2pix-tf export --run RUN --out PATH [--format savedmodel|tflite|web] [--inference-mode ...]
                      [--quantize none|float16|dynamic|int8 [--calibration-data DIR]]
    pix2pix-tf evaluate --model SAVEDMODEL_OR_RUN --data DIR [--split test] [--out DIR] [--fid]
    pix2pix-tf make-sample --out DIR [--train 40] [--test 10] [--size 256] [--seed 0]
    pix2pix-tf make-pairs --task TASK --src PHOTOS_DIR --out DATA_DIR [--size 256] [--opt K=V ...]
    pix2pix-tf download NAME [--out DIR] [--url URL]
    pix2pix-tf combine --a DIR_A --b DIR_B --out DIR [--resize-to-a | --size N] [--format png|jpg]
    pix2pix-tf demo --model SAVEDMODEL_OR_RUN [--palette facades|edges] [--port N] [--share]

Every config field is also a ``train`` flag (``--lambda-l1 10``, ``--no-random-mirror``).
Errors in what the user typed or pointed at print one line and exit with status 2: flag
errors too (``pix2pix-tf train: error: argument --seed: ...``, the usage only with
``--help``), and TensorFlow's start-up log lines are held back. What can be checked
without TensorFlow (the config, ``--out``) is checked before importing it, so a refusal
comes in a fraction of a second and before anything is written.

The parts: :mod:`pix2pix_tf.apps.cli_parser` (the flags, their types, the config of
``train``), :mod:`pix2pix_tf.apps.cli_commands` (what each subcommand runs), and this
module, the entry point: the checks made before TensorFlow is imported, TensorFlow
imported quietly, the exit status (:func:`main`, :func:`console_main`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings

from ..config import Pix2PixError
from ..errors import one_line
from .cli_commands import _run
from .cli_parser import _config_from_args, build_parser


def _precheck(args) -> None:
    """Refusals that need no TensorFlow, made before importing it (fast, and nothing written).

    ``train``: the whole config (``--config`` file, flags, PatchGAN depth, memory).
    ``make-sample``, ``make-pairs``, ``combine``: ``--size`` fits in memory (the estimate of
    :func:`pix2pix_tf.host.memory.square_images_memory_bytes` against half of what the machine
    has available, as ``train``'s estimate is checked).
    ``predict``, ``make-sample``, ``make-pairs``, ``combine``: ``--out`` is usable and
    empty or ours (the commands check again, with the inputs, before writing).
    """
    from pathlib import Path

    _check_size_memory(args)
    if args.command == "train":
        args.checked_config = _config_from_args(args)  # _run trains with it: checked once
        return
    if args.command == "demo":  # model path, palette, gradio installed
        from .demo_checks import check_demo_args
        check_demo_args(args.model, args.palette, host=args.host)
        return
    if args.command not in ("predict", "make-sample", "make-pairs", "combine"):
        return
    from ..host.output_folder import OutputFolder
    from ..host.writes import check_out_dir

    out = Path(args.out)
    check_out_dir(out)
    inputs = {"predict": ["input"], "make-pairs": ["src"], "combine": ["a", "b"]}.get(args.command, [])
    inputs = [getattr(args, name) for name in inputs]
    for source in map(Path, inputs):
        folders = [source, source.parent, *(source / split for split in ("train", "val", "test"))]
        if out.exists() and any(f.exists() and f.resolve() == out.resolve() for f in folders):
            return  # the command explains this case itself
    kind = {"predict": "predictions", "make-sample": "sample-dataset", "make-pairs": "pairs-dataset",
            "combine": "combined-dataset"}[args.command]
    if args.command == "make-pairs" and not args.overwrite:
        from ..host.manifests import folder_kind
        if folder_kind(out) == kind:
            return  # make_pairs counts the pairs there in its message
    OutputFolder(out, kind, overwrite=args.overwrite).check()


def _check_size_memory(args) -> None:
    """Refuse a ``--size`` whose images would not fit in this machine's memory (one line).

    ``make-pairs`` and ``combine --size`` make that many images at once as they have
    workers (and cores); ``make-sample`` draws one at a time.
    """
    size = getattr(args, "size", None)
    if args.command not in ("make-sample", "make-pairs", "combine") or size is None:
        return
    from ..host.memory import check_data_memory, square_images_memory_bytes

    what = {"make-sample": f"drawing {size}x{size} images", "make-pairs": f"making pairs of "
            f"{size}x{size} images", "combine": f"combining images resized to {size}x{size}"}
    check_data_memory(square_images_memory_bytes(size, 1 if args.command == "make-sample" else 8),
                      f"--size {size}: {what[args.command]}")


@contextlib.contextmanager
def _fd2_held_back():
    """Send what C/C++ code writes to file descriptor 2 to a temporary file for a while.

    TensorFlow's C++ start-up lines ("oneDNN custom operations are on", "Could not find
    cuda drivers", "failed call to cuInit") are written before its logging honours
    TF_CPP_MIN_LOG_LEVEL. They are dropped, unless the block raises: then they are shown.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2: nothing to hold back
        yield
        return
    held = tempfile.TemporaryFile()
    try:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", "replace"))
            raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        held.close()


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and find its devices without its start-up noise on stderr.

    Python warnings raised while importing are ignored; absl and TensorFlow's Python
    loggers are set to errors only, so a refusal prints exactly one line.
    """
    with _fd2_held_back(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tensorflow as tf
        import keras  # noqa: F401  (its import-time warnings are held back too)
        tf.config.list_physical_devices()  # platform start-up logs (cuInit) happen here
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass
    tf.get_logger().setLevel("ERROR")


def main(argv: list[str] | None = None) -> int:
    """Run the ``pix2pix-tf`` command line; returns the exit status (2: refused, one line)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info logs
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _precheck(args)
        if args.command != "download":
            _import_tensorflow_quietly()
        return _run(args)
    except Pix2PixError as e:
        print(f"pix2pix-tf {args.command}: error: {one_line(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept" if args.command == "train"
              else "interrupted; nothing half-written was left", file=sys.stderr)
        return 130


def console_main() -> None:
    """The ``pix2pix-tf`` console script: :func:`main`, then exit.

    After a finished ``train`` the process ends at once (``os._exit``) instead of tearing
    down TensorFlow's objects one by one, which takes 2 to 7 seconds and writes nothing:
    by then every file of the run is written, renamed into place and closed (checkpoints,
    SavedModel, summary, history; ``run/callbacks.py`` flushes the TensorBoard writers at the
    end of ``fit``). Other commands and errors exit normally.
    """
    argv = sys.argv[1:]
    code = main(argv)
    if code == 0 and argv[:1] == ["train"]:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(0)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
