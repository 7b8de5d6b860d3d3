"""The standard datasets (pix2pix_tf.datasets.standard, .download, .extraction, .course_data):
download + safe extraction, tested on local archives only."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from conftest import make_pair, write_image
from pix2pix_tf.host import manifests
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.data import make_dataset
from pix2pix_tf.datasets import course_data, download, extraction, standard


def _make_archive(root: Path, name: str = "facades") -> Path:
    """A small {name}.tar.gz laid out like the real ones: name/train, name/val."""
    rng = np.random.default_rng(0)
    src = root / "src"
    for split, n in (("train", 3), ("val", 2)):
        for i in range(n):
            write_image(src / name / split / f"{i + 1}.jpg", make_pair(rng, 32, 32))
    server = root / "server"
    server.mkdir()
    archive = server / f"{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / name, arcname=name)
    return server


def test_names_and_url():
    assert standard.STANDARD_DATASETS == ("cityscapes", "edges2handbags", "edges2shoes",
                                          "facades", "maps", "night2day")
    assert standard.dataset_url("maps") == f"{standard.BASE_URL}/maps.tar.gz"
    assert set(standard.PAPER_DIRECTIONS) == set(standard.STANDARD_DATASETS)


def test_download_from_file_url_is_readable_by_make_dataset(tmp_path):
    server = _make_archive(tmp_path)
    dest = tmp_path / "datasets"
    folder = download.download("facades", dest, base_url=server.as_uri(), verbose=False)
    assert folder == dest / "facades"
    assert sorted(p.name for p in (folder / "train").iterdir()) == ["1.jpg", "2.jpg", "3.jpg"]
    assert len(list((folder / "val").iterdir())) == 2
    assert not (dest / "facades.tar.gz").exists()  # archive removed after extraction
    cfg = Pix2PixConfig(image_size=32, load_size=36, direction="BtoA")  # 16 is too small for the PatchGAN now
    ds, n = make_dataset(folder, "train", cfg)
    x, y = next(iter(ds))
    assert n == 3 and x.shape == y.shape == (1, 32, 32, 3)
    _, n_val = make_dataset(folder, "val", cfg)
    assert n_val == 2


def test_already_extracted_does_not_download(tmp_path, capsys):
    dest = tmp_path / "datasets"
    manifests.claim_folder(dest / "facades", kind="dataset")  # the marker a completed download leaves
    (dest / "facades" / "train").mkdir()
    missing = (tmp_path / "nowhere").as_uri()  # would fail if it were fetched
    assert download.download("facades", dest, base_url=missing) == dest / "facades"
    assert "already" in capsys.readouterr().out


def test_folder_without_the_marker_is_not_taken_as_downloaded(tmp_path):
    dest = tmp_path / "datasets"
    (dest / "facades" / "train").mkdir(parents=True)  # a partial tree, or somebody else's
    with pytest.raises(standard.DatasetError, match="already exists and is not a dataset extracted"):
        download.download("facades", dest, base_url=(tmp_path / "nowhere").as_uri(), verbose=False)
    assert [p.name for p in dest.iterdir()] == ["facades"] and not any((dest / "facades" / "train").iterdir())


def test_failed_download_raises_dataset_error_and_leaves_nothing(tmp_path):
    dest = tmp_path / "datasets"
    with pytest.raises(standard.DatasetError, match="download .* failed"):
        download.download("maps", dest, base_url=(tmp_path / "nowhere").as_uri(), verbose=False)
    assert not dest.exists()  # created for the call, removed again with nothing in it


def test_unknown_name_lists_the_six(tmp_path):
    with pytest.raises(ValueError) as e:
        download.download("horses", tmp_path)
    for name in standard.STANDARD_DATASETS:
        assert name in str(e.value)
    with pytest.raises(standard.DatasetError, match="unknown pix2pix dataset 'horses'"):
        course_data.course_dataset("horses", dest_dir=tmp_path)  # not swallowed by the offline fallback


def _tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo("facades/train/1.jpg")
        ok.size = 1
        tar.addfile(ok, io.BytesIO(b"x"))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


@pytest.mark.parametrize("member", [
    tarfile.TarInfo("../evil.txt"),
    tarfile.TarInfo("facades/../../evil.txt"),
    tarfile.TarInfo("/tmp/evil.txt"),
])
def test_member_escaping_dest_is_refused_before_anything_is_written(tmp_path, member):
    server = tmp_path / "server"
    server.mkdir()
    _tar_with(server / "facades.tar.gz", member)
    dest = tmp_path / "a" / "datasets"
    with pytest.raises(standard.DatasetError, match="refusing"):
        download.download("facades", dest, base_url=server.as_uri(), verbose=False)
    assert not (dest / "facades").exists()  # the good member was not extracted either
    assert not (tmp_path / "a" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_symlink_out_of_dest_is_refused(tmp_path):
    link = tarfile.TarInfo("facades/train/link.jpg")
    link.type, link.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
    archive = _tar_with(tmp_path / "x.tar.gz", link)
    with pytest.raises(standard.DatasetError, match="links to"):
        extraction.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "facades").exists()


def test_not_a_tar_archive(tmp_path):
    bad = tmp_path / "facades.tar.gz"
    bad.write_bytes(b"<html>not found</html>")
    with pytest.raises(standard.DatasetError, match="not a readable tar"):
        extraction.safe_extract(bad, tmp_path / "out")


def test_course_dataset_quick_uses_the_sample():
    folder, direction = course_data.course_dataset("facades", quick=True)
    assert standard.is_extracted(folder) and direction == "AtoB"
    assert folder.name == course_data.SAMPLE_NAME


def test_course_dataset_uses_pix2pix_data_dir(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    folder = tmp_path / "edges2shoes"
    for split in ("train", "val"):
        write_image(folder / split / "1.jpg", make_pair(rng, 32, 32))
    missing = (tmp_path / "nowhere").as_uri()  # would fail if a download were tried
    monkeypatch.delenv("PIX2PIX_DIRECTION", raising=False)
    monkeypatch.setenv("PIX2PIX_DATA_DIR", str(folder))
    # direction: the folder's paper direction, else AtoB; PIX2PIX_DIRECTION wins
    assert course_data.course_dataset("facades", base_url=missing) == (folder, "AtoB")
    facades = tmp_path / "facades"
    (facades / "train").mkdir(parents=True)
    (facades / "test").mkdir()
    monkeypatch.setenv("PIX2PIX_DATA_DIR", str(facades))
    assert course_data.course_dataset("maps", base_url=missing) == (facades, "BtoA")
    other = tmp_path / "mine"
    (other / "train").mkdir(parents=True)
    (other / "val").mkdir()
    monkeypatch.setenv("PIX2PIX_DATA_DIR", str(other))
    assert course_data.course_dataset("facades", base_url=missing) == (other, "AtoB")
    monkeypatch.setenv("PIX2PIX_DIRECTION", "BtoA")
    assert course_data.course_dataset("facades", base_url=missing) == (other, "BtoA")
    # quick mode ignores the overrides
    assert course_data.course_dataset("facades", quick=True)[0].name == course_data.SAMPLE_NAME
    # bad values: clear errors
    monkeypatch.setenv("PIX2PIX_DIRECTION", "sideways")
    with pytest.raises(standard.DatasetError, match="PIX2PIX_DIRECTION"):
        course_data.course_dataset("facades", base_url=missing)
    monkeypatch.delenv("PIX2PIX_DIRECTION")
    monkeypatch.setenv("PIX2PIX_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(standard.DatasetError, match="no such folder"):
        course_data.course_dataset("facades", base_url=missing)
    (tmp_path / "half" / "train").mkdir(parents=True)
    monkeypatch.setenv("PIX2PIX_DATA_DIR", str(tmp_path / "half"))
    with pytest.raises(standard.DatasetError, match="test/ or val/"):
        course_data.course_dataset("facades", base_url=missing)


# ----------------------------------------------------------------- `pix2pix-tf download`
def _cli(capsys, *argv) -> tuple[int, str, str]:
    from pix2pix_tf.apps.cli import main
    code = main(["download", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_download_from_file_url_prints_the_split_folders(tmp_path, capsys):
    server = _make_archive(tmp_path)
    dest = tmp_path / "datasets"
    code, out, err = _cli(capsys, "facades", "--out", dest, "--url", (server / "facades.tar.gz").as_uri())
    assert code == 0, err
    folder = dest / "facades"
    assert f"train: {folder / 'train'}\nval: {folder / 'val'}\n" in out
    assert f"pix2pix-tf train --data {folder} --direction BtoA" in out  # the paper's direction
    assert len(list((folder / "train").iterdir())) == 3
    code, out, _ = _cli(capsys, "facades", "--out", dest, "--url", (tmp_path / "gone.tar.gz").as_uri())
    assert code == 0 and "already at" in out  # extracted: nothing fetched again


def test_cli_download_errors_print_one_line_and_exit_2(tmp_path, capsys):
    dest = tmp_path / "datasets"
    code, out, err = _cli(capsys, "horses", "--out", dest)
    assert code == 2 and err.count("\n") == 1 and "unknown pix2pix dataset 'horses'" in err
    assert all(name in err for name in standard.STANDARD_DATASETS)
    missing = (tmp_path / "nowhere" / "maps.tar.gz").as_uri()
    code, _, err = _cli(capsys, "maps", "--out", dest, "--url", missing)
    assert code == 2 and err.count("\n") == 1 and f"download from {missing} failed" in err
    corrupt = tmp_path / "server" / "maps.tar.gz"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"<html>503 Service Unavailable</html>")
    code, _, err = _cli(capsys, "maps", "--out", dest, "--url", corrupt.as_uri())
    assert code == 2 and err.count("\n") == 1 and "not a readable tar archive" in err
    assert "deleted" in err and not (dest / "maps.tar.gz").exists()  # not reused next time
    assert not (dest / "maps").exists()


def test_truncated_archive_is_a_dataset_error_and_a_placed_one_is_kept(tmp_path):
    server = _make_archive(tmp_path)
    data = (server / "facades.tar.gz").read_bytes()
    dest = tmp_path / "datasets"
    dest.mkdir()
    (dest / "facades.tar.gz").write_bytes(data[: len(data) // 2])  # placed there by hand, cut short
    with pytest.raises(standard.DatasetError, match="not a readable tar archive.*delete it"):
        download.download("facades", dest, url=(tmp_path / "unused").as_uri(), verbose=False)
    assert (dest / "facades.tar.gz").is_file()


def test_find_splits_reads_the_folders_that_hold_images(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("test", "train", "extra", ".hidden"):
        write_image(tmp_path / split / "1.jpg", make_pair(rng, 8, 8))
    (tmp_path / "val").mkdir()  # no images: not a split
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("x")
    assert standard.find_splits(tmp_path) == {"train": tmp_path / "train", "test": tmp_path / "test",
                                              "extra": tmp_path / "extra"}
    assert standard.find_splits(tmp_path / "absent") == {}
