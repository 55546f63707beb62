/**
 * Complex arrays on typed arrays: interleaved (re, im) pairs, row-major. Float32 for what is stored (objects,
 * probes, exit waves, frames), Float64 for scratch and accumulators where precision matters.
 */
import { ComplexImage } from "../model/scan";
import type { ComplexArray } from "./fft2d";

export type { ComplexArray } from "./fft2d";

/**
 * A zeroed complex image. `shared` puts it on a SharedArrayBuffer so worker threads can read and write the
 * same object and probe without copies.
 */
export function complexImage(rows: number, cols: number, shared = false): ComplexImage {
  const length = 2 * rows * cols;
  const data = shared ? new Float32Array(new SharedArrayBuffer(4 * length)) : new Float32Array(length);
  return { rows, cols, data };
}

export function cloneComplexImage(image: ComplexImage): ComplexImage {
  return { rows: image.rows, cols: image.cols, data: image.data.slice() };
}

/** Sets every element to `re + i im`. */
export function fillComplex(data: ComplexArray, re: number, im = 0): void {
  for (let k = 0; k < data.length; k += 2) {
    data[k] = re;
    data[k + 1] = im;
  }
}

/** |z| per element. */
export function amplitudeOf(image: ComplexImage): Float32Array {
  const out = new Float32Array(image.rows * image.cols);
  const d = image.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(d[2 * i], d[2 * i + 1]);
  return out;
}

