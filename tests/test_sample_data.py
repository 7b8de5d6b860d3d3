"""The committed sample in data/ is what the package generates, and is usable."""

import numpy as np
import tensorflow as tf

from conftest import SAMPLE_DATA
from pix2pix_tf.data import check_image, list_images
from pix2pix_tf.datasets.synthetic import write_sample


def _files(root):
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.jpg"))}


def test_committed_sample_matches_make_sample(tmp_path):
    info = write_sample(tmp_path / "fresh", n_train=40, n_test=10, size=256, seed=0)
    assert info["train"] == 40 and info["test"] == 10
    committed, fresh = _files(SAMPLE_DATA), _files(tmp_path / "fresh")
    assert len(committed) == 50 and committed.keys() == fresh.keys()
    for name, path in committed.items():
        if path.read_bytes() != fresh[name].read_bytes():  # another libjpeg: compare pixels
            a = tf.io.decode_jpeg(path.read_bytes()).numpy().astype(float)
            b = tf.io.decode_jpeg(fresh[name].read_bytes()).numpy().astype(float)
            assert np.abs(a - b).mean() < 1.0, name


def test_committed_sample_is_aligned_and_small():
    files = list_images(SAMPLE_DATA / "train") + list_images(SAMPLE_DATA / "test")
    assert all(check_image(f) == (256, 512, 3) for f in files)
    assert sum(f.stat().st_size for f in files) < 4 * 2 ** 20
