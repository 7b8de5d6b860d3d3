"""OutputFolder (pix2pix_tf.host.output_folder): each file's SHA-256 computed once per call."""

from __future__ import annotations

import os

import pytest

from pix2pix_tf.host import output_folder
from pix2pix_tf.host.output_folder import OutputFolder


@pytest.fixture
def hashed(monkeypatch):
    """The files whose content :func:`output_folder._still_ours` hashed, in order."""
    seen = []
    still_ours = output_folder._still_ours

    def counting(path, digest):
        seen.append(path.name)
        return still_ours(path, digest)

    monkeypatch.setattr(output_folder, "_still_ours", counting)
    return seen


def _first_call(out):
    folder = OutputFolder(out, "predictions").check().plan({"a.png": "a", "b.png": "b"}).open()
    folder.write("a.png", b"first a")
    folder.write("b.png", b"first b")
    folder.finish()


def test_overwrite_hashes_each_recorded_file_once(tmp_path, hashed):
    """A file planned again but not written (an input skipped this time) is checked by plan
    and removed by finish from one hash; the file replaced is hashed once too."""
    out = tmp_path / "out"
    _first_call(out)
    folder = OutputFolder(out, "predictions", overwrite=True).check()
    folder.plan({"a.png": "a", "b.png": "b"}).open()
    folder.write("a.png", b"second a")  # b.png: skipped this time
    folder.finish()
    assert sorted(hashed) == ["a.png", "b.png"]
    assert (out / "a.png").read_bytes() == b"second a" and not (out / "b.png").exists()


def test_a_file_changed_after_plan_is_hashed_again_and_kept(tmp_path, hashed):
    """The remembered verdict holds only while the file is unchanged: one edited between
    plan and finish is somebody's and stays."""
    out = tmp_path / "out"
    _first_call(out)
    folder = OutputFolder(out, "predictions", overwrite=True).check()
    folder.plan({"a.png": "a", "b.png": "b"}).open()
    folder.write("a.png", b"second a")
    (out / "b.png").write_bytes(b"edited by hand")
    st = (out / "b.png").stat()
    os.utime(out / "b.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a coarse clock
    folder.finish()
    assert sorted(hashed) == ["a.png", "b.png", "b.png"]
    assert (out / "b.png").read_bytes() == b"edited by hand"
