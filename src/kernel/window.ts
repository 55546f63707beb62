/**
 * The part of a raw frame a plan reads, packed: per raw row the plan touches, the columns from its first to its
 * last needed pixel (data and overscan), widened to whole groups of WORD_VALUES. A worker gets only these runs
 * (for a 256 x 256 crop of the 960 x 1152 FCCD, 256 runs of about 320 values: 7 % of the frame, about 0.1 ms of
 * copying per double exposure, the frames being cold in cache) and a plan whose raw indices point into the packed
 * form, so the main thread copies little and the kernel runs unchanged. The kernel in the main thread packs too
 * (see inThreadKernel in ./fused.ts): it reads the packed window faster than the raw frames.
 */
import { PixelArray } from "../model/dtype";
import { RawGather } from "./gather";
import { CropGeometry, KernelPlan } from "./plan";

/** Runs start and end on multiples of this many values, so they copy as whole 32-bit words whatever the dtype. */
const WORD_VALUES = 4;

export interface RawWindow {
  /** Per run: raw start index, length, packed start index, as consecutive triples. */
  runs: Int32Array;
  /** Packed length of one exposure. */
  length: number;
}

export function rawWindow(geometry: CropGeometry): RawWindow {
  const { rawCols } = geometry;
  const indices = [geometry.gather.rawIndex, geometry.gather.overscan];
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

/** The geometry's gather with raw indices into the packed window. */
function packedGather(geometry: CropGeometry, window: RawWindow): RawGather {
  const { runs } = window;
  const { rawCols } = geometry;
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
  return { ...geometry.gather, rawIndex: remap(geometry.gather.rawIndex), overscan: remap(geometry.gather.overscan) };
}

/** A plan's raw window and the plan reading it (what the kernel runs on, in this thread or another). */
export interface PackedForm {
  window: RawWindow;
  plan: KernelPlan;
}

// Built once per gather (a crop geometry, shared by the scans that crop alike) and per plan (the pool and this
// thread's kernel share it).
const packedGathers = new WeakMap<RawGather, { window: RawWindow; gather: RawGather }>();
const packedForms = new WeakMap<KernelPlan, PackedForm>();

export function packedForm(plan: KernelPlan): PackedForm {
  let form = packedForms.get(plan);
  if (form === undefined) {
    let packed = packedGathers.get(plan.gather);
    if (packed === undefined) {
      const window = rawWindow(plan);
      packed = { window, gather: packedGather(plan, window) };
      packedGathers.set(plan.gather, packed);
    }
    form = { window: packed.window, plan: { ...plan, gather: packed.gather } };
    packedForms.set(plan, form);
  }
  return form;
}

/**
 * Copies the window of `raw` into `into` (bytes, e.g. a Buffer over shared memory) from value `at`. When every run
 * lies on 4-byte boundaries, runs go as 32-bit words, eight rows at a time (copyWordRuns), with two views a call
 * and none a run: Buffer.copy makes a view per call, and V8's sampling heap profiler found those views (512 a
 * point) among what only full collections freed. Otherwise (a raw width that is no multiple of 4, an odd offset)
 * run by run through Buffer.copy.
 */
export function packWindow(raw: PixelArray, window: RawWindow, into: Buffer, at: number): void {
  const bytes = raw.BYTES_PER_ELEMENT;
  const { runs } = window;
  let wordsAligned = raw.byteOffset % 4 === 0 && into.byteOffset % 4 === 0;
  for (let i = 0; wordsAligned && i < runs.length; i += 3) wordsAligned = ((runs[i] | runs[i + 1] | (at + runs[i + 2])) * bytes) % 4 === 0;
  if (wordsAligned) {
    const source = new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2);
    const target = new Int32Array(into.buffer, into.byteOffset, into.byteLength >> 2);
    copyWordRuns(source, target, runs, bytes, at);
    return;
  }
  const source = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < runs.length; i += 3) {
    const from = runs[i] * bytes;
    source.copy(into, (at + runs[i + 2]) * bytes, from, from + runs[i + 1] * bytes);
  }
}

/**
 * Copies the window's runs (`bytesPerValue` bytes a value, the target from value `at`) as 32-bit words, eight
 * at a time, word j of each of the eight in turn. Each run is a raw row's stretch in its own memory page, cold in
 * cache, and a copy waits on memory: one row at a time the hardware fetched one row's cache lines at once, eight
 * rows at a time eight rows' lines. Measured on the FCCD window (256 runs of about 320 values): 37-80 us an
 * exposure against 100-148 us row by row (4 rows at a time 45-102 us, 16 no better than 8).
 */
function copyWordRuns(source: Int32Array, target: Int32Array, runs: Int32Array, bytesPerValue: number, at: number): void {
  // Values to words: exact, every run lying on 4-byte boundaries.
  const words = (values: number) => (values * bytesPerValue) >> 2;
  const n = runs.length;
  let i = 0;
  for (; i + 24 <= n; i += 24) {
    const s0 = words(runs[i]), s1 = words(runs[i + 3]), s2 = words(runs[i + 6]), s3 = words(runs[i + 9]);
    const s4 = words(runs[i + 12]), s5 = words(runs[i + 15]), s6 = words(runs[i + 18]), s7 = words(runs[i + 21]);
    const t0 = words(at + runs[i + 2]), t1 = words(at + runs[i + 5]), t2 = words(at + runs[i + 8]), t3 = words(at + runs[i + 11]);
    const t4 = words(at + runs[i + 14]), t5 = words(at + runs[i + 17]), t6 = words(at + runs[i + 20]), t7 = words(at + runs[i + 23]);
    const common = words(Math.min(runs[i + 1], runs[i + 4], runs[i + 7], runs[i + 10], runs[i + 13], runs[i + 16], runs[i + 19], runs[i + 22]));
    for (let j = 0; j < common; j++) {
      target[t0 + j] = source[s0 + j];
      target[t1 + j] = source[s1 + j];
      target[t2 + j] = source[s2 + j];
      target[t3 + j] = source[s3 + j];
      target[t4 + j] = source[s4 + j];
      target[t5 + j] = source[s5 + j];
      target[t6 + j] = source[s6 + j];
      target[t7 + j] = source[s7 + j];
    }
    // The longer runs' ends (the FCCD's rows are all alike; other layouts need not be).
    for (let k = i; k < i + 24; k += 3) copyWords(source, words(runs[k]) + common, target, words(at + runs[k + 2]) + common, words(runs[k + 1]) - common);
  }
  for (; i < n; i += 3) copyWords(source, words(runs[i]), target, words(at + runs[i + 2]), words(runs[i + 1]));
}

function copyWords(source: Int32Array, from: number, target: Int32Array, to: number, count: number): void {
  for (let j = 0; j < count; j++) target[to + j] = source[from + j];
}
