"""SuccessorConfig: the paper's config plus the quality levers of pix2pix's successors.

Each lever is off by default, so ``SuccessorConfig()`` trains exactly the paper's model. The
fields are saved in the same flat ``config.json`` as the paper's;
:func:`config_from_dict` reads either kind back into the smallest class that holds it.

Example:
    >>> cfg = SuccessorConfig.preset("quality", image_size=64, load_size=72)
    >>> cfg.ema_decay, cfg.spectral_norm
    (0.999, True)
    >>> type(config_from_dict(Pix2PixConfig().to_dict())).__name__
    'Pix2PixConfig'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .. import config as paper
from ..config import ConfigError, Pix2PixConfig, choice, short_repr

GAN_MODES = (*paper.GAN_MODES, "hinge")  # + the hinge loss (Lim & Ye 2017, Miyato et al. 2018)
NET_GS = (*paper.NET_GS, "resnet_6blocks", "resnet_9blocks")  # + CycleGAN's ResNet generator
UPSAMPLES = ("transpose", "resize")  # the decoder's upsampling: transposed conv (paper) or resize + conv
MAX_NUM_D = 3  # pix2pixHD's multi-scale discriminator: full, 1/2 and 1/4 size
PERCEPTUAL_SUFFIXES = (".keras", ".h5")  # a Keras feature-extractor model, or VGG19 no-top weights


@dataclasses.dataclass
class SuccessorConfig(Pix2PixConfig):
    """The paper's settings (:class:`~pix2pix_tf.config.Pix2PixConfig`) and the successors' levers.

    Trained by :class:`pix2pix_tf.successors.model.SuccessorPix2Pix`.
    """

    net_g: str = choice("unet", NET_GS)  # the paper's generators, or CycleGAN's resnet_6blocks / resnet_9blocks
    gan_mode: str = choice("vanilla", GAN_MODES)  # the paper's cross-entropy; "lsgan"; "hinge"
    # ---- quality levers from pix2pix's successors (not in the paper; all off by default) ----
    ema_decay: float = 0.0  # evaluate/export an exponential moving average of G's weights (0 = off; e.g. 0.999)
    lambda_fm: float = 0.0  # pix2pixHD feature matching: L1 between D's features on real and fake pairs (0 = off)
    num_d: int = 1  # pix2pixHD multi-scale D: PatchGANs on the pair at full, 1/2, 1/4 size (1 = the paper)
    spectral_norm: bool = False  # spectral normalization of D's convolutions (Miyato et al. 2018)
    lambda_perceptual: float = 0.0  # L1 between a local feature network's features of y and G(x) (0 = off)
    perceptual_weights: str = ""  # that network: a .keras feature extractor or VGG19 no-top .h5 (never downloaded)
    upsample: str = choice("transpose", UPSAMPLES)  # 4x4 stride-2 transposed conv (paper); "resize": nearest 2x + 3x3 conv

    FIXED_DEPTHS = {**Pix2PixConfig.FIXED_DEPTHS, "resnet_6blocks": 2, "resnet_9blocks": 2}

    def validate(self) -> "SuccessorConfig":
        """The paper's checks, then the levers': each refusal names its field."""
        super().validate()

        def need(cond: bool, field: str, msg: str) -> None:
            if not cond:
                raise ConfigError(f"config field '{field}' = {short_repr(getattr(self, field))}: {msg}",
                                  field=field)

        need(0.0 <= self.ema_decay < 1.0, "ema_decay", "must be in [0, 1) (0 = off)")
        need(self.lambda_fm >= 0, "lambda_fm", "must be >= 0 (0 = off)")
        need(1 <= self.num_d <= MAX_NUM_D, "num_d", f"must be in 1..{MAX_NUM_D}")
        need(self.lambda_perceptual >= 0, "lambda_perceptual", "must be >= 0 (0 = off)")
        need(isinstance(self.perceptual_weights, str), "perceptual_weights", "must be a path (text)")
        has_d = self.loss != "l1"  # loss "l1" trains no discriminator: D's levers would do nothing
        need(has_d or self.lambda_fm == 0, "lambda_fm", "needs a discriminator; loss 'l1' has none")
        need(has_d or self.num_d == 1, "num_d", "needs a discriminator; loss 'l1' has none")
        need(has_d or not self.spectral_norm, "spectral_norm", "needs a discriminator; loss 'l1' has none")
        need(self.lambda_perceptual == 0 or self.perceptual_weights.strip() != "", "perceptual_weights",
             "must name a local .keras or .h5 file when lambda_perceptual > 0 (nothing is downloaded)")
        return self

    def check_trainable(self) -> "SuccessorConfig":
        """The paper's check (:meth:`Pix2PixConfig.check_trainable`) at D's smallest scale when
        ``num_d > 1``, and a readable ``perceptual_weights`` file when ``lambda_perceptual > 0``
        (checked here, loaded at the first training step)."""
        self.validate()
        smallest = self.image_size
        for _ in range(self.num_d - 1):  # 3x3 stride-2 "same" average pooling per scale
            smallest = -(-smallest // 2)
        if self.num_d > 1:
            self.check_patchgan_depth(smallest, f" at D's smallest scale ({smallest} pixels, num_d {self.num_d})")
        super().check_trainable()
        if self.lambda_perceptual > 0:
            check_perceptual_file(self.perceptual_weights)
        return self

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        return PRESETS


# the paper's presets (:data:`pix2pix_tf.config.PRESETS`) and the successors' own
PRESETS: dict[str, dict[str, Any]] = {
    "paper": paper.PRESETS["paper"],
    # the best combination at equal steps in benchmarks/quality_levers.py (figures in
    # benchmarks/README.md): the EMA of G with spectral normalization on D
    "quality": {"ema_decay": 0.999, "spectral_norm": True},
    **paper.PRESETS,  # and the paper's other presets (lite32, lite16)
}


def uses_levers(config: Pix2PixConfig) -> bool:
    """Whether ``config`` needs the successors' model: a lever on, or a choice the paper's
    fields do not offer (the hinge loss, a ResNet generator)."""
    return paper.as_paper_config(config) is None


def config_from_dict(values: dict[str, Any]) -> Pix2PixConfig:
    """The smallest config class that holds ``values``: the paper's, unless a lever is on.

    Reads every ``config.json`` a run has written, including those holding the levers at
    their defaults (runs written before the levers had a class of their own): the paper's
    config is returned for them.

    Raises:
        ConfigError: unknown fields or bad values (one line naming the field).
    """
    config = SuccessorConfig.from_dict(values)
    return paper.as_paper_config(config) or config


def make_config(**values: Any) -> Pix2PixConfig:
    """A config from field values, of the smallest class that holds them (see :func:`config_from_dict`)."""
    return config_from_dict(values)


def preset(name: str, **overrides: Any) -> Pix2PixConfig:
    """Any preset (:data:`PRESETS`) with ``overrides``, as the smallest class that holds it.

    Example:
        >>> type(preset("lite32")).__name__, type(preset("quality")).__name__
        ('Pix2PixConfig', 'SuccessorConfig')
    """
    return config_from_dict(SuccessorConfig.preset(name, **overrides).to_dict())


def preset_fields() -> set[str]:
    """The fields some preset sets: what ``--preset`` decides (checked against a resumed run).

    Example:
        >>> sorted(preset_fields())
        ['ema_decay', 'ngf', 'spectral_norm']
    """
    return {name for values in PRESETS.values() for name in values}


def check_perceptual_file(path: str) -> None:
    """Refuse a ``perceptual_weights`` path that is not a readable local .keras / .h5 file.

    Only the file is checked (no TensorFlow needed); the network is loaded at the first
    training step (:mod:`pix2pix_tf.successors.perceptual`). Nothing is ever downloaded.

    Raises:
        ConfigError: one line naming the field and the path.
    """
    def refuse(why: str) -> None:
        raise ConfigError(f"config field 'perceptual_weights' = {short_repr(path, 300)}: {why} "
                          "(lambda_perceptual > 0 needs a local file; nothing is downloaded)",
                          field="perceptual_weights")

    file = Path(path).expanduser()
    if file.suffix.lower() not in PERCEPTUAL_SUFFIXES:
        refuse("must be a .keras feature-extractor model or VGG19 no-top .h5 weights")
    if not file.exists():
        refuse("file not found")
    if not file.is_file():
        refuse("is not a file")
    try:
        with open(file, "rb") as f:
            f.read(1)
    except OSError as e:
        refuse(f"cannot be read ({e.strerror or e})")
