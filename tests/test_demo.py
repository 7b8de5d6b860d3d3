"""The web app ``pix2pix-tf demo`` (pix2pix_tf.demo): served headless, driven by gradio_client.

The app's output must be the SavedModel's: for an upload, ``translate_uint8`` on the same
uint8 image; for a drawing, ``translate_uint8`` on the drawing as flattened for the model
(transparent -> background, label colours snapped to the palette). Both are compared
bit for bit: the app calls the same signature on the same array in the same process, and
the image travels as PNG (lossless) both ways, so there is nothing to round differently.

The served tests start a Gradio server (about 10 s with the export): marked slow. The CLI
refusals and the flattening run in the default suite; nothing here needs gradio but the
served tests, which skip with the reason when it is not installed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pix2pix_tf import demo
from pix2pix_tf.draw import PALETTES

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no usage reports

needs_gradio = pytest.mark.skipif(not demo.gradio_available(),
                                  reason='gradio is not installed (pip install "pix2pix-tf[demo]")')
FACADES = PALETTES["facades"]
HIDE_GRADIO = 'import sys; sys.modules["gradio"] = None; sys.modules["gradio_client"] = None; '


def run_cli(*args, prelude=""):
    """``pix2pix-tf ARGS`` in a subprocess; ``prelude`` runs first (e.g. hiding gradio)."""
    code = prelude + "from pix2pix_tf.cli import console_main; console_main()"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


def assert_one_line_refusal(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pix2pix-tf demo: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# --------------------------------------------------------------------------
# no server: flattening, refusals, --help
# --------------------------------------------------------------------------
def test_flatten_drawing_composites_on_the_background_and_snaps_to_the_palette():
    wall, window = FACADES["wall"], FACADES["window"]
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent: the background everywhere
    rgba[1, 1] = (*window, 255)
    rgba[1, 2] = (*window, 100)  # an anti-aliased stroke edge
    rgba[2, 2] = (30, 180, 250, 255)  # a smoothed colour between classes
    flat = demo.flatten_drawing(rgba, wall, FACADES)
    assert flat.dtype == np.uint8 and flat.shape == (4, 4, 3)
    colours = {tuple(c) for c in flat.reshape(-1, 3).tolist()}
    assert colours <= set(FACADES.values())
    assert tuple(flat[0, 0]) == wall and tuple(flat[1, 1]) == window and tuple(flat[2, 2]) == window
    edges = demo.flatten_drawing(rgba, (255, 255, 255))  # no palette: colours kept
    assert tuple(edges[0, 0]) == (255, 255, 255) and tuple(edges[2, 2]) == (30, 180, 250)
    opaque = np.dstack([np.arange(48, dtype=np.uint8).reshape(4, 4, 3), np.full((4, 4), 255, np.uint8)])
    assert np.array_equal(demo.flatten_drawing(opaque), opaque[..., :3])  # opaque: unchanged


def test_canvas_style_follows_the_drawing_widget():
    assert demo.canvas_style("edges") == (None, (255, 255, 255), [("ink", (0, 0, 0))])
    labels, background, swatches = demo.canvas_style("facades")
    assert labels == FACADES and background == FACADES["wall"] and len(swatches) == len(FACADES)
    with pytest.raises(demo.DemoError, match="unknown palette 'zebra'"):
        demo.canvas_style("zebra")


def test_cli_refuses_a_missing_model_path_in_one_line(tmp_path):
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path / "nope"),
                            str(tmp_path / "nope"), "no such SavedModel or run folder")


def test_cli_refuses_an_unknown_palette_in_one_line(tmp_path):
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path, "--palette", "zebra"),
                            "unknown palette 'zebra'", "edges", "facades")


@pytest.mark.slow
def test_cli_refuses_a_folder_that_is_no_model_in_one_line(tmp_path):
    if not demo.gradio_available():
        pytest.skip('gradio is not installed (pip install "pix2pix-tf[demo]")')
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path),
                            "neither a SavedModel folder nor a run folder")


def test_demo_help_and_the_install_hint_without_gradio(tmp_path):
    """``demo --help`` needs no gradio; ``demo`` without it names the extra (exit 2)."""
    result = run_cli("demo", "--help", prelude=HIDE_GRADIO)
    assert result.returncode == 0, result.stderr
    for flag in ("--model", "--palette", "--host", "--port", "--share", 'pix2pix-tf[demo]'):
        assert flag in result.stdout
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path, prelude=HIDE_GRADIO),
                            'pip install "pix2pix-tf[demo]"')
    code = ("import sys; sys.modules['gradio'] = None\n"
            "from pix2pix_tf import demo\n"
            "try:\n    demo.launch(sys.argv[1])\n"
            "except demo.DemoError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == demo.INSTALL_HINT, out.stderr


def test_a_gradio_older_than_6_is_refused_with_the_upgrade_command(tmp_path, monkeypatch):
    if demo.gradio_version() is None:
        pytest.skip('gradio is not installed (pip install "pix2pix-tf[demo]")')
    monkeypatch.setattr(demo.importlib.metadata, "version", lambda name: "5.49.1")
    assert not demo.gradio_available()
    with pytest.raises(demo.DemoError, match=r'needs gradio 6 or newer, found 5\.49\.1: '
                                             r'pip install -U "pix2pix-tf\[demo\]"'):
        demo.check_demo_args(tmp_path)


def test_importing_the_demo_module_imports_neither_gradio_nor_tensorflow():
    code = ("import sys, pix2pix_tf.demo, pix2pix_tf.cli; "
            "print(sorted(m for m in ('gradio', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------
# served: a tiny exported generator, the app on a free port, gradio_client
# --------------------------------------------------------------------------
SIZE = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(app, client, SavedModel translate_uint8, folder): a 32x32 ngf-4 generator's demo."""
    pytest.importorskip("gradio", reason='gradio is not installed (pip install "pix2pix-tf[demo]")')
    import keras
    import tensorflow as tf
    from gradio_client import Client

    import pix2pix_tf
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.run.export import export_saved_model

    root = tmp_path_factory.mktemp("demo")
    cfg = Pix2PixConfig(image_size=SIZE, load_size=SIZE, ngf=4, ndf=4)
    keras.utils.set_random_seed(0)
    export_saved_model(pix2pix_tf.build_generator(cfg), cfg, root / "sm")
    app = demo.launch(root / "sm", palette="facades", port=free_port(), share=False,
                      inline=False, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(app.local_url, verbose=False, download_files=str(root / "downloads"))
        reference = tf.saved_model.load(str(root / "sm")).signatures["translate_uint8"]
        yield app, client, reference, root
    finally:
        app.close()


def saved_model_output(reference, image: np.ndarray) -> np.ndarray:
    """The SavedModel's translate_uint8 on one uint8 (H, W, 3) image -> (H, W, 3) uint8."""
    return reference(images=image[None])["output"][0].numpy()


def read_png(path) -> np.ndarray:
    import tensorflow as tf

    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG (a lossy format would change pixels)"
    return tf.io.decode_png(data, channels=3).numpy()


def write_png(path: Path, image: np.ndarray) -> str:
    import tensorflow as tf

    path.write_bytes(tf.io.encode_png(image).numpy())
    return str(path)


def sketch(background) -> tuple[np.ndarray, np.ndarray]:
    """(layer, composite) as the editor's canvas holds them: RGBA strokes on the background.

    A window and a door in the facades colours, and a stroke edge the browser anti-aliased
    (half-transparent in the layer, a colour between classes in the composite).
    """
    layer = np.zeros((SIZE, SIZE, 4), np.uint8)
    layer[4:12, 6:14] = (*FACADES["window"], 255)
    layer[20:32, 12:20] = (*FACADES["door"], 255)
    layer[4:12, 14] = (*FACADES["window"], 120)  # the soft edge
    alpha = layer[..., 3:] / 255.0
    rgb = np.round(layer[..., :3] * alpha + np.asarray(background) * (1 - alpha)).astype(np.uint8)
    composite = np.dstack([rgb, np.full((SIZE, SIZE), 255, np.uint8)])
    return layer, composite


@pytest.mark.slow
@needs_gradio
def test_upload_gives_the_saved_models_output(served):
    app, client, reference, root = served
    from gradio_client import handle_file

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)  # not the training size
    out = read_png(client.predict(handle_file(write_png(root / "upload.png", image)),
                                  api_name="/translate_upload"))
    expected = saved_model_output(reference, image)
    assert out.shape == (40, 56, 3)
    assert np.array_equal(out, expected), np.abs(out.astype(int) - expected).max()


@pytest.mark.slow
@needs_gradio
def test_a_sketch_sent_as_editor_files_gives_the_saved_models_output(served):
    """The editor's value as gradio_client sends it: background, layers and composite files."""
    app, client, reference, root = served
    from gradio_client import handle_file

    wall = FACADES["wall"]
    background = np.full((SIZE, SIZE, 3), wall, np.uint8)
    layer, composite = sketch(wall)
    value = {"background": handle_file(write_png(root / "bg.png", background)),
             "layers": [handle_file(write_png(root / "layer.png", layer))],
             "composite": handle_file(write_png(root / "composite.png", composite))}
    out = read_png(client.predict(value, api_name="/translate_drawing"))
    seen = demo.flatten_drawing(composite, wall, FACADES)  # what the generator was given
    assert {tuple(c) for c in seen.reshape(-1, 3).tolist()} == {wall, FACADES["window"], FACADES["door"]}
    assert np.array_equal(out, saved_model_output(reference, seen))
    assert not np.array_equal(out, saved_model_output(reference, background))  # the strokes count


@pytest.mark.slow
@needs_gradio
def test_a_sketch_sent_as_the_browser_sends_it_gives_the_saved_models_output(served):
    """The browser's way for a stroke (gradio 6 ImageEditor, seen in Chromium): each canvas image
    posted as a PNG blob to the editor's ``accept_blobs`` server function under one id, then the
    event with ``{"id": id}``. (For some strokes it uploads the files and sends them as in the
    test above.)"""
    import httpx

    app, client, reference, root = served
    editor = next(b for b in app.blocks.values() if type(b).__name__ == "ImageEditor")
    wall = FACADES["wall"]
    layer, composite = sketch(wall)
    background = np.full((SIZE, SIZE, 3), wall, np.uint8)
    blob_id = "testblob01"
    url = app.local_url.rstrip("/") + "/gradio_api/component_server/"
    for kind, index, image in (("background", "null", background), ("composite", "null", composite),
                               ("layer", "0", layer)):
        import tensorflow as tf

        png = tf.io.encode_png(image).numpy()
        form = {"id": blob_id, "type": kind, "index": index, "component_id": str(editor._id),
                "fn_name": "accept_blobs", "session_hash": client.session_hash}
        response = httpx.post(url, data=form, files={"file": (f"{kind}.png", png, "image/png")})
        assert response.status_code == 200, response.text
    out = read_png(client.predict({"id": blob_id}, api_name="/translate_drawing"))
    seen = demo.flatten_drawing(composite, wall, FACADES)
    assert np.array_equal(out, saved_model_output(reference, seen))


@pytest.mark.slow
@needs_gradio
def test_clear_gives_back_the_empty_canvas_and_its_output(served):
    app, client, reference, root = served
    value, output = client.predict(api_name="/clear")
    canvas = read_png(value["composite"])
    assert canvas.shape == (SIZE, SIZE, 3) and (canvas == FACADES["wall"]).all()
    assert np.array_equal(read_png(output), saved_model_output(reference, canvas))


@pytest.mark.slow
@needs_gradio
def test_the_drawing_is_translated_on_input_events(served):
    """Each stroke raises "input"; Gradio 6's editor drops the first "change" after page load
    (seen in Chromium: the first stroke showed nothing), so the app must listen to "input"."""
    app, client, reference, root = served
    editor = next(b for b in app.blocks.values() if type(b).__name__ == "ImageEditor")
    triggers = [d["targets"] for d in app.config["dependencies"] if d["api_name"] == "translate_drawing"]
    assert triggers == [[(editor._id, "input")]], triggers


@pytest.mark.slow
@needs_gradio
def test_a_port_in_use_is_refused_in_one_line(served):
    app, client, reference, root = served
    port = int(app.local_url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(demo.DemoError, match=f"cannot serve the demo on 127.0.0.1:{port}"):
        demo.launch(root / "sm", port=port, share=False, inline=False,
                    prevent_thread_lock=True, quiet=True)


@pytest.mark.slow
@needs_gradio
def test_the_demo_command_serves_until_ctrl_c(served):
    """``pix2pix-tf demo --model SM --port P``: says where, answers, stops cleanly on SIGINT."""
    import signal
    import time

    from gradio_client import Client, handle_file

    app, client, reference, root = served
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    # `python -m pix2pix_tf.cli demo ...` with Python's own Ctrl+C handler: a shell without job
    # control starts background jobs (a CI run started with `&`) with SIGINT ignored, and a
    # child inherits that; Python then never installs its handler and the SIGINT below is lost.
    cli = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "sys.argv[0] = 'pix2pix-tf'; runpy.run_module('pix2pix_tf.cli', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", cli, "demo", "--model", root / "sm",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        said = [proc.stdout.readline() for _ in range(3)]  # blocks until the server is up
        first = said[0]
        assert said[-1] == "Ctrl+C stops it\n", said
        assert first.startswith(f"serving SavedModel {root / 'sm'} at http://127.0.0.1:{port}"), (
            first, proc.stderr.read() if proc.poll() is not None else "")
        image = np.full((24, 24, 3), 200, np.uint8)
        out = read_png(Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(write_png(root / "cli_upload.png", image)), api_name="/translate_upload"))
        assert np.array_equal(out, saved_model_output(reference, image))
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.slow
def test_a_run_with_checkpoints_only_is_served_like_its_export(trained_run, tmp_path):
    """No saved_model/: the same translate_uint8, built in memory from the newest checkpoint."""
    import shutil

    root, summary, cfg = trained_run
    run = tmp_path / "run"
    shutil.copytree(root / "run", run, ignore=shutil.ignore_patterns("saved_model"))
    from_checkpoint = demo.load_translator(run)
    from_export = demo.load_translator(root / "run")
    assert from_checkpoint.description.startswith("run ") and from_export.description.startswith("SavedModel")
    assert from_checkpoint.shape == from_export.shape == (64, 64)
    image = np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    a, b = from_checkpoint(image), from_export(image)
    assert a.shape == b.shape == (50, 70, 3)
    # the same graph and weights; the exported function is a separate trace, so allow one step
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


# --------------------------------------------------------------------------
# in a real browser (headless Chromium through Playwright, as tests/test_browser.py)
# --------------------------------------------------------------------------
CHROMIUM = os.environ.get("PIX2PIX_CHROMIUM", "/usr/bin/chromium")  # as conftest.playwright


@pytest.mark.slow
@needs_gradio
def test_strokes_drawn_in_chromium_are_translated_from_the_first_one(served, monkeypatch,
                                                                      playwright):
    """Mouse strokes on the page's canvas: each one (the first too) gives the SavedModel's
    output for the drawing the server received. Skipped without Playwright or Chromium,
    unless PIX2PIX_REQUIRE_BROWSER=1."""
    import time

    import httpx

    app, client, reference, root = served
    seen = []  # what the generator was given, per event

    def recording(*args, **kwargs):
        seen.append(flatten(*args, **kwargs))
        return seen[-1]

    flatten = demo.flatten_drawing
    monkeypatch.setattr(demo, "flatten_drawing", recording)  # translate_drawing looks it up per call

    def wait_for(condition, seconds=30.0):
        end = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < end, "timed out"
            time.sleep(0.1)

    browser = playwright.chromium.launch(executable_path=CHROMIUM)
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(app.local_url)
        canvas = page.locator("#p2p-canvas canvas").first
        canvas.wait_for(timeout=60_000)
        wait_for(lambda: len(seen) >= 1)  # the editor's "input" at load: the empty canvas
        loaded = len(seen)
        box = canvas.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for stroke in range(2):
            y = cy - 40 + 60 * stroke
            page.mouse.move(cx - 60, y)
            page.mouse.down()
            for k in range(12):
                page.mouse.move(cx - 60 + 10 * k, y + 3 * k)
            page.mouse.up()
            wait_for(lambda: len(seen) >= loaded + stroke + 1)  # this stroke was sent
        drawn = seen[-1]
        sky = np.all(drawn == FACADES["sky"], axis=-1)  # the first brush colour
        assert sky.sum() > 20, "the strokes did not reach the server"
        expected = saved_model_output(reference, drawn)

        def shown():
            src = page.locator("#p2p-output img").first.get_attribute("src") or ""
            if not src.startswith("http"):
                return None
            return read_png_bytes(httpx.get(src).content)

        wait_for(lambda: (lambda out: out is not None and np.array_equal(out, expected))(shown()))
    finally:
        browser.close()


def read_png_bytes(data: bytes) -> np.ndarray:
    import tensorflow as tf

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the output is not a PNG"
    return tf.io.decode_png(data, channels=3).numpy()
