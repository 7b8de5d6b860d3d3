"""Benchmark: the exported web page (``export --format web``) translating in headless Chromium.

For each ``--ngf`` builds an untrained generator at ``--image-size`` (weights do not change the
cost), exports the page with the runtime copied from a local LiteRT.js install, serves it on
localhost, opens it in Chromium (``--accelerator wasm`` by default: WebAssembly + XNNPack; the
page's own choice with ``auto``), draws one stroke and times ``--repeats`` consecutive
translations with the page's hook (``window.pix2pix.translate()``: input scaling, the model,
reading the output back, output pixels; not the PNG shown). Prints one JSON object: median and
p90 ms per translation, frames per second, the time to load the page (runtime + model +
first translation), and the sizes of model.tflite and of the copied runtime.

Usage:
    python benchmarks/web_latency.py --litert-dir node_modules/@litertjs/core
    python benchmarks/web_latency.py --ngf 16 --image-size 64 --repeats 3   # smoke test
"""

from __future__ import annotations

import _jsonout

_jsonout.reserve()  # noqa: E402  (stdout is for the JSON only)

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.generator import build_generator  # noqa: E402
from pix2pix_tf.web import page as web  # noqa: E402


def _folder_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2 ** 20, 2)


def measure(browser, site: Path, size: int, accelerator: str, repeats: int, warmup: int) -> dict:
    """Load the page, draw a stroke, time consecutive translations."""
    query = "" if accelerator == "auto" else f"?accelerator={accelerator}"
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    with web.serve_folder(site) as url:
        started = time.perf_counter()
        page.goto(url + "index.html" + query)
        page.wait_for_function("window.pix2pix !== undefined", timeout=120_000)
        info = page.evaluate("window.pix2pix.ready")
        load_ms = (time.perf_counter() - started) * 1000
        box = page.evaluate("""() => { const c = document.querySelector('canvas');
            const r = c.getBoundingClientRect();
            return {x: r.left + c.clientLeft, y: r.top + c.clientTop, w: c.clientWidth}; }""")
        s = box["w"] / size
        page.mouse.move(box["x"] + 0.1 * size * s, box["y"] + 0.2 * size * s)
        page.mouse.down()
        page.mouse.move(box["x"] + 0.9 * size * s, box["y"] + 0.7 * size * s, steps=10)
        page.mouse.up()
        page.evaluate("window.pix2pix.settled()")
        for _ in range(warmup):
            page.evaluate("window.pix2pix.translate()")
        ms = [page.evaluate("window.pix2pix.translate()") for _ in range(repeats)]
    page.close()
    median = statistics.median(ms)
    return {
        "accelerator": info["accelerator"],
        "note": info["note"],
        "median_ms": round(median, 1),
        "p90_ms": round(sorted(ms)[max(0, int(0.9 * len(ms) + 0.5) - 1)], 1),
        "fps": round(1000 / median, 2),
        "ms": [round(v, 1) for v in ms],
        "page_load_ms": round(load_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litert-dir", default=os.environ.get("PIX2PIX_LITERT_DIR"),
                        help="@litertjs/core (or an npm prefix holding it); default "
                             "$PIX2PIX_LITERT_DIR, else ./node_modules/@litertjs/core")
    parser.add_argument("--ngf", default="64,32,16", help="comma-separated generator widths")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--accelerator", choices=("wasm", "webgpu", "auto"), default="wasm")
    parser.add_argument("--chromium", default=os.environ.get("PIX2PIX_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    runtime = web.resolve_runtime("copy", args.litert_dir)  # one line and exit 2 when missing
    version = subprocess.run([args.chromium, "--version"], capture_output=True, text=True).stdout.strip()
    result = {"image_size": args.image_size, "accelerator": args.accelerator,
              "browser": version + " (headless)", "litert_js": runtime.version,
              "cpu_count": os.cpu_count(), "variants": {}}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium)
        for ngf in (int(v) for v in args.ngf.split(",")):
            keras.utils.set_random_seed(0)
            cfg = Pix2PixConfig(image_size=args.image_size, ngf=ngf, ndf=8)
            site = Path(tmp) / f"ngf{ngf}"
            started = time.perf_counter()
            web.export_web(build_generator(cfg), cfg, site, runtime=runtime)
            export_s = time.perf_counter() - started
            entry = measure(browser, site, args.image_size, args.accelerator, args.repeats, args.warmup)
            entry["export_seconds"] = round(export_s, 1)
            entry["model_tflite_mb"] = round((site / web.MODEL).stat().st_size / 2 ** 20, 2)
            entry["page_without_runtime_mb"] = round(_folder_mb(site) - _folder_mb(site / web.RUNTIME_DIR), 2)
            result["variants"][f"ngf{ngf}"] = entry
            result["runtime_files_mb"] = _folder_mb(site / web.RUNTIME_DIR)
        browser.close()
    _jsonout.emit(result)


if __name__ == "__main__":
    try:
        main()
    except web.ExportError as e:
        print(f"web_latency: {e}", file=sys.stderr)
        sys.exit(2)
