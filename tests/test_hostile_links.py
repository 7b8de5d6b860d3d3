"""Links planted inside the tool's folders never lead a write outside them: the symlink matrix.

A run folder (or an output folder) received from someone else may hold symbolic links where
the tool writes. Each test here first lets the real commands write a complete folder, then
enumerates every path they wrote (checked against the layout's one home:
``pix2pix_tf.run.folder.is_run_path`` for runs, the manifest for output folders), replaces
each path in turn by a link to an outside victim (a file for a file, a folder for a folder),
runs every command that writes that path, and asserts the victim is byte-identical and the
command refused with one line, exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from pix2pix_tf.apps import cli
from pix2pix_tf.run.folder import is_run_path
from pix2pix_tf.host.manifests import read_manifest
from pix2pix_tf.host.writes import LOCK, MANIFEST
from conftest import make_pair, write_image
from treesnap import changed, snapshot

MODEL = ["--image-size", "64", "--ngf", "8", "--ndf", "8"]  # the trained_run's config flags
TRAIN = ["--steps", "12", "--steps-per-epoch", "4", "--quiet", "--no-export", *MODEL]


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def walk(root: Path) -> list[str]:
    """Every path under ``root`` (posix, relative), parents before children."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found, key=lambda rel: (rel.count("/"), rel))


def plant(root: Path, rel: str, victims: Path) -> Path:
    """Replace ``root/rel`` by a link to a victim of the same type under ``victims``; return it."""
    path = root / rel
    victim = victims / ("dir" if path.is_dir() else "file")
    if path.is_dir():
        shutil.copytree(path, victim)  # the victim holds what the folder held
        (victim / "owner.txt").write_text("somebody's folder")
        shutil.rmtree(path)
    else:
        victim.write_bytes(b"somebody's file\n" + path.read_bytes()[:64])
        path.unlink()
    path.symlink_to(victim, target_is_directory=victim.is_dir())
    return path


def check_refused(capsys, tmp_path, source: Path, rel: str, command: list, case: str) -> str:
    """Copy ``source``, plant a link at ``rel``, run ``command``; victim intact, one-line refusal."""
    work = tmp_path / case
    folder = Path(shutil.copytree(source, work / "folder", symlinks=True))
    victims = work / "victims"
    victims.mkdir()
    link = plant(folder, rel, victims)
    before = snapshot(victims)
    args = [str(a).replace("{F}", str(folder)) for a in command]
    code, _, err = run_cli(capsys, *args)
    assert changed(before, snapshot(victims)) == [], (case, err)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (case, code, err)
    assert str(link) in lines[0] or MANIFEST in lines[0] or str(link.parent) in lines[0], (case, lines[0])
    shutil.rmtree(work)
    return lines[0]


# ------------------------------------------------------------------ run folders
@pytest.fixture(scope="module")
def full_run(trained_run, tmp_path_factory):
    """The trained run plus what evaluate and a TFLite export write into it; and its data."""
    root, _, _ = trained_run
    base = tmp_path_factory.mktemp("links")
    run = Path(shutil.copytree(root / "run", base / "run", symlinks=True))
    data = root / "data"
    assert cli.main(["evaluate", "--model", str(run), "--data", str(data)]) == 0
    assert cli.main(["export", "--run", str(run), "--format", "tflite", "--out", str(run / "g.tflite")]) == 0
    return run, data


def run_commands(rel: str, data: Path) -> dict[str, list]:
    """The commands that write ``rel`` of a run folder ``{F}``."""
    top = rel.split("/")[0]
    every = {"resume": ["train", "--data", data, "--out", "{F}", "--resume", *TRAIN],
             "overwrite": ["train", "--data", data, "--out", "{F}", "--overwrite", *TRAIN]}
    export = {"export": ["export", "--run", "{F}", "--out", "{F}/saved_model"]}
    tflite = {"export_tflite": ["export", "--run", "{F}", "--format", "tflite", "--out", "{F}/g.tflite"]}
    evaluate = {"evaluate": ["evaluate", "--model", "{F}", "--data", data]}
    if top in (MANIFEST, LOCK):
        return {**every, **export, **tflite, **evaluate}
    if top == "saved_model":
        return {**every, **export}
    if top == "g.tflite":
        return {"overwrite": every["overwrite"], **tflite}
    if top.startswith("evaluation_"):
        return {"overwrite": every["overwrite"], **evaluate}
    return every


def test_every_path_a_run_writes_is_in_the_layout(full_run):
    run, _ = full_run
    paths = walk(run)
    assert len(paths) > 30, paths
    assert [p for p in paths if not is_run_path(p)] == []
    for expected in ("history.csv", "checkpoints/ckpt-8.index", "logs/train", "saved_model/saved_model.pb",
                     "evaluation_test/metrics.json", "g.tflite", LOCK, MANIFEST):
        assert expected in paths


def test_a_link_anywhere_in_a_run_never_leads_a_write_outside(full_run, tmp_path, capsys):
    run, data = full_run
    cases = [(rel, name, command) for rel in walk(run)
             for name, command in run_commands(rel, data).items()]
    for rel, name, command in cases:
        check_refused(capsys, tmp_path, run, rel, command, f"{name}-{rel.replace('/', '_')}")
    assert len(cases) >= 80  # the matrix' size, paths x commands (reported in the issue note)


def test_history_and_lock_links_are_named_on_resume(full_run, tmp_path, capsys):
    run, data = full_run
    for rel in ("history.csv", LOCK, "logs"):
        line = check_refused(capsys, tmp_path, run, rel,
                             ["train", "--data", data, "--out", "{F}", "--resume", *TRAIN], f"named-{rel}")
        assert line.endswith("; pix2pix-tf never writes through links or special files in its "
                             "folders; nothing was changed; remove it"), line
        assert f"/{rel}: is a symbolic link inside " in line, line


def test_a_hard_linked_history_is_not_appended_to(full_run, tmp_path, capsys):
    run, data = full_run
    folder = Path(shutil.copytree(run, tmp_path / "run", symlinks=True))
    victim = tmp_path / "victim.csv"
    victim.write_text("somebody's table\n")
    (folder / "history.csv").unlink()
    os.link(victim, folder / "history.csv")
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", folder, "--resume",
                           "--steps", "12", "--steps-per-epoch", "4", "--quiet", "--no-export", *MODEL)
    assert victim.read_text() == "somebody's table\n"
    assert code == 2 and err.strip().endswith(": has 2 hard links inside " + str(folder) +
                                              "; pix2pix-tf never writes through links or special "
                                              "files in its folders; nothing was changed; remove it"), err


# ------------------------------------------------------------------ output folders
def manifest_paths(folder: Path) -> set[str]:
    """What the output folder's manifest says pix2pix-tf wrote, with its sub-folders."""
    m = read_manifest(folder)
    files = set(m["written"]) | set(m.get("files", []))
    return files | {f.split("/")[0] for f in files if "/" in f} | {MANIFEST}


@pytest.fixture(scope="module")
def outputs(trained_run, tmp_path_factory):
    """A prediction folder, a make-sample dataset and a combine dataset, each written once."""
    root, _, _ = trained_run
    base = tmp_path_factory.mktemp("outputs")
    rng = np.random.default_rng(1)
    for i in range(2):
        write_image(base / "photos" / f"p{i}.png", make_pair(rng)[:, :40])
        write_image(base / "A" / "train" / f"x{i}.png", make_pair(rng)[:, :40])
        write_image(base / "B" / "train" / f"x{i}.png", make_pair(rng)[:, :40])
    commands = {
        "predict": ["predict", "--model", root / "run", "--input", base / "photos", "--out", "{F}"],
        "make-sample": ["make-sample", "--out", "{F}", "--train", "2", "--test", "1", "--size", "32"],
        "combine": ["combine", "--a", base / "A", "--b", base / "B", "--out", "{F}"],
    }
    made = {}
    for name, command in commands.items():
        folder = base / name
        assert cli.main([str(a).replace("{F}", str(folder)) for a in command]) == 0, name
        made[name] = (folder, [*command, "--overwrite"])
    return made


@pytest.mark.parametrize("kind", ["predict", "make-sample", "combine"])
def test_a_link_anywhere_in_an_output_folder_never_leads_a_write_outside(outputs, kind, tmp_path, capsys):
    folder, command = outputs[kind]
    paths = walk(folder)
    assert set(paths) == manifest_paths(folder)  # every path written is one the manifest records
    for rel in paths:
        check_refused(capsys, tmp_path, folder, rel, command, f"{kind}-{rel.replace('/', '_')}")


# ------------------------------------------------------------------ delete by provenance
def test_overwrite_never_deletes_a_user_file_named_in_an_edited_run_manifest(trained_run, tmp_path, capsys):
    root, _, _ = trained_run
    run = Path(shutil.copytree(root / "run", tmp_path / "run", symlinks=True))
    manifest = json.loads((run / MANIFEST).read_text())
    for name, text in (("notes.txt", "my notes"), ("history.csv", "my own table, not a history\n")):
        (run / name).write_text(text)
        manifest["written"] = [n for n in manifest["written"] if n != name] + [name]
        (run / MANIFEST).write_text(json.dumps(manifest))
        before = snapshot(run)
        code, _, err = run_cli(capsys, "train", "--data", root / "data", "--out", run, "--overwrite", *TRAIN)
        assert code == 2, err
        assert err.strip() == (f"pix2pix-tf train: error: --overwrite {run}: {run / name} "
                               + ("is recorded in .pix2pix-tf.json but is not an entry a run writes"
                                  if name == "notes.txt" else "does not hold what pix2pix-tf writes there")
                               + "; nothing was removed; move it out of the run folder first")
        assert changed(before, snapshot(run)) == []
        (run / name).rename(tmp_path / name)  # the user moves it out, as told
    code, _, err = run_cli(capsys, "train", "--data", root / "data", "--out", run, "--overwrite", *TRAIN)
    assert code == 0, err
    assert (tmp_path / "notes.txt").read_text() == "my notes"


@pytest.mark.parametrize("where", ["top", "sub"])
def test_overwrite_keeps_a_user_file_named_in_an_edited_output_manifest(tmp_path, capsys, where):
    out = tmp_path / "sample"
    make = ["make-sample", "--out", out, "--train", "2", "--test", "1", "--size", "32"]
    assert run_cli(capsys, *make)[0] == 0
    rel = "notes.txt" if where == "top" else "train/notes.txt"
    (out / rel).write_text("my notes")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["written" if where == "top" else "files"].append(rel)
    (out / MANIFEST).write_text(json.dumps(manifest))
    # a file we wrote and the user changed since is theirs now, too
    mine = sorted((out / "train").glob("*.jpg"))[0]
    mine.write_bytes(b"edited by hand")
    code, _, err = run_cli(capsys, *make[:-6], "--train", "1", "--test", "1", "--size", "32", "--overwrite")
    if code == 0:  # the edited file is not one this call writes again: it is left, and forgotten
        assert (out / rel).read_text() == "my notes"
        recorded = json.loads((out / MANIFEST).read_text())
        assert rel not in recorded["written"] + recorded["files"]
    else:  # the edited file is one this call would write: refused, naming it
        assert code == 2 and str(mine) in err and "was not written by pix2pix-tf" in err, err
    assert (out / rel).read_text() == "my notes"
    assert mine.read_bytes() == b"edited by hand"


# ------------------------------------------------------------------ a failed start
def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(trained_run, tmp_path, capsys, monkeypatch):
    from pix2pix_tf.run import train as train_module

    root, _, _ = trained_run
    data = Path(shutil.copytree(root / "data", tmp_path / "data"))
    victim = data / "train" / "003.png"
    original = train_module.data_state

    def state_then_damage(data_dir):
        state = original(data_dir)
        victim.write_bytes(victim.read_bytes()[:40])  # truncated after the up-front check
        return state

    monkeypatch.setattr(train_module, "data_state", state_then_damage)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TRAIN)
    assert code == 2, err
    assert err.strip().splitlines()[-1].startswith(f"pix2pix-tf train: error: {victim}: "), err
    assert not out.exists()  # nothing to clean: the same command runs again as it is
    monkeypatch.setattr(train_module, "data_state", original)
    shutil.copy(root / "data" / "train" / "003.png", victim)
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TRAIN)
    assert code == 0, err


def test_a_failed_start_in_an_existing_empty_folder_leaves_it_empty(trained_run, tmp_path, capsys, monkeypatch):
    from pix2pix_tf import model as train_module  # Pix2Pix, whose fit the run calls

    root, _, _ = trained_run
    out = tmp_path / "mine"
    out.mkdir()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module.Pix2Pix, "fit", fail)
    code, _, err = run_cli(capsys, "train", "--data", root / "data", "--out", out, *TRAIN)
    assert code == 130, err  # interrupted, before any checkpoint
    assert out.is_dir() and os.listdir(out) == []
