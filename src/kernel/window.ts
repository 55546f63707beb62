/**
 * The part of a raw frame a plan reads, packed: per raw row the plan touches, the columns from its first to its
 * last needed pixel (data and overscan), widened to whole groups of WORD_VALUES. A worker gets only these runs
 * (for a 256 x 256 crop of the 960 x 1152 FCCD, 256 runs of about 320 values: 7 % of the frame, 0.12-0.3 ms of
 * copying per double exposure, the frames being cold in cache) and a plan whose raw indices point into the packed
 * form, so the main thread copies little and the kernel runs unchanged.
 */
import { PixelArray } from "../model/dtype";
import { KernelPlan } from "./plan";

/** Runs start and end on multiples of this many values, so they copy as whole 32-bit words whatever the dtype. */
const WORD_VALUES = 4;

export interface RawWindow {
  /** Per run: raw start index, length, packed start index, as consecutive triples. */
  runs: Int32Array;
  /** Packed length of one exposure. */
  length: number;
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
    const start = first[row] - (first[row] % WORD_VALUES);
    const end = Math.min(rawCols, Math.ceil((last[row] + 1) / WORD_VALUES) * WORD_VALUES);
    runs.push(row * rawCols + start, end - start, length);
    length += end - start;
  }
  return { runs: Int32Array.from(runs), length };
}

/** The same plan reading packed windows instead of whole raw frames. */
export function packedPlan(plan: KernelPlan, window: RawWindow): KernelPlan {
  const { runs } = window;
  const { rawCols } = plan;
  // How far each raw row's pixels move in the packed window (a run lies within one row).
  const rowShift = new Map<number, number>();
  for (let i = 0; i < runs.length; i += 3) {
    const lastRow = Math.floor((runs[i] + runs[i + 1] - 1) / rawCols);
    for (let row = Math.floor(runs[i] / rawCols); row <= lastRow; row++) rowShift.set(row, runs[i + 2] - runs[i]);
  }
  const remap = (indices: Int32Array) => {
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
  return { ...plan, gather: { ...plan.gather, rawIndex: remap(plan.gather.rawIndex), overscan: remap(plan.gather.overscan) } };
}

/**
 * Copies the window of `raw` into `into` (bytes, e.g. a Buffer over shared memory) from value `at`. Runs on
 * 4-byte boundaries are copied as 32-bit words in a loop, allocating nothing: Buffer.copy makes a view per call,
 * and V8's sampling heap profiler found those views (512 a point, 41 kB) among what only full collections
 * freed; the loop is as fast (the copy waits on memory either way). Other runs (a raw width that is no
 * multiple of 4, an odd offset) go through Buffer.copy.
 */
export function packWindow(raw: PixelArray, window: RawWindow, into: Buffer, at: number): void {
  const bytes = raw.BYTES_PER_ELEMENT;
  const { runs } = window;
  const wordsAligned = raw.byteOffset % 4 === 0 && into.byteOffset % 4 === 0;
  const sourceWords = wordsAligned ? new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2) : undefined;
  const targetWords = wordsAligned ? new Int32Array(into.buffer, into.byteOffset, into.byteLength >> 2) : undefined;
  let source: Buffer | undefined;
  for (let i = 0; i < runs.length; i += 3) {
    const from = runs[i] * bytes;
    const length = runs[i + 1] * bytes;
    const to = (at + runs[i + 2]) * bytes;
    if (sourceWords !== undefined && targetWords !== undefined && (from | length | to) % 4 === 0) {
      const end = (from + length) >> 2;
      for (let s = from >> 2, t = to >> 2; s < end; s++, t++) targetWords[t] = sourceWords[s];
    } else {
      source ??= Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      source.copy(into, to, from, from + length);
    }
  }
}
