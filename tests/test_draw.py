"""Draw and see (pix2pix_tf.web.draw, .draw_widget): strokes -> pixels, pixels -> the generator,
the widget's both sides.

No browser here: the rasteriser and translate are checked on arrays, the widget's Python side
by setting its ``strokes`` traitlet the way a message from the browser does, and the ES
module by node (syntax, and its stroke logic against a stand-in DOM).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

import pix2pix_tf
from pix2pix_tf.web import draw, draw_widget
from pix2pix_tf.web.draw import render_strokes
from pix2pix_tf.web.draw_widget import DrawAndSee, decode_data_url, png_data_url

BLACK, WHITE = [0, 0, 0], (255, 255, 255)


def covered(image: np.ndarray, color) -> set[tuple[int, int]]:
    """The (row, col) pixels of ``image`` that have exactly ``color``."""
    rows, cols = np.nonzero(np.all(image == np.asarray(color, np.uint8), axis=-1))
    return set(zip(rows.tolist(), cols.tolist()))


def box(rows, cols) -> set[tuple[int, int]]:
    return {(r, c) for r in rows for c in cols}


# --------------------------------------------------------------------------
# rasterisation
# --------------------------------------------------------------------------
def test_horizontal_line_of_width_3_covers_three_rows_from_end_to_end():
    img = render_strokes([{"color": BLACK, "width": 3, "points": [[4, 8], [12, 8]]}], 20)
    assert img.shape == (20, 20, 3) and img.dtype == np.uint8
    # centres within 1.5 px of the segment: rows 7..9, one pixel past each end
    assert covered(img, BLACK) == box(range(7, 10), range(3, 14))
    assert covered(img, WHITE) == box(range(20), range(20)) - box(range(7, 10), range(3, 14))


def test_line_ends_are_round_not_square():
    img = render_strokes([{"color": BLACK, "width": 5, "points": [[4, 8], [12, 8]]}], 20)
    expected = box(range(7, 10), range(2, 15)) | box([6, 10], range(3, 14))
    assert covered(img, BLACK) == expected  # the four corners (6, 2), (6, 14), ... stay white
    assert (6, 2) not in covered(img, BLACK)


def test_a_stroke_of_one_point_is_a_round_dot():
    one = render_strokes([{"color": BLACK, "width": 1, "points": [[3, 4]]}], 8)
    assert covered(one, BLACK) == {(4, 3)}  # [x, y] is column x, row y
    three = render_strokes([{"color": BLACK, "width": 3, "points": [[3, 4]]}], 8)
    assert covered(three, BLACK) == box(range(3, 6), range(2, 5))
    five = render_strokes([{"color": BLACK, "width": 5, "points": [[3, 4]]}], 8)
    disc = box(range(2, 7), range(1, 6)) - {(2, 1), (2, 5), (6, 1), (6, 5)}
    assert covered(five, BLACK) == disc and len(disc) == 21


def test_colours_are_exact_and_later_strokes_paint_over_earlier_ones():
    palette = draw.facades_palette()
    strokes = [
        {"color": list(palette["window"]), "width": 6, "points": [[5, 5], [25, 25]]},
        {"color": list(palette["door"]), "width": 4, "points": [[5, 25], [25, 5]]},
        {"color": list(palette["balcony"]), "width": 2.5, "points": [[15.3, 2.7]]},
    ]
    img = render_strokes(strokes, 32, background=palette["wall"])
    colours = {tuple(c) for c in img.reshape(-1, 3).tolist()}
    assert colours == {palette[n] for n in ("wall", "window", "door", "balcony")}  # no blends
    assert tuple(img[15, 15]) == palette["door"]  # the crossing belongs to the later stroke
    assert tuple(img[5, 5]) == palette["window"]


def test_eraser_restores_the_background():
    blank = render_strokes([], 16, background=(0, 60, 255))
    ink = {"color": [255, 140, 0], "width": 3, "points": [[2, 2], [13, 9], [4, 12]]}
    drawn = render_strokes([ink], 16, background=(0, 60, 255))
    assert not np.array_equal(drawn, blank)
    by_colour = render_strokes([ink, {**ink, "color": [0, 60, 255], "width": 4}], 16, background=(0, 60, 255))
    by_flag = render_strokes([ink, {"eraser": True, "width": 4, "points": ink["points"]}], 16,
                             background=(0, 60, 255))
    np.testing.assert_array_equal(by_colour, blank)
    np.testing.assert_array_equal(by_flag, blank)


def test_points_outside_the_canvas_are_clipped_not_an_error():
    img = render_strokes([{"color": BLACK, "width": 1, "points": [[-50, 3], [100, 3]]}], 16)
    assert covered(img, BLACK) == box([3], range(16))
    outside = render_strokes([{"color": BLACK, "width": 3, "points": [[-9, -9], [-5, 40]]}], 16)
    np.testing.assert_array_equal(outside, render_strokes([], 16))
    huge = render_strokes([{"color": BLACK, "width": 1000, "points": [[8, -100]]}], 16)
    assert covered(huge, BLACK) == box(range(16), range(16))
    far = render_strokes([{"color": BLACK, "width": 1e6, "points": [[1e12, -1e12], [2e12, 5]]}], 16)
    np.testing.assert_array_equal(far, render_strokes([], 16))


def test_drawing_on_a_base_image_keeps_it_and_does_not_modify_it():
    base = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    img = render_strokes([{"color": [1, 2, 3], "width": 1, "points": [[0, 0]]}], 8, base=base)
    assert tuple(img[0, 0]) == (1, 2, 3) and base[0, 0, 0] == 0
    np.testing.assert_array_equal(img[1:], base[1:])
    with pytest.raises(ValueError, match=r"base image must have shape \(8, 8, 3\)"):
        render_strokes([], 8, base=base[:4])


@pytest.mark.parametrize("stroke, field", [
    ({"width": 2, "points": [[1, 1]]}, "'color' is missing"),
    ({"color": [0, 0], "width": 2, "points": [[1, 1]]}, "'color'"),
    ({"color": [0, 0, 256], "width": 2, "points": [[1, 1]]}, "'color'"),
    ({"color": [0, 0.5, 0], "width": 2, "points": [[1, 1]]}, "'color'"),
    ({"color": "red", "width": 2, "points": [[1, 1]]}, "'color'"),
    ({"color": BLACK, "points": [[1, 1]]}, "'width' is missing"),
    ({"color": BLACK, "width": 0, "points": [[1, 1]]}, "'width'"),
    ({"color": BLACK, "width": "3", "points": [[1, 1]]}, "'width'"),
    ({"color": BLACK, "width": float("nan"), "points": [[1, 1]]}, "'width'"),
    ({"color": BLACK, "width": 2}, "'points' is missing"),
    ({"color": BLACK, "width": 2, "points": []}, "'points'"),
    ({"color": BLACK, "width": 2, "points": [[1]]}, "'points'"),
    ({"color": BLACK, "width": 2, "points": [[1, "a"]]}, "'points'"),
    ({"color": BLACK, "width": 2, "points": [[1, float("inf")]]}, "'points'"),
    ({"color": BLACK, "width": 2, "points": [[1, 1]], "eraser": "yes"}, "'eraser'"),
    ([[1, 1]], "must be a dict"),
])
def test_bad_strokes_raise_value_error_naming_the_field(stroke, field):
    good = {"color": BLACK, "width": 1, "points": [[0, 0]]}
    with pytest.raises(ValueError, match=r"stroke 1: .*" + field):
        render_strokes([good, stroke], 8)


def test_the_strokes_argument_itself_is_checked():
    with pytest.raises(ValueError, match="strokes must be a list"):
        render_strokes({"color": BLACK, "width": 1, "points": [[0, 0]]}, 8)


def test_palettes_come_from_the_synthetic_facades():
    from pix2pix_tf.datasets.synthetic_layout import CLASS_NAMES, LABEL_COLORS

    assert draw.PALETTES["edges"] is None
    assert list(draw.PALETTES["facades"]) == list(CLASS_NAMES)
    assert draw.PALETTES["facades"] == {k: tuple(v) for k, v in LABEL_COLORS.items()}


# --------------------------------------------------------------------------
# translate: the generator's own output
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    cfg = pix2pix_tf.Pix2PixConfig(image_size=32, load_size=32, ngf=8, ndf=8)
    keras.utils.set_random_seed(0)
    return cfg, pix2pix_tf.build_generator(cfg)


def reference_output(generator, image: np.ndarray) -> np.ndarray:
    """The generator on one uint8 image, scaled by hand: [0, 255] -> [-1, 1] -> uint8."""
    x = image.astype(np.float32)[None] / 127.5 - 1.0
    y = np.asarray(generator(x, training=False))[0]
    return np.clip(np.round((y + 1.0) * 127.5), 0, 255).astype(np.uint8)


def test_translate_equals_the_generators_own_output(tiny):
    cfg, gen = tiny
    app = DrawAndSee(gen, cfg)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = app.translate(image)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, reference_output(gen, image))
    np.testing.assert_array_equal(app.translate(image), out)  # deterministic mode: no dropout noise
    assert len(np.unique(out)) > 10  # a real image, not a constant


def test_translate_strokes_is_render_then_translate(tiny):
    cfg, gen = tiny
    app = DrawAndSee(gen, cfg)  # edges: black on white
    strokes = [{"color": BLACK, "width": 2, "points": [[3, 3], [28, 20], [10, 30]]}]
    drawn, out = app.translate_strokes(strokes)
    np.testing.assert_array_equal(drawn, render_strokes(strokes, 32, background=WHITE))
    np.testing.assert_array_equal(out, reference_output(gen, drawn))


def test_inference_mode_reaches_the_generator(tiny):
    cfg, _ = tiny
    keras.utils.set_random_seed(1)
    gen = pix2pix_tf.build_generator(cfg)
    image = np.full((32, 32, 3), 200, np.uint8)
    paper = DrawAndSee(gen, cfg, inference_mode="paper")  # dropout stays on
    assert not np.array_equal(paper.translate(image), paper.translate(image))
    det = DrawAndSee(gen, cfg)
    np.testing.assert_array_equal(det.translate(image), det.translate(image))


def test_translate_refuses_wrong_images(tiny):
    cfg, gen = tiny
    app = DrawAndSee(gen, cfg)
    with pytest.raises(ValueError, match="uint8"):
        app.translate(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match=r"shape \(32, 32, 3\)"):
        app.translate(np.zeros((16, 16, 3), np.uint8))


def test_a_grayscale_model_gets_a_grayscale_input():
    cfg = pix2pix_tf.Pix2PixConfig(image_size=32, load_size=32, ngf=8, ndf=8, input_channels=1,
                                   output_channels=1)
    keras.utils.set_random_seed(0)
    gen = pix2pix_tf.build_generator(cfg)
    app = DrawAndSee(gen, cfg)
    gray = np.tile(np.arange(32, dtype=np.uint8)[None, :, None] * 8, (32, 1, 1))  # (32, 32, 1)
    out = app.translate(np.repeat(gray, 3, axis=-1))  # an RGB drawing of a gray image
    assert out.shape == (32, 32, 3) and np.array_equal(out[..., 0], out[..., 2])
    np.testing.assert_array_equal(out[..., :1], reference_output(gen, gray))


def test_palette_and_background_choices(tiny):
    cfg, gen = tiny
    facades = DrawAndSee(gen, cfg, palette="facades")
    assert facades.background == (0, 60, 255)  # the wall
    assert facades.brushes[0] == ("sky", (20, 20, 80))
    assert DrawAndSee(gen, cfg, palette="facades", background="sky").background == (20, 20, 80)
    custom = DrawAndSee(gen, cfg, palette={"road": (90, 90, 90), "background": [0, 0, 0]})
    assert custom.background == (0, 0, 0)
    edges = DrawAndSee(gen, cfg)
    assert edges.background == WHITE and edges.brushes == [("ink", (0, 0, 0))]
    with pytest.raises(ValueError, match="unknown palette 'cats'"):
        DrawAndSee(gen, cfg, palette="cats")
    with pytest.raises(ValueError, match="palette colour 'road'"):
        DrawAndSee(gen, cfg, palette={"road": (300, 0, 0)})
    with pytest.raises(ValueError, match="not a class of the palette"):
        DrawAndSee(gen, cfg, palette="facades", background="lava")


def test_png_data_urls_round_trip_and_bad_ones_are_refused():
    image = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    url = png_data_url(image)
    assert url.startswith("data:image/png;base64,")
    np.testing.assert_array_equal(decode_data_url(url), image)
    with pytest.raises(ValueError, match="not a base64 image data URL"):
        decode_data_url("http://example.com/x.png")
    with pytest.raises(ValueError, match="does not hold a readable image"):
        decode_data_url("data:image/png;base64,aGVsbG8=")


# --------------------------------------------------------------------------
# the widget, Python side
# --------------------------------------------------------------------------
def test_widget_translates_the_strokes_the_browser_sends(tiny):
    pytest.importorskip("anywidget")
    cfg, gen = tiny
    app = DrawAndSee(gen, cfg, palette="facades")
    w = app.widget()
    assert w.size == 32 and w.background == [0, 60, 255] and len(w.palette) == 8
    assert "function render" in w._esm
    blank = app.render_strokes([])
    np.testing.assert_array_equal(decode_data_url(w.output), app.translate(blank))  # shown at once

    # what the browser sends on pointer-up: JSON, so floats and plain lists
    strokes = [{"color": [0, 200, 255], "width": 4, "points": [[5.5, 6.25], [20.0, 6.25], [20.0, 25.5]]},
               {"color": [255, 140, 0], "width": 3, "points": [[10, 28]]}]
    w.set_state({"strokes": json.loads(json.dumps(strokes))})
    expected_drawn = app.render_strokes(strokes)
    np.testing.assert_array_equal(decode_data_url(w.drawn), expected_drawn)
    np.testing.assert_array_equal(decode_data_url(w.output), app.translate(expected_drawn))
    assert w.status.startswith("2 strokes; translated in")

    w.set_state({"strokes": strokes[:1]})  # undo
    np.testing.assert_array_equal(decode_data_url(w.output), app.translate(app.render_strokes(strokes[:1])))


def test_widget_upload_is_the_base_and_one_message_translates_once(tiny):
    pytest.importorskip("anywidget")
    cfg, gen = tiny
    app = DrawAndSee(gen, cfg, palette="facades")
    from pix2pix_tf.datasets.synthetic import render_facade

    labels, _ = render_facade(3, 32)
    w = app.widget(start=labels)
    np.testing.assert_array_equal(decode_data_url(w.drawn), labels)
    calls = []
    translate = app.translate
    app.translate = lambda image: calls.append(1) or translate(image)
    upload, _ = render_facade(4, 32)
    stroke = {"color": [90, 220, 60], "width": 3, "points": [[16, 16]]}
    w.set_state({"base_image": png_data_url(upload), "strokes": [stroke]})  # one browser message
    assert len(calls) == 1
    np.testing.assert_array_equal(decode_data_url(w.drawn), render_strokes([stroke], 32, base=upload))
    w.set_state({"base_image": "", "strokes": []})  # clear
    np.testing.assert_array_equal(decode_data_url(w.drawn), app.render_strokes([]))
    assert len(calls) == 2
    big, _ = render_facade(3, 80)  # a start image of another size is resized, nearest for labels
    drawn = decode_data_url(app.widget(start=big).drawn)
    assert drawn.shape == (32, 32, 3)
    assert {tuple(c) for c in drawn.reshape(-1, 3).tolist()} <= set(app.palette.values())


def test_widget_reports_a_bad_stroke_and_keeps_the_last_output(tiny):
    pytest.importorskip("anywidget")
    cfg, gen = tiny
    w = DrawAndSee(gen, cfg).widget()
    before = w.output
    w.set_state({"strokes": [{"color": [0, 0, 0], "width": -2, "points": [[1, 1]]}]})
    assert w.status.startswith("not translated: stroke 0: field 'width'")
    assert w.output == before


def test_without_anywidget_the_widget_says_what_to_install(tiny, monkeypatch):
    cfg, gen = tiny
    monkeypatch.setitem(sys.modules, "anywidget", None)  # import anywidget -> ImportError
    monkeypatch.setattr(draw_widget, "_WIDGET_CLASS", None)
    assert draw_widget.widget_available() is False
    with pytest.raises(ImportError, match=r'pip install "pix2pix-tf\[draw\]"'):
        DrawAndSee(gen, cfg).widget()


# --------------------------------------------------------------------------
# the widget, browser side (node, with a stand-in DOM)
# --------------------------------------------------------------------------
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

HARNESS = r"""
import { pathToFileURL } from "node:url";
class El {
  constructor(tag) { this.tag = tag; this.kids = []; this.on = {}; this.style = {}; this.className = "";
                     this.classList = { toggle() {} }; this.textContent = ""; }
  appendChild(k) { this.kids.push(k); return k; }
  append(...ks) { this.kids.push(...ks); }
  addEventListener(type, f) { (this.on[type] ||= []).push(f); }
  fire(type, event = {}) {
    for (const f of this.on[type] || []) f({ preventDefault() {}, pointerId: 1, ...event });
  }
  getContext() { return new Proxy({}, { get: (t, k) => (k in t ? t[k] : () => {}) }); }
  getBoundingClientRect() { return { left: 10, top: 20, width: 320, height: 320 }; }
  setPointerCapture() {}
  *walk() { yield this; for (const k of this.kids) yield* k.walk(); }
}
globalThis.document = { createElement: (tag) => new El(tag) };
globalThis.Image = class {};
const state = { size: 32, display_size: 320, background: [0, 60, 255], palette: [["sky", [20, 20, 80]],
  ["door", [255, 140, 0]]], titles: ["A", "B"], max_width: 8, default_width: 3, strokes: [],
  base_image: "", drawn: "", output: "", status: "", smooth_upload: false };
const saved = [];
const model = { get: (k) => state[k], set: (k, v) => { state[k] = v; },
                save_changes: () => saved.push(JSON.parse(JSON.stringify(state.strokes))),
                on() {}, off() {} };
const mod = await import(pathToFileURL(process.argv[2]).href);
const el = new El("div");
const cleanup = mod.default.render({ model, el });
const all = [...el.walk()];
const canvas = all.find((n) => n.tag === "canvas");
const buttons = all.filter((n) => n.tag === "button");
const at = (x, y) => ({ clientX: 10 + (x + 0.5) * 10, clientY: 20 + (y + 0.5) * 10 });  // 10 css px a pixel
const log = {};
canvas.fire("pointerdown", at(2, 5));
for (let x = 2.02; x <= 12; x += 0.02) canvas.fire("pointermove", at(x, 5));  // 500 small moves
log.saves_while_drawing = saved.length;
canvas.fire("pointerup");
log.saves_after_up = saved.length;
log.first = saved[0];
buttons.find((b) => b.title === "door").fire("click");
log.brush = all.find((n) => n.className === "p2p-brush").textContent;
canvas.fire("pointerdown", at(7, 7));
canvas.fire("pointerup");
buttons.find((b) => b.textContent === "eraser").fire("click");
canvas.fire("pointerdown", at(1, 1));
canvas.fire("pointerup");
log.colors = state.strokes.map((s) => s.color);
buttons.find((b) => b.textContent === "undo").fire("click");
log.after_undo = state.strokes.length;
buttons.find((b) => b.textContent === "clear").fire("click");
log.after_clear = [state.strokes.length, state.base_image];
log.saves = saved.length;
log.cleanup = typeof cleanup;
console.log(JSON.stringify(log));
"""


@needs_node
def test_the_es_module_parses(tmp_path):
    module = tmp_path / "draw_widget.mjs"  # .mjs: parsed as an ES module whatever node's defaults
    shutil.copy(draw_widget.JS_FILE, module)
    out = subprocess.run([NODE, "--check", str(module)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


@needs_node
def test_the_es_module_sends_one_stroke_per_pointer_up(tmp_path):
    module = tmp_path / "draw_widget.mjs"
    shutil.copy(draw_widget.JS_FILE, module)
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS)
    out = subprocess.run([NODE, str(harness), str(module)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    log = json.loads(out.stdout)
    assert log["saves_while_drawing"] == 0 and log["saves_after_up"] == 1  # no message per move
    (stroke,) = log["first"]
    assert stroke["color"] == [20, 20, 80] and stroke["width"] == 3
    assert stroke["points"][0] == [2, 5] and stroke["points"][-1][1] == 5
    assert abs(stroke["points"][-1][0] - 12) <= 0.5
    assert 19 <= len(stroke["points"]) <= 25  # moves under half a pixel are dropped
    assert log["colors"] == [[20, 20, 80], [255, 140, 0], [0, 60, 255]]  # sky, door, eraser
    assert log["brush"] == "door"
    assert log["after_undo"] == 2 and log["after_clear"] == [0, ""]
    assert log["saves"] == 5 and log["cleanup"] == "function"
    # the stroke the browser sent renders where it was drawn
    img = render_strokes([stroke], 32, background=(0, 60, 255))
    assert covered(img, [20, 20, 80]) == box(range(4, 7), range(1, 14))
