/**
 * The fused kernel: equalize, descramble, subtract, noise, hdr, photons, crop, bin, orient and floor in one pass
 * over only the raw pixels that feed the crop window, into caller-given arrays, allocating nothing.
 *
 * It is an optimisation of the reference operators (src/operators/, src/preprocess/detector.ts and geometry.ts)
 * and gives bit-identical output: every intermediate the reference stores in a Float32Array is rounded here
 * with Math.fround at the same step, in the same order (equalize: raw - offset; subtract: - dark mean; noise:
 * value < k x std in float64; hdr: x t_longest / t_used; photons: / ADU per photon; bin: one float32 sum per
 * source pixel, dy-major, dx-minor, from 0; floor: - floor, then max with 0).
 */
import { DTYPES, PixelArray } from "../model/dtype";
import { Frame, Point } from "../model/scan";
import { floorFrame, resampleFrame } from "../preprocess/geometry";
import { pairOffsets } from "./gather";
import { KernelPlan } from "./plan";
import { packedForm, packWindow, RawWindow } from "./window";

const fround = Math.fround;

/** Per-plan working memory, reused frame after frame. */
export interface KernelScratch {
  /** Digitizer offset per exposure and (raw row, channel) pair: [e * pairCount + pair]. */
  offsets: Float64Array;
}

export function kernelScratch(plan: KernelPlan): KernelScratch {
  return { offsets: new Float64Array(plan.exposures * plan.gather.pairCount) };
}

/** Length of the kernel's output (the binned, oriented frame). */
export function kernelOutputLength(plan: KernelPlan): number {
  return plan.rows * plan.cols;
}

/**
 * Runs the chain on the raw exposures of one point (`raws[e]`, raw layout, in the order of the exposure times)
 * into `data` and `weights` (rows x cols of the plan, from `offset`). With a resample in the plan the floor is
 * left out here: finishResampled applies both afterwards.
 */
export function runKernel(
  plan: KernelPlan,
  raws: readonly ArrayLike<number>[],
  scratch: KernelScratch,
  data: Float32Array,
  weights: Uint8Array,
  offset = 0,
): void {
  const { rawIndex, pair, pairCount } = plan.gather;
  const offsets = scratch.offsets;
  const exposures = plan.exposures;
  for (let e = 0; e < exposures; e++) pairOffsets(raws[e], plan.gather, offsets, e * pairCount);
  const slots = rawIndex.length;
  const perOutput = plan.binFactor * plan.binFactor;
  const binned = plan.binFactor !== 1;
  const outputs = slots / perOutput;
  const { order, scales, shortest, darkMean, noiseThreshold, outputIndex } = plan;
  const onRaw = plan.saturationOnRaw;
  const rawSaturation = plan.rawSaturationAdu;
  const correctedSaturation = plan.correctedSaturationAdu;
  const aduPerPhoton = plan.aduPerPhoton;
  const floor = plan.floorPhotons;
  const applyFloor = plan.resampleSize === undefined;
  // The longest exposure serves every pixel but the saturated ones: it is tried first, its arrays and offsets
  // taken once, and the others only where it saturates. Fewer array reads a pixel, which counts once any buffer
  // in the thread has been detached (V8 then checks each typed-array read): 1761 against 1495 raw frames/s on one
  // core (medians), faster in 19 of 20 interleaved 1000-point scans.
  const longest = order[0];
  const longRaws = raws[longest];
  const longSlots = longest * slots;
  const longPairs = longest * pairCount;
  const longScale = scales[longest];
  let s = 0;
  for (let o = 0; o < outputs; o++) {
    let sum = 0;
    let valid = 1;
    for (let j = 0; j < perOutput; j++, s++) {
      const r = rawIndex[s];
      let photons = 0;
      if (r < 0) {
        // Outside the detector: crop pads with 0 and weight 0.
        valid = 0;
      } else {
        const p = pair[s];
        let value = 0;
        let used = -1;
        const longRaw = longRaws[r];
        if (!(onRaw && longRaw >= rawSaturation)) {
          const corrected = correctedValue(longRaw, offsets[longPairs + p], darkMean[longSlots + s], noiseThreshold[longSlots + s]);
          if (!(!onRaw && corrected >= correctedSaturation)) {
            value = fround(corrected * longScale);
            used = longest;
          }
        }
        for (let k = 1; used < 0 && k < exposures; k++) {
          const e = order[k];
          const raw = raws[e][r];
          if (onRaw && raw >= rawSaturation) continue;
          const at = e * slots + s;
          const corrected = correctedValue(raw, offsets[e * pairCount + p], darkMean[at], noiseThreshold[at]);
          if (!onRaw && corrected >= correctedSaturation) continue;
          value = fround(corrected * scales[e]);
          used = e;
        }
        if (used < 0) {
          // Saturated in every exposure: the shortest exposure's scaled value, weight 0.
          const at = shortest * slots + s;
          const corrected = correctedValue(raws[shortest][r], offsets[shortest * pairCount + p], darkMean[at], noiseThreshold[at]);
          value = fround(corrected * scales[shortest]);
          valid = 0;
        }
        photons = fround(value / aduPerPhoton);
      }
      // binFrame sums into a zeroed float32 frame; without binning the value goes on as it is.
      sum = binned ? fround(sum + photons) : photons;
    }
    const target = offset + outputIndex[o];
    data[target] = applyFloor ? Math.max(fround(sum - floor), 0) : sum;
    weights[target] = valid;
  }
}

/** Equalize, subtract and noise for one raw value, each rounded to float32 as the reference stores it. */
function correctedValue(raw: number, offset: number, darkMean: number, noiseThreshold: number): number {
  const corrected = fround(fround(raw - offset) - darkMean);
  return corrected < noiseThreshold ? 0 : corrected;
}

/** With a resample in the plan: resample then floor, as the reference does (these allocate). */
export function finishResampled(plan: KernelPlan, frame: Frame): Frame {
  if (plan.resampleSize === undefined) return frame;
  return floorFrame(resampleFrame(frame, plan.resampleSize), plan.floorPhotons);
}

/** A point's output frame under `plan`, zeroed, for the kernel to fill (it goes downstream as it is). */
export function kernelOutputFrame(plan: KernelPlan, point: Point): Frame {
  const length = kernelOutputLength(plan);
  return { index: point.index, positionM: point.positionM, rows: plan.rows, cols: plan.cols, data: new Float32Array(length), weights: new Uint8Array(length) };
}

/** One exposure's packed window in this thread, typed like its raw frame, and the bytes packWindow writes. */
interface PackedInput {
  values: PixelArray;
  bytes: Buffer;
}

/**
 * The kernel in this thread: the fused engine runs every point so; the worker pool runs so the points it takes on
 * itself while every worker is busy. Each point's raw window is packed first (./window.ts) and the kernel runs on
 * the packed plan, as in a worker: a raw window's 256 rows lie in as many memory pages, cold in cache, and packing
 * fetches them eight rows at a time where the kernel reads two (one binned row) at a time. One core, 1000-point
 * scans, 8 interleaved runs: 1293 against 1242 raw frames/s (median), faster in 7 of 8. Scratch memory and packed
 * inputs per plan; one output frame per point (it goes downstream).
 */
export function inThreadKernel(): (plan: KernelPlan, point: Point) => Frame {
  let current: { plan: KernelPlan; packed: KernelPlan; window: RawWindow; scratch: KernelScratch; inputs: PackedInput[] } | undefined;
  return (plan, point) => {
    if (current?.plan !== plan) {
      const { window, plan: packed } = packedForm(plan);
      current = { plan, packed, window, scratch: kernelScratch(plan), inputs: [] };
    }
    const { window, inputs } = current;
    const raws = point.exposures.map((exposure, e) => {
      let input = inputs[e];
      if (input?.values.constructor !== exposure.data.constructor) {
        const values = DTYPES[exposure.dtype].make(window.length);
        input = inputs[e] = { values, bytes: Buffer.from(values.buffer, values.byteOffset, values.byteLength) };
      }
      packWindow(exposure.data, window, input.bytes, 0);
      return input.values;
    });
    const frame = kernelOutputFrame(plan, point);
    runKernel(current.packed, raws, current.scratch, frame.data, frame.weights);
    return finishResampled(plan, frame);
  };
}
