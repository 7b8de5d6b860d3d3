// pix2pix-tf's web page: draw an input, the generator translates it in this browser (LiteRT.js).
//
// Written by `pix2pix-tf export --format web` beside index.html, web_config.json, model.tflite,
// draw_widget.js and LiteRT.js (see pix2pix_tf/web/page.py). A plain ES module: no build step.
//
// draw_widget.js is the notebook widget's front end, unchanged: brush, eraser, palette, width,
// undo, clear, upload. It talks to an anywidget "model" (get / set / save_changes / on / off).
// In a notebook Python answers it (pix2pix_tf.web.draw_widget); here this module does, the same way:
// when a stroke ends (pointer up) or an image is uploaded it rasterises all strokes like
// pix2pix_tf.web.draw.render_strokes (hard edges: a label map keeps its exact colours), runs the
// generator and sends back `drawn` (what the generator saw) and `output`, as PNG data URLs.
//
// For tests, window.pix2pix = {ready, info, translate(), inputPixels(), outputPixels(),
// strokes(), settled()}: see the end of this file.

import { Tensor, getWebGpuDevice, loadAndCompile, loadLiteRt } from "@litertjs/core";
import drawWidget from "./draw_widget.js";

const here = (path) => new URL(path, import.meta.url).href;

// ------------------------------------------------------------------ strokes -> pixels
// The port of pix2pix_tf.web.draw._paint: every pixel whose centre lies within width / 2 of the
// stroke's polyline (round caps and joins) takes the colour; [x, y] is the centre of the
// pixel in column x, row y. Same float64 arithmetic in the same order as numpy.
function paint(rgba, size, points, radius, color) {
  const pts = points.length === 1 ? [points[0], points[0]] : points; // a dot
  const r2 = radius * radius + 1e-9; // a pixel exactly on the edge counts as covered
  for (let i = 0; i + 1 < pts.length; i++) {
    const [x0, y0] = pts[i];
    const [x1, y1] = pts[i + 1];
    const c0 = Math.max(0, Math.floor(Math.min(x0, x1) - radius));
    const c1 = Math.min(size - 1, Math.ceil(Math.max(x0, x1) + radius));
    const r0 = Math.max(0, Math.floor(Math.min(y0, y1) - radius));
    const r1 = Math.min(size - 1, Math.ceil(Math.max(y0, y1) + radius));
    if (c0 > c1 || r0 > r1) continue; // entirely outside the canvas
    const dx = x1 - x0;
    const dy = y1 - y0;
    const length2 = dx * dx + dy * dy;
    for (let y = r0; y <= r1; y++) {
      for (let x = c0; x <= c1; x++) {
        const t = length2 === 0 ? 0 : Math.min(1, Math.max(0, ((x - x0) * dx + (y - y0) * dy) / length2));
        const ex = x - (x0 + t * dx);
        const ey = y - (y0 + t * dy);
        if (ex * ex + ey * ey <= r2) {
          const k = (y * size + x) * 4;
          rgba[k] = color[0];
          rgba[k + 1] = color[1];
          rgba[k + 2] = color[2];
          rgba[k + 3] = 255;
        }
      }
    }
  }
}

export function renderStrokes(strokes, size, background, base) {
  const rgba = new Uint8ClampedArray(size * size * 4);
  if (base) {
    rgba.set(base);
  } else {
    for (let k = 0; k < rgba.length; k += 4) {
      rgba[k] = background[0];
      rgba[k + 1] = background[1];
      rgba[k + 2] = background[2];
      rgba[k + 3] = 255;
    }
  }
  for (const s of strokes) paint(rgba, size, s.points, s.width / 2, s.eraser ? background : s.color);
  return rgba;
}

// ------------------------------------------------------------------ pixels <-> [-1, 1]
const f32 = Math.fround;
const GRAY = [f32(0.2989), f32(0.587), f32(0.114)]; // tf.image.rgb_to_grayscale
const INV255 = f32(1 / 255);

// RGBA uint8 -> float32 (1, S, S, C) in [-1, 1], as pix2pix_tf.data normalize(): x / 127.5 - 1
// (a one-channel model gets tf.image.rgb_to_grayscale's uint8 gray, as DrawAndSee.translate).
function toInput(rgba, channels) {
  const n = rgba.length / 4;
  const x = new Float32Array(n * channels);
  const scale = (v) => f32(f32(v / 127.5) - 1);
  for (let i = 0; i < n; i++) {
    if (channels === 3) {
      x[3 * i] = scale(rgba[4 * i]);
      x[3 * i + 1] = scale(rgba[4 * i + 1]);
      x[3 * i + 2] = scale(rgba[4 * i + 2]);
    } else {
      const w = [0, 1, 2].map((c) => f32(f32(rgba[4 * i + c] * INV255) * GRAY[c]));
      const g = Math.min(255, Math.max(0, Math.trunc(f32(f32(f32(w[0] + w[1]) + w[2]) * 255.5))));
      x[i] = scale(g);
    }
  }
  return x;
}

function roundHalfEven(v) { // tf.round
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// float32 [-1, 1] (S, S, C) -> RGBA uint8, as pix2pix_tf.data to_uint8: round((y + 1) * 127.5)
function toPixels(y, channels) {
  const n = y.length / channels;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = f32(f32(y[channels === 3 ? 3 * i + c : i] + 1) * 127.5);
      rgba[4 * i + c] = roundHalfEven(Math.min(255, Math.max(0, v)));
    }
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

// ------------------------------------------------------------------ canvases
function canvasOf(size) {
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  return canvas;
}

function putPixels(canvas, rgba) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), canvas.width, canvas.height), 0, 0);
}

function readPixels(canvas) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return { width: canvas.width, height: canvas.height, data: Array.from(data) };
}

async function decodeImage(url, size) { // an uploaded image (already S x S) -> RGBA
  const image = new Image();
  image.src = url;
  await image.decode();
  const canvas = canvasOf(size);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, 0, 0, size, size);
  return ctx.getImageData(0, 0, size, size).data;
}

// ------------------------------------------------------------------ the widget's model
// What anywidget gives draw_widget.js, backed by a plain object; save_changes() hands the
// names set since the last save to `onSave` (Python's traitlet observers, in a notebook).
class WidgetModel {
  constructor(values, onSave) {
    this.values = { ...values };
    this.listeners = new Map();
    this.changed = new Set();
    this.onSave = onSave;
  }
  get(name) { return this.values[name]; }
  set(name, value) { this.values[name] = value; this.changed.add(name); }
  save_changes() {
    const names = [...this.changed];
    this.changed.clear();
    this.onSave(names);
  }
  on(event, callback) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(callback);
  }
  off(event, callback) { this.listeners.get(event)?.delete(callback); }
  update(changes) { // from "Python": set and tell the front end
    for (const [name, value] of Object.entries(changes)) {
      this.values[name] = value;
      for (const callback of this.listeners.get(`change:${name}`) ?? []) callback();
    }
  }
}

// ------------------------------------------------------------------ the app
const config = await (await fetch(here("web_config.json"))).json();
const size = config.size;
const options = config.widget;
const inputCanvas = canvasOf(size); // what the generator got, RGBA
const outputCanvas = canvasOf(size); // what it returned, RGBA
const runtimeName = `${config.runtime.name} ${config.runtime.version}`;

let compiled = null; // the CompiledModel
let accelerator = "";
let acceleratorNote = "";
let count = 0; // translations so far
let queue = Promise.resolve();
const schedule = (job) => (queue = queue.catch(() => {}).then(() => job())); // one at a time, in order
const model = new WidgetModel(
  { ...options, strokes: [], base_image: "", drawn: "", output: "", status: `loading ${runtimeName}...` },
  () => schedule(render).catch((error) => model.update({ status: `not translated: ${error.message || error}` })),
);
drawWidget.render({ model, el: document.getElementById("app") });

async function load() {
  await loadLiteRt(new URL(config.runtime.wasm, new URL(".", import.meta.url)).href);
  const bytes = new Uint8Array(await (await fetch(here(config.model))).arrayBuffer());
  const params = new URLSearchParams(location.search);
  const wanted = params.get("accelerator"); // "wasm" | "webgpu" | null (WebGPU when there is an adapter)
  const gpuOptions = params.get("precision") ? { precision: params.get("precision") } : {}; // fp16 | fp32
  let gpu = null;
  try { gpu = getWebGpuDevice(); } catch { gpu = null; }
  if (wanted !== "wasm" && gpu) {
    try {
      compiled = await loadAndCompile(bytes, { accelerator: "webgpu", gpuOptions });
    } catch (error) {
      acceleratorNote = ` (WebGPU failed: ${String(error.message || error).slice(0, 80)})`;
    }
  } else if (wanted !== "wasm") {
    acceleratorNote = " (this browser has no WebGPU adapter)";
  }
  if (!compiled) compiled = await loadAndCompile(bytes, { accelerator: "wasm" });
  accelerator = compiled.options.accelerator;
  if (accelerator === "wasm" && gpu && wanted !== "wasm" && !acceleratorNote) {
    acceleratorNote = " (the model did not compile for WebGPU)";
  } else if (accelerator !== "wasm" && !compiled.isFullyAccelerated) {
    acceleratorNote = " (partly on WebAssembly)";
  }
}

// Run the generator on the input canvas; fill the output canvas. Returns milliseconds.
async function translate() {
  const started = performance.now();
  const rgba = inputCanvas.getContext("2d", { willReadFrequently: true })
    .getImageData(0, 0, size, size).data;
  const input = new Tensor(toInput(rgba, config.input_channels), [1, size, size, config.input_channels]);
  let outputs;
  try {
    outputs = await compiled.run(input);
  } finally {
    input.delete();
  }
  let y;
  try {
    y = await outputs[0].data();
  } finally {
    for (const t of outputs) t.delete();
  }
  putPixels(outputCanvas, toPixels(y, config.output_channels));
  const ms = performance.now() - started;
  count += 1;
  model.update({
    output: outputCanvas.toDataURL("image/png"),
    status: `${runtimeName} on ${accelerator}${acceleratorNote}: ${ms.toFixed(1)} ms per translation ` +
            `(${size}x${size}; ${model.get("strokes").length} strokes)`,
  });
  return ms;
}

// The widget sent new strokes or an upload: rasterise everything, show it, translate it.
async function render() {
  await loaded;
  const base = model.get("base_image") ? await decodeImage(model.get("base_image"), size) : null;
  putPixels(inputCanvas, renderStrokes(model.get("strokes"), size, options.background, base));
  model.update({ drawn: inputCanvas.toDataURL("image/png") });
  await translate();
}

const loaded = load();
const ready = loaded.then(() => schedule(render)).then(() => info());
ready.catch((error) => {
  model.update({ status: `could not start ${runtimeName}: ${String(error.message || error)}` });
  console.error(error);
});

function info() {
  return { runtime: runtimeName, source: config.runtime.source, accelerator, note: acceleratorNote.trim(),
           size, input_channels: config.input_channels, output_channels: config.output_channels,
           translations: count };
}

// ------------------------------------------------------------------ the test hook
window.pix2pix = {
  ready, // Promise: the model is loaded and the empty canvas translated; resolves to info()
  info, // () => {runtime, source, accelerator, note, size, ..., translations}
  translate: () => schedule(translate), // () => Promise<ms>: translate the current input again
  inputPixels: () => readPixels(inputCanvas), // {width, height, data: RGBA} the generator's input
  outputPixels: () => readPixels(outputCanvas), // ... and its output
  strokes: () => JSON.parse(JSON.stringify(model.get("strokes"))), // as render_strokes takes them
  settled: () => queue.catch(() => {}).then(() => count), // Promise: resolves when no translation is pending
};
