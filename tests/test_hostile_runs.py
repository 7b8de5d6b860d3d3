"""Run folders that never lose anything: hostile folders, damaged runs, two writers, a full disk.

Every case drives the real command line (``pix2pix_tf.cli.main``) and checks the exit code,
the one line on stderr, and with tree snapshots that nothing outside the allowed folder
changed (foreign files byte-identical). The runs are copies of the session's ``trained_run``
(8 steps, checkpoints 4 and 8).
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pix2pix_tf import cli
from pix2pix_tf.run.export import is_our_tflite
from pix2pix_tf.run.folder import load_run
from pix2pix_tf.safety import LOCK, MANIFEST, read_manifest
from treesnap import changed, snapshot

MODEL = ["--image-size", "64", "--ngf", "8", "--ndf", "8"]  # the trained_run's config flags
QUIET = ["--quiet", "--no-export", "--steps-per-epoch", "4"]


def run_cli(capsys, *args):
    """Run the command line in-process; return (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *args) -> str:
    """Run a command that must be refused: exit 2 and exactly one line on stderr; return it."""
    code, _, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"pix2pix-tf {args[0]}: error: "), lines[0]
    return lines[0].split(": error: ", 1)[1]


@pytest.fixture
def run(trained_run, tmp_path) -> Path:
    """A private copy of the trained run, in tmp_path/run."""
    root, _, _ = trained_run
    return Path(shutil.copytree(root / "run", tmp_path / "run", symlinks=True))


@pytest.fixture
def data(trained_run) -> Path:
    return trained_run[0] / "data"


def resume(data, run, *extra, steps=8):
    return ["train", "--data", data, "--out", run, "--resume", "--steps", steps, *MODEL, *QUIET, *extra]


def foreign_folder(path: Path) -> Path:
    (path / "sub").mkdir(parents=True)
    (path / "thesis.txt").write_text("four years of work")
    (path / "sub" / "photo.jpg").write_bytes(b"\xff\xd8 my photo")
    return path


# ------------------------------------------------------------------ export
def test_export_refuses_a_folder_with_foreign_files(capsys, run, tmp_path):
    dst = foreign_folder(tmp_path / "mine")
    before = snapshot(tmp_path)
    line = refused(capsys, "export", "--run", run, "--out", dst)
    assert line == (f"--out {dst}: already exists and is not a SavedModel exported by pix2pix-tf; "
                    "nothing was changed; choose a new path or remove it yourself")
    assert changed(before, snapshot(tmp_path)) == []


def test_export_refuses_a_foreign_tflite_path(capsys, run, tmp_path):
    dst = tmp_path / "notes.tflite"
    dst.write_text("not a model")
    before = snapshot(tmp_path)
    line = refused(capsys, "export", "--run", run, "--out", dst, "--format", "tflite")
    assert line == (f"--out {dst}: already exists and is not a TFLite file exported by pix2pix-tf; "
                    "nothing was changed; choose a new path or remove it yourself")
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("inside", ["", "checkpoints", "images/x", "config.json"])
def test_export_refuses_the_run_folder_and_its_entries(capsys, run, tmp_path, inside):
    dst = run / inside if inside else run
    before = snapshot(tmp_path)
    line = refused(capsys, "export", "--run", run, "--out", dst)
    if inside:
        assert line == (f"--out {dst}: inside the run folder {run}; nothing was changed; only a "
                        "saved_model* folder directly in it is written there")
    else:
        assert line == (f"--out {dst}: is a pix2pix-tf run folder; nothing was changed; export to "
                        f"{dst / 'saved_model'} or a new folder")
    assert changed(before, snapshot(tmp_path)) == []


def test_export_twice_replaces_only_our_own_export(capsys, run, tmp_path):
    dst = tmp_path / "exports" / "sm"
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "keep.txt").write_text("mine")
    outside = snapshot(tmp_path, exclude=dst)
    for mode in ("deterministic", "paper"):
        code, out, err = run_cli(capsys, "export", "--run", run, "--out", dst, "--inference-mode", mode)
        assert code == 0, err
        assert f"exported savedmodel to {dst}" in out
    assert read_manifest(dst)["kind"] == "saved_model"
    assert '"inference_mode": "paper"' in (dst / "assets.extra" / "pix2pix_config.json").read_text()
    assert [p.name for p in (tmp_path / "exports").iterdir() if p.name.startswith(".")] == []
    assert changed(outside, snapshot(tmp_path, exclude=dst)) == ["exports/sm"]  # new, nothing else
    # the run's own saved_model/ is ours too (recorded in its manifest): replaced in place
    run_outside = snapshot(run, exclude=run / "saved_model")
    code, _, err = run_cli(capsys, "export", "--run", run, "--out", run / "saved_model")
    assert code == 0, err
    assert changed(run_outside, snapshot(run, exclude=run / "saved_model")) == [LOCK]


def test_tflite_export_twice_replaces_our_file(capsys, run, tmp_path):
    dst = tmp_path / "g.tflite"
    for _ in range(2):
        code, _, err = run_cli(capsys, "export", "--run", run, "--out", dst, "--format", "tflite")
        assert code == 0, err
        assert is_our_tflite(dst) and dst.read_bytes()[4:8] == b"TFL3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.tflite", "run"]


# ------------------------------------------------------------------ train --overwrite
def test_overwrite_refuses_a_folder_that_is_not_a_run(capsys, data, tmp_path):
    out = tmp_path / "photos"
    (out / "images").mkdir(parents=True)
    (out / "logs").mkdir()
    (out / "images" / "holiday.jpg").write_bytes(b"\xff\xd8 beach")
    (out / "logs" / "app.log").write_text("started\n")
    (out / "config.json").write_text('{"theme": "dark"}')
    before = snapshot(tmp_path)
    line = refused(capsys, "train", "--data", data, "--out", out, "--overwrite", "--steps", 2, *MODEL)
    assert line == (f"--overwrite {out}: folder is not empty and is not a pix2pix-tf run (no "
                    ".pix2pix-tf.json); nothing was changed; choose a new or empty folder")
    assert changed(before, snapshot(tmp_path)) == []


def test_overwrite_refuses_a_run_holding_a_foreign_file(capsys, data, run, tmp_path):
    """Decision: refuse (naming the file) rather than clear around it; nothing is removed."""
    (run / "images" / "holiday.jpg").write_bytes(b"\xff\xd8 beach")
    before = snapshot(tmp_path)
    line = refused(capsys, "train", "--data", data, "--out", run, "--overwrite", "--steps", 2, *MODEL)
    assert line == (f"--overwrite {run}: {run / 'images' / 'holiday.jpg'} was not written by "
                    "pix2pix-tf; nothing was removed; move it out of the run folder first")
    assert changed(before, snapshot(tmp_path)) == []


def test_overwrite_refuses_an_old_run_without_a_manifest(capsys, data, run, tmp_path):
    (run / MANIFEST).unlink()
    before = snapshot(tmp_path)
    line = refused(capsys, "train", "--data", data, "--out", run, "--overwrite", "--steps", 2, *MODEL)
    assert line.startswith(f"--overwrite {run}: run folder made by an older pix2pix-tf has no "
                           ".pix2pix-tf.json record")
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_unusable_out(capsys, data, tmp_path, where):
    (tmp_path / "f").write_text("a file")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "run"
    before = snapshot(tmp_path)
    line = refused(capsys, "train", "--data", data, "--out", out, "--steps", 2, *MODEL)
    assert line == (f"--out {out}: is a file" if where == "file"
                    else f"--out {out}: lies under a file ({tmp_path / 'f'})")
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ resume
@pytest.mark.parametrize("pointer", ["missing", "empty", "garbled"])
def test_resume_without_a_good_pointer_uses_the_newest_checkpoint(capsys, data, run, pointer):
    p = run / "checkpoints" / "checkpoint"
    if pointer == "missing":
        p.unlink()
    else:
        p.write_bytes(b"" if pointer == "empty" else b"model_checkpoint_path: {{{ \x00")
    code, out, err = run_cli(capsys, *resume(data, run))
    assert code == 0, err
    assert "resumed from step 8 (ckpt-8)" in out.splitlines()
    assert f"{p} is {pointer}; using the checkpoint files themselves" in err
    assert p.read_text().startswith('model_checkpoint_path: "ckpt-8"\n')  # repaired
    assert sorted(x.name for x in (run / "checkpoints").glob("*.index")) == ["ckpt-4.index", "ckpt-8.index"]


def test_resume_falls_back_from_a_truncated_checkpoint(capsys, data, run):
    newest = run / "checkpoints" / "ckpt-8.data-00000-of-00001"
    with open(newest, "r+b") as f:
        f.truncate(1000)
    code, out, err = run_cli(capsys, *resume(data, run, steps=4))
    assert code == 0, err
    assert "resumed from step 4 (ckpt-4)" in out.splitlines()
    assert "checkpoint" in err and "ckpt-8 cannot be restored (IndexError)" in err
    # the readers fall back as well (without the repaired pointer ckpt-8 is tried first again)
    (run / "checkpoints" / "checkpoint").unlink()
    shutil.rmtree(run / "saved_model")  # evaluate: from the checkpoint, not the SavedModel
    for command in (["export", "--run", run, "--out", run.parent / "sm"],
                    ["evaluate", "--model", run, "--data", data, "--out", run.parent / "ev"]):
        code, _, err = run_cli(capsys, *command)
        assert code == 0, err
        assert "ckpt-8 cannot be restored" in err


def test_resume_with_no_checkpoints_is_refused(capsys, data, run, tmp_path):
    for p in (run / "checkpoints").iterdir():
        p.unlink()
    before = snapshot(tmp_path)
    line = refused(capsys, *resume(data, run))
    assert line == (f"--resume {run}: nothing to resume (no checkpoint ckpt-N.index in "
                    "checkpoints/); start it again with --overwrite")
    assert changed(before, snapshot(tmp_path)) == []


def test_resume_with_only_damaged_checkpoints_never_starts_from_zero(capsys, data, run):
    for p in (run / "checkpoints").glob("*.data-*"):
        p.write_bytes(b"")
    code, out, err = run_cli(capsys, *resume(data, run))
    assert code == 2 and "resumed" not in out
    assert err.strip().splitlines()[-1] == (
        f"pix2pix-tf train: error: {run / 'checkpoints'}: none of the 2 checkpoint(s) could be "
        "restored (newest: ckpt-8)")
    assert sorted(p.name for p in (run / "checkpoints").glob("ckpt-*")) == [
        "ckpt-4.data-00000-of-00001", "ckpt-4.index", "ckpt-8.data-00000-of-00001", "ckpt-8.index"]


def test_resume_on_a_folder_that_is_not_a_run(capsys, data, tmp_path):
    out = foreign_folder(tmp_path / "mine")
    before = snapshot(tmp_path)
    line = refused(capsys, *resume(data, out))
    assert line == (f"--resume {out}: is not a pix2pix-tf run folder (no config.json and "
                    "checkpoints/); nothing to resume")
    assert changed(before, snapshot(tmp_path)) == []


def test_resume_refuses_a_flag_that_differs_from_the_run(capsys, data, run, tmp_path):
    before = snapshot(tmp_path)
    line = refused(capsys, *resume(data, run, "--lambda-l1", "10"))
    assert line == (f"--resume: lambda_l1 is 100.0 in {run / 'config.json'} but the flags say 10.0")
    line = refused(capsys, *resume(data, run, "--image-size", "128"))
    assert line == f"--resume: image_size is 64 in {run / 'config.json'} but the flags say 128"
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b'{"image_size": "64"}',
                                     b'{"colour": "red"}'])
def test_corrupt_config_json(capsys, data, run, tmp_path, content):
    (run / "config.json").write_bytes(content)
    before = snapshot(tmp_path)
    for command in (resume(data, run), ["export", "--run", run, "--out", tmp_path / "sm"]):
        line = refused(capsys, *command)
        assert f"{run / 'config.json'}" in line, line
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("content", [b"[64", b"{}", b"[64, -1]", b"\xff"])
def test_corrupt_image_shape_json(capsys, data, run, tmp_path, content):
    (run / "image_shape.json").write_bytes(content)
    before = snapshot(tmp_path)
    line = refused(capsys, "export", "--run", run, "--out", tmp_path / "sm")
    assert line.startswith(f"{run / 'image_shape.json'}: "), line
    assert changed(before, snapshot(tmp_path)) == []


def test_corrupt_saved_model_pb(capsys, data, run, tmp_path):
    (run / "saved_model" / "saved_model.pb").write_bytes(b"\x08garbage" * 10)
    before = snapshot(tmp_path)
    line = refused(capsys, "evaluate", "--model", run / "saved_model", "--data", data)
    assert line.startswith(f"{run / 'saved_model' / 'saved_model.pb'}: not a loadable SavedModel ("), line
    assert changed(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ one writer at a time
HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pix2pix_tf.safety import FolderLock
    lock = FolderLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(120)
""")


def _hold_lock(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_fast_naming_the_holder(capsys, data, run, tmp_path):
    holder = _hold_lock(run)
    try:
        before = snapshot(tmp_path)
        t0 = time.perf_counter()
        for command in (resume(data, run), ["export", "--run", run, "--out", run / "saved_model"],
                        ["evaluate", "--model", run, "--data", data]):
            line = refused(capsys, *command)
            assert line.startswith(f"{run}: run folder is in use by another pix2pix-tf process "
                                   f"(pid {holder.pid} on "), line
        assert time.perf_counter() - t0 < 20
        assert changed(before, snapshot(tmp_path)) == []
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_from_a_killed_process_is_taken_over(capsys, data, run):
    holder = _hold_lock(run)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert f'"pid": {holder.pid}' in (run / LOCK).read_text()  # the dead holder's record stays
    code, out, err = run_cli(capsys, *resume(data, run))
    assert code == 0, err
    assert "resumed from step 8 (ckpt-8)" in out
    assert f'"pid": {os.getpid()}' in (run / LOCK).read_text()


# ------------------------------------------------------------------ files changing under us
def test_a_training_file_that_disappears_mid_run_is_named(capsys, monkeypatch, trained_run, tmp_path):
    from pix2pix_tf.run import train as train_module

    data = Path(shutil.copytree(trained_run[0] / "data", tmp_path / "data"))
    victim = data / "train" / "003.png"
    original = train_module.split_pairs

    def check_then_delete(*args, **kwargs):
        pairs = original(*args, **kwargs)
        victim.unlink()  # gone after the up-front check
        return pairs

    monkeypatch.setattr(train_module, "split_pairs", check_then_delete)
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "r", "--steps", 4,
                           *MODEL, *QUIET)
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"pix2pix-tf train: error: {victim}: changed or disappeared during "
                           "training"), line


# ------------------------------------------------------------------ a full disk
@pytest.fixture
def small_disk(tmp_path):
    """A 20 MB tmpfs (room for 3 tiny checkpoints); skipped where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode})")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_full_disk_ends_with_one_line_and_keeps_the_last_checkpoint(capsys, data, small_disk):
    out = small_disk / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, "--steps", 40,
                           "--checkpoint-every", 1, "--keep-checkpoints", 50, *MODEL, *QUIET)
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"pix2pix-tf train: error: {out}/"), line
    assert line.endswith(": cannot write (disk full); the last good checkpoint is kept"), line
    model = load_run(out)  # the newest complete checkpoint loads
    saved = sorted(int(p.name[5:-6]) for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert saved and model.step == saved[-1]
