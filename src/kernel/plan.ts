/**
 * The fused kernel's plan, computed once the centre is frozen (and again when the darks change): for each
 * output pixel the raw pixels that feed it, in the order the reference sums them (binned pixel by binned pixel,
 * then dy-major, dx-minor inside the b x b block, as binFrame adds its strided views), the overscan pixels of
 * each (raw row, channel) they need, the dark mean and noise threshold of each, the exposure order and scales
 * of the HDR merge, and where orient puts each binned pixel. Plain typed arrays and numbers, so a plan goes to
 * a worker thread by structured clone.
 */
import { LayoutMaps } from "../model/layout";
import { Frame } from "../model/scan";
import { DarkStatistics } from "../preprocess/types";
import { cropOrigin, orientFrame } from "../preprocess/geometry";
import { RawGather, rawGather } from "./gather";
import { ChainSettings } from "./settings";

/** Where the crop window's pixels come from, in the kernel's slot order. */
export interface CropGeometry {
  /** Per slot, the image pixel it reads (-1 outside the detector): binned pixel by binned pixel, then dy, dx. */
  imagePixels: Int32Array;
  gather: RawGather;
  /** Side of the binned frame (before orient and resample). */
  binnedSide: number;
  /** Per binned pixel (row-major, before orient), its flat index in the oriented frame. */
  outputIndex: Int32Array;
  rows: number;
  cols: number;
  /** Columns of the raw frame the raw indices refer to. */
  rawCols: number;
}

export interface KernelPlan extends CropGeometry {
  binFactor: number;
  exposures: number;
  /** Exposures longest first (equal times in acquisition order), as mergeExposures tries them. */
  order: Int32Array;
  /** t_longest / t_e per exposure. */
  scales: Float64Array;
  shortest: number;
  /**
   * Per exposure e and slot s at [e * slots + s]: the dark mean, and the noise threshold k x dark std as the
   * smallest float32 at or above it (see ceilFloat32: the same comparisons as in float64, half the memory).
   */
  darkMean: Float32Array;
  noiseThreshold: Float32Array;
  saturationOnRaw: boolean;
  rawSaturationAdu: number;
  correctedSaturationAdu: number;
  aduPerPhoton: number;
  floorPhotons: number;
  /** Resample size; when set the kernel leaves the floor to after the resample (see finishResampled). */
  resampleSize: number | undefined;
}

const float32Bits = new Float32Array(1);
const int32Bits = new Int32Array(float32Bits.buffer);

/**
 * The smallest float32 at or above x. For any float32 v, v < x exactly when v < ceilFloat32(x): a float32 below x
 * is below the first float32 at or above x, and one at or above x is at or above it.
 */
export function ceilFloat32(x: number): number {
  const nearest = Math.fround(x);
  if (!(nearest < x)) return nearest;
  float32Bits[0] = nearest;
  // One step up: the bits of a float32 order like its values (upwards for positives, downwards for negatives).
  if (nearest === 0) int32Bits[0] = 1;
  else int32Bits[0] += nearest > 0 ? 1 : -1;
  return float32Bits[0];
}

/**
 * Geometries built lately, per layout, most recent last. Scans with the same crop (a given centre, or a found one
 * that rounds alike) share one, and with it the packed window built on it (see packedForm in ./window.ts): on
 * the FCCD these took about 17 ms at each scan's start, while a worker waited for its plan. A few, so that
 * centres found anew each scan do not pile up (a geometry is about 1 MB).
 */
const recentGeometries = new WeakMap<LayoutMaps, Map<string, CropGeometry>>();
const RECENT_GEOMETRIES = 4;

export function cropGeometry(settings: ChainSettings, centreYX: [number, number]): CropGeometry {
  const { maps, cropSize: size, binFactor: b, orientation } = settings;
  const origin = cropOrigin(centreYX, size, b);
  const key = [size, b, orientation, ...origin].join(",");
  let recent = recentGeometries.get(maps);
  if (recent === undefined) recentGeometries.set(maps, (recent = new Map()));
  let geometry = recent.get(key);
  if (geometry !== undefined) recent.delete(key);
  else geometry = buildCropGeometry(settings, origin);
  recent.set(key, geometry);
  if (recent.size > RECENT_GEOMETRIES) recent.delete(recent.keys().next().value!);
  return geometry;
}

function buildCropGeometry(settings: ChainSettings, origin: [number, number]): CropGeometry {
  const { maps, cropSize: size, binFactor: b, orientation } = settings;
  const [imageRows, imageCols] = maps.image;
  const side = size / b;
  const imagePixels = new Int32Array(size * size);
  let s = 0;
  for (let by = 0; by < side; by++) {
    for (let bx = 0; bx < side; bx++) {
      for (let dy = 0; dy < b; dy++) {
        for (let dx = 0; dx < b; dx++) {
          const y = origin[0] + by * b + dy;
          const x = origin[1] + bx * b + dx;
          imagePixels[s++] = y >= 0 && y < imageRows && x >= 0 && x < imageCols ? y * imageCols + x : -1;
        }
      }
    }
  }
  // Where orient puts each binned pixel: orient an image of the pixels' own indices (exact in float32).
  const indices: Frame = {
    index: 0,
    positionM: { x: 0, y: 0 },
    rows: side,
    cols: side,
    data: new Float32Array(side * side).map((_, i) => i),
    weights: new Uint8Array(side * side),
  };
  const oriented = orientFrame(indices, orientation);
  const outputIndex = new Int32Array(side * side);
  oriented.data.forEach((source, target) => (outputIndex[source] = target));
  return { imagePixels, gather: rawGather(maps, imagePixels), binnedSide: side, outputIndex, rows: oriented.rows, cols: oriented.cols, rawCols: maps.raw[1] };
}

/**
 * The plan for `geometry` with the dark statistics `darks` (one per exposure time), whose arrays are indexed by
 * `darkIndex[slot]` (the image pixel when darks were taken over the whole image, the slot when over the crop).
 */
export function kernelPlan(settings: ChainSettings, geometry: CropGeometry, darks: readonly DarkStatistics[], darkIndex: Int32Array): KernelPlan {
  const times = settings.exposureTimesS;
  const exposures = times.length;
  const slots = geometry.imagePixels.length;
  const longest = Math.max(...times);
  const order = Int32Array.from(times.map((_, e) => e).sort((a, b) => times[b] - times[a]));
  const darkMean = new Float32Array(exposures * slots);
  const noiseThreshold = new Float32Array(exposures * slots);
  for (let e = 0; e < exposures; e++) {
    const { mean, std } = darks[e];
    for (let s = 0; s < slots; s++) {
      const d = darkIndex[s];
      if (geometry.imagePixels[s] < 0 || d < 0) continue;
      darkMean[e * slots + s] = mean[d];
      // suppressNoise compares value < k * std with the product in float64.
      noiseThreshold[e * slots + s] = ceilFloat32(settings.noiseK * std[d]);
    }
  }
  return {
    ...geometry,
    binFactor: settings.binFactor,
    exposures,
    order,
    scales: Float64Array.from(times, (t) => longest / t),
    shortest: order[exposures - 1],
    darkMean,
    noiseThreshold,
    saturationOnRaw: settings.saturationOn === "raw",
    rawSaturationAdu: settings.rawSaturationAdu,
    correctedSaturationAdu: settings.correctedSaturationAdu,
    aduPerPhoton: settings.aduPerPhoton,
    floorPhotons: settings.floorPhotons,
    resampleSize: settings.resampleSize,
  };
}
