"""The one check of a split before training: every pair readable, one shape, the right size.

:func:`check_pairs` runs before a run folder is touched, so a bad file stops a run at once,
naming the file, instead of an hour in.
"""

from __future__ import annotations

import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


from ..config import Pix2PixConfig
from .files import DataError, Pair, list_pairs
from .images import check_image
from .shapes import input_size, preprocessed_shape, read_image_size, split_shape

def check_pairs(pairs: list[Pair], config: Pix2PixConfig | None = None, skip_bad: bool = False,
                decode: bool = True, workers: int = 8) -> list[Pair]:
    """Check every pair up front, so a bad file stops the run before training starts.

    Each pair gets, in one pass (``workers`` threads):

    1. ``decode``: every file decoded fully (:func:`check_image`): empty, truncated or
       corrupt files, an odd-width A|B file; without ``decode`` every file's header is read.
       Either way an image too large to decode here is refused from its header first
       (:func:`check_decodable`);
    2. with ``config``: its input's size read from the header and put through
       ``config.preprocess`` (:func:`~pix2pix_tf.data.shapes.preprocessed_shape`): too small
       for ``crop``, or stretched by more than 10% rounding to the generator's stride.

    Then the split must come out in one shape, so that batches stack: the shape most pairs
    give wins and a pair giving another one is a problem naming its file (only
    ``scale_width`` and ``none`` keep the files' shapes).

    Args:
        pairs: from :func:`list_pairs`.
        config: dataset_mode (colorization: a file is one image, any width), preprocess,
            direction and sizes. None: only ``decode``, files read as aligned A|B.
        skip_bad: instead of raising, leave bad pairs out and print one warning that counts
            them.
        decode: False skips step 1 (pairs already checked): only headers are read.

    Returns:
        The usable pairs, in order.

    Raises:
        DataError: for the first bad pair (in sorted order), unless ``skip_bad``; when no pair
            is usable; or for a layout ``dataset_mode`` cannot read.

    Example:
        >>> pairs = list_pairs("data/facades_synthetic", "train")  # doctest: +SKIP
        >>> len(check_pairs(pairs, Pix2PixConfig(image_size=64, load_size=72)))  # doctest: +SKIP
        8
    """

    if config is not None and config.dataset_mode == "colorization" and pairs[0][1] is not None:
        raise DataError(f"{pairs[0][0].parent}: dataset_mode 'colorization' reads single colour "
                        "images from DATA/<split>/*.jpg, not A/ and B/ folders")
    aligned = config is None or config.dataset_mode == "aligned"
    sizes = config is not None and config.preprocess in ("crop", "scale_width", "none")

    def probe(pair: Pair) -> tuple[tuple[int, int] | None, str | None]:
        """(its preprocessed (H, W) or None, the problem or None)."""
        a, b = pair
        try:
            if decode:
                check_image(a, aligned=aligned and b is None)
                if b is not None:
                    check_image(b, aligned=False)
            else:  # the headers: every file's size must be decodable here
                for path in (a, b) if b is not None else (a,):
                    read_image_size(path)
            if sizes:
                return preprocessed_shape(config, *input_size(pair, config), name=str(a)), None
            return None, None
        except DataError as e:
            return None, str(e)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(probe, pairs))
    shapes = Counter(shape for shape, _ in results if shape)
    shape = shapes.most_common(1)[0][0] if shapes else None
    problems = []
    for pair, (got, why) in zip(pairs, results):
        if got is not None and got != shape:
            why = (f"{pair[0]}: preprocess '{config.preprocess}' makes its input {got[1]}x{got[0]}, "
                   f"but {shapes[shape]} of the {len(pairs)} images become {shape[1]}x{shape[0]}; "
                   "a batch needs one shape: give the split one "
                   + ("size" if config.preprocess == "none" else "aspect ratio")
                   + " or use a cropping preprocess")
        problems.append(why)

    bad = [why for why in problems if why]
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more bad file(s); --skip-bad-files leaves them out)" if len(bad) > 1 else ""
        raise DataError(bad[0] + more)
    if bad:
        print(f"pix2pix-tf: warning: skipped {len(bad)} bad pair(s) of {len(pairs)} in "
              f"{pairs[0][0].parent}; first: {bad[0]}", file=sys.stderr)
    good = [pair for pair, why in zip(pairs, problems) if not why]
    if not good:
        raise DataError(f"{pairs[0][0].parent}: none of the {len(pairs)} images is usable")
    return good


def split_pairs(data_dir: str | Path, split: str, check: bool = True, skip_bad: bool = False,
                config: Pix2PixConfig | None = None) -> list[Pair]:
    """The pairs of one split (:func:`list_pairs`), checked (:func:`check_pairs`).

    With ``config`` the files are read as its ``dataset_mode`` says and checked against its
    ``preprocess`` too, so every data problem surfaces here, before a run folder is touched.

    Args:
        check: False: no decoding (with ``config``, the headers are still checked).
        skip_bad: leave bad pairs out with one warning instead of raising.

    Example:
        >>> len(split_pairs("data/facades_synthetic", "test"))  # doctest: +SKIP
        2
    """
    pairs = list_pairs(data_dir, split)
    if check or config is not None:
        pairs = check_pairs(pairs, config, skip_bad=skip_bad, decode=check)
    return pairs


def train_image_shape(config: Pix2PixConfig, data_dir_or_pairs: str | Path | list[Pair],
                      split: str = "train") -> tuple[int, int]:
    """The (H, W) of the training examples: the spatial shape to build G and D for.

    ``(image_size, image_size)`` for the cropping modes; from the files for ``scale_width``
    and ``none`` (non-square data trains non-square).

    Args:
        config: the run's config.
        data_dir_or_pairs: a dataset folder (its ``split`` is listed) or pairs from
            :func:`~pix2pix_tf.data.checks.split_pairs`.

    Raises:
        DataError: as :func:`~pix2pix_tf.data.checks.check_pairs` (naming the first file that
            does not fit).

    Example:
        >>> train_image_shape(Pix2PixConfig(image_size=64, load_size=72), "data/facades_synthetic")
        (64, 64)
    """
    if config.preprocess in ("resize_and_crop", "scale_width_and_crop"):
        return config.image_size, config.image_size
    pairs = (list_pairs(data_dir_or_pairs, split) if isinstance(data_dir_or_pairs, (str, Path))
             else data_dir_or_pairs)
    return split_shape(check_pairs(pairs, config, decode=False), config)
