/**
 * The viewer's pictures, pure: block-mean downsampling to at most `maxPx` a side (optionally reading a raw frame
 * through the layout's descramble map on the way), 8-bit quantisation on a linear or log scale, and the full-size
 * PNG panels for export. What goes to the browser is lossy by design: a display, not data.
 */
import { ComplexImage } from "../model/scan";
import { amplitudeOf } from "../numerics/complex";
import { RgbaImage, Rgb, cyclic, formatValue, panelImage, percentile, referredPhase, viridis } from "../sinks/png";

export type DisplayScale = "log" | "linear";
export type ColourMapName = "viridis" | "cyclic";

export const COLOUR_MAPS: Record<ColourMapName, (t: number) => Rgb> = { viridis, cyclic };

/** The longest side of an image sent to the browser. */
export const MAX_DISPLAY_PX = 256;

export interface RealImage {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** An image quantised for display: `pixels[i] / 255` maps to the colour map between `low` and `high` on `scale`. */
export interface DisplayImage {
  width: number;
  height: number;
  low: number;
  high: number;
  scale: DisplayScale;
  colourMap: ColourMapName;
  pixels: Uint8Array;
}

/** The smallest whole block size that brings the longer side down to `maxPx` or less. */
export function blockSizeFor(rows: number, cols: number, maxPx: number): number {
  return Math.max(1, Math.ceil(Math.max(rows, cols) / maxPx));
}

/**
 * Block means of a rows x cols image, blocks of b x b with b from `blockSizeFor` (edge blocks average what they
 * cover). `sourceIndex`, when given, says for each image pixel which element of `values` holds it: the raw
 * layout's `imageToRaw` map, so a raw frame is descrambled while it is reduced, without a full-size copy.
 * Non-finite values count as 0.
 */
export function downsampleMean(values: ArrayLike<number>, rows: number, cols: number, maxPx: number, sourceIndex?: Int32Array): RealImage {
  const b = blockSizeFor(rows, cols, maxPx);
  const outRows = Math.ceil(rows / b);
  const outCols = Math.ceil(cols / b);
  const sums = new Float64Array(outRows * outCols);
  const counts = new Uint32Array(outRows * outCols);
  for (let y = 0; y < rows; y++) {
    const outRow = Math.floor(y / b) * outCols;
    for (let x = 0; x < cols; x++) {
      const i = y * cols + x;
      const v = values[sourceIndex === undefined ? i : sourceIndex[i]];
      const o = outRow + Math.floor(x / b);
      if (Number.isFinite(v)) sums[o] += v;
      counts[o] += 1;
    }
  }
  const data = new Float32Array(sums.length);
  for (let o = 0; o < data.length; o++) data[o] = sums[o] / counts[o];
  return { rows: outRows, cols: outCols, data };
}

/** Block means of a complex image (re and im averaged apart, so amplitude and phase come from the same mean). */
export function downsampleComplex(image: ComplexImage, maxPx: number): ComplexImage {
  const size = image.rows * image.cols;
  const re = new Float32Array(size);
  const im = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    re[i] = image.data[2 * i];
    im[i] = image.data[2 * i + 1];
  }
  const smallRe = downsampleMean(re, image.rows, image.cols, maxPx);
  const smallIm = downsampleMean(im, image.rows, image.cols, maxPx);
  const data = new Float32Array(2 * smallRe.data.length);
  for (let i = 0; i < smallRe.data.length; i++) {
    data[2 * i] = smallRe.data[i];
    data[2 * i + 1] = smallIm.data[i];
  }
  return { rows: smallRe.rows, cols: smallRe.cols, data };
}

/** Where v falls in [low, high], in [0, 1]: linear, or logarithmic in (v - low + 1), so 0 photons sit at 0. */
export function scaledPosition(v: number, low: number, high: number, scale: DisplayScale): number {
  if (!Number.isFinite(v) || !(high > low)) return 0;
  const above = Math.min(Math.max(v - low, 0), high - low);
  return scale === "log" ? Math.log1p(above) / Math.log1p(high - low) : above / (high - low);
}

export function finiteRange(values: Float32Array): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low <= high ? [low, high] : [0, 0];
}

/** 8-bit quantisation of `image` between `low` and `high` (default: its finite range). */
export function quantise(image: RealImage, scale: DisplayScale, colourMap: ColourMapName, range: [number, number] = finiteRange(image.data)): DisplayImage {
  const [low, high] = range;
  const pixels = new Uint8Array(image.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(255 * scaledPosition(image.data[i], low, high, scale));
  return { width: image.cols, height: image.rows, low, high, scale, colourMap, pixels };
}

/** A detector frame for display: block means to at most `maxPx`, log scale, viridis. */
export function frameDisplay(values: ArrayLike<number>, rows: number, cols: number, maxPx: number, sourceIndex?: Int32Array): DisplayImage {
  return quantise(downsampleMean(values, rows, cols, maxPx, sourceIndex), "log", "viridis");
}

/** Amplitude between its 2nd and 98th percentiles (as the reconstruction PNG), and phase referred to the bright part. */
export function objectDisplays(object: ComplexImage, maxPx: number): { amplitude: DisplayImage; phase: DisplayImage } {
  const small = downsampleComplex(object, maxPx);
  const amplitude = amplitudeOf(small);
  const image = (data: Float32Array) => ({ rows: small.rows, cols: small.cols, data });
  return {
    amplitude: quantise(image(amplitude), "linear", "viridis", [percentile(amplitude, 0.02), percentile(amplitude, 0.98)]),
    phase: quantise(image(referredPhase(small, amplitude)), "linear", "cyclic", [-Math.PI, Math.PI]),
  };
}

/** The probe's amplitude over its full range. */
export function probeDisplay(probe: ComplexImage, maxPx: number): DisplayImage {
  const small = downsampleComplex(probe, maxPx);
  return quantise({ rows: small.rows, cols: small.cols, data: amplitudeOf(small) }, "linear", "viridis");
}

/** Viridis looked up in 256 steps (what an 8-bit picture holds anyway): a full detector frame has a million pixels. */
const VIRIDIS_TABLE: Rgb[] = Array.from({ length: 256 }, (_, i) => viridis(i / 255));
const viridisTable = (t: number): Rgb => VIRIDIS_TABLE[Math.round(Math.min(1, Math.max(0, t)) * 255)];

/**
 * A detector frame at full size for export: log scale, viridis, with a colour bar labelled with the range in the
 * frame's own units (ADU for raw frames, photons for processed ones).
 */
export function framePanel(values: ArrayLike<number>, rows: number, cols: number, sourceIndex?: Int32Array): RgbaImage {
  const full = downsampleMean(values, rows, cols, Math.max(rows, cols), sourceIndex);
  const [low, high] = finiteRange(full.data);
  const positions = new Float32Array(full.data.length);
  for (let i = 0; i < positions.length; i++) positions[i] = scaledPosition(full.data[i], low, high, "log");
  return panelImage(rows, cols, positions, 0, 1, viridisTable, [formatValue(low), formatValue(high)]);
}
