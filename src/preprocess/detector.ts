/**
 * The detector half of the FCCD chain as plain functions on typed arrays: equalize, descramble, dark
 * statistics (Welford), subtract, noise, HDR merge and photons. The operators in src/operators/ wrap these;
 * the fused kernel of the next issue must reproduce them exactly, so they are written for clarity.
 */
import ndarray from "ndarray";
import * as ops from "ndarray-ops";
import { LayoutMaps } from "../model/layout";
import { RawFrame, Frame } from "../model/scan";
import { PixelArray } from "../model/dtype";
import {
  CorrectedExposure,
  DarkStatistics,
  EqualizedFrame,
  ImageExposure,
  PointOf,
} from "./types";

/**
 * Digitizer equilibration: every ADC channel of every raw row gets its own offset, which its overscan pixels
 * (no charge, read by the same ADC) measure. Subtract their mean from the whole channel-row, overscan included.
 */
export function equalizeRaw(frame: RawFrame, maps: LayoutMaps): EqualizedFrame {
  const [rows, cols] = maps.raw;
  if (frame.rows !== rows || frame.cols !== cols) {
    throw new Error(`equalize: frame ${frame.index} is ${frame.rows}x${frame.cols}, the layout reads ${rows}x${cols}`);
  }
  const data = Float32Array.from(frame.data);
  const { channels, dataColumns, overscanColumns } = maps.layout;
  if (overscanColumns > 0) {
    const width = dataColumns + overscanColumns;
    for (let rowChannel = 0; rowChannel < rows * channels; rowChannel++) {
      let sum = 0;
      for (let k = 0; k < overscanColumns; k++) sum += frame.data[maps.overscan[rowChannel * overscanColumns + k]];
      const offset = sum / overscanColumns;
      const start = maps.dataStart[rowChannel];
      for (let i = start; i < start + width; i++) data[i] = frame.data[i] - offset;
    }
  }
  return { rows, cols, data, raw: frame.data };
}

/** Raw layout to image layout through the layout's index map; saturated where the raw value reaches `saturationAdu`. */
export function descrambleFrame(frame: EqualizedFrame, maps: LayoutMaps, saturationAdu: number): ImageExposure {
  const [rows, cols] = maps.image;
  const data = new Float32Array(rows * cols);
  const saturated = new Uint8Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    const source = maps.imageToRaw[i];
    data[i] = frame.data[source];
    saturated[i] = frame.raw[source] >= saturationAdu ? 1 : 0;
  }
  return { rows, cols, data, saturated };
}

/** Running per-pixel mean and variance (Welford, in float64), so darks are acknowledged as soon as they are folded. */
export class DarkAccumulator {
  private count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(
    readonly exposure: number,
    readonly size: number,
  ) {
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }

  get frames(): number {
    return this.count;
  }

  add(data: ArrayLike<number>): void {
    if (data.length !== this.size) throw new Error(`darks: a dark of ${data.length} pixels, expected ${this.size}`);
    this.count += 1;
    const n = this.count;
    for (let i = 0; i < this.size; i++) {
      const delta = data[i] - this.mean[i];
      this.mean[i] += delta / n;
      this.m2[i] += delta * (data[i] - this.mean[i]);
    }
  }

  /** The statistics so far; with fewer than two darks the variance falls back to `readNoiseAdu` squared. */
  statistics(readNoiseAdu = 0): DarkStatistics {
    const variance = new Float32Array(this.size);
    if (this.count >= 2) {
      for (let i = 0; i < this.size; i++) variance[i] = this.m2[i] / (this.count - 1);
    } else {
      variance.fill(readNoiseAdu * readNoiseAdu);
    }
    return {
      exposure: this.exposure,
      count: this.count,
      mean: Float32Array.from(this.mean),
      variance,
      std: variance.map(Math.sqrt),
    };
  }
}

export function subtractDark(exposure: ImageExposure, dark: DarkStatistics): CorrectedExposure {
  if (dark.mean.length !== exposure.data.length) {
    throw new Error(`subtract: dark of ${dark.mean.length} pixels for an exposure of ${exposure.data.length}`);
  }
  const data = new Float32Array(exposure.data.length);
  ops.sub(ndarray(data), ndarray(exposure.data), ndarray(dark.mean));
  return { rows: exposure.rows, cols: exposure.cols, data, saturated: exposure.saturated, darkStd: dark.std };
}

/** Zeroes every pixel below k times the dark noise of its exposure time (k = 0 zeroes negative values only). */
export function suppressNoise(exposure: CorrectedExposure, k: number): CorrectedExposure {
  const data = new Float32Array(exposure.data.length);
  for (let i = 0; i < data.length; i++) {
    const value = exposure.data[i];
    data[i] = value < k * exposure.darkStd[i] ? 0 : value;
  }
  return { ...exposure, data };
}

export type SaturationOn = "raw" | "corrected";

/** Where each exposure counts as saturated: the raw mask, or the corrected value against a threshold. */
export function saturationMask(exposure: CorrectedExposure, on: SaturationOn, thresholdAdu: number): Uint8Array {
  if (on === "raw") return exposure.saturated;
  return Uint8Array.from(exposure.data, (value) => (value >= thresholdAdu ? 1 : 0));
}

/**
 * HDR merge: per pixel the longest unsaturated exposure, scaled by t_longest / t_used, so the result is in ADU of
 * the longest exposure. Where every exposure saturates the weight is 0 and the value is the shortest exposure's
 * scaled value (a lower bound, so a mean pattern or a viewer still sees the bright spot).
 */
export function mergeExposures(
  point: PointOf<CorrectedExposure>,
  exposureTimesS: readonly number[],
  masks: readonly Uint8Array[],
): Frame {
  if (point.exposures.length !== exposureTimesS.length) {
    throw new Error(`hdr: point ${point.index} has ${point.exposures.length} exposures, the scan declares ${exposureTimesS.length}`);
  }
  const { rows, cols } = point.exposures[0];
  const longest = Math.max(...exposureTimesS);
  // Longest first; equal times keep acquisition order.
  const order = exposureTimesS.map((_, e) => e).sort((a, b) => exposureTimesS[b] - exposureTimesS[a]);
  const scales = exposureTimesS.map((t) => longest / t);
  const shortest = order[order.length - 1];
  const data = new Float32Array(rows * cols);
  const weights = new Uint8Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    let used = -1;
    for (const e of order) {
      if (masks[e][i] === 0) {
        used = e;
        break;
      }
    }
    if (used >= 0) {
      data[i] = point.exposures[used].data[i] * scales[used];
      weights[i] = 1;
    } else {
      data[i] = point.exposures[shortest].data[i] * scales[shortest];
    }
  }
  return { index: point.index, positionM: point.positionM, rows, cols, data, weights };
}

/** ADU to photons. */
export function toPhotons(frame: Frame, aduPerPhoton: number): Frame {
  const data = new Float32Array(frame.data.length);
  ops.divs(ndarray(data), ndarray(frame.data), aduPerPhoton);
  return { ...frame, data };
}

/** The raw values a descramble reads, for tests and the simulator's inverse. */
export function scrambleImage(image: ArrayLike<number>, maps: LayoutMaps, into: PixelArray): PixelArray {
  for (let i = 0; i < maps.imageToRaw.length; i++) into[maps.imageToRaw[i]] = image[i];
  return into;
}
