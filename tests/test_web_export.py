"""``pix2pix-tf export --format web``: the folder, the model in it, the refusals (no browser, offline).

The browser itself is exercised in tests/test_browser.py (slow). Here LiteRT.js is a stand-in
npm package folder with the real file names, so nothing is downloaded.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.apps import cli
from pix2pix_tf.host import manifests
from pix2pix_tf.host import writes as safety
from pix2pix_tf.layers import set_inference_mode
from pix2pix_tf.web import page as web
from pix2pix_tf.web import runtime as web_runtime
from pix2pix_tf.run.callbacks import image_grid, save_png
from pix2pix_tf.run.loading import load_run
from pix2pix_tf.web.draw import render_strokes
from pix2pix_tf.datasets.synthetic import render_facade
from treesnap import changed, snapshot

NODE = shutil.which("node")


def fake_litert(root, version=web_runtime.LITERT_VERSION, skip=()):
    """An npm prefix with node_modules/@litertjs/{core,wasm-utils} holding the files the export copies."""
    modules = root / "node_modules" / "@litertjs"
    for name in ("core", "wasm-utils"):
        (modules / name).mkdir(parents=True, exist_ok=True)
        (modules / name / "package.json").write_text(
            json.dumps({"name": f"@litertjs/{name}", "version": version}))
    for dest, (package, rel) in web_runtime.RUNTIME_FILES.items():
        if rel in skip or rel == "package.json":
            continue
        f = modules / package / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(f"// {package}/{rel}\n".encode())
    return root


def export(*args):
    """Run ``pix2pix-tf export`` in this process: (exit status, stdout, stderr)."""
    return cli.main(["export", *map(str, args)])


def assert_refused(code, capsys, *fragments):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    for fragment in fragments:
        assert fragment in err[0], err[0]


@pytest.fixture(scope="module")
def web_export(trained_run, tmp_path_factory):
    """One web export of the shared tiny run (64x64, ngf 8), runtime copied from a stand-in npm install."""
    root, _, _ = trained_run
    tmp = tmp_path_factory.mktemp("web")
    npm = fake_litert(tmp / "npm")
    code = export("--run", root / "run", "--out", tmp / "site", "--format", "web",
                  "--litert-dir", npm, "--palette", "facades")
    assert code == 0
    return tmp / "site", npm


def test_the_folder_holds_the_page_the_model_and_the_runtime(web_export):
    site, npm = web_export
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert names == {".pix2pix-tf.json", "index.html", "pix2pix_web.js", "draw_widget.js",
                     "model.tflite", "web_config.json",
                     *(f"litert/{rel}" for rel in web_runtime.RUNTIME_FILES)}
    assert manifests.folder_kind(site) == web.WEB_KIND
    assert not [p for p in site.parent.iterdir() if p.name.startswith(safety.TMP_PREFIX)]
    core = npm / "node_modules" / "@litertjs" / "core"
    assert (site / "litert/wasm/litert_wasm_internal.wasm").read_bytes() == \
        (core / "wasm/litert_wasm_internal.wasm").read_bytes()
    page = (site / "index.html").read_text()
    imports = json.loads(page.split('<script type="importmap">')[1].split("</script>")[0])["imports"]
    assert imports == {"@litertjs/core": "./litert/core/index.js",
                       "@litertjs/wasm-utils": "./litert/wasm-utils/index.js"}
    assert '<script type="module" src="./pix2pix_web.js">' in page and ".p2p-draw" in page
    info = json.loads((site / "web_config.json").read_text())
    assert info["size"] == 64 and info["input_channels"] == 3 and info["model"] == "model.tflite"
    assert info["runtime"] == {"name": "LiteRT.js", "package": "@litertjs/core",
                               "version": web_runtime.LITERT_VERSION, "wasm_utils_version": web_runtime.LITERT_VERSION,
                               "source": "copy", "wasm": "litert/wasm/"}
    widget = info["widget"]
    assert widget["palette"][2] == ["wall", [0, 60, 255]] and widget["background"] == [0, 60, 255]
    assert widget["smooth_upload"] is False  # label maps: uploads keep their exact colours
    from pix2pix_tf.web import draw_widget
    assert (site / "draw_widget.js").read_bytes() == draw_widget.JS_FILE.read_bytes()  # the widget, unchanged


def _ops(path):
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.Subgraphs(0)
    ops = collections.Counter()
    for i in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(i).OpcodeIndex())
        ops[names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]] += 1
    return ops


def test_the_model_is_fixed_shape_and_equals_the_generator(web_export, trained_run):
    site, _ = web_export
    root, _, _ = trained_run
    interpreter = tf.lite.Interpreter(str(site / "model.tflite"))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inp["shape"].tolist() == [1, 64, 64, 3] and inp["dtype"] == np.float32
    assert out["shape"].tolist() == [1, 64, 64, 3] and out["dtype"] == np.float32
    x = np.random.default_rng(3).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(out["index"])
    model = load_run(root / "run")
    generator = getattr(model, "inference_generator", model.generator)  # what export_run exports
    generator = set_inference_mode(generator, "deterministic")
    assert np.abs(y - generator(x, training=False).numpy()).max() <= 1e-4
    saved = tf.saved_model.load(str(root / "run" / "saved_model"))
    assert np.abs(y - saved.signatures["serving_default"](images=x)["output"].numpy()).max() <= 1e-4
    # convolutions as convolutions: the CPU matmul path (one FULLY_CONNECTED per small-map
    # convolution, among hundreds of slices and pads) stays out of the browser's model
    ops = _ops(site / "model.tflite")
    assert ops["CONV_2D"] >= 6 and "FULLY_CONNECTED" not in ops, ops
    assert web_runtime.LITERT_VERSION in (site / "index.html").read_text()


def test_re_export_over_our_own_folder_and_cdn_runtime(web_export, trained_run, tmp_path, capsys):
    root, _, _ = trained_run
    site = tmp_path / "site"
    shutil.copytree(web_export[0], site)
    before = (site / "model.tflite").stat().st_mtime_ns
    assert export("--run", root / "run", "--out", site, "--format", "web", "--runtime", "cdn") == 0
    assert "python -m http.server" in capsys.readouterr().out
    assert (site / "model.tflite").stat().st_mtime_ns != before
    assert not (site / "litert").exists()  # ours: replaced whole by the cdn variant
    info = json.loads((site / "web_config.json").read_text())
    url = f"https://cdn.jsdelivr.net/npm/@litertjs/core@{web_runtime.LITERT_VERSION}/"
    assert info["runtime"]["source"] == "cdn" and info["runtime"]["wasm"] == url + "wasm/"
    page = (site / "index.html").read_text()
    assert url + "dist/index.js" in page
    assert f"@litertjs/wasm-utils@{web_runtime.LITERT_VERSION}/dist/index.js" in page
    integrity = json.loads(page.split('<script type="importmap">')[1].split("</script>")[0])["integrity"]
    assert integrity == {url + "dist/index.js": web_runtime.CDN_INTEGRITY["@litertjs/core"],
                         f"https://cdn.jsdelivr.net/npm/@litertjs/wasm-utils@{web_runtime.LITERT_VERSION}/dist/index.js":
                             web_runtime.CDN_INTEGRITY["@litertjs/wasm-utils"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temporaries beside it


def test_refusals_are_one_line_and_leave_nothing_behind(trained_run, tmp_path, capsys, monkeypatch):
    root, _, _ = trained_run
    run = root / "run"
    npm = fake_litert(tmp_path / "npm")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    ours_with_extra = tmp_path / "ours"
    manifests.claim_folder(ours_with_extra, web.WEB_KIND)
    (ours_with_extra / "index.html").write_text("old page")
    (ours_with_extra / "photo.jpg").write_text("a user's file")
    broken = fake_litert(tmp_path / "broken", skip={"wasm/litert_wasm_internal.wasm"})
    old = fake_litert(tmp_path / "old", version="0.2.1")
    monkeypatch.chdir(tmp_path)  # no ./node_modules here
    cases = [
        (["--out", foreign, "--litert-dir", npm], ["--out", "mine", "not a web export"]),
        (["--out", ours_with_extra, "--litert-dir", npm], ["photo.jpg", "did not write"]),
        (["--out", run, "--litert-dir", npm], ["is a pix2pix-tf run folder"]),
        (["--out", run / "web", "--litert-dir", npm], ["inside the run folder"]),
        (["--out", run / "checkpoints" / "web", "--litert-dir", npm], ["inside the run folder"]),
        (["--out", root, "--litert-dir", npm], ["holds the run folder"]),
        (["--out", run / "saved_model", "--litert-dir", npm], ["inside the run folder"]),
        (["--out", tmp_path / "new", "--runtime", "copy"],
         ["./node_modules/@litertjs/core", "no LiteRT.js runtime files", "leave --runtime out"]),
        (["--out", tmp_path / "new", "--runtime", "copy", "--litert-dir", tmp_path / "nowhere"],
         ["--litert-dir", "nowhere", "does not exist"]),
        (["--out", tmp_path / "new", "--litert-dir", tmp_path / "mine"], ["no LiteRT.js runtime files"]),
        (["--out", tmp_path / "new", "--litert-dir", broken], ["litert_wasm_internal.wasm is missing"]),
        (["--out", tmp_path / "new", "--litert-dir", old], ["LiteRT.js 0.2.1", "2.x"]),
        (["--out", tmp_path / "new", "--runtime", "cdn", "--litert-dir", npm], ["--litert-dir"]),
        (["--out", tmp_path / "new", "--runtime", "cdn", "--palette", "cats"],
         ["--palette cats", "edges, facades"]),
        (["--out", tmp_path / "new", "--runtime", "cdn", "--inference-mode", "paper"],
         ["--inference-mode paper"]),
        (["--out", tmp_path / "f.tflite", "--format", "tflite", "--runtime", "cdn"], ["--format web only"]),
    ]
    before_run, before_tmp = snapshot(root), snapshot(tmp_path)
    for flags, fragments in cases:
        fmt = [] if "--format" in flags else ["--format", "web"]
        assert_refused(export("--run", run, *fmt, *flags), capsys, *fragments)
    assert changed(before_run, snapshot(root)) == []
    assert changed(before_tmp, snapshot(tmp_path)) == []


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_page_scripts_parse(web_export, tmp_path):
    site, _ = web_export
    for name in ("pix2pix_web.js", "draw_widget.js"):
        module = tmp_path / (name[:-3] + ".mjs")  # .mjs: an ES module whatever node's defaults
        shutil.copy(site / name, module)
        result = subprocess.run([NODE, "--check", str(module)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def test_export_help_documents_the_web_format(capsys):
    with pytest.raises(SystemExit):
        cli.main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("{savedmodel,tflite,web}", "--runtime {auto,copy,cdn}", "--litert-dir DIR",
                     "--palette", "LiteRT.js", "python -m http.server"):
        assert fragment in text, fragment


# ------------------------------------------------------------------ the defaults: runtime and palette
def import_map(site):
    page = (site / "index.html").read_text()
    return json.loads(page.split('<script type="importmap">')[1].split("</script>")[0])


def test_runtime_auto_is_the_pinned_cdn_without_a_local_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./node_modules
    runtime = web_runtime.resolve_runtime()
    assert (runtime.source, runtime.version, runtime.why) == ("cdn", web_runtime.LITERT_VERSION, "")
    urls = {p: f"https://cdn.jsdelivr.net/npm/{p}@{web_runtime.LITERT_VERSION}/dist/index.js"
            for p in ("@litertjs/core", "@litertjs/wasm-utils")}
    assert runtime.import_map() == {"imports": urls,
                                    "integrity": {urls[p]: web_runtime.CDN_INTEGRITY[p] for p in urls}}
    assert all(re.fullmatch(r"sha384-[A-Za-z0-9+/]{64}", h) for h in web_runtime.CDN_INTEGRITY.values())
    assert web_runtime.runtime_line("site", runtime) == (
        f"site/index.html loads LiteRT.js {web_runtime.LITERT_VERSION} from cdn.jsdelivr.net (pinned, "
        f"integrity-checked); for an offline page: npm install @litertjs/core@{web_runtime.LITERT_VERSION} "
        "and --runtime copy")
    with pytest.raises(web.ExportError, match=r"no LiteRT.js runtime files .*leave --runtime out"):
        web_runtime.resolve_runtime("copy")


def test_runtime_auto_copies_a_local_copy_and_passes_over_a_broken_one(tmp_path, monkeypatch):
    fake_litert(tmp_path / "here")
    monkeypatch.chdir(tmp_path / "here")  # ./node_modules/@litertjs/core
    runtime = web_runtime.resolve_runtime()
    assert runtime.source == "copy" and runtime.core == Path("node_modules/@litertjs/core").resolve()
    assert runtime.import_map()["imports"]["@litertjs/core"] == "./litert/core/index.js"
    assert "integrity" not in runtime.import_map()  # same-origin files
    line = web_runtime.runtime_line("site", runtime)
    assert line.startswith("site/index.html loads LiteRT.js") and "own copy in site/litert" in line
    assert "--runtime cdn" in line
    fake_litert(tmp_path / "old", version="1.0.0")
    monkeypatch.chdir(tmp_path / "old")  # a ./node_modules of another major version: the CDN, saying why
    runtime = web_runtime.resolve_runtime()
    assert runtime.source == "cdn" and "LiteRT.js 1.0.0" in runtime.why
    assert "not copied: ./node_modules/@litertjs/core: LiteRT.js 1.0.0" in web_runtime.runtime_line("s", runtime)
    with pytest.raises(web.ExportError, match="LiteRT.js 1.0.0"):  # asked for: refused
        web_runtime.resolve_runtime("auto", tmp_path / "old")


def local_litert():
    """A real npm install of @litertjs/core (as .ci/browser makes), or None."""
    for where in (os.environ.get("PIX2PIX_LITERT_DIR"), "node_modules",
                  Path.home() / ".cache" / "pix2pix-tf" / f"litert-{web_runtime.LITERT_VERSION}"):
        core = web_runtime.find_litert(where) if where else None
        if core is not None:
            return core
    return None


def test_the_pinned_integrity_hashes_are_the_npm_files():
    """CDN_INTEGRITY recomputed from a local npm copy at LITERT_VERSION (jsDelivr serves npm's bytes)."""
    core = local_litert()
    if core is None:
        if os.environ.get("PIX2PIX_REQUIRE_BROWSER") == "1":
            pytest.fail("PIX2PIX_REQUIRE_BROWSER=1 but no local @litertjs/core (PIX2PIX_LITERT_DIR)")
        pytest.skip("no local npm copy of @litertjs/core (.ci/browser installs one)")
    runtime = web_runtime.resolve_runtime("copy", core)
    folders = {"@litertjs/core": runtime.core, "@litertjs/wasm-utils": runtime.wasm_utils}
    assert (runtime.version, runtime.wasm_utils_version) == (web_runtime.LITERT_VERSION, web_runtime.LITERT_VERSION)
    for package, rel in web_runtime.CDN_MODULES.items():
        assert web_runtime.sri_sha384(folders[package] / rel) == web_runtime.CDN_INTEGRITY[package], package


def write_snapshot(run, inputs):
    """RUN/images/epoch_0001.png as training writes it (input | output | target), from uint8 inputs."""
    x = tf.constant(np.stack(inputs), tf.float32) / 127.5 - 1
    (run / "images").mkdir(parents=True)
    save_png(image_grid(x, -x, x), run / "images" / "epoch_0001.png")
    return run


def test_palette_from_the_run_snapshots(facades_run, trained_run, tmp_path):
    choice = web.palette_for_run(facades_run)  # a real run on the label-map sample
    assert choice.palette == "facades", choice
    line = web.palette_line(choice)
    assert line.startswith("palette: facades (8 label colours): the inputs in ")
    assert "/images/epoch_0001.png are label maps in the facades colours" in line
    assert line.endswith("another: --palette edges")
    root, _, _ = trained_run  # inputs of random noise: photos, no label palette
    choice = web.palette_for_run(root / "run")
    assert choice.palette == "edges" and "are photos" in choice.why, choice
    sketches = [render_strokes([{"color": [0, 0, 0], "width": w, "points": [[4, 4 * w], [60, 50], [30, 62]]}], 64)
                for w in (1, 2, 3)]
    choice = web.palette_for_run(write_snapshot(tmp_path / "edges", sketches))
    assert choice.palette == "edges" and "black-on-white drawings" in choice.why, choice
    assert web.palette_line(choice).startswith("palette: edges (black ink on white): the inputs in ")
    assert web.palette_line(choice).endswith("another: --palette facades")
    labels = np.zeros((64, 64, 3), np.uint8)  # a label map in colours of its own
    labels[:] = (0, 0, 170)
    labels[8:30, 4:40], labels[36:60, 20:60], labels[:, 50:54] = (255, 0, 0), (0, 255, 0), (255, 255, 0)
    choice = web.palette_for_run(write_snapshot(tmp_path / "own", [labels, labels[::-1]]))
    assert choice.palette == {"#0000aa": (0, 0, 170), "#00ff00": (0, 255, 0), "#ff0000": (255, 0, 0),
                              "#ffff00": (255, 255, 0)}, choice
    photos = [render_facade(seed, 64)[1] for seed in range(3)]  # the sample's photos: BtoA's inputs
    assert web.palette_for_run(write_snapshot(tmp_path / "photos", photos)).palette == "edges"
    choice = web.palette_for_run(tmp_path / "nothing")
    assert choice.palette == "edges" and "holds no snapshot" in choice.why


def test_export_with_no_flags_uses_the_cdn_and_the_runs_palette(facades_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a fresh machine: no ./node_modules
    assert export("--run", facades_run, "--out", "site", "--format", "web") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"site/index.html loads LiteRT.js {web_runtime.LITERT_VERSION} from cdn.jsdelivr.net (pinned, "
                      f"integrity-checked); for an offline page: npm install @litertjs/core@"
                      f"{web_runtime.LITERT_VERSION} and --runtime copy"), out
    assert out[1].startswith("palette: facades (8 label colours): ") and "--palette edges" in out[1], out
    assert out[2].startswith("exported web to site;") and len(out) == 3, out
    site = tmp_path / "site"
    assert not (site / "litert").exists() and set(import_map(site)["integrity"].values()) == \
        set(web_runtime.CDN_INTEGRITY.values())
    widget = json.loads((site / "web_config.json").read_text())["widget"]
    assert widget["titles"][0] == "you draw A (label map)" and widget["palette"][2] == ["wall", [0, 60, 255]]
    assert "a label map (8 classes)" in (site / "index.html").read_text()
    # explicit flags still win: --palette edges, and the copy when asked for
    npm = fake_litert(tmp_path / "npm")
    assert export("--run", facades_run, "--out", "site", "--format", "web", "--palette", "edges",
                  "--litert-dir", npm) == 0
    out = capsys.readouterr().out.splitlines()
    assert "own copy in site/litert" in out[0] and not out[1].startswith("palette:"), out
    widget = json.loads((site / "web_config.json").read_text())["widget"]
    assert widget["palette"] == [["ink", [0, 0, 0]]] and widget["titles"][0] == "you draw A (edges)"
