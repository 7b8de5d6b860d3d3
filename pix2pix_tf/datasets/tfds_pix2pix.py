"""A TensorFlow Datasets builder for the six standard pix2pix datasets: ``pix2pix/NAME``.

TFDS ships only the unpaired ``cycle_gan/*`` datasets; this builder adds the paired ones
of the paper's authors (the archives of :mod:`pix2pix_tf.datasets.standard`). Importing
this module registers the builder :class:`Pix2pix` under the name ``pix2pix``, with one
config per dataset: ``pix2pix/cityscapes``, ``pix2pix/edges2handbags``,
``pix2pix/edges2shoes``, ``pix2pix/facades``, ``pix2pix/maps``, ``pix2pix/night2day``.

Each aligned A|B file of the archive becomes one example::

    {"image_a": (H, W, 3) uint8,   # the left half of the file
     "image_b": (H, W, 3) uint8,   # the right half
     "file_name": "1.jpg"}         # the file's name inside its split folder

Both halves are stored losslessly (PNG), so they hold exactly the pixels that
:func:`pix2pix_tf.data.make_dataset` decodes from the archive's JPEG (the price: the
prepared dataset takes more disk space than the JPEG archive).
``as_supervised=True`` gives ``(input, target)`` in the paper's direction
(:data:`~pix2pix_tf.datasets.standard.PAPER_DIRECTIONS`: ``(image_b, image_a)`` for
facades and cityscapes, ``(image_a, image_b)`` for the other four).

Splits are read from the archive, not hard-coded: every ``{name}/SPLIT/`` folder holding
images is a split (all six have ``train`` and ``val``; facades and night2day also
``test``, as the archives were at the time of writing).

Example:
    >>> import tensorflow_datasets as tfds
    >>> import pix2pix_tf.datasets.tfds_pix2pix      # registers "pix2pix"
    >>> ds = tfds.load("pix2pix/facades", split="train")  # downloads ~30 MB once  # doctest: +SKIP
    >>> # offline: a folder holding facades.tar.gz or the extracted facades/
    >>> ds = load_tfds("facades", "train", manual_dir="/content/archives")  # doctest: +SKIP
    >>> pairs = as_pairs(ds, Pix2PixConfig(direction="BtoA"), training=True).batch(1)  # doctest: +SKIP

Reference: Isola et al. 2017, section 4 (datasets) and appendix 6.2.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from ..config import Pix2PixConfig
from ..data import normalize, orient, random_jitter, read_image, resize
from . import standard
from .standard import (IMAGE_SUFFIXES, PAPER_DIRECTIONS, STANDARD_DATASETS, DatasetError, check_name,
                       dataset_url, find_splits)

BASE_URL = standard.BASE_URL  # where the builder downloads {name}.tar.gz from (tests point it elsewhere)

_DESCRIPTIONS = {
    "cityscapes": "Cityscapes street scenes: A photo, B semantic label colours (2975 train pairs).",
    "edges2handbags": "Amazon handbags: A HED edges, B photo (138567 train pairs).",
    "edges2shoes": "UT Zappos50K shoes: A HED edges, B photo (49825 train pairs).",
    "facades": "CMP Facades: A photo, B architectural label colours (400 train pairs).",
    "maps": "Google Maps around New York: A aerial photo, B map (1096 train pairs).",
    "night2day": "Transient Attributes webcams: A night, B day (17823 train pairs).",
}

_CITATION = """
@inproceedings{isola2017image,
  title={Image-to-Image Translation with Conditional Adversarial Networks},
  author={Isola, Phillip and Zhu, Jun-Yan and Zhou, Tinghui and Efros, Alexei A},
  booktitle={Computer Vision and Pattern Recognition (CVPR)},
  year={2017}
}
"""


class Pix2pix(tfds.core.GeneratorBasedBuilder):
    """The paired pix2pix datasets; TFDS derives the registered name ``pix2pix`` from this class name.

    Data source, in this order:

    1. ``manual_dir`` (``tfds.download.DownloadConfig(manual_dir=...)``), when it holds
       ``{name}.tar.gz``, the extracted ``{name}/`` folder, or is itself that folder.
    2. Otherwise ``dl_manager.download_and_extract`` of ``{BASE_URL}/{name}.tar.gz``.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: image_a, image_b, file_name; splits from the archive."}
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=name, description=_DESCRIPTIONS[name])
                       for name in STANDARD_DATASETS]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Only needed offline (otherwise the archive is downloaded). Put ONE of these in
    `manual_dir` (for the config NAME, e.g. facades):

    * the archive `NAME.tar.gz`, as downloaded from
      http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/NAME.tar.gz
    * the extracted folder `NAME/` holding `train/`, `val/` (and `test/`) of aligned
      A|B .jpg images (e.g. what `pix2pix-tf download NAME` wrote)

    `manual_dir` may also be the extracted `NAME/` folder itself. Pass it with
    `tfds.load("pix2pix/NAME", download_and_prepare_kwargs={"download_config":
    tfds.download.DownloadConfig(manual_dir=DIR)})` or
    `pix2pix_tf.datasets.tfds_pix2pix.load_tfds(NAME, manual_dir=DIR)`.
    """

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls) -> epath.Path:
        """This file. TFDS 4.9.10 finds it with ``importlib_resources``, which it does not
        install on Python >= 3.9 (tensorflow/datasets#11212); the answer is the same."""
        return epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        name = self.builder_config.name
        image = tfds.features.Image(shape=(None, None, 3), dtype=np.uint8, encoding_format="png")
        supervised = ("image_b", "image_a") if PAPER_DIRECTIONS[name] == "BtoA" else ("image_a", "image_b")
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image_a": image,  # left half of the aligned file
                "image_b": image,  # right half
                "file_name": tfds.features.Text(),
            }),
            supervised_keys=supervised,  # (input, target) in the paper's direction
            homepage="https://phillipi.github.io/pix2pix/",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        name = self.builder_config.name
        root = _manual_source(dl_manager, name)
        if root is None:
            extracted = dl_manager.download_and_extract(dataset_url(name, BASE_URL))
            root = _dataset_root(Path(os.fspath(extracted)), name)
        return {split: self._generate_examples(folder) for split, folder in find_splits(root).items()}

    def _generate_examples(self, folder: Path):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith(".") or not path.is_file():
                continue  # also skips macOS "._1.jpg" resource forks
            ab = read_image(path, channels=3).numpy()  # (H, 2W, 3); DataError names a bad file
            width = ab.shape[1]
            if width % 2:
                raise DatasetError(f"{path}: width {width} is odd; an aligned A|B image has A and B "
                                   "side by side, each half the width")
            yield path.name, {"image_a": ab[:, :width // 2], "image_b": ab[:, width // 2:],
                              "file_name": path.name}


def _manual_source(dl_manager: tfds.download.DownloadManager, name: str) -> Path | None:
    """The extracted dataset folder found in ``manual_dir``, or None to download."""
    try:
        manual = Path(os.fspath(dl_manager.manual_dir))
    except AssertionError:  # TFDS: no manual_dir, or it is missing or empty
        return None
    archive = manual / f"{name}.tar.gz"
    if archive.is_file():
        return _dataset_root(Path(os.fspath(dl_manager.extract(archive))), name)
    for folder in [manual / name] + ([manual] if manual.name == name else []):
        if find_splits(folder):
            return folder
    logging.warning("pix2pix/%s: manual_dir %s holds neither %s.tar.gz nor %s/ with split folders; "
                    "downloading instead", name, manual, name, name)
    return None


def _dataset_root(extracted: Path, name: str) -> Path:
    """``extracted/name`` (the archives' layout), or ``extracted`` if the splits are at its top."""
    for folder in (extracted / name, extracted):
        if find_splits(folder):
            return folder
    raise DatasetError(f"{extracted}: extracted {name}, but found no {name}/train/ (or other split "
                       "folder) with images in it")


def load_tfds(name: str, split: str | None = "train", data_dir: str | os.PathLike | None = None,
              manual_dir: str | os.PathLike | None = None, **load_kwargs):
    """``tfds.load("pix2pix/NAME")``, preparing it from ``manual_dir`` when one is given.

    Args:
        name: one of :data:`~pix2pix_tf.datasets.standard.STANDARD_DATASETS`.
        split: "train", "val", "test" (where the archive has it), a TFDS split expression
            ("train[:10%]"), or None for a dict of all splits.
        data_dir: where TFDS keeps prepared datasets (default ``~/tensorflow_datasets``).
        manual_dir: a folder holding ``{name}.tar.gz`` or the extracted ``{name}/`` (or that
            folder itself); without it (or when it holds neither) the archive is downloaded.
        **load_kwargs: passed to ``tfds.load`` (``as_supervised``, ``with_info``, ...).

    Returns:
        What ``tfds.load`` returns: a ``tf.data.Dataset`` of
        ``{"image_a", "image_b", "file_name"}`` examples (see the module docstring).

    Raises:
        DatasetError: unknown ``name`` (the message lists the six names).

    Example:
        >>> ds = load_tfds("facades", "val", manual_dir="/content/archives")  # doctest: +SKIP
        >>> next(iter(ds))["image_a"].shape  # doctest: +SKIP
        TensorShape([256, 256, 3])
    """
    check_name(name)
    config = tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir) if manual_dir else None)
    return tfds.load(f"pix2pix/{name}", split=split, data_dir=os.fspath(data_dir) if data_dir else None,
                     download_and_prepare_kwargs={"download_config": config}, **load_kwargs)


def as_pairs(ds: tf.data.Dataset, config: Pix2PixConfig, training: bool = False) -> tf.data.Dataset:
    """Turn ``pix2pix/*`` examples into the trainer's ``(input, target)`` pairs.

    The same preprocessing as :func:`pix2pix_tf.data.make_dataset`: ``config.direction``
    picks the input half, then training pairs get the paper's random jitter (resize to
    ``load_size``, the same random ``image_size`` crop of both, mirroring), seeded by
    ``config.seed`` and the example's position; evaluation pairs are only resized.
    Shuffle, repeat and batch the result yourself. Only the paper's preprocessing
    (``preprocess="resize_and_crop"``, ``dataset_mode="aligned"``) is done here; for the
    other modes train on the folder that ``pix2pix-tf download NAME`` writes.

    Args:
        ds: examples from :func:`load_tfds` (decoded, not ``as_supervised``).
        config: sizes, channels, direction, jitter and seed.
        training: jitter (True) or only resize (False).

    Returns:
        Dataset of ``(input, target)`` float32 ``(image_size, image_size, C)`` in [-1, 1].

    Raises:
        DatasetError: ``config`` asks for another ``preprocess`` or ``dataset_mode``.

    Example:
        >>> cfg = Pix2PixConfig(image_size=64, load_size=72, direction="BtoA")
        >>> pairs = as_pairs(load_tfds("facades", "train"), cfg, training=True)  # doctest: +SKIP
        >>> x, y = next(iter(pairs))   # (64, 64, 3) each: labels in, photo out  # doctest: +SKIP
    """
    if (config.preprocess, config.dataset_mode) != ("resize_and_crop", "aligned"):
        raise DatasetError(f"as_pairs does preprocess='resize_and_crop', dataset_mode='aligned' only, not "
                           f"{config.preprocess!r}, {config.dataset_mode!r}: use make_dataset on the "
                           "folder that `pix2pix-tf download` writes")
    s = config.image_size

    def oriented(example):  # (H, W, C) float32 in [0, 255] each, input first
        a, b = (tf.cast(example[key], tf.float32) for key in ("image_a", "image_b"))
        return orient(a, b, config)

    if training:
        def jitter(index, example):
            seed = tf.stack([tf.cast(config.seed, tf.int64), index])  # fresh crops per position
            a, b = random_jitter(*oriented(example), config, seed)  # (s, s, C) each
            return normalize(a), normalize(b)
        return ds.enumerate().map(jitter, num_parallel_calls=tf.data.AUTOTUNE)

    def resized(example):  # evaluation: only resized to image_size
        a, b = oriented(example)
        a = tf.ensure_shape(resize(a, s, config.resize_method), (s, s, config.input_channels))
        b = tf.ensure_shape(resize(b, s, config.resize_method), (s, s, config.output_channels))
        return normalize(a), normalize(b)
    return ds.map(resized, num_parallel_calls=tf.data.AUTOTUNE)
