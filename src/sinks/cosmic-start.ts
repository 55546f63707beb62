/**
 * The cosmicstreams `start` our publisher sends, built from the processed scan (the first chunk's metadata and
 * frames), so that PtyPy's streaming loader (`ptypy/experiment/cosmicstream.py`, `CosmicStreamLoader`) accepts
 * it. That loader validates the start with a strict pydantic model: every key below is required there, with
 * its type (`int` fields reject 1.5, `str` fields reject numbers, `lastScan` entries are whole objects).
 * `PtypyLoaderStart` restates those requirements as an io-ts codec, stricter than pydantic's lax coercion.
 *
 * Units on this edge (DESIGN section 3):
 * - `energy` in joules;
 * - `geometry.psize` = pixel size [m] x 1e-6 and `geometry.distance` = distance [m] x 1e-3: the values COSMIC's
 *   own preprocessor publishes (the loader's comments quote 2.99e-11 and 0.000121 for them) and that
 *   `psizeFromWire` / `distanceFromWire` scale back;
 * - `detector_distance`, `x_pixel_size`, `y_pixel_size` in metres, as COSMIC's preprocessor sends them;
 * - `geometry.resolution`: the object pixel size in metres; `geometry.basis_vectors`: COSMIC's
 *   [[0, -psize, 0], [-psize, 0, 0]] with psize in metres;
 * - `translations`: (y, x) in metres, like `posy`/`posx` of the frames (empty when positions come with the frames);
 * - `lastScan` regions, `pos_x/y`, `step_size_x/y`, `exp_step_x/y` in micrometres and `dwell1/2` in milliseconds,
 *   as pystxmcontrol writes them. The loader does not use these; they describe the scan for a human reader.
 *
 * The frames we publish are merged, corrected photon counts, one per point, already binned: so
 * `double_exposure` is false, `exp_num_total` is the number of points (PtyPy's frame count is
 * exp_num_total // (double_exposure + 1)), `geometry.rebin` is 1 (PtyPy would bin again otherwise), and
 * `exp_num_x` x `exp_num_y` is the smallest near-square grid holding every point, since the loader allocates
 * exactly that many frames and rejects an index beyond it.
 *
 * The probe guess (`illumination_real/imag`): the field whose far field has the mean measured modulus of the
 * first chunk with a flat phase (`probeFromMeanPattern`, as the engines start), for power-of-two frames; other
 * widths, or `illumination: "disc"`, get a flat disc carrying the mean photons per frame. `illumination_mask`
 * is the centred disc holding `probeSupport` of the frame area (PtyPy's probe support), 1 inside, 0 outside.
 * `dp_fraction_for_illumination_init` is the fraction of the scan's patterns the guess was averaged over.
 */
import * as t from "io-ts";
import { decodeEither, Integer, NonNegativeInteger, PositiveInteger, FiniteNumber } from "../model/codec";
import {
  CosmicStart,
  distanceToWire,
  energyToWire,
  PTYPY_REQUIRED_GEOMETRY_KEYS,
  PTYPY_REQUIRED_LASTSCAN_KEYS,
  PTYPY_REQUIRED_START_KEYS,
  psizeToWire,
} from "../model/cosmicstreams";
import { Chunk, ComplexImage, ScanMeta } from "../model/scan";
import { DataSummary } from "../engines/frames";
import { probeFromMeanPattern, probeSupportMask } from "../engines/probe";
import { complexImage, fillComplex } from "../numerics/complex";
import { isPowerOfTwo } from "../numerics/fft2d";
import { objectPixelSizeM } from "../numerics/geometry";

// ---- PtyPy's loader model, restated ------------------------------------------------------------------------

const Matrix = t.array(t.array(FiniteNumber));
const BoolLike = t.union([t.boolean, t.literal(0), t.literal(1)]);

const Region = t.type({
  xStart: FiniteNumber,
  xStop: FiniteNumber,
  xPoints: Integer,
  yStart: FiniteNumber,
  yStop: FiniteNumber,
  yPoints: Integer,
  xStep: FiniteNumber,
  yStep: FiniteNumber,
  xRange: FiniteNumber,
  yRange: FiniteNumber,
  xCenter: FiniteNumber,
  yCenter: FiniteNumber,
  zStart: FiniteNumber,
  zStop: FiniteNumber,
  zPoints: Integer,
  zStep: Integer,
  zRange: Integer,
  zCenter: FiniteNumber,
});

const ScanEntryCommon = {
  type: t.string,
  proposal: t.string,
  experimenters: t.string,
  sample: t.string,
  x: t.string,
  y: t.string,
  defocus: t.boolean,
  mode: t.string,
  scanRegions: t.type({ Region1: Region }),
  energyRegions: t.type({
    EnergyRegion1: t.type({ dwell: FiniteNumber, start: FiniteNumber, stop: FiniteNumber, step: FiniteNumber, nEnergies: Integer }),
  }),
  doubleExposure: t.boolean,
};
const EnergyScanEntry = t.type({ ...ScanEntryCommon, energy: t.string });
const FocusScanEntry = t.type({ ...ScanEntryCommon, z: t.string });

/** Every key PtyPy's `CosmicMeta` requires, with the JSON type it accepts. */
export const PtypyLoaderStart = t.type(
  {
    header: t.string,
    server: t.type({ ip: t.string, commandPort: Integer, dataPort: Integer, dataDir: t.string, filePrefix: t.string }),
    zonePlate: t.type({ diameter: FiniteNumber, outerZone: FiniteNumber, A0: FiniteNumber, A1: FiniteNumber, type: t.string, source: t.string }),
    monitor: t.type({ dwell: Integer }),
    ptychography: t.type({ position_jitter: FiniteNumber }),
    zmq: t.type({ connect: t.boolean, address: t.string }),
    geometry: t.type({ distance: FiniteNumber, psize: FiniteNumber, shape: PositiveInteger, resolution: FiniteNumber, rebin: PositiveInteger, basis_vectors: Matrix }),
    lastScan: t.type({ Image: EnergyScanEntry, "Ptychography Image": EnergyScanEntry, Focus: FocusScanEntry, "Line Spectrum": EnergyScanEntry }),
    repetition: Integer,
    isDoubleExp: Integer,
    pos_x: FiniteNumber,
    pos_y: FiniteNumber,
    step_size_x: FiniteNumber,
    step_size_y: FiniteNumber,
    num_pixels_x: Integer,
    num_pixels_y: Integer,
    background_pixels_x: Integer,
    background_pixels_y: Integer,
    dwell1: FiniteNumber,
    dwell2: FiniteNumber,
    energy: FiniteNumber,
    energyIndex: Integer,
    scanRegion: Integer,
    dark_num_x: Integer,
    dark_num_y: Integer,
    exp_num_x: PositiveInteger,
    exp_num_y: PositiveInteger,
    exp_step_x: FiniteNumber,
    exp_step_y: FiniteNumber,
    double_exposure: t.boolean,
    exp_num_total: NonNegativeInteger,
    translations: Matrix,
    output_frame_width: PositiveInteger,
    detector_distance: FiniteNumber,
    x_pixel_size: FiniteNumber,
    y_pixel_size: FiniteNumber,
    identifier: t.string,
    illumination_real: Matrix,
    illumination_imag: Matrix,
    illumination_mask: t.array(t.array(BoolLike)),
    dp_fraction_for_illumination_init: FiniteNumber,
    dtype: t.string,
  },
  "PtyPy CosmicStreamLoader start",
);
export type PtypyLoaderStart = t.TypeOf<typeof PtypyLoaderStart>;

/**
 * Why PtyPy's loader would refuse `start`, one line each (empty: it accepts it): the project's `CosmicStart`
 * codec, the required key lists of src/model/cosmicstreams.ts, the loader's full model, and the shapes that
 * must agree (illumination planes W x W, exp_num_x x exp_num_y holding every frame).
 */
export function ptypyStartProblems(start: unknown): string[] {
  const problems: string[] = [];
  const asCosmic = decodeEither(CosmicStart, start);
  if (!asCosmic.ok) problems.push(...asCosmic.problems);
  const record = (typeof start === "object" && start !== null ? start : {}) as Record<string, unknown>;
  const missing = (keys: readonly string[], where: unknown, prefix: string) => {
    const object = (typeof where === "object" && where !== null ? where : {}) as Record<string, unknown>;
    for (const key of keys) if (!(key in object)) problems.push(`${prefix}${key}: missing`);
  };
  missing(PTYPY_REQUIRED_START_KEYS, record, "");
  missing(PTYPY_REQUIRED_GEOMETRY_KEYS, record.geometry, "geometry.");
  missing(PTYPY_REQUIRED_LASTSCAN_KEYS, record.lastScan, "lastScan.");
  const full = decodeEither(PtypyLoaderStart, start);
  if (!full.ok) {
    problems.push(...full.problems);
    return problems;
  }
  const s = full.value;
  const width = s.output_frame_width;
  for (const key of ["illumination_real", "illumination_imag", "illumination_mask"] as const) {
    const plane = s[key];
    if (plane.length !== width || plane.some((row) => row.length !== width)) problems.push(`${key}: expected ${width} x ${width}`);
  }
  const frames = Math.floor(s.exp_num_total / (Number(s.double_exposure) + 1));
  if (s.exp_num_x * s.exp_num_y < frames) problems.push(`exp_num_x x exp_num_y = ${s.exp_num_x * s.exp_num_y} holds fewer than the ${frames} frames`);
  if (s.geometry.shape !== width) problems.push(`geometry.shape ${s.geometry.shape} differs from output_frame_width ${width}`);
  return problems;
}

export function assertPtypyStart(start: unknown): void {
  const problems = ptypyStartProblems(start);
  if (problems.length > 0) throw new Error(`the cosmicstreams start would be refused by PtyPy's loader:\n  ${problems.join("\n  ")}`);
}

// ---- Building it --------------------------------------------------------------------------------------------

export interface CosmicStartOptions {
  /** The scan's name on the wire (default: the scan id). */
  identifier?: string;
  /** `mean-pattern` (default; a disc when the width is not a power of two) or `disc`. */
  illumination?: "mean-pattern" | "disc";
  /** Fraction of the frame area inside the illumination mask (PtyPy's probe support; default 0.7). */
  probeSupport?: number;
  /** The publisher's address, for the `zmq` and `server` entries. */
  address?: string;
  /** Keys merged over the top level last, for what the pipeline cannot know (zone plate, proposal, header...). */
  extra?: Record<string, unknown>;
}

export const COSMIC_START_DEFAULTS = { probeSupport: 0.7 };

/** The smallest near-square raster (x fastest) holding `points`: exp_num_x x exp_num_y >= points. */
export function scanGrid(points: number): { x: number; y: number } {
  const x = Math.max(1, Math.ceil(Math.sqrt(points)));
  return { x, y: Math.max(1, Math.ceil(points / x)) };
}

/** A flat disc holding `fraction` of the frame area, scaled so sum |P|^2 equals `photons`. */
function discProbe(width: number, fraction: number, photons: number): ComplexImage {
  const disc = probeSupportMask(width, fraction) ?? new Uint8Array(width * width).fill(1);
  const inside = disc.reduce((a, b) => a + b, 0);
  const amplitude = inside > 0 ? Math.sqrt(Math.max(photons, 0) / inside) : 0;
  const probe = complexImage(width, width);
  fillComplex(probe.data, 0);
  disc.forEach((d, k) => {
    probe.data[2 * k] = d * amplitude;
  });
  return probe;
}

/** The probe guess from the frames of `chunk` (see the file comment). */
export function illuminationGuess(chunk: Chunk, options: CosmicStartOptions = {}): ComplexImage {
  const width = chunk.cols;
  const summary = new DataSummary(width);
  summary.add({ intensities: chunk.data, weights: chunk.weights, viewsTopLeft: new Int32Array(2 * chunk.count) });
  if ((options.illumination ?? "mean-pattern") === "mean-pattern" && isPowerOfTwo(width)) {
    return probeFromMeanPattern(summary.meanPattern(), width);
  }
  return discProbe(width, options.probeSupport ?? COSMIC_START_DEFAULTS.probeSupport, summary.totalPhotons / summary.frames);
}

function planes(probe: ComplexImage, mask: Uint8Array): Pick<PtypyLoaderStart, "illumination_real" | "illumination_imag" | "illumination_mask"> {
  const rows = <V>(pick: (k: number) => V): V[][] =>
    Array.from({ length: probe.rows }, (_, r) => Array.from({ length: probe.cols }, (_, c) => pick(r * probe.cols + c)));
  return {
    illumination_real: rows((k) => probe.data[2 * k]),
    illumination_imag: rows((k) => probe.data[2 * k + 1]),
    illumination_mask: rows((k): 0 | 1 => (mask[k] ? 1 : 0)),
  };
}

const UM_PER_M = 1e6;

/** Extent of the scan in micrometres along one axis, for the human-readable raster description. */
function extentUm(values: number[]): { start: number; stop: number; range: number; centre: number } {
  if (values.length === 0) return { start: 0, stop: 0, range: 0, centre: 0 };
  const start = Math.min(...values) * UM_PER_M;
  const stop = Math.max(...values) * UM_PER_M;
  return { start, stop, range: stop - start, centre: (start + stop) / 2 };
}

/** Host and port of a `tcp://host:port` endpoint (port 0 when there is none). */
function endpointParts(address: string): { ip: string; port: number } {
  const match = /^[a-z]+:\/\/(.*?)(?::(\d+))?$/.exec(address);
  return { ip: match?.[1] ?? address, port: match?.[2] === undefined ? 0 : Number(match[2]) };
}

/**
 * The start for a scan whose processed frames look like `firstChunk` (width, effective pixel size from its
 * metadata), with the probe guessed from its frames. Throws when the frames are not square (PtyPy's frames are
 * W x W) and when the result would not pass `ptypyStartProblems`.
 */
export function buildCosmicStart(meta: ScanMeta, firstChunk: Chunk, options: CosmicStartOptions = {}): PtypyLoaderStart & CosmicStart {
  if (firstChunk.rows !== firstChunk.cols) throw new Error(`cosmicstreams frames are square; the scan's frames are ${firstChunk.rows} x ${firstChunk.cols}`);
  const guessFraction = meta.numPoints > 0 ? Math.min(1, firstChunk.count / meta.numPoints) : 1;
  return cosmicStartWithProbe(meta, illuminationGuess(firstChunk, options), guessFraction, options);
}

/**
 * The start for W x W frames described by `meta` (W = the probe's width), given a probe guess and the fraction
 * of the scan's patterns it came from (e.g. a simulator's true probe, fraction 1). Throws when the result would
 * not pass `ptypyStartProblems`.
 */
export function cosmicStartWithProbe(meta: ScanMeta, probe: ComplexImage, guessFraction: number, options: CosmicStartOptions = {}): PtypyLoaderStart & CosmicStart {
  const width = probe.cols;
  if (probe.rows !== width) throw new Error(`the probe guess is ${probe.rows} x ${width}; cosmicstreams frames are square`);
  const identifier = options.identifier ?? meta.scanId;
  const grid = scanGrid(meta.numPoints);
  const positions = meta.positionsM ?? [];
  const xs = extentUm(positions.map((p) => p.x));
  const ys = extentUm(positions.map((p) => p.y));
  const stepUm = (extent: { range: number }, points: number) => (points > 1 ? extent.range / (points - 1) : 0);
  const [dwell1Ms, dwell2Ms] = [meta.exposureTimesS[0] ?? 0, meta.exposureTimesS[1] ?? 0].map((s) => s * 1e3);
  const region = {
    xStart: xs.start,
    xStop: xs.stop,
    xPoints: grid.x,
    yStart: ys.start,
    yStop: ys.stop,
    yPoints: grid.y,
    xStep: stepUm(xs, grid.x),
    yStep: stepUm(ys, grid.y),
    xRange: xs.range,
    yRange: ys.range,
    xCenter: xs.centre,
    yCenter: ys.centre,
    zStart: 0,
    zStop: 0,
    zPoints: 1,
    zStep: 0,
    zRange: 0,
    zCenter: 0,
  };
  const entry = (type: string) => ({
    type,
    proposal: "",
    experimenters: "",
    sample: identifier,
    x: "SampleX",
    y: "SampleY",
    defocus: false,
    mode: "ptychography",
    scanRegions: { Region1: region },
    energyRegions: { EnergyRegion1: { dwell: dwell1Ms, start: meta.energyEv, stop: meta.energyEv, step: 0, nEnergies: 1 } },
    doubleExposure: meta.exposureTimesS.length > 1,
  });
  const withEnergy = (type: string) => ({ ...entry(type), energy: "Energy" });
  const pixelSizeM = meta.pixelSizeM;
  const mask = probeSupportMask(width, options.probeSupport ?? COSMIC_START_DEFAULTS.probeSupport) ?? new Uint8Array(width * width).fill(1);
  const endpoint = endpointParts(options.address ?? "");
  const start = {
    header: identifier,
    server: { ip: endpoint.ip, commandPort: 0, dataPort: endpoint.port, dataDir: "", filePrefix: identifier },
    zonePlate: { diameter: 0, outerZone: 0, A0: 0, A1: 0, type: "", source: "" },
    monitor: { dwell: 0 },
    ptychography: { position_jitter: 0 },
    zmq: { connect: false, address: options.address ?? "" },
    geometry: {
      psize: psizeToWire(pixelSizeM),
      distance: distanceToWire(meta.distanceM),
      shape: width,
      resolution: objectPixelSizeM(meta.energyEv, meta.distanceM, width, pixelSizeM),
      rebin: 1,
      basis_vectors: [
        [0, -pixelSizeM, 0],
        [-pixelSizeM, 0, 0],
      ],
    },
    lastScan: { Image: withEnergy("Image"), "Ptychography Image": withEnergy("Ptychography Image"), Focus: { ...entry("Focus"), z: "ZonePlateZ" }, "Line Spectrum": withEnergy("Line Spectrum") },
    repetition: 0,
    isDoubleExp: 0,
    pos_x: xs.centre,
    pos_y: ys.centre,
    step_size_x: region.xStep,
    step_size_y: region.yStep,
    num_pixels_x: width,
    num_pixels_y: width,
    background_pixels_x: 0,
    background_pixels_y: 0,
    dwell1: dwell1Ms,
    dwell2: dwell2Ms,
    energy: energyToWire(meta.energyEv),
    energyIndex: 0,
    scanRegion: 0,
    dark_num_x: meta.darksPerExposure,
    dark_num_y: 1,
    exp_num_x: grid.x,
    exp_num_y: grid.y,
    exp_step_x: region.xStep,
    exp_step_y: region.yStep,
    double_exposure: false,
    exp_num_total: meta.numPoints,
    translations: positions.map((p) => [p.y, p.x]),
    output_frame_width: width,
    detector_distance: meta.distanceM,
    x_pixel_size: pixelSizeM,
    y_pixel_size: pixelSizeM,
    identifier,
    ...planes(probe, mask),
    dp_fraction_for_illumination_init: guessFraction,
    dtype: "float32",
    ...options.extra,
  };
  assertPtypyStart(start);
  return start as PtypyLoaderStart & CosmicStart;
}
