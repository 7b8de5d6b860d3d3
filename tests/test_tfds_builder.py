"""pix2pix_tf.datasets.tfds_pix2pix: the `pix2pix/NAME` TFDS builder, built offline.

Every build reads a small archive or folder made here: from ``manual_dir``, or downloaded
from an HTTP server on 127.0.0.1 started by the test. Any other connection fails the test.
"""

from __future__ import annotations

import functools
import http.server
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import write_image
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.datasets import standard, tfds_pix2pix

SIZE = 32
RED, BLUE = (200, 30, 30), (30, 30, 200)


def _pair(index: int) -> np.ndarray:
    """A red-ish left half (A) and a blue-ish right half (B); green = 20 * index tells files apart."""
    a = np.full((SIZE, SIZE, 3), RED, np.uint8)
    b = np.full((SIZE, SIZE, 3), BLUE, np.uint8)
    a[..., 1] = b[..., 1] = 20 * index
    return np.concatenate([a, b], axis=1)  # (32, 64, 3)


def _dataset_folder(root: Path, name: str, splits: dict[str, int]) -> Path:
    """root/name/SPLIT/{1..n}.jpg, laid out like the real archives."""
    for split, n in splits.items():
        for i in range(1, n + 1):
            write_image(root / name / split / f"{i}.jpg", _pair(i))
    (root / name / "README.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / name / "README.txt").write_text("not an image, not a split")
    return root / name


def _archive(folder: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / f"{folder.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


@pytest.fixture
def offline(monkeypatch):
    """Fail any connection that is not to this machine, and any download TFDS starts."""
    connect = socket.socket.connect

    def local_only(sock, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"test tried to connect to {address}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    calls = []

    def no_download(self, url):
        calls.append(url)
        raise AssertionError(f"the builder downloaded {url} although manual_dir holds the data")

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", no_download)
    return calls


def _check_examples(ds: tf.data.Dataset, n: int) -> None:
    """n examples, 32x32x3 halves: A red, B blue, the green level matching the file name."""
    names = []
    for ex in ds:
        a, b = ex["image_a"].numpy().astype(int), ex["image_b"].numpy().astype(int)
        assert a.shape == b.shape == (SIZE, SIZE, 3) and ex["image_a"].dtype == tf.uint8
        name = ex["file_name"].numpy().decode()
        index = int(Path(name).stem)
        assert np.abs(a.mean((0, 1)) - (RED[0], 20 * index, RED[2])).max() < 4, name  # left half
        assert np.abs(b.mean((0, 1)) - (BLUE[0], 20 * index, BLUE[2])).max() < 4, name  # right half
        names.append(name)
    assert sorted(names) == [f"{i}.jpg" for i in range(1, n + 1)]


def test_registered_as_pix2pix_with_one_config_per_dataset(tmp_path):
    assert tfds_pix2pix.Pix2pix.name == "pix2pix"
    assert tfds.builder_cls("pix2pix") is tfds_pix2pix.Pix2pix
    assert [c.name for c in tfds_pix2pix.Pix2pix.BUILDER_CONFIGS] == list(standard.STANDARD_DATASETS)
    builder = tfds.builder("pix2pix/facades", data_dir=tmp_path)
    assert set(builder.info.features) == {"image_a", "image_b", "file_name"}
    assert builder.info.features["image_a"].shape == (None, None, 3)
    assert builder.info.supervised_keys == ("image_b", "image_a")  # facades: labels (B) -> photo (A)
    assert tfds.builder("pix2pix/maps", data_dir=tmp_path).info.supervised_keys == ("image_a", "image_b")


def test_manual_archive_builds_every_split_without_downloading(tmp_path, offline):
    folder = _dataset_folder(tmp_path / "src", "facades", {"train": 3, "val": 2, "test": 1})
    manual = _archive(folder, tmp_path / "manual").parent
    data, info = tfds_pix2pix.load_tfds("facades", None, data_dir=tmp_path / "tfds", manual_dir=manual,
                                        with_info=True)
    assert offline == []  # never called download_and_extract
    assert {s: info.splits[s].num_examples for s in info.splits} == {"train": 3, "val": 2, "test": 1}
    for split, n in (("train", 3), ("val", 2), ("test", 1)):
        _check_examples(data[split], n)
    # prepared once: plain tfds.load reads it back, as_supervised in the paper's direction
    inp, tar = next(iter(tfds.load("pix2pix/facades", split="test", data_dir=tmp_path / "tfds",
                                   as_supervised=True)))
    assert inp.numpy()[..., 2].mean() > 150 and tar.numpy()[..., 0].mean() > 150  # blue in, red out


def test_manual_extracted_folder_and_the_folder_itself(tmp_path, offline):
    folder = _dataset_folder(tmp_path / "manual", "maps", {"train": 2, "val": 1})  # no test split
    for i, manual in enumerate((tmp_path / "manual", folder)):
        data = tfds_pix2pix.load_tfds("maps", None, data_dir=tmp_path / f"tfds{i}", manual_dir=manual)
        assert sorted(data) == ["train", "val"]
        _check_examples(data["train"], 2)
        _check_examples(data["val"], 1)
    assert offline == []


def test_odd_width_file_is_named(tmp_path, offline):
    folder = _dataset_folder(tmp_path / "manual", "night2day", {"train": 1})
    write_image(folder / "train" / "2.jpg", np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(standard.DatasetError, match=r"2\.jpg: width 9 is odd"):
        tfds_pix2pix.load_tfds("night2day", "train", data_dir=tmp_path / "tfds",
                               manual_dir=tmp_path / "manual")


def test_without_manual_data_the_archive_is_downloaded(tmp_path, monkeypatch):
    """The real TFDS download route, from an HTTP server on 127.0.0.1 that serves the archive."""
    folder = _dataset_folder(tmp_path / "src", "edges2shoes", {"train": 2, "val": 1})
    served = _archive(folder, tmp_path / "server").parent
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connect = socket.socket.connect

    def local_only(sock, address):
        if isinstance(address, tuple) and address[0] != "127.0.0.1":
            raise OSError(f"test tried to connect to {address}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    monkeypatch.setattr(tfds_pix2pix, "BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    try:
        # an empty manual_dir means "nothing there": download
        (tmp_path / "empty").mkdir()
        data = tfds_pix2pix.load_tfds("edges2shoes", None, data_dir=tmp_path / "tfds",
                                      manual_dir=tmp_path / "empty")
    finally:
        server.shutdown()
        server.server_close()
    assert any(path.endswith("/edges2shoes.tar.gz") for path in requests), requests
    assert sorted(data) == ["train", "val"]
    _check_examples(data["train"], 2)


def test_as_pairs_gives_the_trainers_pairs(tmp_path, offline):
    _dataset_folder(tmp_path / "manual", "facades", {"train": 3})
    ds = tfds_pix2pix.load_tfds("facades", "train", data_dir=tmp_path / "tfds",
                                manual_dir=tmp_path / "manual")
    cfg = Pix2PixConfig(image_size=16, load_size=18, direction="BtoA")
    for training in (True, False):
        pairs = list(tfds_pix2pix.as_pairs(ds, cfg, training=training))
        assert len(pairs) == 3
        for x, y in pairs:
            assert x.shape == y.shape == (16, 16, 3) and x.dtype == tf.float32
            assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(y)) <= 1.0
            assert float(tf.reduce_mean(x[..., 2])) > 0.4 > float(tf.reduce_mean(x[..., 0]))  # BtoA: blue in
            assert float(tf.reduce_mean(y[..., 0])) > 0.4 > float(tf.reduce_mean(y[..., 2]))  # red target
    with pytest.raises(standard.DatasetError, match="resize_and_crop"):
        tfds_pix2pix.as_pairs(ds, cfg.replace(preprocess="crop"))
    with pytest.raises(standard.DatasetError, match="edges2handbags"):
        tfds_pix2pix.load_tfds("horses", "train", data_dir=tmp_path / "tfds")
