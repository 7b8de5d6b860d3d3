"""The run folder: its layout, and whose folder it is.

A run directory holds everything a run produces::

    RUN/config.json        the Pix2PixConfig (read back on --resume)          CONFIG
    RUN/run_options.json   precision and conv_impl (kept on --resume)          RUN_OPTIONS
    RUN/image_shape.json   [height, width] the networks were built for        IMAGE_SHAPE
    RUN/checkpoints/       tf.train checkpoints: G, D, both Adam states, step  CHECKPOINTS
    RUN/logs/              TensorBoard: train/ and validation/ scalars, images/ LOGS
    RUN/images/            epoch_0001.png ...: input | output | target        IMAGES
    RUN/history.csv        per-epoch losses and validation metrics             HISTORY
    RUN/summary.json       steps, wall seconds, images/s, losses, test metrics SUMMARY
    RUN/saved_model/       the generator as a SavedModel (see export.py)       SAVED_MODEL
    RUN/evaluation_SPLIT/  metrics.json, best.png, worst.png (evaluate.py)     EVALUATION
    RUN/ablation.json      what an ablation variant trained with (ablations.py) ABLATION_RECORD
    RUN/.pix2pix-tf.json   the manifest: this is a pix2pix-tf run, and which entries it wrote
    RUN/.pix2pix-tf.lock   held (flock) by the one process writing the run

Nothing is lost: ``overwrite`` removes only entries the manifest records that still are what
a run writes (a folder holding only a run's files, a file of the run's own kind: JSON config,
CSV history ...), and refuses otherwise; a folder without a manifest is never cleared.
Nothing is written through a link: a command that writes into a run first refuses any
symbolic link or special file among the entries it writes (:func:`check_run_entries`), the
lock and ``history.csv`` are opened in place with ``O_NOFOLLOW``; so logs on another disk
means the whole run folder there (``--out`` itself may be a link). One writer at a time:
:func:`lock_run`.

Starting or resuming a run in its folder (the checks of ``--resume`` / ``--overwrite``, the
config of a resumed run, its checkpoints) is :mod:`pix2pix_tf.run.resume`; loading a run or
a SavedModel is :mod:`pix2pix_tf.run.loading`. This module is what all of them, and every
command that writes into a run, read first: the entry names and the ownership rules.

Example:
    >>> is_run("no/such/run"), evaluation_dir("runs/facades", "val").as_posix()
    (False, 'runs/facades/evaluation_val')
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from ..host.folder_lock import FolderLock
from ..host import manifests
from ..host import writes as safety
from ..config import ConfigError, Pix2PixConfig, Pix2PixError
from ..successors.config import config_from_dict
from .options import KEPT_ON_RESUME, RunOptions, checked_kept_options, split_config_dict

CONFIG = "config.json"
RUN_OPTIONS = "run_options.json"  # the run options a resumed run keeps (options.KEPT_ON_RESUME)
IMAGE_SHAPE = "image_shape.json"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
IMAGES = "images"
HISTORY = "history.csv"
SUMMARY = "summary.json"
SAVED_MODEL = "saved_model"
SAVED_MODEL_PB = "saved_model.pb"  # the file that makes a folder a SavedModel
EVALUATION = "evaluation_"  # evaluation folders: RUN/evaluation_SPLIT, SAVEDMODEL_evaluation_SPLIT
ABLATION_RECORD = "ablation.json"
TFLITE_SUFFIX = ".tflite"  # RUN/NAME.tflite: a TFLite export written into the run (export.py)
LOG_FOLDERS = ("train", "validation", "images")  # LOGS/NAME: one TensorBoard writer each
RUN_FILES = (CONFIG, RUN_OPTIONS, IMAGE_SHAPE, CHECKPOINTS, LOGS, IMAGES, HISTORY, SUMMARY, SAVED_MODEL)
RUN_KIND = "run"  # the manifest kind of a run folder (see pix2pix_tf.host.writes)

# what a run writes inside its folders (paths relative to the entry); anything else is foreign
_OWN_FILES = {
    CHECKPOINTS: re.compile(r"(checkpoint(\.tmp\w*)?|ckpt-\d+\.(index|data-\d+-of-\d+)"
                            r"|ckpt-\d+_temp[^/]*(/.*)?)"),
    IMAGES: re.compile(r"epoch_\d+\.png"),
    LOGS: re.compile(r"(train|validation|images)/events\.out\.tfevents\.[^/]+"),
    SAVED_MODEL: re.compile(r"(saved_model\.pb|fingerprint\.pb|variables/variables\.[^/]+"
                            r"|assets/.*|assets\.extra/[^/]+|\.pix2pix-tf\.json)"),
    EVALUATION: re.compile(r"(metrics\.json|best\.png|worst\.png|\.pix2pix-tf\.json)"),
}
# what a run's top-level files hold, to recognise them before --overwrite removes one
_FILE_KINDS = {CONFIG: dict, RUN_OPTIONS: dict, IMAGE_SHAPE: list, SUMMARY: dict, ABLATION_RECORD: dict,
               HISTORY: "csv"}


class RunDirError(Pix2PixError):
    """The run directory cannot be used as asked (exists, or nothing to resume)."""


def is_run(folder: str | Path) -> bool:
    """``folder`` has what loading a run needs: ``config.json`` and ``checkpoints/``."""
    folder = Path(folder)
    return (folder / CONFIG).is_file() and (folder / CHECKPOINTS).is_dir()


def evaluation_dir(model_path: str | Path, split: str) -> Path:
    """Where ``evaluate`` writes by default: ``RUN/evaluation_SPLIT``, or next to a bare
    SavedModel ``SM``: ``SM_evaluation_SPLIT``.

    Example:
        >>> evaluation_dir("runs/facades", "test").as_posix()
        'runs/facades/evaluation_test'
    """
    model_path = Path(model_path)
    if is_saved_model(model_path):
        return model_path.parent / f"{model_path.name}_{EVALUATION}{split}"
    return model_path / f"{EVALUATION}{split}"


def is_saved_model(folder: str | Path) -> bool:
    """``folder`` holds a ``saved_model.pb`` (whether it loads is
    :func:`~pix2pix_tf.run.loading.load_saved_model`'s job)."""
    return (Path(folder) / SAVED_MODEL_PB).is_file()


# ------------------------------------------------------------------ reading a run's files
def load_config_json(path: str | Path) -> tuple[Pix2PixConfig, dict[str, str]]:
    """A ``config.json`` (a run's, or one given to start from), and the run options an
    older one holds among its fields (``precision``, ``conv_impl``: see
    :func:`~pix2pix_tf.run.options.split_config_dict`).

    Returns:
        (the config, the run options the file held, checked: empty for a file written since
        they are run options).

    Raises:
        ConfigError: one line naming the file (missing, not UTF-8, not JSON, bad fields).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        data = None
    try:
        if not isinstance(data, dict):  # Pix2PixConfig.load says what is wrong, in its words
            return Pix2PixConfig.load(path), {}
        fields, kept = split_config_dict(data)
        try:
            config = config_from_dict(fields)  # the paper's config, or the successors' when a lever is on
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}", field=e.field) from None
    except Pix2PixError:
        raise
    except (TypeError, ValueError, OSError) as e:  # anything the loader did not phrase itself
        raise ConfigError(f"{path}: not a usable config ({type(e).__name__}: {e})") from None
    return config, {k: v for k, v in checked_kept_options(kept, path).items() if k in kept}


def load_run_config(run_dir: str | Path) -> Pix2PixConfig:
    """The run's ``config.json``, checked (an older one's run options left out: see
    :func:`load_run_options`).

    Raises:
        ConfigError: one line naming the file (missing, not UTF-8, not JSON, bad fields).
    """
    return load_config_json(Path(run_dir) / CONFIG)[0]


def load_run_options(run_dir: str | Path) -> tuple[dict[str, str], Path]:
    """The run options the run keeps on ``--resume`` (:data:`~pix2pix_tf.run.options.KEPT_ON_RESUME`),
    and the file they were read from.

    From ``run_options.json``; a run written before it existed has them in ``config.json``;
    what neither file holds has its default (:class:`~pix2pix_tf.run.options.RunOptions`).

    Raises:
        ConfigError: one line naming the file: not UTF-8 JSON holding an object of known
            run options with valid values, or a damaged ``config.json``.
    """
    run_dir = Path(run_dir)
    path = run_dir / RUN_OPTIONS
    if not (path.exists() or path.is_symlink()):
        _, kept = load_config_json(run_dir / CONFIG)
        return checked_kept_options(kept, run_dir / CONFIG), run_dir / CONFIG if kept else path
    try:
        values = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = getattr(e, "strerror", None) or type(e).__name__
        raise ConfigError(f"{path}: not a readable JSON file ({reason}); it should hold "
                          f"the run options {', '.join(KEPT_ON_RESUME)}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: not a JSON object of run options (found a {type(values).__name__})")
    return checked_kept_options(values, path), path


def load_image_shape(run_dir: str | Path) -> tuple[int, int] | None:
    """The ``[height, width]`` in ``image_shape.json``, or None when the file is absent.

    Raises:
        RunDirError: the file is not UTF-8 JSON holding two positive integers.
    """
    path = Path(run_dir) / IMAGE_SHAPE
    if not path.exists():
        return None
    try:
        shape = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = getattr(e, "strerror", None) or type(e).__name__
        raise RunDirError(f"{path}: not a readable JSON file ({reason}); it should hold "
                          "[height, width]") from None
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise RunDirError(f"{path}: should hold [height, width] as two positive integers, "
                          f"found {json.dumps(shape)[:60]}")
    return shape[0], shape[1]


def save_run_start(run_dir: Path, config: Pix2PixConfig, shape: tuple[int, int],
                   options: RunOptions | None = None) -> None:
    """Write what a new run starts from: ``config.json``, ``run_options.json`` (``options``;
    None: the defaults) and ``image_shape.json`` (atomically)."""
    safety.atomic_write_text(run_dir / CONFIG, config.to_json() + "\n")  # as config.save writes it
    save_run_options(run_dir, options or RunOptions())
    safety.atomic_write_text(run_dir / IMAGE_SHAPE, json.dumps(list(shape)) + "\n")


def save_run_options(run_dir: str | Path, options: RunOptions) -> None:
    """Write ``run_options.json``: the options of ``options`` a resumed run keeps (atomically).

    Example:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> save_run_options(run, RunOptions(precision="mixed_bfloat16"))
        >>> load_run_options(run)[0]
        {'precision': 'mixed_bfloat16', 'conv_impl': 'auto'}
    """
    safety.atomic_write_text(Path(run_dir) / RUN_OPTIONS,
                             json.dumps(options.kept_on_resume(), indent=2, sort_keys=True) + "\n")


def save_summary(run_dir: Path, summary: dict) -> None:
    """Write ``summary.json`` (atomically; recorded in the run's manifest first)."""
    manifests.record_written(run_dir, [SUMMARY])
    safety.atomic_write_text(run_dir / SUMMARY, json.dumps(summary, indent=2) + "\n")


# ------------------------------------------------------------------ whose folder is it
def is_legacy_run(folder: str | Path) -> bool:
    """A run written before run folders had a manifest: config.json + checkpoints/, no manifest."""
    return is_run(folder) and manifests.read_manifest(folder) is None


def find_enclosing_run(path: str | Path) -> Path | None:
    """The run folder that is ``path`` or holds it (manifest of kind run, or a legacy run)."""
    path = Path(path).resolve()
    for folder in (path, *path.parents):
        if folder.is_dir() and (manifests.folder_kind(folder) == RUN_KIND or is_legacy_run(folder)):
            return folder
    return None


def foreign_file_in(run_dir: Path, name: str) -> Path | None:
    """The first file inside the recorded folder ``run_dir/name`` that a run does not write."""
    entry = run_dir / name
    if entry.is_symlink() or not entry.is_dir():
        return None
    pattern = _OWN_FILES.get(EVALUATION if EVALUATION in name else name)
    for p in sorted(entry.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(entry).as_posix()
        if p.name.startswith(safety.TMP_PREFIX) or rel.startswith(safety.TMP_PREFIX):
            continue  # a temporary an interrupted write of ours left
        if pattern is None or p.is_symlink() or not pattern.fullmatch(rel):
            return p
    return None


def is_run_path(rel: str) -> bool:
    """``rel`` (posix, relative to a run folder) is a path a run, export or evaluation writes.

    The layout's one home: the tests enumerate what commands wrote and check it against this.

    Example:
        >>> is_run_path("checkpoints/ckpt-4.index"), is_run_path("notes.txt")
        (True, False)
    """
    top, _, inner = rel.partition("/")
    if top in (safety.MANIFEST, safety.LOCK, *_FILE_KINDS):
        return not inner
    if top.startswith(safety.TMP_PREFIX):
        return True
    if top.endswith(TFLITE_SUFFIX):
        return not inner
    key = EVALUATION if EVALUATION in top else SAVED_MODEL if top.startswith(SAVED_MODEL) else top
    if key not in _OWN_FILES:
        return False
    return not inner or bool(_OWN_FILES[key].fullmatch(inner)) or _is_own_folder(key, inner)


def _is_own_folder(key: str, inner: str) -> bool:
    """``inner`` is a folder on the way to files of ``key`` (logs/train, saved_model/variables)."""
    folders = {LOGS: set(LOG_FOLDERS), SAVED_MODEL: {"variables", "assets", "assets.extra"}}
    return inner in folders.get(key, set()) or (key == CHECKPOINTS and bool(
        re.fullmatch(r"ckpt-\d+_temp[^/]*", inner)))


def check_run_entries(run_dir: str | Path, names: list[str] | None = None) -> None:
    """Refuse a symbolic link or special file among the run entries a command will write.

    ``names``: top-level entries (None: every entry of the run's layout present, with the
    manifest and the lock).

    Raises:
        WriteError: one line naming the link.
    """
    run_dir = Path(run_dir)
    if names is None:
        names = [n for n in os.listdir(run_dir) if is_run_path(n)]
    safety.check_no_links(run_dir, [*names, safety.MANIFEST, safety.LOCK])


def check_links_to_run_entry(out: str | Path) -> None:
    """If ``out`` lies in a run folder (as written, links not followed), refuse links on the way.

    ``evaluate`` and ``export`` write ``RUN/evaluation_SPLIT`` and ``RUN/saved_model``: a link
    planted there (or a linked folder above the entry) would take the write outside the run.

    Raises:
        WriteError: one line naming the link.
    """
    out = Path(os.path.abspath(out))
    for folder in out.parents:
        if folder.is_dir() and (manifests.folder_kind(folder) == RUN_KIND or is_run(folder)):
            check_run_entries(folder, [out.relative_to(folder).parts[0]])
            return


def _unrecognised_entry(run_dir: Path, name: str) -> str | None:
    """Why the recorded entry ``name`` is not (any more) what a run wrote, or None if it is."""
    entry = run_dir / name
    if not (entry.exists() or entry.is_symlink()):
        return None
    if not is_run_path(name) or name in (safety.MANIFEST, safety.LOCK):
        return f"{entry} is recorded in {safety.MANIFEST} but is not an entry a run writes"
    if entry.is_symlink():
        return f"{entry} is a symbolic link, not what pix2pix-tf wrote"
    kind = _FILE_KINDS.get(name)
    if name.endswith(TFLITE_SUFFIX):
        with contextlib.suppress(OSError):
            if entry.is_file() and entry.read_bytes()[4:8] == b"TFL3":  # the flatbuffer's identifier
                return None
        return f"{entry} is not a TFLite file"
    if kind is None:
        if not entry.is_dir():
            return f"{entry} is not the folder pix2pix-tf wrote"
        foreign = foreign_file_in(run_dir, name)
        return None if foreign is None else f"{foreign} was not written by pix2pix-tf"
    if not entry.is_file():
        return f"{entry} is not the file pix2pix-tf wrote"
    try:
        text = entry.read_bytes()[:1 << 20].decode("utf-8")
        ok = (text.startswith("epoch,") or text == "") if kind == "csv" \
            else isinstance(json.loads(text), kind)
    except (OSError, ValueError, RecursionError):
        ok = False
    return None if ok else f"{entry} does not hold what pix2pix-tf writes there"


def lock_run(run_dir: Path, held: contextlib.ExitStack) -> None:
    """Hold the run folder's lock until ``held`` closes: one writer at a time.

    Raises:
        FolderBusy: another live process holds it (its pid is named).
    """
    held.enter_context(FolderLock(run_dir))

