"""`pix2pix-tf download` against hostile archives and unusable folders (issue 13).

Every refused case drives the CLI and checks: exit status 2, exactly one line on stderr
naming the member/file/flag, and (with :mod:`treesnap`) that the whole tree around
``--out`` is byte-for-byte as before: no file written anywhere, no temporary left, no
folder created. Archives are tiny and built here; URLs are ``file://`` or local paths.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from pix2pix_tf.host import manifests
from pix2pix_tf.host import writes as safety
from pix2pix_tf.apps.cli import main
from pix2pix_tf.datasets import download, extraction, standard
from treesnap import changed, snapshot

NAME = "facades"


# ------------------------------------------------------------------ building archives
def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


def _good_members() -> list:
    return [_special(f"{NAME}", tarfile.DIRTYPE), _special(f"{NAME}/train", tarfile.DIRTYPE),
            _file(f"{NAME}/train/1.jpg", b"one"), _file(f"{NAME}/train/2.jpg", b"two"),
            _file(f"{NAME}/val/1.jpg", b"val")]


def _archive(path: Path, members: list) -> Path:
    """A .tar.gz (PAX, so long names fit) holding ``members`` in order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _hostile(tmp_path: Path, *extra) -> Path:
    """Good members first (so a partial extraction would show), then the hostile ones."""
    return _archive(tmp_path / "server" / f"{NAME}.tar.gz", _good_members() + list(extra))


def _symlink_chain() -> list:
    """The reported attack: nested symlinks to long folder names, a link whose text stays
    short but whose resolved path is longer than PATH_MAX, and a file written through it."""
    comp, steps, path, members = "d" * 247, "abcdefghijklmnop", f"{NAME}", []
    for step in steps:
        members.append(_special(f"{path}/{comp}", tarfile.DIRTYPE))
        members.append(_special(f"{path}/{step}", tarfile.SYMTYPE, comp))
        path = f"{path}/{comp}"
    link = f"{NAME}/" + "/".join(steps) + "/" + "l" * 254
    members.append(_special(link, tarfile.SYMTYPE, "../" * len(steps)))
    members.append(_special(f"{NAME}/escape", tarfile.SYMTYPE, link[len(NAME) + 1:] + "/../.."))
    members.append(_file(f"{NAME}/escape/evil.txt", b"pwned"))
    return members


# ------------------------------------------------------------------ running the CLI
def _download(capsys, out: Path, *argv) -> tuple[int, str, str]:
    code = main(["download", NAME, "--out", str(out), *map(str, argv)])
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


def _assert_refused(capsys, root: Path, out: Path, argv: list, *expected: str) -> str:
    """Run the CLI; check exit 2, one stderr line holding every ``expected``, nothing changed."""
    before = snapshot(root)
    code, _, err = _download(capsys, out, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("pix2pix-tf download: error: "), err
    for text in expected:
        assert text in err, (text, err)
    assert changed(before, snapshot(root)) == [], err
    return err


# ------------------------------------------------------------------ hostile members
MEMBERS = {
    "symlink chain past PATH_MAX": (_symlink_chain(), [f"'{NAME}/a'", "symbolic link", "links to"]),
    "symlink inside": ([_special(f"{NAME}/train/l.jpg", tarfile.SYMTYPE, "1.jpg")],
                       ["symbolic link", "'1.jpg'"]),
    "symlink out": ([_special(f"{NAME}/train/l.jpg", tarfile.SYMTYPE, "../../../../etc/passwd")],
                    [f"'{NAME}/train/l.jpg'", "symbolic link"]),
    "hard link": ([_special(f"{NAME}/train/h.jpg", tarfile.LNKTYPE, f"{NAME}/train/1.jpg")],
                  [f"'{NAME}/train/h.jpg'", "hard link"]),
    "hard link out": ([_special(f"{NAME}/train/h.jpg", tarfile.LNKTYPE, "/etc/passwd")], ["hard link"]),
    "absolute": ([_file("/tmp/evil.txt")], ["'/tmp/evil.txt'", "absolute path"]),
    "dotdot top": ([_file("../evil.txt")], ["'../evil.txt'", "'..' component"]),
    "dotdot inside": ([_file(f"{NAME}/../../evil.txt")], ["'..' component"]),
    "nul": ([(lambda i: (setattr(i[0], "pax_headers", {"path": f"{NAME}/train/a\0b.jpg"}), i)[1])(
        _file(f"{NAME}/train/ab.jpg"))], ["NUL byte"]),
    "long path": ([_file(f"{NAME}/train/" + "a/" * 600 + "x.jpg")], ["longer than 1024 characters"]),
    "long component": ([_file(f"{NAME}/train/" + "b" * 300 + ".jpg")], ["longer than 255 bytes"]),
    "char device": ([_special(f"{NAME}/train/dev", tarfile.CHRTYPE)], [f"'{NAME}/train/dev'", "character device"]),
    "block device": ([_special(f"{NAME}/train/dev", tarfile.BLKTYPE)], ["block device"]),
    "fifo": ([_special(f"{NAME}/train/pipe", tarfile.FIFOTYPE)], [f"'{NAME}/train/pipe'", "fifo"]),
    "outside name": ([_file("maps/train/1.jpg")], ["'maps/train/1.jpg'", f"not under {NAME}/"]),
    "top-level junk": ([_file("README.txt")], ["'README.txt'", f"not under {NAME}/"]),
    "top is a file": ([], []),  # replaced below: the archive's {name} itself a file
    "duplicate": ([_file(f"{NAME}/train/1.jpg", b"again")], [f"'{NAME}/train/1.jpg'", "twice"]),
    "file then folder": ([_special(f"{NAME}/train/1.jpg/x", tarfile.DIRTYPE)], ["cannot make its folder"]),
    "marker forged": ([_file(f"{NAME}/{safety.MANIFEST}", b'{"kind": "dataset"}')], ["reserved"]),
}
MEMBERS["top is a file"] = ([_file(NAME)], [f"{NAME} must be a folder"])


@pytest.mark.parametrize("case", list(MEMBERS))
def test_hostile_member_refuses_the_whole_archive(tmp_path, capsys, case):
    extra, expected = MEMBERS[case]
    archive = _hostile(tmp_path, *extra)
    out = tmp_path / "dl" / "out"
    (tmp_path / "dl" / "keep.txt").parent.mkdir()
    (tmp_path / "dl" / "keep.txt").write_text("a file four levels up must survive")
    err = _assert_refused(capsys, tmp_path, out, ["--url", archive.as_uri()],
                          archive.as_uri() + ": refusing member", *expected)
    assert err.rstrip().endswith("nothing was extracted; the download was deleted")
    assert not out.exists() and not (tmp_path / "dl" / "evil.txt").exists()


def test_hostile_member_in_a_local_archive_is_refused_and_the_file_kept(tmp_path, capsys):
    archive = _hostile(tmp_path, *_symlink_chain())
    err = _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive],
                          str(archive), "symbolic link", "the file is left as it is")
    assert archive.is_file()


def test_the_same_archive_through_the_library_leaves_nothing(tmp_path):
    archive = _hostile(tmp_path, *_symlink_chain())
    before = snapshot(tmp_path)
    with pytest.raises(standard.DatasetError, match="symbolic link"):
        extraction.safe_extract(archive, tmp_path / "x" / "y")
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ broken archives
def test_truncated_gzip_is_refused_and_the_download_deleted(tmp_path, capsys):
    whole = _archive(tmp_path / "whole.tar.gz", _good_members() + [_file(f"{NAME}/train/big.jpg", os.urandom(50_000))])
    cut = tmp_path / "server" / f"{NAME}.tar.gz"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size - 20_000])
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", cut.as_uri()],
                    cut.as_uri() + ": not a readable tar archive", "the download was deleted")


def test_not_an_archive_at_all(tmp_path, capsys):
    page = tmp_path / "server" / f"{NAME}.tar.gz"
    page.parent.mkdir()
    page.write_bytes(b"<html>503</html>")
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", page.as_uri()],
                    "not a readable tar archive", "no tar data", "b'<html>503</html>'")


def test_archive_without_train_is_refused(tmp_path, capsys):
    archive = _archive(tmp_path / "server" / f"{NAME}.tar.gz", [_file(f"{NAME}/val/1.jpg")])
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive.as_uri()],
                    f"holds no {NAME}/train/ folder")


@pytest.mark.parametrize("ceiling, value, expected", [
    ("MAX_EXTRACT_BYTES", 1000, "max_bytes ceiling"),
    ("MAX_MEMBERS", 4, "max_members ceiling"),
    ("MAX_DOWNLOAD_BYTES", 100, "max_download_bytes ceiling"),
])
def test_bomb_over_a_ceiling_is_refused(tmp_path, capsys, monkeypatch, ceiling, value, expected):
    archive = _hostile(tmp_path, _file(f"{NAME}/train/bomb.jpg", bytes(200_000)))  # ~200 B gzipped
    monkeypatch.setattr(standard, ceiling, value)
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive.as_uri()], expected)


def test_ceilings_are_parameters_of_the_library(tmp_path):
    archive = _hostile(tmp_path, _file(f"{NAME}/train/bomb.jpg", bytes(200_000)))
    before = snapshot(tmp_path)
    with pytest.raises(standard.DatasetError, match="more than 1000 bytes once uncompressed"):
        download.download(NAME, tmp_path / "out", url=str(archive), max_bytes=1000, verbose=False)
    with pytest.raises(standard.DatasetError, match="more than 3 members"):
        extraction.safe_extract(archive, tmp_path / "out", NAME, max_members=3)
    assert changed(before, snapshot(tmp_path)) == []
    assert download.download(NAME, tmp_path / "out", url=str(archive), max_bytes=300_000,
                             verbose=False) == tmp_path / "out" / NAME


# ------------------------------------------------------------------ checksums and URLs
def test_sha256_mismatch_deletes_the_download_but_never_a_users_file(tmp_path, capsys):
    archive = _hostile(tmp_path)
    wrong = "0" * 64
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive.as_uri(), "--sha256", wrong],
                    f"not the expected {wrong}", "--sha256", "deleted")
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive, "--sha256", wrong],
                    str(archive), f"not the expected {wrong}", "left as it is")
    assert archive.is_file()
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive, "--sha256", "xyz"],
                    "--sha256 'xyz': expected 64 hexadecimal digits")


def test_right_sha256_extracts(tmp_path, capsys):
    import hashlib
    archive = _hostile(tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    code, out, err = _download(capsys, tmp_path / "out", "--url", archive.as_uri(), "--sha256", digest.upper())
    assert code == 0 and err == "", err
    assert sorted(p.name for p in (tmp_path / "out" / NAME / "train").iterdir()) == ["1.jpg", "2.jpg"]


def test_known_sha256_applies_to_the_authors_server_only(tmp_path, monkeypatch):
    monkeypatch.setitem(standard.KNOWN_SHA256, NAME, "1" * 64)
    assert download._expected_sha256(NAME, None, None, standard.BASE_URL) == "1" * 64
    assert download._expected_sha256(NAME, None, "file:///x.tar.gz", standard.BASE_URL) is None
    assert download._expected_sha256(NAME, "2" * 64, None, standard.BASE_URL) == "2" * 64


def test_plain_http_without_sha256_warns_on_stderr(capsys):
    download._warn_plain_http(NAME, f"{standard.BASE_URL}/{NAME}.tar.gz", None)
    download._warn_plain_http(NAME, f"{standard.BASE_URL}/{NAME}.tar.gz", "0" * 64)
    download._warn_plain_http(NAME, "https://example.org/facades.tar.gz", None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plain http" in err and "--sha256" in err


@pytest.mark.parametrize("url, expected", [
    ("/no/such/facades.tar.gz", "--url /no/such/facades.tar.gz: no such file"),
    ("ftp://example.org/facades.tar.gz", "unsupported scheme 'ftp'"),
])
def test_bad_url_is_one_line(tmp_path, capsys, url, expected):
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", url], expected)


def test_plain_local_path_is_read_in_place_and_kept(tmp_path, capsys):
    archive = _hostile(tmp_path)
    code, _, err = _download(capsys, tmp_path / "out", "--url", archive)
    assert code == 0, err
    assert archive.is_file() and extraction.is_downloaded(tmp_path / "out" / NAME)


# ------------------------------------------------------------------ interrupted runs
def test_disk_full_mid_extraction_leaves_nothing(tmp_path, capsys, monkeypatch):
    archive = _hostile(tmp_path)
    real_fdopen, calls = os.fdopen, []

    class Full(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.f.close()

    def fdopen(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        calls.append(fd)
        return Full(f) if len(calls) == 3 else f  # the second file of the archive

    monkeypatch.setattr(os, "fdopen", fdopen)
    _assert_refused(capsys, tmp_path, tmp_path / "out", ["--url", archive.as_uri()],
                    f"'{NAME}/train/2.jpg'", "disk full")


def test_interrupt_mid_extraction_leaves_nothing_and_the_next_run_completes(tmp_path, capsys, monkeypatch):
    archive = _hostile(tmp_path)
    real_write, calls = extraction._Tree.write, []

    def write(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(extraction._Tree, "write", write)
    out = tmp_path / "dl" / "out"
    before = snapshot(tmp_path)
    code, _, _ = _download(capsys, out, "--url", archive.as_uri())
    assert code == 130 and changed(before, snapshot(tmp_path)) == []
    monkeypatch.undo()
    code, stdout, err = _download(capsys, out, "--url", archive.as_uri())
    assert code == 0 and "already at" not in stdout, err  # not mistaken for complete
    assert (out / NAME / "train" / "2.jpg").read_bytes() == b"two"


def test_a_killed_runs_leftover_is_removed_by_the_next_download(tmp_path, capsys):
    archive = _hostile(tmp_path)
    out = tmp_path / "out"
    stale = out / f"{extraction._WORK_PREFIX}{NAME}.dead"
    (stale / "tree" / "train").mkdir(parents=True)
    (stale / safety.LOCK).write_text('{"pid": 1}')
    os.utime(stale / safety.LOCK, (time.time() - 3600,) * 2)
    code, _, err = _download(capsys, out, "--url", archive.as_uri())
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [NAME]


# ------------------------------------------------------------------ what is already in --out
def test_foreign_folder_is_refused_untouched(tmp_path, capsys):
    archive = _hostile(tmp_path)
    out = tmp_path / "out"
    (out / NAME / "train").mkdir(parents=True)
    (out / NAME / "mine.txt").write_text("my notes")
    _assert_refused(capsys, tmp_path, out, ["--url", archive.as_uri()],
                    str(out / NAME), "already exists and is not a dataset extracted by pix2pix-tf")


def test_foreign_file_or_link_named_like_the_dataset_is_refused(tmp_path, capsys):
    archive = _hostile(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", out / NAME)  # even an empty folder behind a link
    _assert_refused(capsys, tmp_path, out, ["--url", archive.as_uri()], str(out / NAME), "already exists")
    os.unlink(out / NAME)
    (out / NAME).write_text("a file")
    _assert_refused(capsys, tmp_path, out, ["--url", archive.as_uri()], str(out / NAME), "already exists")


def test_users_own_archive_in_out_is_used_and_kept(tmp_path, capsys):
    out = tmp_path / "out"
    mine = _archive(out / f"{NAME}.tar.gz", _good_members())
    data = mine.read_bytes()
    before = snapshot(tmp_path, exclude=out / NAME)
    code, stdout, err = _download(capsys, out, "--url", (tmp_path / "unused.tar.gz").as_uri())
    assert code == 0, err
    assert mine.read_bytes() == data  # never deleted, never rewritten
    after = snapshot(tmp_path, exclude=out / NAME)
    assert changed(before, after) == ["out/" + NAME]  # the new folder itself, nothing else


def test_users_own_hostile_archive_in_out_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "out"
    mine = _archive(out / f"{NAME}.tar.gz", _good_members() + [_file("../evil.txt")])
    _assert_refused(capsys, tmp_path, out, [], str(mine), "'..' component", f"delete it to download {NAME} again")
    assert mine.is_file()


def test_keep_archive_keeps_a_download_but_never_replaces_a_file(tmp_path):
    archive = _hostile(tmp_path)
    out = tmp_path / "out"
    download.download(NAME, out, url=archive.as_uri(), keep_archive=True, verbose=False)
    assert (out / f"{NAME}.tar.gz").read_bytes() == archive.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == [NAME, f"{NAME}.tar.gz"]


# ------------------------------------------------------------------ unusable --out
def test_out_is_a_file(tmp_path, capsys):
    archive = _hostile(tmp_path)
    (tmp_path / "f").write_text("x")
    _assert_refused(capsys, tmp_path, tmp_path / "f", ["--url", archive.as_uri()], f"--out {tmp_path / 'f'}: is a file")


def test_out_under_a_file(tmp_path, capsys):
    archive = _hostile(tmp_path)
    (tmp_path / "f").write_text("x")
    _assert_refused(capsys, tmp_path, tmp_path / "f" / "out", ["--url", archive.as_uri()],
                    "--out", "lies under a file")


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write, not even root: a read-only bind mount (or chmod for others)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "existing.txt").write_text("x")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("running as root (which ignores permissions) and cannot make a read-only bind mount")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize("sub", ["", "out"])
def test_out_read_only(tmp_path, capsys, read_only_dir, sub):
    archive = _hostile(tmp_path)
    out = read_only_dir / sub if sub else read_only_dir
    _assert_refused(capsys, tmp_path, out, ["--url", archive.as_uri()], "--out", "is not writable")


# ------------------------------------------------------------------ the good case
def test_good_archive_extracts_and_the_second_call_says_already(tmp_path, capsys):
    archive = _hostile(tmp_path)
    out = tmp_path / "dl" / "out"
    before = snapshot(tmp_path, exclude=out / NAME)
    code, stdout, err = _download(capsys, out, "--url", archive.as_uri())
    assert code == 0 and err == "", err
    assert f"train: {out / NAME / 'train'}" in stdout
    assert changed(before, snapshot(tmp_path, exclude=out / NAME)) == ["dl", "dl/out", f"dl/out/{NAME}"]
    assert sorted(p.name for p in (out / NAME).iterdir()) == [safety.MANIFEST, "train", "val"]
    assert manifests.folder_kind(out / NAME) == "dataset"
    assert sorted(manifests.recorded_entries(out / NAME)) == ["train", "val"]
    assert (out / NAME / "train" / "1.jpg").read_bytes() == b"one"
    assert oct((out / NAME / "train" / "1.jpg").stat().st_mode & 0o777) == "0o644"
    full = snapshot(tmp_path)
    code, stdout, _ = _download(capsys, out, "--url", (tmp_path / "gone.tar.gz").as_uri())
    assert code == 0 and f"already at {out / NAME}" in stdout
    assert changed(full, snapshot(tmp_path)) == []


def test_safe_extract_without_a_name_takes_the_archives_top_folder(tmp_path):
    archive = _archive(tmp_path / "x.tar", [_file("maps/train/1.jpg"), _file("maps/val/1.jpg")])
    assert extraction.safe_extract(archive, tmp_path / "out") == tmp_path / "out" / "maps"
    with pytest.raises(standard.DatasetError, match="not under maps/"):
        extraction.safe_extract(_archive(tmp_path / "y.tar", [_file("maps/a"), _file("other/b")]), tmp_path / "o2")
