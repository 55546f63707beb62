/**
 * The forms a point takes between `grab` and `Frame` (DESIGN section 5). Each stage's input and output type
 * names the state of the data, so the compiler keeps the stages in order: `subtract` needs the dark statistics
 * that `darks` attaches, `noise` needs the dark noise that `subtract` carries on, `hdr` merges corrected
 * exposures into one `Frame` (in ADU of the longest exposure) and `photons` turns it into photons.
 *
 * `Point` and `DarkFrame` (src/model/scan.ts) are `PointOf<RawFrame>` and `DarkOf<RawFrame>`: the per-exposure
 * stages (equalize, descramble) map darks and point exposures alike.
 */
import { PositionM } from "../model/frameserver";
import { PixelArray } from "../model/dtype";
import { ScanEvent } from "../model/events";
import { Frame } from "../model/scan";

/** The exposures of one scan point, in the order of `exposureTimesS`, in some intermediate form. */
export interface PointOf<E> {
  index: number;
  positionM: PositionM;
  exposures: E[];
}

/** A dark frame of exposure `exposure`, in some intermediate form. */
export interface DarkOf<E> {
  exposure: number;
  darkIndex: number;
  frame: E;
}

/** Raw layout (overscan still there), digitizer offsets removed, float32; `raw` keeps the values as read. */
export interface EqualizedFrame {
  rows: number;
  cols: number;
  data: Float32Array;
  raw: PixelArray;
}

/** Image layout; `saturated` is 1 where the raw value reached the saturation level (the raw mask). */
export interface ImageExposure {
  rows: number;
  cols: number;
  data: Float32Array;
  saturated: Uint8Array;
}

/** Per-pixel dark statistics of one exposure time (image layout, ADU). */
export interface DarkStatistics {
  exposure: number;
  /** Dark frames folded in; 0 when the scan had none (mean 0, variance from the declared read noise). */
  count: number;
  mean: Float32Array;
  /** Sample variance (n - 1); the declared read noise squared when fewer than two darks came. */
  variance: Float32Array;
  /** sqrt(variance), kept so `noise` does not take square roots per frame. */
  std: Float32Array;
}

/** A point whose exposures are in image layout, with the dark statistics of each exposure time attached. */
export interface PointWithDarks extends PointOf<ImageExposure> {
  darks: readonly DarkStatistics[];
}

/** One exposure after dark subtraction, with the dark noise of its exposure time (shared, not copied). */
export interface CorrectedExposure extends ImageExposure {
  darkStd: Float32Array;
}

export type CorrectedPoint = PointOf<CorrectedExposure>;

/** Events once darks are folded in: no dark events travel further. */
export type ItemEvent<T> = ScanEvent<T, never>;
export type FrameEvent = ItemEvent<Frame>;
