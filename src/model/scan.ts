/**
 * The shared types that flow through the pipeline. Quantities are SI with the unit in the field name.
 * Arrays are typed arrays in C (row-major) order; images are `rows x cols`, (y, x).
 */
import { StartMessage, PositionM } from "./frameserver";
import { DetectorLayout, FCCD_LAYOUT } from "./layout";
import { PixelArray, Dtype } from "./dtype";

/** What the scan is, as it flows: `start` plus what preprocessing learns (centre, shape, effective pixel size). */
export interface ScanMeta {
  scanId: string;
  energyEv: number;
  distanceM: number;
  /** Detector pixel size at this point of the flow: the physical pixel, then the effective one after crop/bin/resample. */
  pixelSizeM: number;
  exposureTimesS: number[];
  darksPerExposure: number;
  numPoints: number;
  gainAduPerEv: number;
  saturationAdu: number;
  /** Known positions (probe on sample, metres), or undefined while they arrive as `point` messages. */
  positionsM?: PositionM[];
  layout: DetectorLayout;
  /** Shape of frames at this point of the flow, [rows, cols]. */
  frameShape: [number, number];
  /** Centre of the diffraction pattern on the detector image, (y, x) in pixels, once known. */
  centreYX?: [number, number];
  profile?: string;
  readNoiseAdu?: number;
  /** Sample distance from the probe's focus (m, > 0 downstream), when the source knows it (StartMessage). */
  probeDefocusM?: number;
}

export function scanMetaFromStart(start: StartMessage): ScanMeta {
  const layout = start.layout ?? FCCD_LAYOUT;
  return {
    scanId: start.scanId,
    energyEv: start.energyEv,
    distanceM: start.distanceM,
    pixelSizeM: start.pixelSizeM,
    exposureTimesS: [...start.exposureTimesS],
    darksPerExposure: start.darksPerExposure,
    numPoints: start.numPoints,
    gainAduPerEv: start.gainAduPerEv,
    saturationAdu: start.saturationAdu,
    positionsM: start.positionsM,
    layout,
    frameShape: start.detectorShape ?? [layout.halves * layout.rowsPerHalf, layout.channels * layout.dataColumns],
    profile: start.profile,
    readNoiseAdu: start.readNoiseAdu,
    probeDefocusM: start.probeDefocusM,
  };
}

/**
 * The metadata of a scan whose frames come already processed (photons, square, with positions): a cosmicstreams
 * stream or a recorded file. The detector fields describe data that needs no more correction: one exposure, no
 * darks, one photon per unit, nothing saturates, a plain layout.
 */
export function processedScanMeta(scan: {
  scanId: string;
  energyEv: number;
  distanceM: number;
  pixelSizeM: number;
  numPoints: number;
  width: number;
  positionsM?: PositionM[];
  profile: string;
}): ScanMeta {
  return {
    scanId: scan.scanId,
    energyEv: scan.energyEv,
    distanceM: scan.distanceM,
    pixelSizeM: scan.pixelSizeM,
    exposureTimesS: [1],
    darksPerExposure: 0,
    numPoints: scan.numPoints,
    gainAduPerEv: 1,
    saturationAdu: Number.POSITIVE_INFINITY,
    layout: { halves: 1, rowsPerHalf: scan.width, channels: 1, dataColumns: scan.width, overscanColumns: 0, flip: "none" },
    frameShape: [scan.width, scan.width],
    profile: scan.profile,
    ...(scan.positionsM ? { positionsM: scan.positionsM } : {}),
  };
}

/** A frame as the detector sent it (raw layout, overscan included). */
export interface RawFrame {
  index: number;
  rows: number;
  cols: number;
  dtype: Dtype;
  data: PixelArray;
}

/** What a frame index means in a scan: darks first (per exposure time), then one frame per exposure per point. */
export type FrameRole =
  | { kind: "dark"; exposure: number; darkIndex: number }
  | { kind: "exposure"; point: number; exposure: number }
  | { kind: "beyond"; excess: number };

export function frameRole(meta: Pick<ScanMeta, "exposureTimesS" | "darksPerExposure" | "numPoints">, index: number): FrameRole {
  const exposures = meta.exposureTimesS.length;
  const darks = meta.darksPerExposure * exposures;
  if (index < darks) {
    return {
      kind: "dark",
      exposure: Math.floor(index / meta.darksPerExposure),
      darkIndex: index % meta.darksPerExposure,
    };
  }
  const rest = index - darks;
  const point = Math.floor(rest / exposures);
  if (point >= meta.numPoints) return { kind: "beyond", excess: rest - meta.numPoints * exposures };
  return { kind: "exposure", point, exposure: rest % exposures };
}

export function frameIndexOf(
  meta: Pick<ScanMeta, "exposureTimesS" | "darksPerExposure">,
  role: { point: number; exposure: number },
): number {
  const exposures = meta.exposureTimesS.length;
  return meta.darksPerExposure * exposures + role.point * exposures + role.exposure;
}

export function totalFrames(meta: Pick<ScanMeta, "exposureTimesS" | "darksPerExposure" | "numPoints">): number {
  return meta.exposureTimesS.length * (meta.darksPerExposure + meta.numPoints);
}

/** A dark frame of one exposure time. */
export interface DarkFrame {
  exposure: number;
  darkIndex: number;
  frame: RawFrame;
}

/** The exposures of one scan point, in the order of `exposureTimesS`, with its position. */
export interface Point {
  index: number;
  positionM: PositionM;
  exposures: RawFrame[];
}

/**
 * A processed diffraction frame: `data` in photons (float32, rows x cols) and `weights` (1 valid, 0 masked:
 * saturated everywhere, outside the detector, or a bad pixel).
 */
export interface Frame {
  index: number;
  positionM: PositionM;
  rows: number;
  cols: number;
  data: Float32Array;
  weights: Uint8Array;
}

/**
 * A contiguous run of processed frames, packed for HDF5 and the engines: `data` and `weights` are
 * (count, rows, cols); `positionsYX` is (count, 2) as (y, x) in metres, like `.ptyd`.
 */
export interface Chunk {
  chunkIndex: number;
  count: number;
  rows: number;
  cols: number;
  indices: Int32Array;
  positionsYX: Float64Array;
  data: Float32Array;
  weights: Uint8Array;
  meta: ScanMeta;
}

export function chunkFromFrames(chunkIndex: number, frames: Frame[], meta: ScanMeta): Chunk {
  if (frames.length === 0) throw new Error("a chunk needs at least one frame");
  const { rows, cols } = frames[0];
  const size = rows * cols;
  const chunk: Chunk = {
    chunkIndex,
    count: frames.length,
    rows,
    cols,
    indices: new Int32Array(frames.length),
    positionsYX: new Float64Array(frames.length * 2),
    data: new Float32Array(frames.length * size),
    weights: new Uint8Array(frames.length * size),
    meta,
  };
  frames.forEach((frame, i) => {
    if (frame.rows !== rows || frame.cols !== cols) {
      throw new Error(`frame ${frame.index} is ${frame.rows}x${frame.cols}, chunk frames are ${rows}x${cols}`);
    }
    chunk.indices[i] = frame.index;
    chunk.positionsYX[2 * i] = frame.positionM.y;
    chunk.positionsYX[2 * i + 1] = frame.positionM.x;
    chunk.data.set(frame.data, i * size);
    chunk.weights.set(frame.weights, i * size);
  });
  return chunk;
}

/** A complex image, interleaved (re, im) float32, rows x cols. */
export interface ComplexImage {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** What a reconstruction emits as it goes. */
export interface Snapshot {
  /** The scan reconstructed, when the reconstruction knows it. */
  scanId?: string;
  iteration: number;
  framesUsed: number;
  /** Fourier (data) error of the last iteration. */
  error: number;
  object: ComplexImage;
  probe: ComplexImage;
  /** Object pixel size (y, x) in metres. */
  objectPixelSizeM: [number, number];
  /** Error against the ground truth, when the source is simulated. */
  errorToTruth?: number;
  final: boolean;
}
