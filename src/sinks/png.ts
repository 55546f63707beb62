/**
 * A reconstruction as a PNG (pngjs): object amplitude and phase side by side, each with a colour bar under it
 * labelled with its range. Amplitude: viridis, from the 2nd to the 98th percentile of the object inset by half
 * a probe width on each side (the scan is centred on the object, and the weakly illuminated rim, where the
 * object is barely constrained, would otherwise set the scale). Phase: a cyclic map over [-pi, pi), referred to the mean phase of the bright
 * part of the object, since the reconstruction's global phase is arbitrary.
 */
import { promises as fs } from "node:fs";
import { PNG } from "pngjs";
import { ComplexImage, Snapshot } from "../model/scan";
import { amplitudeOf } from "../numerics/complex";

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, row-major. */
  data: Uint8Array;
}

export type Rgb = [number, number, number];

const VIRIDIS: Rgb[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** t in [0, 1] -> viridis (piecewise linear through five stops). */
export function viridis(t: number): Rgb {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(VIRIDIS[i][c] + f * (VIRIDIS[i + 1][c] - VIRIDIS[i][c]))) as Rgb;
}

/** t in [0, 1) -> a cyclic hue wheel, so -pi and pi get the same colour. */
export function cyclic(t: number): Rgb {
  const h = (((t % 1) + 1) % 1) * 6;
  const x = 1 - Math.abs((h % 2) - 1);
  const [r, g, b] = h < 1 ? [1, x, 0] : h < 2 ? [x, 1, 0] : h < 3 ? [0, 1, x] : h < 4 ? [0, x, 1] : h < 5 ? [x, 0, 1] : [1, 0, x];
  // Softened towards grey so the map reads well on screen.
  return [r, g, b].map((v) => Math.round(40 + 190 * v)) as Rgb;
}

const GAP_PX = 8;
const BAR_PX = 12;
const LABEL_SCALE = 2;
const GLYPH_W = 3;
const GLYPH_H = 5;

/** A 3 x 5 pixel font for the range labels: digits, sign, point, exponent and pi. */
const GLYPHS: Record<string, string> = {
  "0": "111101101101111",
  "1": "010110010010111",
  "2": "111001111100111",
  "3": "111001111001111",
  "4": "101101111001001",
  "5": "111100111001111",
  "6": "111100111101111",
  "7": "111001001001001",
  "8": "111101111101111",
  "9": "111101111001111",
  "-": "000000111000000",
  ".": "000000000000010",
  e: "000111110100111",
  p: "111101101101101",
  " ": "000000000000000",
};

class Canvas implements RgbaImage {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(4 * width * height).fill(255);
  }

  set(x: number, y: number, [r, g, b]: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const k = 4 * (y * this.width + x);
    this.data[k] = r;
    this.data[k + 1] = g;
    this.data[k + 2] = b;
    this.data[k + 3] = 255;
  }

  text(x: number, y: number, label: string): void {
    for (const [i, ch] of [...label].entries()) {
      const glyph = GLYPHS[ch] ?? GLYPHS[" "];
      for (let gy = 0; gy < GLYPH_H; gy++) {
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (glyph[gy * GLYPH_W + gx] !== "1") continue;
          for (let sy = 0; sy < LABEL_SCALE; sy++) {
            for (let sx = 0; sx < LABEL_SCALE; sx++) this.set(x + (i * (GLYPH_W + 1) + gx) * LABEL_SCALE + sx, y + gy * LABEL_SCALE + sy, [0, 0, 0]);
          }
        }
      }
    }
  }

  textWidth(label: string): number {
    return label.length * (GLYPH_W + 1) * LABEL_SCALE;
  }
}

export function formatValue(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 0.01 && magnitude < 1000 ? value.toPrecision(3) : value.toExponential(1).replace("e+", "e");
}

export function percentile(values: Float32Array, q: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Phase of each pixel relative to the mean complex value of the pixels brighter than the median amplitude. */
export function referredPhase(object: ComplexImage, amplitude: Float32Array): Float32Array {
  const d = object.data;
  const median = percentile(amplitude, 0.5);
  let re = 0;
  let im = 0;
  for (let i = 0; i < amplitude.length; i++) {
    if (amplitude[i] < median) continue;
    re += d[2 * i];
    im += d[2 * i + 1];
  }
  const reference = Math.atan2(im, re);
  return Float32Array.from(amplitude, (_, i) => {
    const phase = Math.atan2(d[2 * i + 1], d[2 * i]) - reference;
    return phase - 2 * Math.PI * Math.floor((phase + Math.PI) / (2 * Math.PI));
  });
}

/** Height of a panel: the image, its colour bar and the labels under it. */
const panelHeight = (rows: number): number => rows + GAP_PX / 2 + BAR_PX + 2 + GLYPH_H * LABEL_SCALE + 2;

/** Draws one panel (image and colour bar with its range) with its top-left at x0. */
function drawPanel(canvas: Canvas, x0: number, rows: number, cols: number, values: Float32Array, low: number, high: number, colour: (t: number) => Rgb, labels: [string, string]): void {
  const span = high > low ? high - low : 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) canvas.set(x0 + c, r, colour((values[r * cols + c] - low) / span));
  }
  const barTop = rows + GAP_PX / 2;
  for (let c = 0; c < cols; c++) {
    const rgb = colour(cols > 1 ? c / (cols - 1) : 0);
    for (let y = 0; y < BAR_PX; y++) canvas.set(x0 + c, barTop + y, rgb);
  }
  const labelTop = barTop + BAR_PX + 2;
  canvas.text(x0, labelTop, labels[0]);
  canvas.text(x0 + cols - canvas.textWidth(labels[1]), labelTop, labels[1]);
}

/** The picture `writeReconstructionPng` writes, as RGBA pixels. */
export function reconstructionImage(snapshot: Snapshot): RgbaImage {
  const { rows, cols } = snapshot.object;
  const amplitude = amplitudeOf(snapshot.object);
  const phase = referredPhase(snapshot.object, amplitude);
  const inset = Math.min(Math.floor(snapshot.probe.rows / 2), Math.floor(rows / 4), Math.floor(cols / 4));
  const inner = new Float32Array((rows - 2 * inset) * (cols - 2 * inset));
  for (let r = inset, i = 0; r < rows - inset; r++) for (let c = inset; c < cols - inset; c++) inner[i++] = amplitude[r * cols + c];
  const low = percentile(inner, 0.02);
  const high = percentile(inner, 0.98);
  const canvas = new Canvas(2 * cols + GAP_PX, panelHeight(rows));
  drawPanel(canvas, 0, rows, cols, amplitude, low, high, viridis, [formatValue(low), formatValue(high)]);
  drawPanel(canvas, cols + GAP_PX, rows, cols, phase, -Math.PI, Math.PI, (t) => cyclic(t), ["-p", "p"]);
  return canvas;
}

/** One image with its colour bar and range labels under it (as a panel of the reconstruction picture). */
export function panelImage(rows: number, cols: number, values: Float32Array, low: number, high: number, colour: (t: number) => Rgb, labels: [string, string]): RgbaImage {
  const canvas = new Canvas(cols, panelHeight(rows));
  drawPanel(canvas, 0, rows, cols, values, low, high, colour, labels);
  return canvas;
}

export function encodePng(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png);
}

export async function writeReconstructionPng(path: string, snapshot: Snapshot): Promise<void> {
  await fs.writeFile(path, encodePng(reconstructionImage(snapshot)));
}
