"""How big a config is: parameters and training memory, estimated without building anything.

``train`` and the CLI use :func:`check_memory` (after :meth:`Pix2PixConfig.check_trainable`)
to refuse, before anything is built or written, a config whose training would not fit in
this machine's memory
(``--ngf 100000`` would otherwise allocate for a minute and die out of memory).

The data steps use the same measure of the machine (:func:`available_memory_bytes`) through
:func:`check_data_memory`: an image whose header promises more pixels than can be decoded
here (:func:`decode_memory_bytes`), and ``make-pairs`` / ``combine`` at a ``--size`` whose
images cannot be made here (:func:`square_images_memory_bytes`), are refused before any
pixel is decoded or any file is written.

Example:
    >>> from pix2pix_tf.config import Pix2PixConfig
    >>> g, d = parameter_count(Pix2PixConfig())
    >>> round(g / 1e6, 1), round(d / 1e6, 2)  # the paper's U-Net and 70x70 PatchGAN
    (54.4, 2.77)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import filter_schedule
from ..errors import ResourceError

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Pix2PixConfig

# the fields that set a config's size, named in the refusal when they differ from the defaults
SIZE_FIELDS = ("ngf", "ndf", "image_size", "load_size", "batch_size", "net_g", "unet_depth", "n_layers_d",
               "num_d")  # num_d: the successors' config's


def parameter_count(config: "Pix2PixConfig") -> tuple[int, int]:
    """Trainable weights of the generator and the discriminator, counted without building them.

    Convolution kernels and biases are counted exactly; normalisation parameters (2 per
    channel) are added for every normalised block, so the result matches the built models
    to within a fraction of a percent.

    Returns:
        ``(generator_params, discriminator_params)``; the second is 0 for loss "l1", and
        counts every scale of a multi-scale D (``num_d``). G's weight average
        (``ema_decay > 0``) is not trainable and not counted.
    """
    return _generator_params(config), getattr(config, "num_d", 1) * _discriminator_params(config)


def training_memory_bytes(config: "Pix2PixConfig") -> int:
    """A rough lower estimate of the memory one training process needs with ``config``.

    Weights, gradients and Adam's two slots take 4 float32 copies of every parameter; the
    forward pass keeps about three tensors per block (convolution, norm and activation
    outputs) for the backward pass, for the generator once and for the discriminator twice
    (real and fake); the input pipeline holds a few ``load_size`` x ``load_size`` jittered
    images per example. The TensorFlow runtime itself is not counted.
    """
    g_params, d_params = parameter_count(config)
    weights = 4 * 4 * (g_params + d_params) + (4 * g_params if getattr(config, "ema_decay", 0.0) > 0 else 0)  # + G's EMA
    per_example = 3 * (_generator_activations(config) + 2 * _discriminator_activations(config))
    channels = config.input_channels + config.output_channels
    pipeline = 4 * config.load_size ** 2 * channels
    return weights + 4 * config.batch_size * (per_example + pipeline)


def check_memory(config: "Pix2PixConfig", available: int | None = None) -> None:
    """Refuse a config whose training would not fit in this machine's memory.

    Args:
        available: bytes of memory to compare with; None reads what the machine (or its
            cgroup) has available now. When that cannot be read the check is skipped.

    Raises:
        ResourceError: the estimate of :func:`training_memory_bytes` exceeds ``available``;
            the message names the fields that set the size.
    """
    from ..config import short_repr

    if available is None:
        available = available_memory_bytes()
    if available is None:
        return
    need = training_memory_bytes(config)
    if need > available:
        defaults = {f.name: f.default for f in dataclasses.fields(config)}
        names = [n for n in SIZE_FIELDS if n in defaults and getattr(config, n) != defaults[n]]
        names += [n for n in ("image_size", "batch_size") if n not in names]
        fields = ", ".join(f"{n} = {short_repr(getattr(config, n))}" for n in names)
        raise ResourceError(f"config {fields}: training needs about {format_bytes(need)} of "
                            f"memory; this machine has {format_bytes(available)} available",
                            field=names[0])


# ------------------------------------------------------------------ images and data commands
DECODE_BYTES_PER_PIXEL = 40  # uint8 decode (up to 4 channels) + three float32 RGB copies
SQUARE_BYTES_PER_PIXEL = 96  # about eight float32 RGB copies of a square being made
DATA_MEMORY_SHARE = 2  # a data step may take at most 1/2 of the available memory
DATA_CHECK_FLOOR = 256 * 1000 ** 2  # smaller needs fit any machine TensorFlow runs on


def decode_memory_bytes(height: int, width: int) -> int:
    """Memory to decode one ``height`` x ``width`` image and prepare it for the model.

    The uint8 decode (up to 4 channels), then three float32 RGB copies of the same size: the
    cast the input pipeline makes, its A|B halves or resize, and the output of the next op.

    Example:
        >>> format_bytes(decode_memory_bytes(20000, 20000))
        '16.0 GB'
    """
    return int(height) * int(width) * DECODE_BYTES_PER_PIXEL


def square_images_memory_bytes(size: int, workers: int = 8) -> int:
    """Memory to make ``size`` x ``size`` images (``make-pairs``, ``combine --size``).

    Each image being made holds about eight float32 RGB copies of its square (the resize,
    the degradation's intermediate maps, the A|B concatenation, the encoder's input); as
    many are made at once as there are workers and cores (:func:`parallel_workers`).
    """
    return parallel_workers(workers) * int(size) ** 2 * SQUARE_BYTES_PER_PIXEL


def parallel_workers(workers: int) -> int:
    """How many of ``workers`` threads work at once: at most one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(int(workers), cores))


def check_data_memory(need: int, what: str, available: int | None = None,
                      error: type[Exception] = ResourceError) -> None:
    """Refuse a data step whose memory estimate exceeds half of the available memory.

    Half, because the step is not alone: TensorFlow itself, the model, and the other images
    in flight need the rest. Estimates under :data:`DATA_CHECK_FLOOR` pass without reading
    the machine's memory (every data folder of ordinary images).

    Args:
        need: the estimate, in bytes (:func:`decode_memory_bytes`,
            :func:`square_images_memory_bytes`).
        what: the start of the message: the file (and its size) or the flag.
        available: bytes of memory; None reads :func:`available_memory_bytes` (when that
            cannot be read the check is skipped).
        error: the exception class to raise (a :class:`~pix2pix_tf.errors.Pix2PixError`;
            ``DataError`` for a file, so ``--skip-bad-files`` can leave it out).

    Raises:
        ``error``: one line with ``what``, the estimate and the available memory.

    Example:
        >>> check_data_memory(decode_memory_bytes(20000, 20000), "x.png: 20000x20000",
        ...                   available=8 * 1000 ** 3)
        Traceback (most recent call last):
        ...
        pix2pix_tf.errors.ResourceError: x.png: 20000x20000 needs about 16.0 GB of memory, more than half of the 8.0 GB this machine has available
    """
    if need <= DATA_CHECK_FLOOR:
        return
    if available is None:
        available = available_memory_bytes()
    if available is None:
        return
    if need > available // DATA_MEMORY_SHARE:
        raise error(f"{what} needs about {format_bytes(need)} of memory, more than half of the "
                    f"{format_bytes(available)} this machine has available")


def _conv(k: int, c_in: int, c_out: int, bias: bool) -> int:
    return k * k * c_in * c_out + (c_out if bias else 0)


def _norm_params(config: Pix2PixConfig, channels: int) -> int:
    return 0 if config.norm == "none" else 2 * channels


def _generator_params(c: "Pix2PixConfig") -> int:
    bias = c.norm != "batch"
    if c.net_g.startswith("resnet"):
        n_blocks = 6 if c.net_g == "resnet_6blocks" else 9
        g = c.ngf
        convs = [(7, c.input_channels, g), (3, g, 2 * g), (3, 2 * g, 4 * g)]
        convs += [(3, 4 * g, 4 * g)] * (2 * n_blocks) + [(3, 4 * g, 2 * g), (3, 2 * g, g)]
        total = sum(_conv(k, i, o, bias) + _norm_params(c, o) for k, i, o in convs)
        return total + _conv(7, g, c.output_channels, True)
    depth = c.generator_depth
    filters = filter_schedule(c.ngf, depth)
    skips = c.net_g != "encoder_decoder"
    total, c_in = 0, c.input_channels
    for i, f in enumerate(filters):
        total += _conv(4, c_in, f, bias) + (_norm_params(c, f) if 0 < i < depth - 1 else 0)
        c_in = f
    for f in reversed(filters[:-1]):
        total += _conv(4, c_in, f, bias or c.norm == "none") + _norm_params(c, f)
        c_in = 2 * f if skips else f
    return total + _conv(4, c_in, c.output_channels, True)


def _discriminator_params(c: "Pix2PixConfig") -> int:
    if c.loss == "l1":
        return 0
    c_in = c.output_channels + (c.input_channels if c.loss in ("l1+cgan", "cgan") else 0)
    bias = c.norm != "batch"
    if c.net_d == "pixel" or c.n_layers_d == 0:
        return (_conv(1, c_in, c.ndf, True) + _conv(1, c.ndf, 2 * c.ndf, bias)
                + _norm_params(c, 2 * c.ndf) + _conv(1, 2 * c.ndf, 1, True))
    filters = filter_schedule(c.ndf, min(c.n_layers_d, 64) + 1)
    total = 0
    for i, f in enumerate(filters[:-1]):
        total += _conv(4, c_in, f, True if i == 0 else bias) + (_norm_params(c, f) if i else 0)
        c_in = f
    total += _conv(4, c_in, filters[-1], bias) + _norm_params(c, filters[-1])
    return total + _conv(4, filters[-1], 1, True)


def _generator_activations(c: "Pix2PixConfig") -> int:
    """Elements of the generator's block outputs for one image."""
    s = c.image_size
    if c.net_g.startswith("resnet"):
        n_blocks = 6 if c.net_g == "resnet_6blocks" else 9
        g = c.ngf
        return (2 * s * s * g + (s // 2) ** 2 * 2 * g * 2
                + (s // 4) ** 2 * 4 * g * (2 * n_blocks + 1) + s * s * c.output_channels)
    filters = filter_schedule(c.ngf, c.generator_depth)
    down = sum((s >> (i + 1)) ** 2 * f for i, f in enumerate(filters))
    up = sum((s >> (i + 1)) ** 2 * 2 * f for i, f in enumerate(filters[:-1]))  # with the skips
    return down + up + s * s * c.output_channels


def _discriminator_activations(c: "Pix2PixConfig") -> int:
    """Elements of the discriminator's block outputs for one image pair."""
    if c.loss == "l1":
        return 0
    total = 0
    for scale in range(getattr(c, "num_d", 1)):  # the successors' multi-scale D: the same blocks at half the size each
        s = c.image_size >> scale
        if c.net_d == "pixel" or c.n_layers_d == 0:
            total += s * s * 3 * c.ndf
            continue
        filters = filter_schedule(c.ndf, min(c.n_layers_d, 64) + 1)
        total += sum((s >> (i + 1)) ** 2 * f for i, f in enumerate(filters[:-1]))
        total += (s >> (len(filters) - 1)) ** 2 * filters[-1]
    return total


def format_bytes(n: int | float) -> str:
    """'512 B', '23.4 GB', '3.2 TB' (powers of 1000)."""
    if n >= 1000 ** 7:
        return "1000+ EB"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} EB"  # pragma: no cover


def available_memory_bytes() -> int | None:
    """Memory a new process can use now: MemAvailable, capped by a cgroup limit; None if unknown."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = int(Path(limit_file).read_text().strip())
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit < 2 ** 60:  # "max" fails int(); a huge number means no limit
            found.append(max(0, limit - usage))
        break
    return min(found) if found else None
