/**
 * The simulated FCCD (DESIGN section 9): the physics of ./physics.ts seen through COSMIC's fast CCD and served
 * as its raw frames. Per scan point one frame per exposure time (short then long by default), after the darks.
 *
 * The detector model, per raw frame:
 * - signal: each reconstruction pixel of the ideal far field covers b x b detector pixels (b = `binning`); each
 *   gets I t / (t_longest b^2) expected photons and its own Poisson draw (./poisson.ts), so binning the b x b
 *   block back recovers the frame; the pattern sits off-centre in the 960 x 960 image (`centreOffsetYX`);
 * - ADU = round(photons x gainAduPerEv x energyEv), plus a per-pixel dark level (fixed pattern plus dark
 *   current growing with the exposure time: darks are per exposure time), Gaussian read noise rounded to whole
 *   ADU (variance readNoiseAdu^2 + 1/12), and per (raw row, ADC channel) offsets: a static part and a drift
 *   drawn every frame (a per-row common mode plus a per-channel offset). Overscan pixels carry the same
 *   (row, channel) offset and read noise, no dark level and no signal, so the drift is recoverable from them;
 * - values are rounded and clipped to [0, saturationAdu]: the long exposure saturates in the bright field,
 *   the short one does not;
 * - the image is scrambled into the raw layout with `layoutMaps(layout).imageToRaw` (960 x 1152 uint16 by
 *   default, bottom half rotated by 180 degrees).
 * All randomness per frame comes from pools (./random.ts) read at offsets hashed from (seed, frame index): a
 * frame is fast to make (see bench/sim.bench.ts), and any frame can be made on its own (the frameserver resumes
 * anywhere). The physics' `photonsPerFrame` is the mean photon count of a frame of the longest exposure.
 */
import * as t from "io-ts";
import { decodeOrThrow, Integer, NonNegativeInteger, NonNegativeNumber, PositiveInteger, PositiveNumber } from "../model/codec";
import { StartMessage } from "../model/frameserver";
import { DetectorLayout, FCCD_LAYOUT } from "../model/layout";
import { RawFrame, totalFrames } from "../model/scan";
import { DEFAULT_PHYSICS, PhysicsOptions, ScanTruth, simulatePhysics } from "./physics";
import { FccdModel } from "./fccd";

export const DetectorOptions = t.type(
  {
    /** b: each reconstruction pixel covers b x b detector pixels. */
    binning: PositiveInteger,
    /** The physical detector pixel (the FCCD's 30 um); the physics sees physicalPixelSizeM x binning. */
    physicalPixelSizeM: PositiveNumber,
    layout: DetectorLayout,
    /** Acquisition order, e.g. short then long; photons scale with t / max(t). */
    exposureTimesS: t.array(PositiveNumber),
    darksPerExposure: NonNegativeInteger,
    gainAduPerEv: PositiveNumber,
    /** Raw values are clipped here (at most 65535, the uint16 range). */
    saturationAdu: PositiveNumber,
    /** Read noise of one raw pixel (the ADC output is an integer, so the noise is too: +1/12 ADU^2 of variance). */
    readNoiseAdu: NonNegativeNumber,
    /** Mean ADC level of every raw pixel, overscan included. */
    baselineAdu: NonNegativeNumber,
    /** Spread of the static per (row, channel) offsets. */
    channelOffsetSpreadAdu: NonNegativeNumber,
    /** Spread of the per-frame drift of each ADC channel's offset. */
    adcDriftAdu: NonNegativeNumber,
    /** Spread of the per-frame common-mode drift of each raw row (added to all its channels). */
    rowDriftAdu: NonNegativeNumber,
    /** Mean and spread of the per-pixel fixed dark level of the image pixels. */
    darkLevelAdu: NonNegativeNumber,
    darkLevelSpreadAdu: NonNegativeNumber,
    /** Mean dark current of the image pixels (varies 0.5x-1.5x per pixel). */
    darkCurrentAduPerS: NonNegativeNumber,
    /** Diffraction centre relative to the image centre, (y, x) detector pixels. */
    centreOffsetYX: t.tuple([Integer, Integer]),
    scanId: t.string,
  },
  "DetectorOptions",
);
export type DetectorOptions = t.TypeOf<typeof DetectorOptions>;

/** The physics without its effective pixel size, which follows from the detector (physical pixel x binning). */
export type SimulatorConfig = Omit<PhysicsOptions, "pixelSizeM"> & DetectorOptions;

/**
 * Defaults: the physics defaults (N = 128) with binning 2, so each 128 x 128 frame comes from a 256 x 256
 * detector region whose centre is 37 rows below and 23 columns left of the image centre (it straddles the two
 * readout halves); COSMIC's gain 0.004 ADU/eV (3.2 ADU per 800 eV photon); 2 ms and 20 ms exposures.
 * (Binning 4 works as well, with a 512 x 512 region; it costs four times the Poisson draws per frame.)
 */
export const DEFAULT_DETECTOR: DetectorOptions = {
  binning: 2,
  physicalPixelSizeM: 30e-6,
  layout: FCCD_LAYOUT,
  exposureTimesS: [0.002, 0.02],
  darksPerExposure: 10,
  gainAduPerEv: 0.004,
  saturationAdu: 15000,
  readNoiseAdu: 2.5,
  baselineAdu: 1000,
  channelOffsetSpreadAdu: 20,
  adcDriftAdu: 8,
  rowDriftAdu: 4,
  darkLevelAdu: 150,
  darkLevelSpreadAdu: 25,
  darkCurrentAduPerS: 2000,
  centreOffsetYX: [37, -23],
  scanId: "",
};

export interface SimulatedTruth extends ScanTruth {
  /** Diffraction centre on the detector image, (y, x): crop rows [cy - bN/2, cy + bN/2) and bin by b to get the
   * frames back with zero frequency at (N/2, N/2). (A centre of mass lands (b-1)/2 further, inside the block.) */
  centreYX: [number, number];
  binning: number;
  /** Top-left image pixel of the bN x bN signal region. */
  regionTopLeftYX: [number, number];
  aduPerPhoton: number;
  /**
   * (numPoints, N, N) photons actually drawn, as HDR + photons + bin should recover them: per detector pixel the
   * longest exposure whose raw value stayed below saturationAdu, scaled by t_longest / t_used, summed over each
   * b x b block. Computed on first access (it renders every exposure frame once).
   */
  readonly drawnCounts: Float32Array;
  /** (numPoints, N, N) 1 where every detector pixel of the block was unsaturated in at least one exposure. */
  readonly drawnValid: Uint8Array;
}

export interface SimulatedScan {
  start: StartMessage;
  truth: SimulatedTruth;
  config: SimulatorConfig;
  totalFrames: number;
  /** Raw frame `index` (acquisition order), deterministic per (seed, index). */
  frame(index: number): RawFrame;
  /** Renders frame `index` into `out` (raw size), for callers that reuse buffers. */
  frameInto(index: number, out: Uint16Array): void;
  frames(fromIndex?: number): Iterable<RawFrame>;
  /** The (raw row, channel) offsets of frame `index`, (rawRows, channels): what equalisation should remove. */
  adcOffsetsAdu(index: number): Float32Array;
  /** Expected dark of exposure `e` on the 960 x 960 image (offsets without drift, dark level, dark current). */
  expectedDarkAdu(exposure: number): Float32Array;
}

export function resolveSimulatorConfig(config: Partial<SimulatorConfig> = {}): SimulatorConfig {
  const { pixelSizeM: _ignored, ...physicsDefaults } = DEFAULT_PHYSICS;
  const merged = { ...physicsDefaults, ...DEFAULT_DETECTOR, ...config };
  const detector = decodeOrThrow(DetectorOptions, merged, "simulator detector options");
  if (detector.exposureTimesS.length === 0) throw new Error("simulator detector options: exposureTimesS needs at least one exposure time");
  if (detector.saturationAdu > 65535) throw new Error(`simulator detector options: saturationAdu ${detector.saturationAdu} exceeds the uint16 range`);
  return { ...merged, ...detector };
}

export function simulateScan(config: Partial<SimulatorConfig> = {}): SimulatedScan {
  const resolved = resolveSimulatorConfig(config);
  const { binning, layout, exposureTimesS, seed } = resolved;
  const physics = simulatePhysics({ ...pickPhysics(resolved), pixelSizeM: resolved.physicalPixelSizeM * binning });
  const detector = new FccdModel(resolved, physics);
  const start: StartMessage = {
    type: "start",
    scanId: resolved.scanId || `sim-${seed}`,
    energyEv: resolved.energyEv,
    distanceM: resolved.distanceM,
    pixelSizeM: resolved.physicalPixelSizeM,
    exposureTimesS: [...exposureTimesS],
    darksPerExposure: resolved.darksPerExposure,
    numPoints: resolved.numPoints,
    gainAduPerEv: resolved.gainAduPerEv,
    saturationAdu: resolved.saturationAdu,
    positionsM: physics.positionsM.map((p) => ({ ...p })),
    layout,
    detectorShape: detector.maps.image,
    profile: "cosmic-fccd",
    readNoiseAdu: resolved.readNoiseAdu,
    probeDefocusM: physics.probeDefocusM,
  };
  const total = totalFrames(resolved);
  let drawn: { counts: Float32Array; valid: Uint8Array } | undefined;
  const drawnTruth = () => (drawn ??= detector.drawnCounts());
  const truth: SimulatedTruth = Object.defineProperties(
    {
      ...physics,
      centreYX: detector.centreYX,
      binning,
      regionTopLeftYX: detector.regionTopLeftYX,
      aduPerPhoton: detector.aduPerPhoton,
    } as SimulatedTruth,
    {
      drawnCounts: { get: () => drawnTruth().counts, enumerable: true },
      drawnValid: { get: () => drawnTruth().valid, enumerable: true },
    },
  );
  const frame = (index: number): RawFrame => {
    const [rows, cols] = detector.maps.raw;
    // Uninitialised memory: render writes every pixel, so zero-filling 2.2 MB a frame would be wasted.
    const bytes = Buffer.allocUnsafeSlow(2 * rows * cols);
    const data = new Uint16Array(bytes.buffer, bytes.byteOffset, rows * cols);
    detector.render(index, data);
    return { index, rows, cols, dtype: "uint16", data };
  };
  return {
    start,
    truth,
    config: resolved,
    totalFrames: total,
    frame,
    frameInto: (index, out) => detector.render(index, out),
    frames: (fromIndex = 0) => ({
      *[Symbol.iterator]() {
        for (let index = fromIndex; index < total; index++) yield frame(index);
      },
    }),
    adcOffsetsAdu: (index) => detector.adcOffsets(index),
    expectedDarkAdu: (exposure) => detector.expectedDark(exposure),
  };
}

function pickPhysics(config: SimulatorConfig): Omit<PhysicsOptions, "pixelSizeM"> {
  const { seed, frameSize, numPoints, pattern, stepPx, jitterPx, photonsPerFrame, energyEv, distanceM } = config;
  return { seed, frameSize, numPoints, pattern, stepPx, jitterPx, photonsPerFrame, energyEv, distanceM };
}
