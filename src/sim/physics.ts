/**
 * The physics of a simulated ptychography scan, with its ground truth (DESIGN section 9): a complex object with
 * amplitude and phase features, a focused probe (zone-plate focus with a central stop, defocused), a Fermat
 * spiral or raster of positions on whole object pixels, and the ideal far-field intensities. The detector
 * (binning, Poisson, FCCD noise and layout) is added by `simulateScan` in ./scan.ts.
 *
 * Conventions shared with the engines:
 * - views: the probe centre sits at pixel (N/2, N/2) of its N x N view; `viewTopLeft` is the one mapping from
 *   metres to object pixels;
 * - far field: I = |FFT(P x O_view)|^2 with the unnormalised forward FFT of src/numerics/fft2d.ts, then fftshifted
 *   (zero frequency at (N/2, N/2)); no other factor, so the true probe and object reproduce the data exactly;
 * - the probe's power is set so the frames' photon counts average exactly `photonsPerFrame` (a frame of an
 *   absorbing region gets fewer, one of a clear region more).
 */
import * as t from "io-ts";
import { ComplexImage } from "../model/scan";
import { PositionM } from "../model/frameserver";
import { decodeOrThrow, FiniteNumber, NonNegativeNumber, PositiveInteger, PositiveNumber } from "../model/codec";
import { FFT2D, fftshift, isPowerOfTwo } from "../numerics/fft2d";
import { objectPixelSizeM as objectPixelSizeOf, objectShapeFor, viewsTopLeft, viewTopLeft, wavelengthM } from "../numerics/geometry";
import { mixSeed, mulberry32 } from "./random";

const PowerOfTwoSize = new t.Type<number, number, unknown>(
  "power-of-two integer >= 8",
  (u): u is number => typeof u === "number" && isPowerOfTwo(u) && u >= 8,
  (u, c) => (typeof u === "number" && isPowerOfTwo(u) && u >= 8 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

export const PhysicsOptions = t.type(
  {
    seed: FiniteNumber,
    /** N: the reconstruction frame size (detector pixels after crop and bin), a power of two. */
    frameSize: PowerOfTwoSize,
    numPoints: PositiveInteger,
    pattern: t.keyof({ spiral: null, raster: null }, "pattern (spiral or raster)"),
    /** Mean distance between neighbouring positions, in object pixels. */
    stepPx: PositiveNumber,
    /** Each position moves by a whole number of pixels drawn uniformly in [-jitterPx, jitterPx] per axis. */
    jitterPx: NonNegativeNumber,
    /** Mean photons in a frame of the longest exposure. */
    photonsPerFrame: PositiveNumber,
    energyEv: PositiveNumber,
    distanceM: PositiveNumber,
    /** Effective detector pixel size at the reconstruction size (physical pixel x binning). */
    pixelSizeM: PositiveNumber,
  },
  "PhysicsOptions",
);
export type PhysicsOptions = t.TypeOf<typeof PhysicsOptions>;

/**
 * Defaults: COSMIC-like soft X-rays (800 eV, 0.121 m, 30 um FCCD pixels binned by 2 to 60 um, so a
 * 128-pixel frame gives 24.4 nm object pixels), a 100-point Fermat spiral with 8-pixel steps under a probe about
 * 35 pixels across (about 75 % overlap), and enough photons (5e7 a frame, peaks near 6e4 per pixel) that the
 * bright field saturates the simulated FCCD's long exposure but not its short one.
 */
export const DEFAULT_PHYSICS: PhysicsOptions = {
  seed: 1,
  frameSize: 128,
  numPoints: 100,
  pattern: "spiral",
  stepPx: 8,
  jitterPx: 1,
  photonsPerFrame: 5e7,
  energyEv: 800,
  distanceM: 0.121,
  pixelSizeM: 60e-6,
};

export interface ScanTruth {
  frameSize: number;
  /** The object, interleaved float32 (re, im), rows x cols. */
  object: ComplexImage;
  /** The probe, N x N, centred at (N/2, N/2). */
  probe: ComplexImage;
  objectPixelSizeM: number;
  /** Probe centre on the object in metres, relative to the object centre; x along columns, y along rows. */
  positionsM: PositionM[];
  /** (numPoints, 2) as (row, col) of the top-left corner of each N x N view in the object. */
  positionsPx: Int32Array;
  /** (numPoints, N, N) ideal far-field |FFT(P x O_view)|^2, fftshifted; frames average `photonsPerFrame` photons. */
  intensities: Float32Array;
  /** The options used, defaults filled in. */
  options: PhysicsOptions;
  /**
   * Where the sample sits relative to the probe's focus (m, > 0 downstream), what a beamline knows of its zone
   * plate: the engines' `probeDefocusM` (engines/probe.ts has the sign convention).
   */
  probeDefocusM: number;
}

/** Margin of object pixels around the outermost views. */
const OBJECT_MARGIN_PX = 8;

/** The one mapping from metres to object pixels, shared with the engines (src/numerics/geometry.ts). */
export { viewTopLeft };

export function resolvePhysicsOptions(options: Partial<PhysicsOptions> = {}): PhysicsOptions {
  return decodeOrThrow(PhysicsOptions, { ...DEFAULT_PHYSICS, ...options }, "simulator physics options");
}

export function simulatePhysics(options: Partial<PhysicsOptions> = {}): ScanTruth {
  const resolved = resolvePhysicsOptions(options);
  const { frameSize: n, seed } = resolved;
  const psize = objectPixelSizeOf(resolved.energyEv, resolved.distanceM, n, resolved.pixelSizeM);

  const positionsM = scanOffsetsPx(resolved).map(([y, x]) => ({ x: x * psize, y: y * psize }));
  const [rows, cols] = objectShapeFor(positionsM, psize, n, OBJECT_MARGIN_PX);
  const object = makeObject(rows, cols, mixSeed(seed, 0x6f626a));
  const probe = makeProbe(n);
  const probeDefocusM = probeDefocusOf(n, wavelengthM(resolved.energyEv), psize);
  const positionsPx = viewsTopLeft(positionsM, rows, cols, psize, n);

  const intensities = farFieldIntensities(object, probe, positionsPx, n);
  // Scale the probe so frames average photonsPerFrame: intensities are quadratic in the probe.
  let total = 0;
  for (let i = 0; i < intensities.length; i++) total += intensities[i];
  const power = (resolved.photonsPerFrame * positionsM.length) / total;
  for (let i = 0; i < intensities.length; i++) intensities[i] *= power;
  const amplitude = Math.sqrt(power);
  for (let i = 0; i < probe.data.length; i++) probe.data[i] *= amplitude;

  return { frameSize: n, object, probe, objectPixelSizeM: psize, positionsM, positionsPx, intensities, options: resolved, probeDefocusM };
}

/** Probe offsets from the object centre, (y, x) in whole object pixels, jitter included. */
function scanOffsetsPx(options: PhysicsOptions): Array<[number, number]> {
  const { numPoints, stepPx, jitterPx, pattern } = options;
  const uniform = mulberry32(mixSeed(options.seed, 0x6a6974));
  const jitter = () => Math.round((2 * uniform() - 1) * jitterPx);
  const offsets: Array<[number, number]> = [];
  if (pattern === "spiral") {
    // Fermat spiral: k points within radius a sqrt(k), so the mean spacing is about a sqrt(pi) = stepPx.
    const a = stepPx / Math.sqrt(Math.PI);
    const goldenAngle = Math.PI * (3 - Math.sqrt(5));
    for (let k = 0; k < numPoints; k++) {
      const radius = a * Math.sqrt(k + 0.5);
      const angle = k * goldenAngle;
      offsets.push([Math.round(radius * Math.sin(angle)) + jitter(), Math.round(radius * Math.cos(angle)) + jitter()]);
    }
  } else {
    const columns = Math.ceil(Math.sqrt(numPoints));
    const rowsOfPoints = Math.ceil(numPoints / columns);
    for (let k = 0; k < numPoints; k++) {
      const row = Math.floor(k / columns);
      const column = k % columns;
      offsets.push([
        Math.round((row - (rowsOfPoints - 1) / 2) * stepPx) + jitter(),
        Math.round((column - (columns - 1) / 2) * stepPx) + jitter(),
      ]);
    }
  }
  return offsets;
}

/**
 * A test object: a phase Siemens star in the middle (resolution at every scale), and scattered discs, bars and
 * rings with independent amplitude and phase, blurred slightly so edges are smooth. Amplitude in [0.3, 1],
 * phase in about [-1, 1] rad.
 */
function makeObject(rows: number, cols: number, seed: number): ComplexImage {
  const uniform = mulberry32(seed);
  const absorption = new Float64Array(rows * cols);
  const phase = new Float64Array(rows * cols);
  const cy = rows / 2;
  const cx = cols / 2;
  const starRadius = 0.22 * Math.min(rows, cols);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const r = Math.hypot(y - cy, x - cx);
      if (r < starRadius && r > 2) {
        const spoke = Math.sin(16 * Math.atan2(y - cy, x - cx)) > 0;
        phase[y * cols + x] += spoke ? 0.8 : -0.2;
        absorption[y * cols + x] += spoke ? 0.15 : 0;
      }
    }
  }
  const features = Math.round((rows * cols) / 900);
  for (let f = 0; f < features; f++) {
    const fy = uniform() * rows;
    const fx = uniform() * cols;
    const size = 3 + uniform() * 10;
    const dAbsorption = uniform() < 0.6 ? 0.15 + 0.45 * uniform() : 0;
    const dPhase = (uniform() < 0.5 ? -1 : 1) * (0.2 + 0.5 * uniform());
    const kind = Math.floor(uniform() * 3);
    const angle = uniform() * Math.PI;
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const reach = Math.ceil(size * 1.5) + 1;
    for (let y = Math.max(0, Math.floor(fy - reach)); y < Math.min(rows, fy + reach); y++) {
      for (let x = Math.max(0, Math.floor(fx - reach)); x < Math.min(cols, fx + reach); x++) {
        const dy = y - fy;
        const dx = x - fx;
        const u = c * dx + s * dy;
        const v = -s * dx + c * dy;
        const r = Math.hypot(dx, dy);
        // A disc, a bar (text-like stroke) or a ring.
        const inside =
          kind === 0 ? r < size : kind === 1 ? Math.abs(u) < size * 1.4 && Math.abs(v) < 1.5 : r < size && r > size - 2;
        if (inside) {
          absorption[y * cols + x] += dAbsorption;
          phase[y * cols + x] += dPhase;
        }
      }
    }
  }
  gaussianBlur(absorption, rows, cols, 0.8);
  gaussianBlur(phase, rows, cols, 0.8);
  const data = new Float32Array(2 * rows * cols);
  for (let i = 0; i < rows * cols; i++) {
    const amplitude = Math.max(0.3, Math.min(1, 1 - absorption[i]));
    const p = Math.max(-1.1, Math.min(1.1, phase[i]));
    data[2 * i] = amplitude * Math.cos(p);
    data[2 * i + 1] = amplitude * Math.sin(p);
  }
  return { rows, cols, data };
}

/** Separable Gaussian blur in place, edges clamped. */
function gaussianBlur(image: Float64Array, rows: number, cols: number, sigmaPx: number): void {
  const radius = Math.ceil(3 * sigmaPx);
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigmaPx ** 2)));
  const norm = kernel.reduce((a, b) => a + b, 0);
  kernel.forEach((value, k) => (kernel[k] = value / norm));
  const line = new Float64Array(Math.max(rows, cols));
  const pass = (count: number, length: number, index: (line: number, k: number) => number) => {
    for (let l = 0; l < count; l++) {
      for (let k = 0; k < length; k++) {
        let sum = 0;
        for (let j = -radius; j <= radius; j++) sum += kernel[j + radius] * image[index(l, Math.min(length - 1, Math.max(0, k + j)))];
        line[k] = sum;
      }
      for (let k = 0; k < length; k++) image[index(l, k)] = line[k];
    }
  };
  pass(rows, cols, (row, col) => row * cols + col);
  pass(cols, rows, (col, row) => row * cols + col);
}

/**
 * A zone-plate focus: an annular pupil (outer radius N/4 in frequency pixels, central stop 0.4 of it) with soft
 * edges and two waves of defocus, transformed to the sample plane. The probe is about 35 pixels across at N = 128
 * (the defocus sets it to scale with N), its far field an annulus filling half the detector: no wrap-around.
 * Unit power (sum |P|^2 = 1) here; `simulatePhysics` scales it to the photon count.
 */
export function makeProbe(n: number): ComplexImage {
  const { outer, defocusWaves } = zonePlate(n);
  const inner = 0.4 * outer;
  const edgePx = 1.5;
  const pupil = new Float64Array(2 * n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const rho = Math.hypot(y - n / 2, x - n / 2);
      const soft = (edge: number) => 0.5 * (1 + Math.tanh(edge / edgePx));
      const amplitude = soft(outer - rho) * soft(rho - inner);
      const phase = 2 * Math.PI * defocusWaves * (rho / outer) ** 2;
      pupil[2 * (y * n + x)] = amplitude * Math.cos(phase);
      pupil[2 * (y * n + x) + 1] = amplitude * Math.sin(phase);
    }
  }
  // Pupil centred at (N/2, N/2) -> unshift, inverse FFT, shift so the probe is centred at (N/2, N/2).
  fftshift(pupil, n, n);
  new FFT2D(n, n).inverse(pupil);
  fftshift(pupil, n, n);
  let power = 0;
  for (let i = 0; i < pupil.length; i++) power += pupil[i] * pupil[i];
  const scale = 1 / Math.sqrt(power);
  return { rows: n, cols: n, data: Float32Array.from(pupil, (v) => v * scale) };
}

/** The pupil's outer radius (frequency pixels) and the defocus phase at its edge (waves). */
function zonePlate(n: number): { outer: number; defocusWaves: number } {
  return { outer: n / 4, defocusWaves: 2 * (n / 128) };
}

/**
 * The defocus of `makeProbe` as a distance: its pupil phase 2 pi w (rho / outer)^2 equals the Fresnel phase
 * -pi lambda z q^2 with q = rho / (N dx), so z = -2 w (N dx)^2 / (outer^2 lambda): upstream of the focus.
 */
function probeDefocusOf(n: number, wavelength: number, objectPixelM: number): number {
  const { outer, defocusWaves } = zonePlate(n);
  return (-2 * defocusWaves * (n * objectPixelM) ** 2) / (outer * outer * wavelength);
}

/** The N x N view of the object at a top-left corner, interleaved complex. */
export function extractView(object: ComplexImage, row: number, col: number, n: number, out: Float64Array): Float64Array {
  if (row < 0 || col < 0 || row + n > object.rows || col + n > object.cols) {
    throw new Error(`view at (${row}, ${col}) of size ${n} leaves the ${object.rows} x ${object.cols} object`);
  }
  for (let y = 0; y < n; y++) {
    const source = 2 * ((row + y) * object.cols + col);
    for (let k = 0; k < 2 * n; k++) out[2 * y * n + k] = object.data[source + k];
  }
  return out;
}

/** |FFT(P x O_view)|^2, fftshifted, for every view, (numPoints, N, N). */
export function farFieldIntensities(object: ComplexImage, probe: ComplexImage, positionsPx: Int32Array, n: number): Float32Array {
  const fft = new FFT2D(n, n);
  const points = positionsPx.length / 2;
  const intensities = new Float32Array(points * n * n);
  const wave = new Float64Array(2 * n * n);
  const pattern = new Float64Array(n * n);
  const p = probe.data;
  for (let j = 0; j < points; j++) {
    extractView(object, positionsPx[2 * j], positionsPx[2 * j + 1], n, wave);
    for (let i = 0; i < n * n; i++) {
      const oRe = wave[2 * i];
      const oIm = wave[2 * i + 1];
      wave[2 * i] = p[2 * i] * oRe - p[2 * i + 1] * oIm;
      wave[2 * i + 1] = p[2 * i] * oIm + p[2 * i + 1] * oRe;
    }
    fft.forward(wave);
    for (let i = 0; i < n * n; i++) pattern[i] = wave[2 * i] ** 2 + wave[2 * i + 1] ** 2;
    fftshift(pattern, n, n, 1);
    intensities.set(pattern, j * n * n);
  }
  return intensities;
}
