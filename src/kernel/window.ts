/**
 * The part of a raw frame a plan reads, packed: per raw row the plan touches, the columns from its first to its
 * last needed pixel (data and overscan). A worker gets only these runs (for a 256 x 256 crop of the 960 x 1152
 * FCCD, 256 runs of about 320 values: 7 % of the frame, 50-90 us of copying per double exposure, the frames being
 * cold in cache) and a plan whose raw indices point into the packed form, so the main thread copies little and
 * the kernel runs unchanged.
 */
import { PixelArray } from "../model/dtype";
import { KernelPlan } from "./plan";

export interface RawWindow {
  /** Per run: raw start index, length, packed start index, as consecutive triples. */
  runs: Int32Array;
  /** Packed length of one exposure. */
  length: number;
  /**
   * Per packed value the kernel reads as a pixel, the packed span [needFrom, needTo) a later exposure must hold
   * for the kernel to take that pixel from it: the pixel and its (raw row, channel) pair's overscan values, which
   * lie in the same row's run. -1 where the kernel reads no pixel (overscan, gaps).
   */
  needFrom: Int32Array;
  needTo: Int32Array;
}

export function rawWindow(plan: KernelPlan): RawWindow {
  const { rawCols } = plan;
  const indices = [plan.gather.rawIndex, plan.gather.overscan];
  let rows = 0;
  for (const list of indices) for (let i = 0; i < list.length; i++) rows = Math.max(rows, Math.floor(list[i] / rawCols) + 1);
  const first = new Int32Array(rows).fill(rawCols);
  const last = new Int32Array(rows).fill(-1);
  for (const list of indices) {
    for (let i = 0; i < list.length; i++) {
      const raw = list[i];
      if (raw < 0) continue;
      const row = Math.floor(raw / rawCols);
      const column = raw - row * rawCols;
      if (column < first[row]) first[row] = column;
      if (column > last[row]) last[row] = column;
    }
  }
  // One run per row: merging rows (copying the gaps too) was measured slower, the copy being memory-bound.
  const runs: number[] = [];
  let length = 0;
  for (let row = 0; row < rows; row++) {
    if (last[row] < 0) continue;
    const runLength = last[row] + 1 - first[row];
    runs.push(row * rawCols + first[row], runLength, length);
    length += runLength;
  }
  const packed = packedIndices(Int32Array.from(runs), rawCols);
  const { pair, overscanColumns: columns } = plan.gather;
  const pixels = packed(plan.gather.rawIndex);
  const overscan = packed(plan.gather.overscan);
  const needFrom = new Int32Array(length).fill(-1);
  const needTo = new Int32Array(length).fill(-1);
  for (let s = 0; s < pixels.length; s++) {
    const at = pixels[s];
    if (at < 0) continue;
    let from = at;
    let to = at + 1;
    for (let k = pair[s] * columns, end = k + columns; k < end; k++) {
      from = Math.min(from, overscan[k]);
      to = Math.max(to, overscan[k] + 1);
    }
    needFrom[at] = from;
    needTo[at] = to;
  }
  return { runs: Int32Array.from(runs), length, needFrom, needTo };
}

/** The same plan reading packed windows instead of whole raw frames. */
export function packedPlan(plan: KernelPlan, window: RawWindow): KernelPlan {
  const packed = packedIndices(window.runs, plan.rawCols);
  return { ...plan, gather: { ...plan.gather, rawIndex: packed(plan.gather.rawIndex), overscan: packed(plan.gather.overscan) } };
}

/** Raw indices to packed ones (-1 stays -1) for the window with `runs`, over raw frames `rawCols` wide. */
function packedIndices(runs: Int32Array, rawCols: number): (indices: Int32Array) => Int32Array {
  // How far each raw row's pixels move in the packed window (a run lies within one row).
  const rowShift = new Map<number, number>();
  for (let i = 0; i < runs.length; i += 3) {
    const lastRow = Math.floor((runs[i] + runs[i + 1] - 1) / rawCols);
    for (let row = Math.floor(runs[i] / rawCols); row <= lastRow; row++) rowShift.set(row, runs[i + 2] - runs[i]);
  }
  return (indices) => {
    const out = new Int32Array(indices.length);
    let row = -1;
    let shift = 0;
    for (let i = 0; i < indices.length; i++) {
      const raw = indices[i];
      if (raw < 0) {
        out[i] = raw;
        continue;
      }
      const rawRow = Math.floor(raw / rawCols);
      if (rawRow !== row) {
        row = rawRow;
        shift = rowShift.get(row)!;
      }
      out[i] = raw + shift;
    }
    return out;
  };
}

/**
 * Copies the window of `raw` into `into` (bytes, e.g. a Buffer over shared memory) from value `at`, one native
 * copy per run. A JavaScript loop over 32-bit words, allocation-free, took 110-135 us an exposure for the FCCD
 * window; TypedArray.prototype.set over a view of each run takes 26-46 us (its memmove keeps many cache lines in
 * flight, where the loop waits on one or two at a time). The views (one a run) die young.
 */
export function packWindow(raw: PixelArray, window: RawWindow, into: Buffer, at: number): void {
  const bytes = raw.BYTES_PER_ELEMENT;
  const { runs } = window;
  const source = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < runs.length; i += 3) {
    const from = runs[i] * bytes;
    into.set(source.subarray(from, from + runs[i + 1] * bytes), (at + runs[i + 2]) * bytes);
  }
}

type PixelArrayConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => PixelArray;

/**
 * Packs a point's exposures (`exposures[e]` into `into` from value e x window.length) for a kernel with `plan`:
 * the exposure the HDR merge tries first (the longest) whole; with saturation judged on raw values, the others
 * only where the kernel can read them, around the pixels saturated in the first (each with its pair's overscan),
 * one span per run. Their other packed values are left as they were, which the kernel never reads. On the FCCD
 * the second exposure's spans are about a sixth of its window, and copying it whole (cold memory) cost as much
 * as the first; a pool that packed only the first reached 1.57x one core where whole windows reached 1.33x.
 */
export function packExposures(
  exposures: readonly PixelArray[],
  window: RawWindow,
  plan: Pick<KernelPlan, "order" | "saturationOnRaw" | "rawSaturationAdu">,
  into: Buffer,
): void {
  const first = plan.order[0];
  const firstRaw = exposures[first];
  const bytes = firstRaw.BYTES_PER_ELEMENT;
  packWindow(firstRaw, window, into, first * window.length);
  const firstAt = into.byteOffset + first * window.length * bytes;
  const wholeWindows = !plan.saturationOnRaw || firstAt % bytes !== 0 || exposures.some((raw) => raw.BYTES_PER_ELEMENT !== bytes);
  if (wholeWindows) {
    // Saturation judged after the dark subtraction: which pixels fall back cannot be told from raw values.
    exposures.forEach((raw, e) => e !== first && packWindow(raw, window, into, e * window.length));
    return;
  }
  const packed = new (firstRaw.constructor as PixelArrayConstructor)(into.buffer, firstAt, window.length);
  const { runs, needFrom, needTo } = window;
  const saturation = plan.rawSaturationAdu;
  for (let i = 0; i < runs.length; i += 3) {
    const start = runs[i + 2];
    const end = start + runs[i + 1];
    let from = end;
    let to = start;
    for (let k = start; k < end; k++) {
      if (packed[k] >= saturation && needFrom[k] >= 0) {
        if (needFrom[k] < from) from = needFrom[k];
        if (needTo[k] > to) to = needTo[k];
      }
    }
    if (to <= from) continue;
    const rawFrom = runs[i] + from - start;
    for (let e = 0; e < exposures.length; e++) {
      if (e === first) continue;
      const raw = exposures[e];
      into.set(new Uint8Array(raw.buffer, raw.byteOffset + rawFrom * bytes, (to - from) * bytes), (e * window.length + from) * bytes);
    }
  }
}
