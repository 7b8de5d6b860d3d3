"""The exported web page in a real browser: draw with the mouse, compare with Python (slow).

Needs Chromium (Debian's ``/usr/bin/chromium``, or ``PIX2PIX_CHROMIUM``), Playwright for
Python (``pip install playwright``; no ``playwright install``: the system Chromium is used) and
LiteRT.js (``PIX2PIX_LITERT_DIR``, an npm prefix or package folder, as ``.ci/browser`` makes;
else ``npm install @litertjs/core@VERSION`` into a temporary folder). Without them the tests
are skipped, unless ``PIX2PIX_REQUIRE_BROWSER=1`` (CI): then they fail. Screenshots go to the
test's tmp folder and, when ``PIX2PIX_ARTIFACTS`` is set, to that folder too.

Tolerance. The page feeds the model exactly the pixels Python's ``render_strokes`` paints
(asserted equal) and scales like the library; the only difference is the float arithmetic of
XNNPack-in-wasm vs TensorFlow's CPU kernels, about 1e-6 on the [-1, 1] output. That can move
a value across a rounding boundary of ``to_uint8``, so a pixel may differ by 1/255, rarely.
Measured (uint8 levels, max / mean): the trained 64x64 run, drawing and a random upload,
0 / 0; a 64x64 grayscale model, 0 / 0; 256x256 untrained, ngf 16: 1 / 0.0006, ngf 64:
1 / 0.0014; WebGPU on SwiftShader (fp32): 1 / 0.0001. The test allows max 1 and mean 0.05,
over thirty times the worst measured mean, and still fails on anything structural (a wrong
scaling, channel order or a shifted pixel moves values by tens of levels).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pix2pix_tf.web import page as web
from pix2pix_tf.web import runtime as web_runtime

pytestmark = pytest.mark.slow

REQUIRED = os.environ.get("PIX2PIX_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("PIX2PIX_CHROMIUM", "/usr/bin/chromium")  # as conftest.playwright
MAX_DIFF, MEAN_DIFF = 1, 0.05  # uint8 levels, see the module docstring


def need(ok: bool, reason: str) -> None:
    """Skip with ``reason`` when ``ok`` is false; fail instead under PIX2PIX_REQUIRE_BROWSER=1."""
    if not ok:
        if REQUIRED:
            pytest.fail(f"PIX2PIX_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


def save_artifact(path: Path) -> None:
    """Copy a screenshot to $PIX2PIX_ARTIFACTS when it is set."""
    folder = os.environ.get("PIX2PIX_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


@pytest.fixture(scope="session")
def litert_dir(tmp_path_factory) -> Path:
    """A local @litertjs/core install: $PIX2PIX_LITERT_DIR, else npm install into a tmp folder."""
    given = os.environ.get("PIX2PIX_LITERT_DIR")
    if given:
        found = web_runtime.find_litert(given)
        need(found is not None, f"PIX2PIX_LITERT_DIR={given} holds no @litertjs/core")
        return found
    npm = shutil.which("npm")
    need(npm is not None, "npm is not installed (needed for LiteRT.js)")
    prefix = tmp_path_factory.mktemp("npm")
    result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
                             f"{web_runtime.LITERT_PACKAGE}@{web_runtime.LITERT_VERSION}"],
                            capture_output=True, text=True, timeout=600)
    need(result.returncode == 0, f"npm install {web_runtime.LITERT_PACKAGE}@{web_runtime.LITERT_VERSION} failed: "
                                 f"{result.stderr.strip()[-300:]}")
    return web_runtime.find_litert(prefix)


def launch(playwright, *args: str):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(args))


def open_page(browser, url: str, messages: list | None = None, route=None, wait: bool = True):
    """Load the page and wait until its model is loaded and the empty canvas translated.

    ``route``: a Playwright route handler for every request the page makes (see :func:`cdn_offline`)."""
    page = browser.new_page(viewport={"width": 900, "height": 640})
    page.on("pageerror", lambda e: (messages if messages is not None else []).append(f"pageerror: {e}"))
    page.on("console", lambda m: (messages if messages is not None else []).append(f"{m.type}: {m.text}"))
    if route is not None:
        page.route("**/*", route)
    page.goto(url)
    if not wait:
        return page, None
    page.wait_for_function("window.pix2pix !== undefined", timeout=60_000)
    info = page.evaluate("window.pix2pix.ready")
    return page, info


def pixels(page, which: str) -> np.ndarray:
    got = page.evaluate(f"window.pix2pix.{which}()")
    return np.array(got["data"], np.uint8).reshape(got["height"], got["width"], 4)


def draw(page, stroke, size: int) -> None:
    """One stroke with real mouse events through image-pixel points."""
    box = page.evaluate("""() => { const c = document.querySelector('canvas');
        const r = c.getBoundingClientRect();
        return {x: r.left + c.clientLeft, y: r.top + c.clientTop, w: c.clientWidth}; }""")
    scale = box["w"] / size

    def at(point):
        return box["x"] + (point[0] + 0.5) * scale, box["y"] + (point[1] + 0.5) * scale

    page.mouse.move(*at(stroke[0]))
    page.mouse.down()
    for point in stroke[1:]:
        page.mouse.move(*at(point), steps=10)
    page.mouse.up()


def compare(page, translate) -> tuple[int, float]:
    """(max, mean) |page output - Python's translate(page input)| in uint8 levels."""
    x, y = pixels(page, "inputPixels"), pixels(page, "outputPixels")
    assert (x[..., 3] == 255).all() and (y[..., 3] == 255).all()
    diff = np.abs(translate(x[..., :3]).astype(int) - y[..., :3].astype(int))
    return int(diff.max()), float(diff.mean())


@pytest.fixture(scope="module")
def site(trained_run, litert_dir, tmp_path_factory):
    """The shared tiny run (64x64, ngf 8) exported with the facades palette and a copied runtime."""
    from pix2pix_tf.apps import cli

    root, _, _ = trained_run
    out = tmp_path_factory.mktemp("browser") / "site"
    assert cli.main(["export", "--run", str(root / "run"), "--out", str(out), "--format", "web",
                     "--litert-dir", str(litert_dir), "--palette", "facades"]) == 0
    return out


def test_drawing_in_the_browser_translates_like_python(playwright, site, trained_run, tmp_path):
    from pix2pix_tf.web.draw_widget import DrawAndSee
    from pix2pix_tf.run.loading import load_run

    root, _, cfg = trained_run
    model = load_run(root / "run")
    app = DrawAndSee(getattr(model, "inference_generator", model.generator), cfg, palette="facades")
    messages: list[str] = []
    browser = launch(playwright)
    try:
        with web.serve_folder(site) as url:
            page, info = open_page(browser, url + "index.html", messages)
            assert info["accelerator"] in ("wasm", "webgpu") and info["translations"] == 1, info
            assert info["runtime"] == f"LiteRT.js {web_runtime.LITERT_VERSION}" and info["source"] == "copy"
            draw(page, [(8, 8), (40, 10), (56, 50)], 64)  # the first brush: sky
            page.click("button[title=window]")
            draw(page, [(12, 44), (30, 60)], 64)
            draw(page, [(50, 20)], 64)  # a dot
            page.click("button:has-text('eraser')")
            draw(page, [(20, 6), (24, 14)], 64)
            assert page.evaluate("window.pix2pix.settled()") == 5  # one translation per stroke
            strokes = page.evaluate("window.pix2pix.strokes()")
            assert [s["color"] for s in strokes] == [[20, 20, 80], [0, 200, 255], [0, 200, 255],
                                                     [0, 60, 255]]
            drawn = pixels(page, "inputPixels")[..., :3]
            np.testing.assert_array_equal(drawn, app.render_strokes(strokes))  # the JS rasteriser
            worst_drawn = compare(page, app.translate)
            status = page.locator(".p2p-status").inner_text()
            assert f"LiteRT.js {web_runtime.LITERT_VERSION} on {info['accelerator']}" in status, status
            assert "ms per translation" in status and "4 strokes" in status, status
            page.wait_for_timeout(300)  # the <img> shows the last data URL
            shot = tmp_path / "web_page_drawn.png"
            page.screenshot(path=str(shot))
            save_artifact(shot)
            # an upload is the new base (strokes cleared) and is translated once
            upload = tmp_path / "upload.png"
            rng = np.random.default_rng(0)
            import tensorflow as tf
            upload.write_bytes(tf.io.encode_png(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).numpy())
            page.set_input_files("input[type=file]", str(upload))
            page.wait_for_function("window.pix2pix.info().translations >= 6")
            page.evaluate("window.pix2pix.settled()")
            assert page.evaluate("window.pix2pix.strokes()") == []
            worst_upload = compare(page, app.translate)
    finally:
        browser.close()
    print(f"\nbrowser vs python, uint8 levels (max, mean): drawing {worst_drawn}, upload {worst_upload}")
    errors = [m for m in messages if m.startswith("pageerror")]
    assert not errors, errors
    for worst in (worst_drawn, worst_upload):
        assert worst[0] <= MAX_DIFF and worst[1] <= MEAN_DIFF, worst


def test_webgpu_when_the_browser_has_an_adapter(playwright, site, trained_run, tmp_path):
    """WebGPU through SwiftShader (a software adapter) when this Chromium offers it; else skipped."""
    from pix2pix_tf.web.draw_widget import DrawAndSee
    from pix2pix_tf.run.loading import load_run

    root, _, cfg = trained_run
    model = load_run(root / "run")
    app = DrawAndSee(getattr(model, "inference_generator", model.generator), cfg, palette="facades")
    browser = launch(playwright, "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader",
                     "--enable-features=Vulkan")
    try:
        with web.serve_folder(site) as url:
            page, info = open_page(browser, url + "index.html?precision=fp32")
            if info["accelerator"] != "webgpu":
                pytest.skip(f"no WebGPU in this headless Chromium: {info['note']}")  # not required
            draw(page, [(8, 30), (56, 34)], 64)
            page.evaluate("window.pix2pix.settled()")
            worst = compare(page, app.translate)
            shot = tmp_path / "web_page_webgpu.png"
            page.screenshot(path=str(shot))
            save_artifact(shot)
    finally:
        browser.close()
    print(f"\nwebgpu vs python, uint8 levels (max, mean): {worst}")
    assert worst[0] <= MAX_DIFF and worst[1] <= MEAN_DIFF, worst


def test_a_grayscale_model_gets_tensorflows_gray(playwright, litert_dir, tmp_path):
    """One channel in and out: the page's gray is tf.image.rgb_to_grayscale's, as in DrawAndSee."""
    import keras
    import tensorflow as tf

    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.web.draw_widget import DrawAndSee
    from pix2pix_tf.generator import build_generator

    keras.utils.set_random_seed(0)
    cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=8, input_channels=1, output_channels=1)
    generator = build_generator(cfg)
    site = web.export_web(generator, cfg, tmp_path / "site", runtime="copy", litert_dir=litert_dir)
    app = DrawAndSee(generator, cfg)
    upload = tmp_path / "colour.png"  # a colour upload: the page converts it, like the library
    rgb = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    upload.write_bytes(tf.io.encode_png(rgb).numpy())
    browser = launch(playwright)
    try:
        with web.serve_folder(site) as url:
            page, _ = open_page(browser, url + "index.html")
            page.set_input_files("input[type=file]", str(upload))
            page.wait_for_function("window.pix2pix.info().translations >= 2")
            page.evaluate("window.pix2pix.settled()")
            np.testing.assert_array_equal(pixels(page, "inputPixels")[..., :3], rgb)  # 64 -> 64: as sent
            worst = compare(page, app.translate)
            y = pixels(page, "outputPixels")
    finally:
        browser.close()
    assert (y[..., 0] == y[..., 1]).all() and (y[..., 1] == y[..., 2]).all()  # gray shown as RGB
    assert worst[0] <= MAX_DIFF and worst[1] <= MEAN_DIFF, worst


def time_translations(page, n: int) -> list[float]:
    """Milliseconds of n consecutive translations in the page (after two to warm up)."""
    for _ in range(2):
        page.evaluate("window.pix2pix.translate()")
    return [page.evaluate("window.pix2pix.translate()") for _ in range(n)]


@pytest.mark.parametrize("ngf,n", [(16, 10), (64, 4)])
def test_frames_per_second_at_256(ngf, n, playwright, litert_dir, tmp_path):
    """The page's own timing of consecutive translations at 256x256, WebAssembly, untrained G."""
    import keras

    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.jitter import to_uint8
    from pix2pix_tf.generator import build_generator
    from pix2pix_tf.layers import set_inference_mode

    keras.utils.set_random_seed(0)
    cfg = Pix2PixConfig(image_size=256, ngf=ngf)
    generator = build_generator(cfg)
    site = web.export_web(generator, cfg, tmp_path / "site", runtime="copy", litert_dir=litert_dir)
    set_inference_mode(generator, "deterministic")
    browser = launch(playwright)
    try:
        with web.serve_folder(site) as url:
            page, info = open_page(browser, url + "index.html?accelerator=wasm")
            assert info["accelerator"] == "wasm"
            draw(page, [(30, 30), (220, 60), (128, 230)], 256)
            page.evaluate("window.pix2pix.settled()")
            ms = time_translations(page, n)
            x, y = pixels(page, "inputPixels")[..., :3], pixels(page, "outputPixels")[..., :3]
    finally:
        browser.close()
    ref = to_uint8(generator(x[None].astype("float32") / 127.5 - 1, training=False))[0].numpy()
    diff = np.abs(ref.astype(int) - y.astype(int))
    median = statistics.median(ms)
    size_mb = (site / "model.tflite").stat().st_size / 2 ** 20
    print(f"\n256x256 ngf {ngf}: {median:.0f} ms per translation ({1000 / median:.2f} fps) over {n} "
          f"in headless Chromium, wasm; model.tflite {size_mb:.1f} MB; vs Keras max {diff.max()} "
          f"mean {diff.mean():.4f}; all: {json.dumps([round(v, 1) for v in ms])}")
    assert all(v > 0 for v in ms)
    assert diff.max() <= MAX_DIFF and diff.mean() <= MEAN_DIFF


def test_web_latency_benchmark_prints_json(playwright, litert_dir):
    import sys

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "web_latency.py"
    result = subprocess.run([sys.executable, str(script), "--litert-dir", str(litert_dir),
                             "--chromium", CHROMIUM, "--ngf", "8", "--image-size", "64",
                             "--repeats", "2", "--warmup", "1"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)  # stdout holds the JSON object and nothing else
    entry = out["variants"]["ngf8"]
    assert entry["accelerator"] == "wasm" and entry["median_ms"] > 0 and len(entry["ms"]) == 2
    assert entry["model_tflite_mb"] > 0 and out["runtime_files_mb"] > 10
    assert out["litert_js"] == web_runtime.LITERT_VERSION


# ------------------------------------------------------------------ the defaults: CDN runtime, palette from the run
MIME = {".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}


def cdn_offline(litert_dir: Path, served: list, change: str | None = None):
    """A route handler standing in for jsDelivr, offline: the pinned packages' URLs are answered
    from the local npm files (byte for byte, as jsDelivr serves npm's files, with its CORS
    header); ``change``: the URL whose bytes are altered by one appended comment. The local
    server passes; every other request leaves nothing and is aborted."""
    runtime = web_runtime.resolve_runtime("copy", litert_dir)
    folders = {f"{web_runtime.CDN_BASE}/{web_runtime.LITERT_PACKAGE}@{web_runtime.LITERT_VERSION}/": runtime.core,
               f"{web_runtime.CDN_BASE}/@litertjs/wasm-utils@{web_runtime.LITERT_VERSION}/": runtime.wasm_utils}

    def handle(route):
        url = route.request.url
        if url.startswith("http://127.0.0.1:"):
            return route.continue_()
        for prefix, folder in folders.items():
            f = folder / url[len(prefix):].split("?")[0] if url.startswith(prefix) else None
            if f is not None and f.is_file():
                body = f.read_bytes() + (b"\n// changed\n" if url == change else b"")
                served.append(url)
                return route.fulfill(status=200, body=body, headers={
                    "Access-Control-Allow-Origin": "*",
                    "Content-Type": MIME.get(f.suffix, "application/octet-stream")})
        return route.abort()

    return handle


@pytest.fixture(scope="module")
def default_site(facades_run, tmp_path_factory):
    """The facades run exported with no flags from a folder without ./node_modules: the CDN runtime
    (integrity-checked) and the palette read from the run."""
    out = tmp_path_factory.mktemp("default") / "site"
    with contextlib.chdir(out.parent):
        web.export_web_run(facades_run, out, say=None)
    return out


def test_the_default_export_loads_the_pinned_cdn_and_draws_the_runs_labels(
        playwright, default_site, facades_run, litert_dir, tmp_path):
    from pix2pix_tf.web.draw_widget import DrawAndSee
    from pix2pix_tf.run.loading import load_run

    model = load_run(facades_run)
    app = DrawAndSee(model.inference_generator, model.config, palette="facades")
    messages: list[str] = []
    served: list[str] = []
    browser = launch(playwright)
    try:
        with web.serve_folder(default_site) as url:
            page, info = open_page(browser, url + "index.html", messages, cdn_offline(litert_dir, served))
            assert info["source"] == "cdn" and info["translations"] == 1, info
            assert info["runtime"] == f"LiteRT.js {web_runtime.LITERT_VERSION}", info
            cdn = f"{web_runtime.CDN_BASE}/{web_runtime.LITERT_PACKAGE}@{web_runtime.LITERT_VERSION}/"
            assert {cdn + "dist/index.js", f"{web_runtime.CDN_BASE}/@litertjs/wasm-utils@{web_runtime.LITERT_VERSION}/dist/index.js"
                    } <= set(served), served
            assert any(u.startswith(cdn + "wasm/") and u.endswith(".wasm") for u in served), served
            # the palette read from the run: the facades' label colours, the canvas a wall
            assert "a label map (8 classes)" in page.locator("p.about").inner_text()
            assert page.get_by_text("you draw A (label map)").count() == 1
            for name in ("sky", "wall", "window", "door", "balcony"):
                assert page.locator(f"button[title={name}]").count() == 1, name
            assert page.locator("button[title=ink]").count() == 0
            page.click("button[title=window]")
            draw(page, [(12, 20), (40, 20), (40, 36)], 64)
            assert page.evaluate("window.pix2pix.settled()") == 2
            drawn = pixels(page, "inputPixels")[..., :3]
            assert (drawn[20, 20] == (0, 200, 255)).all() and (drawn[50, 10] == (0, 60, 255)).all()
            worst = compare(page, app.translate)
            page.wait_for_timeout(300)  # the <img> shows the last data URL
            shot = tmp_path / "web_default.png"
            page.screenshot(path=str(shot))
            save_artifact(shot)
    finally:
        browser.close()
    errors = [m for m in messages if m.startswith("pageerror")]
    assert not errors, errors
    assert worst[0] <= MAX_DIFF and worst[1] <= MEAN_DIFF, worst


@pytest.mark.parametrize("module", ["@litertjs/core", "@litertjs/wasm-utils"])
def test_a_changed_cdn_module_is_refused_by_its_integrity(module, playwright, default_site, litert_dir):
    """The same files with one comment appended fail the import map's sha384: the page never starts."""
    changed_url = f"{web_runtime.CDN_BASE}/{module}@{web_runtime.LITERT_VERSION}/dist/index.js"
    messages: list[str] = []
    served: list[str] = []
    browser = launch(playwright)
    try:
        with web.serve_folder(default_site) as url:
            page, _ = open_page(browser, url + "index.html", messages,
                                cdn_offline(litert_dir, served, change=changed_url), wait=False)
            page.wait_for_timeout(2000)
            started = page.evaluate("typeof window.pix2pix !== 'undefined'")
    finally:
        browser.close()
    assert changed_url in served, served  # it was delivered, and refused
    assert not started, messages
    assert not any(u.endswith(".wasm") for u in served), served
    blocked = [m for m in messages if "integrity" in m and changed_url in m and "blocked" in m]
    assert blocked, messages  # Chromium: "Failed to find a valid digest in the 'integrity' ..."
