// Front end of pix2pix_tf.web.draw_widget's widget: an anywidget ES module (no build step, no extension).
//
// The browser only draws the stroke in progress. When a stroke ends (pointer up) it appends
// the stroke to the synced `strokes` list, once; Python renders all strokes with numpy, runs
// the generator and sends back `drawn` (what the generator saw) and `output`, both PNG data
// URLs, which replace the canvas and the output image. Points are in image pixels: [x, y] is
// the centre of the pixel in column x, row y.

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const rgbCss = (rgb) => `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
const round2 = (v) => Math.round(v * 100) / 100;

function render({ model, el }) {
  const size = model.get("size");
  const shown = `${model.get("display_size")}px`;
  const background = model.get("background");
  const palette = model.get("palette"); // [[name, [r, g, b]], ...]
  const titles = model.get("titles");

  const root = make("div", "p2p-draw");
  const tools = make("div", "p2p-tools");
  const row = make("div", "p2p-row");
  const status = make("div", "p2p-status", model.get("status"));

  // --- brushes: one button per palette colour, then the eraser -------------------------
  let color = palette.length ? palette[0][1] : [0, 0, 0];
  const buttons = [];
  const brushName = make("span", "p2p-brush");
  const select = (button) => {
    for (const b of buttons) b.classList.toggle("p2p-selected", b === button);
    brushName.textContent = button.title;
  };
  for (const [name, rgb] of palette) {
    const b = make("button", "p2p-swatch");
    b.title = name;
    b.style.background = rgbCss(rgb);
    b.addEventListener("click", () => { color = rgb; select(b); });
    buttons.push(b);
    tools.appendChild(b);
  }
  const eraser = make("button", "", "eraser");
  eraser.title = "eraser (the background colour)";
  eraser.addEventListener("click", () => { color = background; select(eraser); });
  buttons.push(eraser);
  tools.append(eraser, brushName);
  select(buttons[0]);

  const widthLabel = make("span", "", "width");
  const width = make("input");
  width.type = "range";
  width.min = "1";
  width.max = String(model.get("max_width"));
  width.value = String(model.get("default_width"));
  const widthValue = make("span", "", width.value);
  width.addEventListener("input", () => { widthValue.textContent = width.value; });
  tools.append(widthLabel, width, widthValue);

  const undo = make("button", "", "undo");
  const clear = make("button", "", "clear");
  const uploadLabel = make("label", "", "upload: ");
  const upload = make("input");
  upload.type = "file";
  upload.accept = "image/*";
  uploadLabel.appendChild(upload);
  tools.append(undo, clear, uploadLabel);

  // --- the canvas (S x S pixels, shown larger) and the output ---------------------------
  const left = make("div");
  const right = make("div");
  const canvas = make("canvas");
  canvas.width = size;
  canvas.height = size;
  canvas.style.width = shown;
  canvas.style.height = shown;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = rgbCss(background);
  ctx.fillRect(0, 0, size, size);
  const output = make("img");
  output.style.width = shown;
  output.style.height = shown;
  output.alt = "generator output";
  left.append(make("div", "", titles[0] || "input"), canvas);
  right.append(make("div", "", titles[1] || "output"), output);
  row.append(left, right);
  root.append(tools, row, status);
  el.appendChild(root);

  const showDrawn = () => {
    const url = model.get("drawn");
    if (!url) return;
    const image = new Image();
    image.onload = () => {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, size, size);
    };
    image.src = url;
  };
  const showOutput = () => { if (model.get("output")) output.src = model.get("output"); };
  const showStatus = () => { status.textContent = model.get("status"); };
  showDrawn();
  showOutput();

  // --- drawing: preview locally, send the stroke once it ends ---------------------------
  let stroke = null;
  const point = (event) => { // CSS pixels -> image pixels, inside the canvas's border
    const box = canvas.getBoundingClientRect();
    const w = canvas.clientWidth || box.width;
    const h = canvas.clientHeight || box.height;
    return [round2(((event.clientX - box.left - (canvas.clientLeft || 0)) * size) / w - 0.5),
            round2(((event.clientY - box.top - (canvas.clientTop || 0)) * size) / h - 0.5)];
  };
  const preview = (a, b) => {
    ctx.strokeStyle = rgbCss(stroke.color);
    ctx.fillStyle = rgbCss(stroke.color);
    ctx.lineWidth = stroke.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    if (b) {
      ctx.moveTo(a[0] + 0.5, a[1] + 0.5);
      ctx.lineTo(b[0] + 0.5, b[1] + 0.5);
      ctx.stroke();
    } else {
      ctx.arc(a[0] + 0.5, a[1] + 0.5, stroke.width / 2, 0, 2 * Math.PI);
      ctx.fill();
    }
  };
  const send = (changes) => {
    for (const [name, value] of Object.entries(changes)) model.set(name, value);
    model.save_changes();
    status.textContent = "translating...";
  };
  const onDown = (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    stroke = { color: color.slice(), width: Number(width.value), points: [point(event)] };
    preview(stroke.points[0]);
  };
  const onMove = (event) => {
    if (!stroke) return;
    const p = point(event);
    const last = stroke.points[stroke.points.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.5) return; // sub-pixel jitter
    stroke.points.push(p);
    preview(last, p);
  };
  const onUp = () => {
    if (!stroke) return;
    const done = stroke;
    stroke = null;
    send({ strokes: [...model.get("strokes"), done] }); // one translation per stroke
  };
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointercancel", onUp);

  undo.addEventListener("click", () => {
    const strokes = model.get("strokes");
    if (strokes.length) send({ strokes: strokes.slice(0, -1) });
  });
  clear.addEventListener("click", () => send({ strokes: [], base_image: "" }));
  upload.addEventListener("change", () => {
    const file = upload.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      const image = new Image();
      image.onload = () => {
        const off = document.createElement("canvas");
        off.width = size;
        off.height = size;
        const octx = off.getContext("2d");
        octx.imageSmoothingEnabled = model.get("smooth_upload"); // off for label maps
        octx.drawImage(image, 0, 0, size, size);
        send({ base_image: off.toDataURL("image/png"), strokes: [] });
      };
      image.onerror = () => { status.textContent = `could not read ${file.name} as an image`; };
      image.src = reader.result;
    };
    reader.readAsDataURL(file);
    upload.value = "";
  });

  model.on("change:drawn", showDrawn);
  model.on("change:output", showOutput);
  model.on("change:status", showStatus);
  return () => {
    model.off("change:drawn", showDrawn);
    model.off("change:output", showOutput);
    model.off("change:status", showStatus);
  };
}

export default { render };
