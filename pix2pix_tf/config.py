"""Pix2PixConfig: every setting of the model, the data and the training, with the paper's defaults.

Each field carries a comment naming the paper's section it comes from. The config is saved
as ``config.json`` in every run folder and read back with :meth:`Pix2PixConfig.load`.

Example:
    >>> cfg = Pix2PixConfig(image_size=64, load_size=72)
    >>> Pix2PixConfig.from_json(cfg.to_json()) == cfg
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import ConfigError, Pix2PixError, ResourceError, one_line  # noqa: F401  (Pix2PixError, ResourceError re-exported)

DIRECTIONS = ("AtoB", "BtoA")
NORMS = ("batch", "instance", "none")
GAN_MODES = ("vanilla", "lsgan")
GAN_UPDATES = ("simultaneous", "alternating")
INFERENCE_MODES = ("deterministic", "paper", "moving_average")
RESIZE_METHODS = ("bicubic", "bilinear", "nearest", "area")
LR_POLICIES = ("constant", "linear")
NET_GS = ("unet", "unet_256", "unet_128", "encoder_decoder")
NET_DS = ("patch", "pixel")
LOSSES = ("l1+cgan", "l1", "cgan", "l1+gan", "gan")
RECON_LOSSES = ("l1", "l2")
PREPROCESSES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
DATASET_MODES = ("aligned", "colorization")
STRATEGIES = ("none", "mirrored", "multiworker", "tpu", "auto")  # tf.distribute (run option, not config)
MAX_UNET_DEPTH = 8  # the paper's U-Net has 8 downsamplings (256 -> 1x1)


def choice(default: str, choices: tuple[str, ...]):
    """A field whose value is one of ``choices``, kept in its metadata (read by validate and the CLI)."""
    return dataclasses.field(default=default, metadata={"choices": choices})


def field_choices(config_class: type | None = None) -> dict[str, tuple[str, ...]]:
    """Field name -> allowed values, for every choice field of ``config_class`` (:class:`Pix2PixConfig`).

    Example:
        >>> field_choices()["direction"]
        ('AtoB', 'BtoA')
    """
    config_class = config_class or Pix2PixConfig
    return {f.name: f.metadata["choices"] for f in dataclasses.fields(config_class) if "choices" in f.metadata}


MAX_SEED = 2 ** 32 - 1  # numpy's legacy seeding (keras.utils.set_random_seed) takes 32 bits


def default_load_size(image_size: int) -> int:
    """The paper's jitter ratio 286/256 applied to another size (64 -> 72, 128 -> 143)."""
    return int(round(Fraction(image_size * 286, 256)))  # exact for any size (no float overflow)


@dataclasses.dataclass
class Pix2PixConfig:
    """All settings of a pix2pix run. Defaults reproduce the paper.

    Reference: Isola et al. 2017, section 3 and appendix 6.1-6.2.
    """

    # ---- data (appendix 6.2) ----
    image_size: int = 256  # training/inference resolution (paper: 256x256)
    load_size: int = 286  # resize to 286x286, then random-crop back to image_size (jitter)
    random_mirror: bool = True  # horizontal flip with p=0.5 (paper: "mirroring")
    input_channels: int = 3  # channels of the conditioning image (A for AtoB)
    output_channels: int = 3  # channels of the generated image
    direction: str = choice("AtoB", DIRECTIONS)  # which half of an aligned A|B file is the input
    resize_method: str = choice("bicubic", RESIZE_METHODS)  # interpolation used by resizing (reference code: bicubic)
    preprocess: str = choice("resize_and_crop", PREPROCESSES)  # jitter: resize to load_size, crop image_size (paper); see data.py
    dataset_mode: str = choice("aligned", DATASET_MODES)  # A|B files or A/ B/ folders; "colorization": input = gray(target)

    # ---- generator (section 3.1, appendix 6.1.1) ----
    net_g: str = choice("unet", NET_GS)  # U-Net, depth from image_size (paper); unet_256/128, encoder_decoder
    ngf: int = 64  # filters of the first generator layer (C64)
    unet_depth: int | None = None  # number of downsamplings; None = follow image_size (8 at 256)
    dropout_rate: float = 0.5  # dropout "as noise" in the first decoder blocks (section 3.1)
    num_dropout_blocks: int = 3  # decoder blocks with dropout: CD512-CD512-CD512
    # ---- discriminator (section 3.2.2, appendix 6.1.2) ----
    net_d: str = choice("patch", NET_DS)  # PatchGAN with n_layers_d layers (paper); "pixel" = 1x1 PixelGAN
    ndf: int = 64  # filters of the first discriminator layer (C64)
    n_layers_d: int = 3  # 3 -> 70x70 PatchGAN; 0 -> 1x1 PixelGAN; 1 -> 16x16; 5 -> 286x286
    # ---- shared by both networks ----
    norm: str = choice("batch", NORMS)  # batch norm (paper); "instance" or "none" for ablations
    sync_batch_norm: bool = False  # batch statistics over all replicas under tf.distribute
    leaky_slope: float = 0.2  # LeakyReLU slope in the encoder and D (appendix 6.1)
    init_stddev: float = 0.02  # weights ~ N(0, 0.02) (appendix 6.2)

    # ---- objective (section 3.1, eq. 4) ----
    loss: str = choice("l1+cgan", LOSSES)  # the paper's objective; ablations (table 1): l1, cgan, l1+gan, gan
    recon_loss: str = choice("l1", RECON_LOSSES)  # the reconstruction term weighted by lambda_l1; "l2" = squared error
    gan_mode: str = choice("vanilla", GAN_MODES)  # cross-entropy cGAN loss on logits; "lsgan" least squares
    lambda_l1: float = 100.0  # weight of the L1 term (lambda = 100)
    d_loss_weight: float = 0.5  # "we divide the objective by 2 while optimizing D" (section 3.3)
    gan_update: str = choice("simultaneous", GAN_UPDATES)  # one D pass on the fake serves D and G; "alternating" = D step then G step with the updated D

    # ---- optimisation (section 3.3) ----
    learning_rate: float = 2e-4  # Adam lr 0.0002
    beta_1: float = 0.5  # Adam momentum 0.5
    beta_2: float = 0.999  # Adam beta2 0.999
    batch_size: int = 1  # paper: batch size 1 (facades) to 10 (others); 1 by default
    lr_policy: str = choice("constant", LR_POLICIES)  # "linear": constant, then linear decay to 0 (reference code)
    lr_decay_start: float = 0.5  # fraction of the steps after which the linear decay starts
    d_lr_scale: float = 1.0  # D's learning rate = learning_rate * d_lr_scale (paper: 1, the same rate for both)

    # ---- inference (section 3.3) ----
    inference_mode: str = choice("deterministic", INFERENCE_MODES)  # see docs/paper.md: "paper" = test-batch BN stats + dropout noise

    seed: int = 0  # seeds data order, jitter and weight init

    FIXED_DEPTHS = {"unet_256": 8, "unet_128": 7}  # generators of a fixed depth (not a field)

    # ------------------------------------------------------------------ helpers
    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "Pix2PixConfig":
        """Check every field; raise :class:`ConfigError` naming the first bad one."""

        def need(cond: bool, field: str, msg: str) -> None:
            if not cond:
                raise ConfigError(f"config field '{field}' = {short_repr(getattr(self, field))}: {msg}",
                                  field=field)

        def one_of(field: str, choices: tuple[str, ...]) -> None:
            value = getattr(self, field)
            need(isinstance(value, str) and value in choices, field, f"must be one of {', '.join(choices)}")

        for f in dataclasses.fields(self):  # types first: nan and inf pass every range test below
            value = getattr(self, f.name)
            if f.type in ("int", "int | None"):
                need(isinstance(value, int) and not isinstance(value, bool) or (value is None and "None" in f.type),
                     f.name, "must be an integer" + (" or null" if "None" in f.type else ""))
            elif f.type == "float":
                need(isinstance(value, (int, float)) and not isinstance(value, bool), f.name, "must be a number")
                need(math.isfinite(value), f.name, "must be a finite number")
            elif f.type == "bool":
                need(isinstance(value, bool), f.name, "must be true or false")
        need(0 <= self.seed <= MAX_SEED, "seed", f"must be in 0..{MAX_SEED}")
        need(self.image_size >= 8, "image_size", "must be at least 8")
        need(self.load_size >= self.image_size, "load_size",
             f"must be >= image_size ({self.image_size}): the random crop is taken from it")
        for f in ("input_channels", "output_channels"):
            need(getattr(self, f) in (1, 3), f, "must be 1 (grayscale) or 3 (RGB)")
        for f in ("ngf", "ndf", "batch_size", "init_stddev", "d_loss_weight", "d_lr_scale", "learning_rate"):
            need(getattr(self, f) > 0, f, "must be positive")
        for f in ("n_layers_d", "num_dropout_blocks", "lambda_l1"):
            need(getattr(self, f) >= 0, f, "must be >= 0")
        for f in ("dropout_rate", "leaky_slope", "beta_1", "beta_2"):
            need(0.0 <= getattr(self, f) < 1.0, f, "must be in [0, 1)")
        need(0.0 <= self.lr_decay_start <= 1.0, "lr_decay_start", "must be in [0, 1]")
        for name, choices in field_choices(type(self)).items():  # from each field's metadata
            one_of(name, choices)
        need(self.dataset_mode != "colorization" or self.input_channels == 1, "input_channels",
             "must be 1 with dataset_mode colorization (the input is the grayscale target)")
        depth = self.generator_depth  # raises ConfigError when the size does not fit net_g
        need(depth >= 2, "image_size", "is too small for a U-Net (need at least 2 downsamplings)")
        need(self.loss != "l1" or self.lambda_l1 > 0, "lambda_l1",
             "must be > 0 with loss 'l1' (it is the only term of the objective)")
        return self

    def check_trainable(self) -> "Pix2PixConfig":
        """Refuse, before anything is built, a config whose networks cannot be built: beyond
        :meth:`validate`, the PatchGAN's ``n_layers_d`` stride-2 layers must leave a map of at
        least 3 pixels (:func:`max_patchgan_layers`). Returns self; raises :class:`ConfigError`."""
        self.validate()
        self.check_patchgan_depth(self.image_size)
        return self

    def check_patchgan_depth(self, size: int, at: str = "") -> None:
        """Refuse an ``n_layers_d`` too deep for a D input of ``size`` pixels (``at`` says where)."""
        if self.net_d == "patch" and self.n_layers_d > 0:
            deepest = max_patchgan_layers(size)
            if self.n_layers_d > deepest:
                raise ConfigError(
                    f"config field 'n_layers_d' = {short_repr(self.n_layers_d)}: too deep for "
                    f"image_size {self.image_size}{at}; the PatchGAN needs its input size / "
                    f"2**n_layers_d >= 3 to output a logit (at most {deepest} here)", field="n_layers_d")

    @property
    def generator_depth(self) -> int:
        """Number of stride-2 downsamplings of the generator ``net_g``.

        ``unet`` and ``encoder_decoder``: as many halvings as the size allows, at most 8
        (or ``unet_depth``); fixed for ``FIXED_DEPTHS`` (``unet_256``: 8, ``unet_128``: 7, as
        the reference code). A :class:`ConfigError` naming the field when the size does not fit.

        Example:
            >>> Pix2PixConfig(image_size=64, load_size=72).generator_depth
            6
        """
        fixed = self.FIXED_DEPTHS.get(self.net_g)
        if fixed is not None:
            if self.unet_depth is not None and self.unet_depth != fixed:
                raise ConfigError(
                    f"config field 'unet_depth' = {self.unet_depth!r}: net_g {self.net_g!r} has a fixed "
                    f"depth of {fixed}; leave unet_depth unset or use net_g 'unet'", field="unet_depth")
            if self.image_size % (2 ** fixed):
                raise ConfigError(
                    f"config field 'image_size' = {self.image_size}: net_g {self.net_g!r} needs a "
                    f"multiple of {2 ** fixed}", field="image_size")
            return fixed
        if self.unet_depth is not None:
            if not isinstance(self.unet_depth, int) or self.unet_depth < 2:
                raise ConfigError(f"config field 'unet_depth' = {short_repr(self.unet_depth)}: "
                                  "must be an integer >= 2", field="unet_depth")
            if self.unet_depth > 62 or self.image_size % (2 ** self.unet_depth):
                power = 2 ** self.unet_depth if self.unet_depth <= 62 else f"2**{self.unet_depth}"
                raise ConfigError(
                    f"config field 'image_size' = {self.image_size}: must be divisible by "
                    f"2**unet_depth = {power}", field="image_size")
            return self.unet_depth
        depth = 0
        while depth < MAX_UNET_DEPTH and self.image_size % (2 ** (depth + 1)) == 0:
            depth += 1
        if depth < 2:
            raise ConfigError(
                f"config field 'image_size' = {self.image_size}: must be divisible by 4 at least "
                "(a power of two such as 64, 128, 256 is best)", field="image_size")
        return depth

    @property
    def generator_stride(self) -> int:
        """Total downsampling of the generator, 2**generator_depth (U-Net 2**depth, ResNet 4).

        Image sides that the generator keeps (``preprocess`` scale_width / none, inference
        at native size) must be multiples of it, so that the U-Net's skips line up.

        Example:
            >>> Pix2PixConfig(image_size=64, load_size=72).generator_stride
            64
        """
        return 2 ** self.generator_depth

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Pix2PixConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "Pix2PixConfig":
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        """Write ``config.json`` atomically (a temporary file renamed into place); a
        :class:`ConfigError` naming the path when it cannot be written."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(self.to_json() + "\n")
            os.replace(tmp, path)  # replaces a link at ``path`` itself, never what it points to
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ConfigError(f"{path}: cannot write ({e.strerror or type(e).__name__})") from None

    @classmethod
    def load(cls, path: str | Path) -> "Pix2PixConfig":
        """Read a config saved by :meth:`save` (or written by hand); a :class:`ConfigError` of one
        line starting with the path when it is missing, unreadable, not JSON or has bad fields."""
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not a config file") from None
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the config file ({e.strerror or e})") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); a config is a JSON file") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, or an int too long to parse
            raise ConfigError(f"{path}: not valid JSON ({one_line(e)})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: not a JSON object of config fields "
                              f"(found a {type(data).__name__})")
        try:
            return cls.from_dict(data)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}", field=e.field) from None

    def replace(self, **changes: Any) -> "Pix2PixConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "Pix2PixConfig":
        """The config of a named preset (:data:`PRESETS`: "paper", "lite32", "lite16"; the
        successors' config adds "quality"), with ``overrides`` winning over its values.

        Example:
            >>> Pix2PixConfig.preset("lite32", image_size=64, load_size=72).ngf
            32
            >>> Pix2PixConfig.preset("paper") == Pix2PixConfig()
            True
        """
        presets = cls.presets()
        if name not in presets:
            raise ConfigError(f"unknown preset {short_repr(name)}; known presets: {', '.join(presets)}")
        return cls.from_dict({**presets[name], **overrides})

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The presets this config class can hold (:data:`PRESETS`; subclasses add theirs)."""
        return PRESETS


# named sets of config values (``Pix2PixConfig.preset``; ``pix2pix-tf train --preset`` also
# offers the successors' presets, :data:`pix2pix_tf.successors.config.PRESETS`)
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},  # Isola et al. 2017: every default
    # narrower generators for small, fast exports (a web page, a phone): 1/4 and 1/16 of
    # G's parameters (speeds in benchmarks/README.md)
    "lite32": {"ngf": 32},
    "lite16": {"ngf": 16},
}


def as_paper_config(config: Pix2PixConfig) -> Pix2PixConfig | None:
    """``config`` as the paper's :class:`Pix2PixConfig` when it asks for nothing more (a config
    extending the paper's, with its own fields at their defaults and only the paper's choices),
    else None.

    Example:
        >>> as_paper_config(Pix2PixConfig(ngf=8)) == Pix2PixConfig(ngf=8)
        True
    """
    if type(config) is Pix2PixConfig:
        return config
    names = {f.name for f in dataclasses.fields(Pix2PixConfig)}
    try:
        paper = Pix2PixConfig.from_dict({k: v for k, v in config.to_dict().items() if k in names})
    except ConfigError:  # a choice the paper's fields do not offer
        return None
    return paper if type(config).from_dict(paper.to_dict()) == config else None  # nothing else set


def filter_schedule(width: int, count: int) -> list[int]:
    """Filters of ``count`` stacked Ck blocks: width * (1, 2, 4, 8, 8, ...), doubling up to 8x.

    The paper's encoder C64-C128-C256-C512-C512-C512-C512-C512 (appendix 6.1.1) is
    ``filter_schedule(64, 8)``; the 70x70 PatchGAN's C64-C128-C256-C512 is ``filter_schedule(64, 4)``.

    Example:
        >>> filter_schedule(64, 8)
        [64, 128, 256, 512, 512, 512, 512, 512]
    """
    return [width * min(2 ** i, 8) for i in range(count)]


# ---------------------------------------------------------------------- helpers
def short_repr(value: Any, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters (a 5000-digit integer stays readable)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to convert to text
        text = f"<integer of {value.bit_length()} bits>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def max_patchgan_layers(image_size: int) -> int:
    """The deepest PatchGAN for a size: n stride-2 layers leave ``image_size // 2**n >= 3``.

    The two 4x4 stride-1 convolutions after them each take one pixel off the map, so a
    smaller map has no room for a logit.

    Example:
        >>> max_patchgan_layers(256), max_patchgan_layers(64)
        (6, 4)
    """
    n = 0
    while image_size // 2 ** (n + 1) >= 3:
        n += 1
    return n
