"""Pix2PixConfig: every knob of the model, the data and the training, with the paper's defaults.

Each field that encodes a choice from the paper (Isola et al., CVPR 2017) carries a
comment naming the section it comes from. The config is saved as ``config.json`` in
every run directory and can be read back with :meth:`Pix2PixConfig.load`.

Example:
    >>> cfg = Pix2PixConfig(image_size=64, load_size=72)
    >>> Pix2PixConfig.from_json(cfg.to_json()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

DIRECTIONS = ("AtoB", "BtoA")
NORMS = ("batch", "instance", "none")
GAN_MODES = ("vanilla", "lsgan")
GAN_UPDATES = ("simultaneous", "alternating")
INFERENCE_MODES = ("deterministic", "paper", "moving_average")
RESIZE_METHODS = ("bicubic", "bilinear", "nearest", "area")
LR_POLICIES = ("constant", "linear")
NET_GS = ("unet", "unet_256", "unet_128", "encoder_decoder", "resnet_6blocks", "resnet_9blocks")
NET_DS = ("patch", "pixel")
LOSSES = ("l1+cgan", "l1", "cgan", "l1+gan", "gan")
RECON_LOSSES = ("l1", "l2")
PREPROCESSES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
DATASET_MODES = ("aligned", "colorization")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
CONV_IMPLS = ("auto", "native", "matmul")
STRATEGIES = ("none", "mirrored", "multiworker", "tpu", "auto")  # tf.distribute (run option, not config)
MAX_UNET_DEPTH = 8  # the paper's U-Net has 8 downsamplings (256 -> 1x1)


class Pix2PixError(ValueError):
    """Base of the errors caused by user input; the CLI prints them as one line and exits 2."""

    exit_code = 2


class ConfigError(Pix2PixError):
    """A configuration value is out of range or unknown; the message names the field."""


def default_load_size(image_size: int) -> int:
    """The paper's jitter ratio 286/256 applied to another size (64 -> 72, 128 -> 143)."""
    return int(round(image_size * 286 / 256))


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
    direction: str = "AtoB"  # which half of an aligned A|B file is the input
    resize_method: str = "bicubic"  # interpolation used by resizing (reference code: bicubic)
    preprocess: str = "resize_and_crop"  # jitter: resize to load_size, crop image_size (paper); see data.py
    dataset_mode: str = "aligned"  # A|B files or A/ B/ folders; "colorization": input = gray(target)

    # ---- generator (section 3.1, appendix 6.1.1) ----
    net_g: str = "unet"  # U-Net, depth from image_size (paper); unet_256/128, encoder_decoder, resnet_*
    ngf: int = 64  # filters of the first generator layer (C64)
    unet_depth: int | None = None  # number of downsamplings; None = follow image_size (8 at 256)
    dropout_rate: float = 0.5  # dropout "as noise" in the first decoder blocks (section 3.1)
    num_dropout_blocks: int = 3  # decoder blocks with dropout: CD512-CD512-CD512
    # ---- discriminator (section 3.2.2, appendix 6.1.2) ----
    net_d: str = "patch"  # PatchGAN with n_layers_d layers (paper); "pixel" = 1x1 PixelGAN
    ndf: int = 64  # filters of the first discriminator layer (C64)
    n_layers_d: int = 3  # 3 -> 70x70 PatchGAN; 0 -> 1x1 PixelGAN; 1 -> 16x16; 5 -> 286x286
    # ---- shared by both networks ----
    norm: str = "batch"  # batch norm (paper); "instance" or "none" for ablations
    sync_batch_norm: bool = False  # batch statistics over all replicas under tf.distribute
    leaky_slope: float = 0.2  # LeakyReLU slope in the encoder and D (appendix 6.1)
    init_stddev: float = 0.02  # weights ~ N(0, 0.02) (appendix 6.2)

    # ---- objective (section 3.1, eq. 4) ----
    loss: str = "l1+cgan"  # the paper's objective; ablations (table 1): l1, cgan, l1+gan, gan
    recon_loss: str = "l1"  # the reconstruction term weighted by lambda_l1; "l2" = squared error
    gan_mode: str = "vanilla"  # cross-entropy cGAN loss on logits; "lsgan" for least squares
    lambda_l1: float = 100.0  # weight of the L1 term (lambda = 100)
    d_loss_weight: float = 0.5  # "we divide the objective by 2 while optimizing D" (section 3.3)
    gan_update: str = "simultaneous"  # one D pass on the fake serves D and G; "alternating" = D step then G step with the updated D

    # ---- optimisation (section 3.3) ----
    learning_rate: float = 2e-4  # Adam lr 0.0002
    beta_1: float = 0.5  # Adam momentum 0.5
    beta_2: float = 0.999  # Adam beta2 0.999
    batch_size: int = 1  # paper: batch size 1 (facades) to 10 (others); 1 by default
    lr_policy: str = "constant"  # "linear": constant, then linear decay to 0 (reference code)
    lr_decay_start: float = 0.5  # fraction of the steps after which the linear decay starts

    # ---- inference (section 3.3) ----
    inference_mode: str = "deterministic"  # see README: "paper" = test-batch BN stats + dropout noise

    # ---- speed (not in the paper: same maths, faster) ----
    precision: str = "float32"  # mixed_bfloat16 / mixed_float16 compute; "auto" picks per device
    conv_impl: str = "auto"  # 4x4 stride-2 convs on small maps as matmuls ("auto": on CPU only)

    seed: int = 0  # seeds data order, jitter and weight init

    # ------------------------------------------------------------------ helpers
    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "Pix2PixConfig":
        """Check every field; raise :class:`ConfigError` naming the first bad one."""

        def need(cond: bool, field: str, msg: str) -> None:
            if not cond:
                raise ConfigError(f"config field '{field}' = {getattr(self, field)!r}: {msg}")

        def one_of(field: str, choices: tuple[str, ...]) -> None:
            need(getattr(self, field) in choices, field, f"must be one of {', '.join(choices)}")

        for f in ("image_size", "load_size", "input_channels", "output_channels", "ngf", "ndf",
                  "batch_size", "num_dropout_blocks", "n_layers_d", "seed"):
            need(isinstance(getattr(self, f), int) and not isinstance(getattr(self, f), bool),
                 f, "must be an integer")
        need(self.image_size >= 8, "image_size", "must be at least 8")
        need(self.load_size >= self.image_size, "load_size",
             f"must be >= image_size ({self.image_size}): the random crop is taken from it")
        need(self.input_channels in (1, 3), "input_channels", "must be 1 (grayscale) or 3 (RGB)")
        need(self.output_channels in (1, 3), "output_channels", "must be 1 (grayscale) or 3 (RGB)")
        need(self.ngf > 0, "ngf", "must be positive")
        need(self.ndf > 0, "ndf", "must be positive")
        need(self.batch_size > 0, "batch_size", "must be positive")
        need(self.n_layers_d >= 0, "n_layers_d", "must be >= 0")
        need(self.num_dropout_blocks >= 0, "num_dropout_blocks", "must be >= 0")
        need(0.0 <= self.dropout_rate < 1.0, "dropout_rate", "must be in [0, 1)")
        need(0.0 <= self.leaky_slope < 1.0, "leaky_slope", "must be in [0, 1)")
        need(self.init_stddev > 0, "init_stddev", "must be positive")
        need(self.lambda_l1 >= 0, "lambda_l1", "must be >= 0")
        need(self.d_loss_weight > 0, "d_loss_weight", "must be positive")
        need(self.learning_rate > 0 and math.isfinite(self.learning_rate), "learning_rate",
             "must be a positive number")
        need(0.0 <= self.beta_1 < 1.0, "beta_1", "must be in [0, 1)")
        need(0.0 <= self.beta_2 < 1.0, "beta_2", "must be in [0, 1)")
        need(0.0 <= self.lr_decay_start <= 1.0, "lr_decay_start", "must be in [0, 1]")
        one_of("direction", DIRECTIONS)
        one_of("norm", NORMS)
        one_of("gan_mode", GAN_MODES)
        one_of("gan_update", GAN_UPDATES)
        one_of("inference_mode", INFERENCE_MODES)
        one_of("resize_method", RESIZE_METHODS)
        one_of("lr_policy", LR_POLICIES)
        one_of("net_g", NET_GS)
        one_of("net_d", NET_DS)
        one_of("loss", LOSSES)
        one_of("recon_loss", RECON_LOSSES)
        one_of("preprocess", PREPROCESSES)
        one_of("dataset_mode", DATASET_MODES)
        one_of("precision", PRECISIONS)
        one_of("conv_impl", CONV_IMPLS)
        need(self.dataset_mode != "colorization" or self.input_channels == 1, "input_channels",
             "must be 1 with dataset_mode colorization (the input is the grayscale target)")
        depth = self.generator_depth  # raises ConfigError when the size does not fit net_g
        need(depth >= 2, "image_size", "is too small for a U-Net (need at least 2 downsamplings)")
        need(self.loss != "l1" or self.lambda_l1 > 0, "lambda_l1",
             "must be > 0 with loss 'l1' (it is the only term of the objective)")
        return self

    @property
    def generator_depth(self) -> int:
        """Number of stride-2 downsamplings of the generator ``net_g``.

        ``unet`` and ``encoder_decoder``: as many halvings as the size allows, at most 8
        (or ``unet_depth``); ``unet_256``: 8 and ``unet_128``: 7, fixed as in the reference
        code; ``resnet_*``: 2. Raises :class:`ConfigError` naming the field when the image
        size does not fit the generator.

        Example:
            >>> Pix2PixConfig(image_size=64, load_size=72).generator_depth
            6
        """
        fixed = {"unet_256": 8, "unet_128": 7, "resnet_6blocks": 2, "resnet_9blocks": 2}.get(self.net_g)
        if fixed is not None:
            if self.unet_depth is not None and self.unet_depth != fixed:
                raise ConfigError(
                    f"config field 'unet_depth' = {self.unet_depth!r}: net_g {self.net_g!r} has a fixed "
                    f"depth of {fixed}; leave unet_depth unset or use net_g 'unet'")
            if self.image_size % (2 ** fixed):
                raise ConfigError(
                    f"config field 'image_size' = {self.image_size}: net_g {self.net_g!r} needs a "
                    f"multiple of {2 ** fixed}")
            return fixed
        if self.unet_depth is not None:
            if not isinstance(self.unet_depth, int) or self.unet_depth < 2:
                raise ConfigError(f"config field 'unet_depth' = {self.unet_depth!r}: must be an integer >= 2")
            if self.image_size % (2 ** self.unet_depth):
                raise ConfigError(
                    f"config field 'image_size' = {self.image_size}: must be divisible by "
                    f"2**unet_depth = {2 ** self.unet_depth}")
            return self.unet_depth
        depth = 0
        while depth < MAX_UNET_DEPTH and self.image_size % (2 ** (depth + 1)) == 0:
            depth += 1
        if depth < 2:
            raise ConfigError(
                f"config field 'image_size' = {self.image_size}: must be divisible by 4 at least "
                "(a power of two such as 64, 128, 256 is best)")
        return depth

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
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Pix2PixConfig":
        path = Path(path)
        try:
            return cls.from_json(path.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: not valid JSON ({e})") from None

    def replace(self, **changes: Any) -> "Pix2PixConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
