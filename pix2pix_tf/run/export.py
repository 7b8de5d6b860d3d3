"""Export the generator as a self-describing SavedModel that needs only TensorFlow to serve.

Signatures (S x S: the generator's training shape, H x W for a non-square model):
    serving_default         images float32 (batch, S, S, C_in) in [-1, 1] -> "output" float32 in [-1, 1]
    translate_uint8         images uint8 (batch, H, W, C_in), any H and W -> "output" uint8 (batch, H, W, C_out):
                            resized to S x S, translated, resized back
    translate_uint8_native  the same at the image's own resolution: reflect-padded to a multiple of
                            the generator's stride, translated fully convolutionally, cropped back
    translate_bytes         images string (batch,) of encoded JPEG/PNG/BMP/GIF -> "output" string (batch,) PNG
    config                  () -> "config" string: the run's Pix2PixConfig as JSON

The config is also written to ``assets.extra/pix2pix_config.json`` beside the model.
:func:`export_tflite` writes the raw generator (batch 1) as a TensorFlow Lite flatbuffer.

Nothing is lost: a SavedModel folder carries a manifest of kind ``saved_model`` and a
.tflite file carries the config as TFLite metadata ``pix2pix_tf_config``; an existing
``--out`` is replaced only when it is one of these (or an entry its run folder records),
always through a temporary name and a rename. :func:`export_run` (the ``export`` command)
also refuses a run folder itself and anything inside one but ``saved_model*`` / ``*.tflite``.

Example:
    >>> export_saved_model(generator, config, "runs/demo/saved_model")  # doctest: +SKIP
    >>> m = tf.saved_model.load("runs/demo/saved_model")  # doctest: +SKIP
    >>> m.signatures["translate_uint8"](images=tf.zeros((1, 300, 200, 3), tf.uint8))["output"].shape  # doctest: +SKIP
    TensorShape([1, 300, 200, 3])
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

from ..host import manifests
from ..host import writes as safety
from ..config import Pix2PixConfig, Pix2PixError
from ..data import to_uint8
from ..layers import dropout_seed_states, set_inference_mode
from .folder import SAVED_MODEL, check_links_to_run_entry, find_enclosing_run, lock_run
from .loading import load_run
from .tflite import CALIBRATION_COUNT, calibration_images, convert_generator, tflite_interpreter  # noqa: F401
from .options import TFLITE_QUANTIZATIONS  # its one home (the CLI reads it without TensorFlow)

CONFIG_ASSET = "pix2pix_config.json"
SAVED_MODEL_KIND = "saved_model"  # manifest kind of an exported SavedModel folder
TFLITE_MARKER = "pix2pix_tf_config"  # TFLite metadata entry: the config, and "exported by us"


class ExportError(Pix2PixError):
    """The export target cannot be written without harming something that is not ours."""


def fully_convolutional(generator: keras.Model) -> keras.Model:
    """The same generator, sharing its layers and weights, on an input of any height and width.

    A functional model built on ``keras.Input((S, S, C))`` refuses other sizes; its layers
    (convolutions, norms, concatenations) do not. This replays them on
    ``keras.Input((None, None, C))``. At S x S the copy gives the same output as the original.

    Example:
        >>> from pix2pix_tf.generator import build_generator
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=8)
        >>> g = fully_convolutional(build_generator(cfg))
        >>> g(tf.zeros((1, 128, 192, 3)), training=False).shape
        TensorShape([1, 128, 192, 3])
    """
    if tuple(generator.input_shape[1:3]) == (None, None):
        return generator
    inputs = keras.Input((None, None, generator.input_shape[-1]), name="input_image")
    return keras.models.clone_model(generator, input_tensors=inputs, clone_function=lambda layer: layer)


def reflect_pad_to_multiple(images: tf.Tensor, multiple: int,
                            min_size: int = 1) -> tuple[tf.Tensor, tuple[tf.Tensor, tf.Tensor]]:
    """Mirror-pad (batch, H, W, C) evenly on both sides up to multiples of ``multiple``.

    Works for pads wider than the image too (it reflects again), and for 1-pixel sides.
    ``min_size``: pad each side to at least this many pixels.

    Returns:
        (padded (batch, H', W', C), (top, left) offsets of the original inside it).
    """
    shape, offsets = tf.shape(images), []
    for axis in (1, 2):
        n = shape[axis]
        total = (tf.maximum(n, min_size) + multiple - 1) // multiple * multiple
        before = (total - n) // 2
        period = tf.maximum(2 * (n - 1), 1)  # reflect without repeating the edge pixel
        index = tf.math.floormod(tf.range(total) - before, period)
        images = tf.gather(images, tf.where(index >= n, period - index, index), axis=axis)
        offsets.append(before)
    return images, tuple(offsets)


def native_min_size(config: Pix2PixConfig) -> int:
    """Smallest side the generator runs at: one stride; two for a ResNet, whose 1-pixel
    reflection pads need 2 pixels at 1/4 resolution."""
    stride = config.generator_stride
    return 2 * stride if config.net_g.startswith("resnet") else stride


def translate_native(generator: keras.Model, images: tf.Tensor, stride: int,
                     training: bool = False, min_size: int = 1) -> tf.Tensor:
    """Run a fully convolutional generator at the images' own resolution.

    Args:
        generator: from :func:`fully_convolutional`.
        images: float (batch, H, W, C_in) in [-1, 1], any H and W.
        stride: the generator's total stride (``config.generator_stride``).
        min_size: smallest padded side (:func:`native_min_size`).

    Returns:
        (batch, H, W, C_out) in [-1, 1]. At sizes that are multiples of ``stride`` (and at
        least ``min_size``) nothing is padded; otherwise the reflect padding is part of what the network sees (with the
        "deterministic" inference mode its norm statistics are per image, padding included).

    Example:
        >>> from pix2pix_tf.generator import build_generator
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=8)
        >>> g = fully_convolutional(build_generator(cfg))
        >>> translate_native(g, tf.zeros((1, 100, 70, 3)), cfg.generator_stride).shape
        TensorShape([1, 100, 70, 3])
    """
    if tuple(generator.input_shape[1:3]) != (None, None):
        raise ValueError("translate_native needs a generator on (None, None) inputs; "
                         "pass fully_convolutional(generator)")
    h, w = tf.shape(images)[1], tf.shape(images)[2]
    x, (top, left) = reflect_pad_to_multiple(images, stride, min_size)  # (batch, H', W', C_in)
    y = generator(x, training=training)  # (batch, H', W', C_out)
    return y[:, top:top + h, left:left + w]  # (batch, H, W, C_out)


class _KerasModels:
    """The generator and its any-size twin, in a plain object: tf.Module does not track it."""

    def __init__(self, generator: keras.Model):
        self.generator = generator
        self.native = fully_convolutional(generator)  # same weights, any H x W


class GeneratorModule(tf.Module):
    """A tf.Module wrapping the generator with the serving signatures."""

    def __init__(self, generator: keras.Model, config: Pix2PixConfig, inference_mode: str):
        super().__init__(name="pix2pix_generator")
        # The Keras models are held outside TensorFlow's object graph (in a plain function),
        # their variables in it: walking the Keras objects made tf.saved_model.save trace some
        # forty functions of theirs nobody calls, half of the export's time.
        self.keras = _KerasModels(generator)
        self.weights = list(generator.variables)  # what the SavedModel saves
        self.seed_states = dropout_seed_states(generator)  # so paper-mode exports can save them
        self.stride, self.min_size = config.generator_stride, native_min_size(config)
        info = {**config.to_dict(), "inference_mode": inference_mode}
        self._config_json = json.dumps(info, sort_keys=True)
        h, w = generator.input_shape[1:3]  # the training shape (None for a fully convolutional G)
        self.size = (h or config.image_size, w or config.image_size)
        cin = config.input_channels
        self.serving_default = tf.function(
            self._serve, input_signature=[tf.TensorSpec([None, h, w, cin], tf.float32, name="images")])
        any_size = [tf.TensorSpec([None, None, None, cin], tf.uint8, name="images")]
        self.translate_uint8 = tf.function(self._translate_uint8, input_signature=any_size)
        self.translate_uint8_native = tf.function(self._translate_uint8_native, input_signature=any_size)
        self.translate_bytes = tf.function(
            self._translate_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        self.config = tf.function(self._config, input_signature=[])
        self.input_channels = cin

    def _serve(self, images):
        return {"output": self.keras.generator(images, training=False)}

    def _translate_uint8(self, images):
        return {"output": self._uint8_to_uint8(images)}

    def _translate_uint8_native(self, images):
        x = tf.cast(images, tf.float32) / 127.5 - 1.0  # (batch, H, W, C_in) in [-1, 1]
        return {"output": to_uint8(translate_native(self.keras.native, x, self.stride,
                                                    min_size=self.min_size))}

    def _uint8_to_uint8(self, images):
        """uint8 (batch, H, W, C_in) -> resize to S, generate, resize back -> uint8 (batch, H, W, C_out)."""
        size = tf.shape(images)[1:3]
        x = tf.image.resize(tf.cast(images, tf.float32), self.size, method="bicubic", antialias=True)
        x = tf.clip_by_value(x, 0.0, 255.0) / 127.5 - 1.0  # (batch, S, S, C_in) in [-1, 1]
        # serving_default's one trace of the generator, called (not traced again): the
        # export traces G twice (this and the native one), not once per signature
        y = self.serving_default(x)["output"]
        y = tf.image.resize((y + 1.0) * 127.5, size, method="bicubic", antialias=True)
        return tf.cast(tf.round(tf.clip_by_value(y, 0.0, 255.0)), tf.uint8)

    def _translate_bytes(self, images):
        def one(data):
            img = tf.io.decode_image(data, channels=3, expand_animations=False)  # (H, W, 3)
            if self.input_channels == 1:
                img = tf.image.rgb_to_grayscale(img)
            return tf.io.encode_png(self._uint8_to_uint8(img[None])[0])

        return {"output": tf.map_fn(one, images, fn_output_signature=tf.string)}

    def _config(self):
        return {"config": tf.constant(self._config_json)}


def export_saved_model(generator: keras.Model, config: Pix2PixConfig, path: str | Path,
                       inference_mode: str | None = None, *,
                       replace_recorded_in: Path | None = None) -> Path:
    """Write the generator as a SavedModel at ``path`` (built under a temporary name, renamed).

    Args:
        generator: the trained generator.
        config: the run's config (travels with the model).
        path: output folder: new, empty, or a SavedModel this package exported.
        inference_mode: "deterministic", "paper" or "moving_average"; default config.inference_mode.
        replace_recorded_in: a run folder whose manifest records ``path`` as its own (so a
            run's ``saved_model/`` from before manifests existed is replaced too).

    Returns:
        The path written.

    Raises:
        WriteError: ``path`` exists and is not ours, or cannot be written (disk full ...).
    """
    path = Path(path)
    mode = inference_mode or config.inference_mode
    set_inference_mode(generator, mode)
    try:
        module = GeneratorModule(generator, config, mode)
        with manifests.atomic_dir(path, replace_recorded_in=replace_recorded_in,
                                  replace_kind=SAVED_MODEL_KIND) as tmp:
            manifests.claim_folder(tmp, SAVED_MODEL_KIND)
            with tf_write_errors(path):
                tf.saved_model.save(module, str(tmp), signatures={
                    "serving_default": module.serving_default,
                    "translate_uint8": module.translate_uint8,
                    "translate_uint8_native": module.translate_uint8_native,
                    "translate_bytes": module.translate_bytes,
                    "config": module.config,
                })
                (tmp / "assets.extra").mkdir(exist_ok=True)
            safety.atomic_write_text(tmp / "assets.extra" / CONFIG_ASSET, module._config_json + "\n")
            manifests.record_written(tmp, sorted(p.name for p in tmp.iterdir() if p.name != safety.MANIFEST))
    finally:
        set_inference_mode(generator, config.inference_mode)
    return path


@contextlib.contextmanager
def tf_write_errors(path: str | Path) -> Iterator[None]:
    """Turn an OSError or a TensorFlow I/O error while writing ``path`` into one WriteError line."""
    try:
        yield
    except OSError as e:
        raise safety.WriteError(f"{path}: cannot write ({safety.describe_os_error(e)})") from None
    except tf.errors.OpError as e:
        message = str(e.message or e).strip()
        reason = ("disk full" if "No space left" in message
                  else (message.splitlines() or [type(e).__name__])[0][:120])
        raise safety.WriteError(f"{path}: cannot write ({reason})") from None




def export_tflite(generator: keras.Model, config: Pix2PixConfig, path: str | Path,
                  inference_mode: str | None = None, quantize: str = "none",
                  calibration_data: str | Path | np.ndarray | None = None,
                  calibration_count: int = CALIBRATION_COUNT) -> Path:
    """Convert the raw generator (float32 (1, S, S, C_in) in [-1, 1], or its H x W) to a .tflite file.

    The file is converted from :func:`~pix2pix_tf.fast.lite.lite_twin` (same weights, ops that
    TFLite's XNNPACK runs fast); open it with :func:`~pix2pix_tf.run.tflite.tflite_interpreter`.
    Input and output are float32 in [-1, 1] for every ``quantize`` (an int8 file quantizes inside).

    Args:
        generator, config: as for :func:`export_saved_model`.
        path: the .tflite file to write (written to a temp name, then renamed): new, or a
            .tflite file this package exported (see :func:`is_our_tflite`).
        inference_mode: "deterministic" (default) or "moving_average"; "paper" is refused
            because TFLite has no stateful random ops for dropout-as-noise.
        quantize: "none" (float32), "float16" (half-size weights), "dynamic" (int8 weights,
            activations quantized at run time) or "int8" (int8 weights and activations,
            calibrated on ``calibration_data``; see :mod:`pix2pix_tf.run.tflite`).
        calibration_data: "int8" only: a dataset folder whose ``train/`` inputs calibrate the
            activation ranges (:func:`~pix2pix_tf.run.tflite.calibration_images`), or an
            array (n, H, W, C_in) in [-1, 1].
        calibration_count: images taken from ``calibration_data``'s train/.

    Returns:
        The path written.

    Raises:
        ExportError: ``path`` exists and is not a .tflite file this package exported.
        WriteError: the file cannot be written (disk full ...).
    """
    mode = inference_mode or ("deterministic" if config.inference_mode == "paper" else config.inference_mode)
    if mode == "paper":
        raise Pix2PixError("TFLite export needs a deterministic inference mode; 'paper' draws "
                           "dropout noise at run time (use --inference-mode deterministic)")
    if quantize not in TFLITE_QUANTIZATIONS:
        raise Pix2PixError(f"unknown TFLite quantization {quantize!r}; choose one of "
                           f"{', '.join(TFLITE_QUANTIZATIONS)}")
    if (quantize == "int8") != (calibration_data is not None):
        raise Pix2PixError("--quantize int8 needs --calibration-data DIR (a dataset folder with "
                           "train/ images)" if quantize == "int8" else
                           "--calibration-data applies to --quantize int8 only")
    path = Path(path)
    check_tflite_target(path)  # refuse before the (slow) conversion
    h, w = (v or config.image_size for v in generator.input_shape[1:3])
    cin = config.input_channels
    calibration = None
    if quantize == "int8":  # DataError when the folder holds no usable image
        calibration = (np.asarray(calibration_data, np.float32) if isinstance(calibration_data, np.ndarray)
                       else calibration_images(calibration_data, config, calibration_count, (h, w)))
    set_inference_mode(generator, mode)
    try:
        flatbuffer = convert_generator(generator, (h, w, cin), quantize, calibration)
    finally:
        set_inference_mode(generator, config.inference_mode)
    info = json.dumps({**config.to_dict(), "inference_mode": mode}, sort_keys=True)
    safety.atomic_write_bytes(path, mark_tflite(flatbuffer, info))
    return path


# ------------------------------------------------------------------ TFLite: marked as ours
def mark_tflite(flatbuffer: bytes, info_json: str) -> bytes:
    """The same TFLite model with ``info_json`` added as metadata :data:`TFLITE_MARKER`."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(info_json.encode("utf-8"), np.uint8)
    model.buffers = (model.buffers or []) + [buffer]
    entry = schema.MetadataT()
    entry.name, entry.buffer = TFLITE_MARKER, len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [entry]
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def is_our_tflite(path: str | Path) -> bool:
    """True for a TFLite flatbuffer (``TFL3`` at bytes 4..8) carrying :data:`TFLITE_MARKER`."""
    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with open(path, "rb") as f:
            if f.read(8)[4:8] != b"TFL3":
                return False
        from tensorflow.lite.python import schema_py_generated as schema

        model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
        return any(model.Metadata(i).Name() == TFLITE_MARKER.encode()
                   for i in range(model.MetadataLength()))
    except Exception:  # noqa: BLE001  (a damaged flatbuffer fails in many ways: not ours)
        return False


def check_tflite_target(path: Path, flag: str = "--out") -> None:
    """Refuse a .tflite target that is a folder or a file this package did not export.

    Raises:
        ExportError, WriteError: one line naming ``path``.
    """
    safety.check_out_dir(path.parent, flag)
    if path.is_dir():
        raise ExportError(f"{flag} {path}: is a folder; a TFLite export is a file")
    if (path.exists() or path.is_symlink()) and not is_our_tflite(path):
        raise ExportError(f"{flag} {path}: already exists and is not a TFLite file exported by "
                          "pix2pix-tf; nothing was changed; choose a new path or remove it yourself")


# ------------------------------------------------------------------ the export command
def check_export_target(run_dir: str | Path, out: str | Path, fmt: str) -> Path | None:
    """Check, without writing, that ``out`` may receive an export of ``run_dir``.

    Inside a run folder only a direct child named ``saved_model*`` (SavedModel) or
    ``*.tflite`` (TFLite) is accepted; the run folder itself, its other entries and
    anything deeper are refused. An existing target must be ours (see the module docstring).

    Returns:
        The run folder that will hold ``out`` (to lock and record it in), or None.

    Raises:
        ExportError, WriteError: one line naming ``--out`` and why.
    """
    run_dir, out = Path(run_dir), Path(out)
    check_links_to_run_entry(out)
    target, run_abs = out.resolve(), run_dir.resolve()
    holder = find_enclosing_run(target)
    if target == run_abs or holder == target:
        raise ExportError(f"--out {out}: is a pix2pix-tf run folder; nothing was changed; export "
                          f"to {out / SAVED_MODEL} or a new folder")
    if target in run_abs.parents:
        raise ExportError(f"--out {out}: holds the run folder {run_dir}; nothing was changed; "
                          "choose a new path")
    if holder is not None:
        allowed = (target.name.startswith(SAVED_MODEL) if fmt == "savedmodel"
                   else target.suffix == ".tflite")
        if target.parent != holder or not allowed:
            kind = "saved_model* folder" if fmt == "savedmodel" else "*.tflite file"
            raise ExportError(f"--out {out}: inside the run folder {holder}; nothing was changed; "
                              f"only a {kind} directly in it is written there")
    if fmt == "tflite":
        check_tflite_target(out)
        return holder
    safety.check_out_dir(out)
    ours = (manifests.folder_kind(out) == SAVED_MODEL_KIND
            or (holder is not None and target.name in manifests.recorded_entries(holder)))
    if out.exists() and not ours and not safety.is_empty_dir(out):
        raise ExportError(f"--out {out}: already exists and is not a SavedModel exported by "
                          "pix2pix-tf; nothing was changed; choose a new path or remove it yourself")
    return holder


def export_run(run_dir: str | Path, out: str | Path, fmt: str = "savedmodel",
               inference_mode: str | None = None, quantize: str = "none",
               calibration_data: str | Path | None = None,
               calibration_count: int = CALIBRATION_COUNT) -> Path:
    """Export the newest loadable checkpoint of a run as a SavedModel or a .tflite file.

    ``quantize``, ``calibration_data`` and ``calibration_count``: as for :func:`export_tflite`.

    The generator exported is the run's :attr:`~pix2pix_tf.model.Pix2Pix.inference_generator`:
    the average of G's weights when the run was trained with ``ema_decay > 0``.

    The web page (``--format web``) is :func:`pix2pix_tf.web.page.export_web_run`, a layer above.

    The target is checked first (:func:`check_export_target`); when it lies in a run folder
    that folder is locked for the export and the new entry is recorded in its manifest.

    Returns:
        The path written.

    Raises:
        ExportError, WriteError, FolderBusy, RunDirError: one line each.
    """
    out = Path(out)
    holder = check_export_target(run_dir, out, fmt)
    with contextlib.ExitStack() as held:
        if holder is not None:
            lock_run(holder, held)
        model = load_run(run_dir)
        if holder is not None and manifests.read_manifest(holder) is not None:
            manifests.record_written(holder, [out.resolve().name])
        if fmt == "tflite":
            return export_tflite(model.inference_generator, model.config, out, inference_mode, quantize=quantize,
                                 calibration_data=calibration_data, calibration_count=calibration_count)
        return export_saved_model(model.inference_generator, model.config, out, inference_mode,
                                  replace_recorded_in=holder)
