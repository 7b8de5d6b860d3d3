"""Run folders that never lose anything: hostile folders, damaged runs, two writers, a full disk.

Every case drives the real command line (``pix2pix_tf.apps.cli.main``) and checks the exit code,
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

from pix2pix_tf.apps import cli
from pix2pix_tf.run.export import is_our_tflite
from pix2pix_tf.run.loading import load_run
from pix2pix_tf.host.manifests import read_manifest
from pix2pix_tf.host.writes import LOCK, MANIFEST
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
    from pix2pix_tf.host.folder_lock import FolderLock
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
    from pix2pix_tf import model as train_module  # Pix2Pix, whose fit the run calls

    data = Path(shutil.copytree(trained_run[0] / "data", tmp_path / "data"))
    victim = data / "train" / "003.png"
    original = train_module.Pix2Pix.fit

    def delete_then_fit(*args, **kwargs):
        victim.unlink()  # gone once the checks are done and the input pipeline is built
        return original(*args, **kwargs)

    monkeypatch.setattr(train_module.Pix2Pix, "fit", delete_then_fit)
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "r", "--steps", 4,
                           *MODEL, *QUIET)
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"pix2pix-tf train: error: {victim}: changed or disappeared during "
                           "training"), line


# ------------------------------------------------------------------ a full disk
def mounted_tmpfs(tmp_path, size: str):
    """A tmpfs of ``size`` at tmp_path/disk, unmounted after the test; skipped where mounting
    is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode})")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A 20 MB tmpfs (room for 3 tiny checkpoints)."""
    yield from mounted_tmpfs(tmp_path, "20m")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs: room for a run's first files, not for its first checkpoint (about 6 MB)."""
    yield from mounted_tmpfs(tmp_path, "3m")


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


def test_full_disk_at_the_first_checkpoint_leaves_no_temporary_folder(capsys, data, tiny_disk):
    """TensorFlow's writer makes ``ckpt-1_temp/``, then the disk is full: nothing of it is left."""
    out = tiny_disk / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, "--steps", 4,
                           "--checkpoint-every", 1, *MODEL, *QUIET)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.strip().endswith(": cannot write (disk full); the run had saved no checkpoint yet "
                                "and was removed"), err
    assert not [p for p in tiny_disk.rglob("*") if "_temp" in p.name]
    assert not out.exists()  # a failed start leaves nothing: the same command runs again as it is


def test_full_disk_at_a_resumed_runs_first_checkpoint_keeps_only_the_good_ones(
        capsys, trained_run, data, tmp_path):
    """A resumed run whose first save (step 9) does not fit: ckpt-4 and ckpt-8 stay, the run
    still loads, and ``checkpoints/`` holds no ``ckpt-9_temp`` folder."""
    source = trained_run[0] / "run"
    used = sum(-(-f.stat().st_size // 4096) * 4096 for f in source.rglob("*") if f.is_file())
    disk = next(mounted_tmpfs(tmp_path, f"{used // 1024 + 2048}k"))  # 2 MB free: no checkpoint fits
    try:
        run = Path(shutil.copytree(source, disk / "run", symlinks=True))
        before = sorted(p.name for p in (run / "checkpoints").iterdir())
        code, _, err = run_cli(capsys, *resume(data, run, "--checkpoint-every", 1, steps=12))
        after = sorted(p.name for p in (run / "checkpoints").iterdir())
        assert not [name for name in after if "_temp" in name], after
        assert after == before, (before, after)
        assert code == 2, err
        assert err.strip().endswith(": cannot write (disk full); the last good checkpoint is kept"), err
        assert load_run(run).step == 8
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


class _FailingManager:
    """A CheckpointManager stand-in whose save starts TensorFlow's temporaries, then fails."""

    def __init__(self, directory: Path):
        self.directory, self._prefix = str(directory), str(directory / "ckpt")

    def save(self, checkpoint_number):
        temp = Path(f"{self._prefix}-{checkpoint_number}_temp")
        temp.mkdir(exist_ok=True)
        (temp / "part-00000-of-00001.data-00000-of-00001.tempstate1").write_bytes(b"half")
        raise OSError(28, "No space left on device")


def test_a_failed_checkpoint_save_removes_only_its_own_temporaries(tmp_path):
    from types import SimpleNamespace

    from pix2pix_tf.run.callbacks import CheckpointEvery

    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    others = ["ckpt-30_temp", "ckpt-3.index", "ckpt-3_temporary.txt", "notes_temp"]
    for name in others:
        (ckpt / name).write_text("not this save's")
    (ckpt / "ckpt-7_temp").mkdir()  # there before the save of step 7: not the save's own
    saver = CheckpointEvery(_FailingManager(ckpt))
    with pytest.raises(OSError, match="No space left"):  # the error propagates as it was
        saver.save(SimpleNamespace(step=3))
    assert sorted(p.name for p in ckpt.iterdir()) == sorted(others + ["ckpt-7_temp"])
    assert saver.last_saved_step is None and saver.saves == 0
    with pytest.raises(OSError):
        saver.save(SimpleNamespace(step=7))
    assert (ckpt / "ckpt-7_temp").is_dir()  # kept: this save did not create it
