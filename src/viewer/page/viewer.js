// The live viewer page: draws what the server pushes over WebSocket (see src/viewer/messages.ts for the format).
// Images come as 8-bit pictures with their range; the colour maps come from /colour-maps.json, the same maps as
// the PNG exports. Plain script, no bundler.
"use strict";

const $ = (id) => document.getElementById(id);
let colourMaps;
let messagesInLastSecond = 0;

function formatValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (v === 0) return "0";
  const m = Math.abs(v);
  return m >= 0.01 && m < 10000 ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : v.toExponential(1);
}

/** Inverse of the server's scale: the value at position t in [0, 1] of the colour bar. */
function valueAt(t, header) {
  const span = header.high - header.low;
  return header.scale === "log" ? header.low + Math.expm1(t * Math.log1p(span)) : header.low + t * span;
}

function drawColourBar(panel, header) {
  const bar = $(`bar-${panel}`);
  const map = colourMaps[header.colourMap];
  bar.width = 256;
  bar.height = 1;
  const ctx = bar.getContext("2d");
  const row = ctx.createImageData(256, 1);
  for (let i = 0; i < 256; i++) row.data.set([map[3 * i], map[3 * i + 1], map[3 * i + 2], 255], 4 * i);
  ctx.putImageData(row, 0, 0);
  const ticks = panel === "phase" ? ["-π", "0", "π"] : [0, 0.5, 1].map((t) => formatValue(valueAt(t, header)));
  const labels = $(`labels-${panel}`);
  labels.replaceChildren(...ticks.map((text) => Object.assign(document.createElement("span"), { textContent: text })));
  labels.title = header.scale === "log" ? "log scale" : "linear scale";
}

function drawImage(header, pixels) {
  const canvas = $(`image-${header.panel}`);
  if (!canvas || !colourMaps) return;
  const map = colourMaps[header.colourMap];
  canvas.width = header.width;
  canvas.height = header.height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(header.width, header.height);
  for (let i = 0; i < pixels.length; i++) {
    const k = 3 * pixels[i];
    image.data[4 * i] = map[k];
    image.data[4 * i + 1] = map[k + 1];
    image.data[4 * i + 2] = map[k + 2];
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  canvas.dataset.updates = String(Number(canvas.dataset.updates) + 1);
  drawColourBar(header.panel, header);
  const size = `${header.rows}×${header.cols}${header.width !== header.cols ? ` shown ${header.height}×${header.width}` : ""}`;
  const what = header.iteration !== undefined ? `iteration ${header.iteration}, ${header.framesUsed} frames${header.final ? ", final" : ""}` : `frame ${header.index ?? "-"}`;
  $(`caption-${header.panel}`).textContent = `${what} · ${size}${header.descrambled ? " · descrambled" : ""}${header.scale === "log" ? " · log" : ""}`;
}

function plotFrame(ctx, canvas) {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#3a3f4b";
  ctx.strokeRect(0.5, 0.5, canvas.width - 1, canvas.height - 1);
}

function drawPositions(message) {
  const canvas = $("plot-positions");
  const ctx = canvas.getContext("2d");
  plotFrame(ctx, canvas);
  const xs = message.known.xM.concat(message.visited.xM);
  const ys = message.known.yM.concat(message.visited.yM);
  canvas.dataset.known = String(message.known.xM.length);
  canvas.dataset.visited = String(message.visited.xM.length);
  $("caption-positions").textContent = `${message.visited.xM.length} frames measured · ${message.known.xM.length} positions known`;
  if (xs.length === 0) return;
  const pad = 14;
  const xMin = Math.min(...xs), xMax = Math.max(...xs), yMin = Math.min(...ys), yMax = Math.max(...ys);
  const span = Math.max(xMax - xMin, yMax - yMin) || 1e-9;
  const scale = (canvas.width - 2 * pad) / span;
  // y grows downwards, as rows do in the images.
  const at = (x, y) => [pad + (x - xMin) * scale, pad + (y - yMin) * scale];
  const dots = (set, colour, r) => {
    ctx.fillStyle = colour;
    for (let i = 0; i < set.xM.length; i++) {
      const [px, py] = at(set.xM[i], set.yM[i]);
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fill();
    }
  };
  dots(message.known, "#4a5060", 2.5);
  dots(message.visited, "#35b779", 2.5);
  if (message.current) dots({ xM: [message.current.x], yM: [message.current.y] }, "#ff5050", 4);
  ctx.fillStyle = "#8a91a0";
  ctx.font = "10px sans-serif";
  ctx.fillText(`${(span * 1e6).toPrecision(3)} µm across`, pad, canvas.height - 3);
}

function drawErrors(message) {
  const canvas = $("plot-errors");
  const ctx = canvas.getContext("2d");
  plotFrame(ctx, canvas);
  const n = message.iteration.length;
  canvas.dataset.points = String(n);
  const last = n > 0 ? n - 1 : -1;
  $("caption-errors").textContent = n === 0 ? "" : `iteration ${message.iteration[last]}: ${formatValue(message.error[last])}${message.errorToTruth[last] !== null ? `, to truth ${formatValue(message.errorToTruth[last])}` : ""}`;
  const values = message.error.concat(message.errorToTruth).filter((v) => v !== null && v > 0);
  if (n === 0 || values.length === 0) return;
  const left = 46, right = 8, top = 8, bottom = 22;
  const w = canvas.width - left - right, h = canvas.height - top - bottom;
  const iMin = message.iteration[0], iMax = Math.max(message.iteration[last], iMin + 1);
  const lMin = Math.floor(Math.log10(Math.min(...values))), lMax = Math.max(Math.ceil(Math.log10(Math.max(...values))), lMin + 1);
  const x = (i) => left + ((i - iMin) / (iMax - iMin)) * w;
  const y = (v) => top + (1 - (Math.log10(v) - lMin) / (lMax - lMin)) * h;
  ctx.font = "10px sans-serif";
  ctx.fillStyle = "#8a91a0";
  ctx.strokeStyle = "#2c303a";
  for (let d = lMin; d <= lMax; d++) {
    ctx.beginPath();
    ctx.moveTo(left, y(10 ** d));
    ctx.lineTo(left + w, y(10 ** d));
    ctx.stroke();
    ctx.fillText(`1e${d}`, 4, y(10 ** d) + 3);
  }
  ctx.fillText(String(iMin), left, canvas.height - 6);
  ctx.fillText(`iteration ${iMax}`, left + w - 60, canvas.height - 6);
  const line = (series, colour) => {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.beginPath();
    let started = false;
    series.forEach((v, k) => {
      if (v === null || !(v > 0)) return;
      const px = x(message.iteration[k]), py = y(v);
      if (started) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      started = true;
    });
    ctx.stroke();
    series.forEach((v, k) => {
      if (v !== null && v > 0) ctx.fillRect(x(message.iteration[k]) - 1.5, y(v) - 1.5, 3, 3);
    });
  };
  line(message.error, "#7fb6ff");
  line(message.errorToTruth, "#f0a35e");
}

function drawHealth(message) {
  const body = $("stages").tBodies[0];
  body.replaceChildren(
    ...message.stages.map((s) => {
      const row = document.createElement("tr");
      row.dataset.stage = s.stage;
      const cells = [s.stage, s.itemsIn, s.itemsOut, formatValue(s.rateOut), s.queueDepth, s.maxQueueDepth, `${Math.round(100 * (s.busyFraction || 0))} %`];
      row.replaceChildren(...cells.map((text) => Object.assign(document.createElement("td"), { textContent: String(text) })));
      return row;
    }),
  );
  const counts = $("counts");
  counts.replaceChildren(
    ...Object.entries(message.counts).map(([name, value]) => {
      const item = document.createElement("div");
      item.dataset.count = name;
      const bad = name.startsWith("bad") || name === "dropped" || name === "skipped";
      item.append(Object.assign(document.createElement("dt"), { textContent: name }), Object.assign(document.createElement("dd"), { textContent: String(value), className: bad && value > 0 ? "bad" : "" }));
      return item;
    }),
  );
  const v = message.viewer;
  $("viewer-figures").textContent = `viewer: ${v.clients} client(s), ${v.messagesSent} messages sent, ${(v.bytesSent / 1e6).toFixed(1)} MB, ` +
    `${v.skippedSlowClient} updates held back for slow clients${v.encodeErrors ? `, ${v.encodeErrors} encode errors (${v.lastEncodeError})` : ""}`;
}

function onMessage(event) {
  messagesInLastSecond += 1;
  if (typeof event.data === "string") {
    const message = JSON.parse(event.data);
    if (message.type === "scan") $("scan-id").textContent = message.scanId || "-";
    else if (message.type === "positions") drawPositions(message);
    else if (message.type === "errors") drawErrors(message);
    else if (message.type === "health") drawHealth(message);
    return;
  }
  const view = new DataView(event.data);
  const length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(event.data, 4, length)));
  if (header.type === "image") drawImage(header, new Uint8Array(event.data, 4 + length));
}

/** Title, picture, colour bar and labels of each image panel, with the ids the drawing code uses. */
function buildImagePanels() {
  for (const section of document.querySelectorAll("section.image-panel")) {
    const panel = section.dataset.panel;
    section.innerHTML =
      `<h2>${section.dataset.title} <span class="caption" id="caption-${panel}"></span></h2>` +
      `<canvas class="image" id="image-${panel}" data-updates="0"></canvas>` +
      `<canvas class="colour-bar" id="bar-${panel}"></canvas>` +
      `<div class="bar-labels" id="labels-${panel}"></div>`;
  }
}

function connect() {
  const socket = new WebSocket(new URL("ws", location.href.replace(/^http/, "ws")));
  socket.binaryType = "arraybuffer";
  const status = $("connection");
  socket.onopen = () => {
    status.textContent = "live";
    status.dataset.state = "open";
  };
  socket.onmessage = onMessage;
  socket.onclose = () => {
    status.textContent = "disconnected, retrying";
    status.dataset.state = "closed";
    setTimeout(connect, 1000);
  };
}

setInterval(() => {
  $("update-rate").textContent = `${messagesInLastSecond} msg/s`;
  messagesInLastSecond = 0;
}, 1000);

buildImagePanels();
fetch("colour-maps.json")
  .then((response) => response.json())
  .then((maps) => {
    colourMaps = maps;
    connect();
  });

// What the page shows, as numbers (for scripts and the browser test): per picture its update count and its
// pixels as a data URL, the counts, the error-curve points, the positions measured and the stages listed.
window.viewerFigures = () => {
  const panels = ["raw", "processed", "amplitude", "phase", "probe"];
  const counts = {};
  document.querySelectorAll("#counts [data-count]").forEach((item) => {
    counts[item.dataset.count] = Number(item.querySelector("dd").textContent);
  });
  return {
    connection: $("connection").dataset.state,
    scanId: $("scan-id").textContent,
    updates: Object.fromEntries(panels.map((p) => [p, Number($(`image-${p}`).dataset.updates)])),
    pictures: Object.fromEntries(panels.map((p) => [p, $(`image-${p}`).toDataURL()])),
    counts,
    errorPoints: Number($("plot-errors").dataset.points),
    visited: Number($("plot-positions").dataset.visited),
    stages: Array.from(document.querySelectorAll("#stages tbody tr"), (row) => row.dataset.stage),
  };
};
