"""Paired image files -> tf.data pipelines (paper appendix 6.2).

Four files, read in this order, each one concept:

- ``files.py``: the folder layouts, reading an image, and :func:`check_pairs`, the ONE check
  of a split before training (every file decoded; with a config, every input fits
  ``preprocess`` and the split comes out in one shape). :class:`DataError` names the file.
- ``shapes.py``: the (H, W) each ``preprocess`` mode gives (the table is there), from file
  headers only; rounding to ``config.generator_stride``; :func:`train_image_shape`.
- ``jitter.py``: the paper's :func:`random_jitter` (resize to 286, same random 256 crop and
  mirror for input and target), :func:`eval_preprocess`, :func:`normalize` to [-1, 1].
- ``pipeline.py``: decoding A|B files and :func:`make_dataset`, the tf.data pipeline
  (shuffle, jitter, batch, prefetch; an in-memory cache that keeps the stream bit for bit).

Everything public is importable from here: ``from pix2pix_tf.data import make_dataset``.

Example:
    >>> from pix2pix_tf.config import Pix2PixConfig
    >>> ds, n = make_dataset("data/facades_synthetic", "train",
    ...                      Pix2PixConfig(image_size=64, load_size=72))  # doctest: +SKIP
"""

from .checks import check_pairs, split_pairs, train_image_shape
from .files import (IMAGE_EXTENSIONS, TEST_SPLITS, DataError, find_test_split, list_images,
                    list_pairs, split_dir)
from .images import check_image, read_image
from ..jitter import (eval_preprocess, normalize, orient, random_jitter, resize,
                      resize_to_load_size, to_uint8)
from .pipeline import (CACHE_BUDGET_BYTES, cache_bytes, decode_pair, decode_separate,
                       load_pair_file, load_test_example, load_train_example, make_dataset)
from .shapes import (MAX_STRETCH, generator_stride, input_size, preprocessed_shape,
                     read_image_size, split_shape)

__all__ = [
    # files
    "IMAGE_EXTENSIONS", "TEST_SPLITS", "DataError", "list_images", "split_dir", "find_test_split",
    "list_pairs", "read_image", "check_image", "check_pairs", "split_pairs",
    # shapes
    "MAX_STRETCH", "generator_stride", "read_image_size", "input_size", "preprocessed_shape",
    "split_shape", "train_image_shape",
    # jitter
    "orient", "resize", "resize_to_load_size", "random_jitter", "eval_preprocess", "normalize",
    "to_uint8",
    # pipeline
    "decode_pair", "decode_separate", "load_train_example", "load_test_example", "cache_bytes",
    "CACHE_BUDGET_BYTES", "make_dataset", "load_pair_file",
]
