"""The web app ``pix2pix-tf demo`` (pix2pix_tf.apps.demo): served headless, driven by gradio_client.

The app's output must be the SavedModel's: for an upload, ``translate_uint8`` on the same
uint8 image; for a drawing, ``translate_uint8`` on the drawing as flattened for the model
(transparent -> background, label colours snapped to the palette). Both are compared
bit for bit: the app calls the same signature on the same array in the same process, and
the image travels as PNG (lossless) both ways, so there is nothing to round differently.

The served tests start a Gradio server (about 10 s with the export): marked slow. The CLI
refusals and the flattening run in the default suite; nothing here needs gradio but the
served tests, which skip with the reason when it is not installed.

Hostile input: files that are no image, damaged ones and decompression bombs are refused
from their header with one line in the page and one in the server's log; the demo's upload
folder is its own and is gone when it stops; a ``--host`` that does not resolve is refused
by name. No test touches the network: host names are under the reserved ``.invalid`` TLD.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pix2pix_tf.apps import demo, demo_app, demo_checks
from pix2pix_tf.web.draw import PALETTES

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no usage reports

needs_gradio = pytest.mark.skipif(not demo_checks.gradio_available(),
                                  reason='gradio is not installed (pip install "pix2pix-tf[demo]")')
FACADES = PALETTES["facades"]
HIDE_GRADIO = 'import sys; sys.modules["gradio"] = None; sys.modules["gradio_client"] = None; '


def run_cli(*args, prelude=""):
    """``pix2pix-tf ARGS`` in a subprocess; ``prelude`` runs first (e.g. hiding gradio)."""
    code = prelude + "from pix2pix_tf.apps.cli import console_main; console_main()"
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
    flat = demo_app.flatten_drawing(rgba, wall, FACADES)
    assert flat.dtype == np.uint8 and flat.shape == (4, 4, 3)
    colours = {tuple(c) for c in flat.reshape(-1, 3).tolist()}
    assert colours <= set(FACADES.values())
    assert tuple(flat[0, 0]) == wall and tuple(flat[1, 1]) == window and tuple(flat[2, 2]) == window
    edges = demo_app.flatten_drawing(rgba, (255, 255, 255))  # no palette: colours kept
    assert tuple(edges[0, 0]) == (255, 255, 255) and tuple(edges[2, 2]) == (30, 180, 250)
    opaque = np.dstack([np.arange(48, dtype=np.uint8).reshape(4, 4, 3), np.full((4, 4), 255, np.uint8)])
    assert np.array_equal(demo_app.flatten_drawing(opaque), opaque[..., :3])  # opaque: unchanged


def test_canvas_style_follows_the_drawing_widget():
    assert demo_app.canvas_style("edges") == (None, (255, 255, 255), [("ink", (0, 0, 0))])
    labels, background, swatches = demo_app.canvas_style("facades")
    assert labels == FACADES and background == FACADES["wall"] and len(swatches) == len(FACADES)
    with pytest.raises(demo_checks.DemoError, match="unknown palette 'zebra'"):
        demo_app.canvas_style("zebra")


def test_cli_refuses_a_missing_model_path_in_one_line(tmp_path):
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path / "nope"),
                            str(tmp_path / "nope"), "no such SavedModel or run folder")


def test_cli_refuses_an_unknown_palette_in_one_line(tmp_path):
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path, "--palette", "zebra"),
                            "unknown palette 'zebra'", "edges", "facades")


@pytest.mark.slow
def test_cli_refuses_a_folder_that_is_no_model_in_one_line(tmp_path):
    if not demo_checks.gradio_available():
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
            "from pix2pix_tf.apps import demo, demo_checks\n"
            "try:\n    demo.launch(sys.argv[1])\n"
            "except demo_checks.DemoError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == demo_checks.INSTALL_HINT, out.stderr


def test_a_gradio_older_than_6_is_refused_with_the_upgrade_command(tmp_path, monkeypatch):
    if demo_checks.gradio_version() is None:
        pytest.skip('gradio is not installed (pip install "pix2pix-tf[demo]")')
    monkeypatch.setattr(demo_checks.importlib.metadata, "version", lambda name: "5.49.1")
    assert not demo_checks.gradio_available()
    with pytest.raises(demo_checks.DemoError, match=r'needs gradio 6 or newer, found 5\.49\.1: '
                                             r'pip install -U "pix2pix-tf\[demo\]"'):
        demo_checks.check_demo_args(tmp_path)


def test_importing_the_demo_module_imports_neither_gradio_nor_tensorflow():
    code = ("import sys, pix2pix_tf.apps.demo, pix2pix_tf.apps.cli; "
            "print(sorted(m for m in ('gradio', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------
# hostile input, no server: image files, the upload folder, --host
# --------------------------------------------------------------------------
LIMIT = f"more than the demo takes ({demo_checks.MAX_UPLOAD_PIXELS / 1e6:.1f} megapixels at most); scale it down"


def forged_png(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header says ``width`` x ``height`` (1-bit grey).

    Its pixel data is a stub: decoding it would fail as "truncated", so a refusal that names
    the size shows the size was read from the header and nothing was decoded.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


# (file name, contents, the one-line refusal); forged sizes cost nothing to write
BAD_UPLOADS = [
    ("photo.png", b"Dear diary, this is not an image.\n",
     "photo.png: not an image file (no image format PIL reads matches its contents)"),
    ("bomb.png", forged_png(30000, 30000),  # above PIL's own error bound (DecompressionBombError)
     f"bomb.png: 900.0 megapixels by its header, {LIMIT}"),
    ("huge.png", forged_png(20000, 20000),
     f"huge.png: 400.0 megapixels by its header, {LIMIT}"),
    ("large.png", forged_png(10000, 10000),  # between PIL's warning and error bounds
     f"large.png: 10000x10000 pixels (100.0 megapixels) by its header, {LIMIT}"),
    ("camera.png", forged_png(6000, 5000),  # under PIL's bounds, over the demo's
     f"camera.png: 6000x5000 pixels (30.0 megapixels) by its header, {LIMIT}"),
    ("cut.png", forged_png(64, 48),
     "cut.png: damaged image file (image file is truncated (0 bytes not processed))"),
]


@pytest.mark.parametrize("name, data, message", BAD_UPLOADS, ids=[u[0] for u in BAD_UPLOADS])
def test_bad_image_files_are_refused_in_one_line_without_warnings(tmp_path, name, data, message):
    """Each kind of bad upload: one line naming the file and what is wrong (the size and the
    bound when it is too large), from a path or from bytes, with no warning from PIL."""
    path = tmp_path / name
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail here
        for source in (path, data):
            with pytest.raises(demo_checks.ImageRefused) as refused:
                demo_checks.read_image(source, name)
            assert str(refused.value) == message
            assert str(tmp_path) not in str(refused.value)  # the server's path is not shown


def test_a_size_over_the_bound_is_refused_before_decoding(tmp_path, monkeypatch):
    """The header decides: an image one pixel over a given bound is refused, and PIL never
    decodes it (its ``load`` is not called); at the bound it is read as Gradio would."""
    from PIL import Image

    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "ok.png")
    assert demo_checks.check_image(tmp_path / "ok.png") == (40, 30)
    assert np.array_equal(demo_checks.read_image(tmp_path / "ok.png", max_pixels=1200), image)
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(demo_checks.ImageRefused, match=r"^ok\.png: 40x30 pixels \(1200 pixels\) by its "
                                                r"header, more than the demo takes \(1199 pixels"):
        demo_checks.read_image(tmp_path / "ok.png", "ok.png", max_pixels=1199)


def test_odd_but_valid_images_are_read_as_rgb_without_warnings(tmp_path):
    """A 1-bit PNG and a paletted one with a transparent colour (PIL warns when converting
    it) come back as uint8 RGB, silently; a photo's EXIF orientation is applied, as Gradio's
    image box did before the demo read uploads itself."""
    from PIL import Image

    turned = Image.new("RGB", (3, 2))
    exif = Image.Exif()
    exif[274] = 6  # shown turned 90 degrees clockwise
    turned.save(tmp_path / "turned.png", exif=exif)
    assert demo_checks.read_image(tmp_path / "turned.png").shape == (3, 2, 3)

    bits = Image.new("1", (5, 3))
    bits.putpixel((1, 1), 1)
    bits.save(tmp_path / "bits.png")
    paletted = Image.new("P", (4, 4))
    paletted.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    paletted.putpixel((2, 2), 1)
    paletted.save(tmp_path / "pal.png", transparency=b"\x00")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb = demo_checks.read_image(tmp_path / "bits.png")
        pal = demo_checks.read_image(tmp_path / "pal.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 5, 3) and rgb[1, 1].tolist() == [255] * 3
    assert pal.shape == (4, 4, 3) and pal[2, 2].tolist() == [255, 0, 0]


def test_a_client_file_name_cannot_break_the_line():
    """The name is the client's: a newline or a terminal escape in it stays out of the log."""
    with pytest.raises(demo_checks.ImageRefused) as refused:
        demo_checks.check_image(b"text", "evil\nname\x1b[31m.png")
    assert str(refused.value).startswith("evil name?[31m.png: not an image file")
    assert demo_checks._file_name("../../etc/passwd") == "passwd" and demo_checks._file_name(None) == "the upload"


@pytest.fixture
def fresh_upload_folder(monkeypatch):
    """The module's upload-folder state, fresh for one test (a served app may hold the real one)."""
    monkeypatch.setattr(demo, "_UPLOADS", SimpleNamespace(path=None, users=0, previous=None,
                                                          lock=demo._UPLOADS.lock))


def test_the_upload_folder_is_the_demos_own_and_goes_when_the_last_demo_stops(
        tmp_path, monkeypatch, fresh_upload_folder):
    """In ``GRADIO_TEMP_DIR`` when that names a folder: a new folder there is Gradio's cache
    while demos run; the last to stop removes it and only it, and the variable is restored."""
    (tmp_path / "mine.txt").write_text("the user's")
    (tmp_path / "gradio-cache").mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    first = demo._claim_upload_folder()
    assert first.parent == tmp_path.resolve() and first.name.startswith("pix2pix-tf-demo-")
    assert os.environ["GRADIO_TEMP_DIR"] == str(first) and demo.upload_folder() == first
    assert demo._claim_upload_folder() == first  # a second demo in the process shares it
    (first / "abc").mkdir()
    (first / "abc" / "upload.png").write_bytes(b"x")
    demo._release_upload_folder()
    assert first.is_dir()  # the other demo still runs
    demo._release_upload_folder()
    assert not first.exists() and demo.upload_folder() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradio-cache", "mine.txt"]
    assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path)
    demo._release_upload_folder()  # once more: nothing to do, nothing removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradio-cache", "mine.txt"]


def test_a_host_that_does_not_resolve_is_refused_by_name(tmp_path, fresh_upload_folder):
    """Before any model loads or folder is made: the flag, the name and the resolver's reason."""
    demo_checks.check_host("127.0.0.1")
    with pytest.raises(demo_checks.DemoError, match=r"^--host nosuch\.invalid: does not resolve \(.+\)$"):
        demo.serve(tmp_path / "no-model-needed", host="nosuch.invalid", port=free_port())
    with pytest.raises(demo_checks.DemoError, match=r"^host nosuch\.invalid: does not resolve"):
        demo.launch(tmp_path, host="nosuch.invalid")
    with pytest.raises(demo_checks.DemoError, match=r"^--host nosuch\.invalid: does not resolve"):
        demo_checks.check_demo_args(tmp_path, "facades", host="nosuch.invalid")
    assert demo.upload_folder() is None


@pytest.mark.slow
def test_cli_refuses_a_host_that_does_not_resolve_in_one_line(tmp_path):
    """Was "Cannot find empty port" after scanning 100 ports; the CLI loads TensorFlow first."""
    if not demo_checks.gradio_available():
        pytest.skip('gradio is not installed (pip install "pix2pix-tf[demo]")')
    assert_one_line_refusal(run_cli("demo", "--model", tmp_path, "--host", "nosuch.invalid"),
                            "pix2pix-tf demo: error: --host nosuch.invalid: does not resolve (")


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
def test_bad_uploads_get_one_line_in_the_page_and_one_in_the_log(served, capfd):
    """Each bad upload: the page's error is the one line naming the file and the problem,
    the server's stderr has that line once and no traceback. The editor's files (an API
    client may send any) are checked the same way."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    app, client, reference, root = served
    folder = root / "bad"
    folder.mkdir(exist_ok=True)
    capfd.readouterr()
    for name, data, message in BAD_UPLOADS:
        (folder / name).write_bytes(data)
        with pytest.raises(AppError) as shown:
            client.predict(handle_file(str(folder / name)), api_name="/translate_upload")
        assert shown.value.message == message
    bomb = handle_file(str(folder / "bomb.png"))
    with pytest.raises(AppError) as shown:
        client.predict({"background": bomb, "layers": [], "composite": bomb},
                       api_name="/translate_drawing")
    assert shown.value.message == BAD_UPLOADS[1][2]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Warning" not in err, err
    logged = [message for *_, message in BAD_UPLOADS] + [BAD_UPLOADS[1][2]]
    assert err.splitlines() == [f"pix2pix-tf demo: refused an upload: {m}" for m in logged]


@pytest.mark.slow
@needs_gradio
def test_uploads_and_outputs_go_to_the_demos_own_folder(served):
    """Gradio's cache is the demo's folder while it runs, not the shared one."""
    from gradio_client import handle_file

    app, client, reference, root = served
    folder = app.upload_folder
    assert folder.name.startswith("pix2pix-tf-demo-") and demo.upload_folder() == folder
    assert os.environ["GRADIO_TEMP_DIR"] == str(folder)
    before = set(folder.rglob("*.png"))
    image = np.full((8, 8, 3), 90, np.uint8)
    client.predict(handle_file(write_png(root / "own-folder-check.png", image)),
                   api_name="/translate_upload")
    new = {p.name for p in set(folder.rglob("*.png")) - before}
    assert "own-folder-check.png" in new and "image.png" in new, new  # the upload, the output
    shared = Path(demo.tempfile.gettempdir()) / "gradio"  # Gradio's default cache
    assert not (shared.is_dir() and list(shared.rglob("own-folder-check.png")))


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
    seen = demo_app.flatten_drawing(composite, wall, FACADES)  # what the generator was given
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
    seen = demo_app.flatten_drawing(composite, wall, FACADES)
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
    with pytest.raises(demo_checks.DemoError, match=f"cannot serve the demo on 127.0.0.1:{port}"):
        demo.launch(root / "sm", port=port, share=False, inline=False,
                    prevent_thread_lock=True, quiet=True)


@pytest.mark.slow
@needs_gradio
def test_the_demo_command_serves_until_ctrl_c(served):
    """``pix2pix-tf demo --model SM --port P``: says where, answers, stops cleanly on SIGINT.

    Its uploads go to a folder of its own inside ``GRADIO_TEMP_DIR`` (a folder the user
    has, with a file of theirs): gone after Ctrl+C, the user's file and folder kept. A bad
    upload is one line on its stderr, no traceback.
    """
    import signal
    import time

    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    app, client, reference, root = served
    port = free_port()
    cache = root / "users-cache"
    cache.mkdir()
    (cache / "keep-me.txt").write_text("the user's own file")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "GRADIO_TEMP_DIR": str(cache)}
    # `python -m pix2pix_tf.apps.cli demo ...` with Python's own Ctrl+C handler: a shell without job
    # control starts background jobs (a CI run started with `&`) with SIGINT ignored, and a
    # child inherits that; Python then never installs its handler and the SIGINT below is lost.
    cli = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "sys.argv[0] = 'pix2pix-tf'; runpy.run_module('pix2pix_tf.apps.cli', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", cli, "demo", "--model", root / "sm",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        said = [proc.stdout.readline() for _ in range(4)]  # blocks until the server is up
        first = said[0]
        assert said[-1] == "Ctrl+C stops it\n", said
        assert first.startswith(f"serving SavedModel {root / 'sm'} at http://127.0.0.1:{port}"), (
            first, proc.stderr.read() if proc.poll() is not None else "")
        assert said[2].startswith("uploads and outputs go to ") and said[2].endswith(", removed when it stops\n")
        own = Path(said[2][len("uploads and outputs go to "):-len(", removed when it stops\n")])
        assert own.parent == cache.resolve() and own.name.startswith("pix2pix-tf-demo-"), own
        cli_client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(root / "cli_dl"))
        image = np.full((24, 24, 3), 200, np.uint8)
        out = read_png(cli_client.predict(handle_file(write_png(root / "cli_upload.png", image)),
                                          api_name="/translate_upload"))
        assert np.array_equal(out, saved_model_output(reference, image))
        assert list(own.rglob("cli_upload.png")), "the upload is not in the demo's folder"
        (root / "cli_bomb.png").write_bytes(forged_png(30000, 30000))
        with pytest.raises(AppError, match="cli_bomb.png: 900.0 megapixels by its header"):
            cli_client.predict(handle_file(str(root / "cli_bomb.png")), api_name="/translate_upload")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert [line for line in stderr.splitlines() if "cli_bomb.png" in line] == [
        f"pix2pix-tf demo: refused an upload: cli_bomb.png: 900.0 megapixels by its header, {LIMIT}"]
    assert not own.exists(), sorted(own.rglob("*"))
    assert sorted(p.name for p in cache.iterdir()) == ["keep-me.txt"]
    assert (cache / "keep-me.txt").read_text() == "the user's own file"


@pytest.mark.slow
def test_a_run_with_checkpoints_only_is_served_like_its_export(trained_run, tmp_path):
    """No saved_model/: the same translate_uint8, built in memory from the newest checkpoint."""
    import shutil

    root, summary, cfg = trained_run
    run = tmp_path / "run"
    shutil.copytree(root / "run", run, ignore=shutil.ignore_patterns("saved_model"))
    from_checkpoint = demo_app.load_translator(run)
    from_export = demo_app.load_translator(root / "run")
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

    flatten = demo_app.flatten_drawing
    monkeypatch.setattr(demo_app, "flatten_drawing", recording)  # translate_drawing looks it up per call

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
