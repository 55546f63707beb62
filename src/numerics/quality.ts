/**
 * Error of a reconstructed object against the ground truth (DESIGN section 6). With the probe reconstructed
 * too, a complex scale, a linear phase ramp and a shift of the object are exact ambiguities of ptychography, so
 *
 *   error = min over c, a, b of || O_true - c exp(i (a x + b y)) O_rec || / || O_true ||
 *
 * over the illuminated region (sum_j |P(r - r_j)|^2 >= 0.1 of its maximum), after sub-pixel registration of
 * O_rec onto O_true. Registration: cross-correlation peak (of the amplitudes, blind to phase ramps, and of the
 * complex fields), refined to sub-pixel by a parabolic fit and applied as a Fourier shift; the ramp is the peak of
 * |sum O_true conj(O_rec) exp(-i(ax + by))|, refined by parabolic steps; c is then the least-squares scale.
 * Used by tests, benchmarks and the pipeline's summary.
 */
import { ComplexImage } from "../model/scan";
import { FFT2D, isPowerOfTwo } from "./fft2d";

// Module-level aliases: under jest's vm context every global lookup (Math) in a hot loop goes through an interceptor.
const { hypot, cos, sin, max, min, sqrt, floor, PI } = Math;

export interface TruthComparison {
  /** The relative error defined above (0 = perfect, about 1 or more = unrelated). */
  error: number;
  /** Shift applied to the reconstruction, (rows, cols) in pixels: O_rec(r - shift) is compared with O_true(r). */
  shiftPx: [number, number];
  /** Phase ramp removed: radians per pixel along rows (y) and columns (x). */
  rampRadPerPx: [number, number];
  /** Complex scale c, (re, im). */
  scale: [number, number];
  /** Pixels in the region compared. */
  pixels: number;
}

/** 1 where sum_j |P(r - r_j)|^2 >= `fraction` of its maximum over the object, else 0. */
export function illuminatedRegion(
  probe: ComplexImage,
  viewsTopLeft: Int32Array,
  objectRows: number,
  objectCols: number,
  fraction = 0.1,
): Uint8Array {
  const n = probe.rows;
  const coverage = new Float64Array(objectRows * objectCols);
  const p = probe.data;
  for (let j = 0; j < viewsTopLeft.length / 2; j++) {
    const row = viewsTopLeft[2 * j];
    const col = viewsTopLeft[2 * j + 1];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < probe.cols; c++) {
        const k = 2 * (r * probe.cols + c);
        coverage[(row + r) * objectCols + col + c] += p[k] * p[k] + p[k + 1] * p[k + 1];
      }
    }
  }
  let peak = 0;
  for (const value of coverage) peak = max(peak, value);
  return Uint8Array.from(coverage, (value) => (peak > 0 && value >= fraction * peak ? 1 : 0));
}

function nextPowerOfTwo(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/** Whole-pixel search radius around each correlation peak. */
const SEARCH_PX = 2;

/** Padding around the image for circular FFT work: enough that registration shifts do not wrap. */
const PAD_PX = 16;

class PaddedGrid {
  readonly height: number;
  readonly width: number;
  readonly fft: FFT2D;

  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    this.height = nextPowerOfTwo(rows + PAD_PX);
    this.width = nextPowerOfTwo(cols + PAD_PX);
    this.fft = new FFT2D(this.height, this.width);
  }

  /** Zero-padded copy of an interleaved image, each element mapped through `value`. */
  pad(source: ArrayLike<number>, value: (re: number, im: number, k: number) => [number, number]): Float64Array {
    const out = new Float64Array(2 * this.height * this.width);
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < this.cols; c++) {
        const k = r * this.cols + c;
        const [re, im] = value(source[2 * k], source[2 * k + 1], k);
        out[2 * (r * this.width + c)] = re;
        out[2 * (r * this.width + c) + 1] = im;
      }
    }
    return out;
  }

  crop(padded: Float64Array): Float64Array {
    const out = new Float64Array(2 * this.rows * this.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let k = 0; k < 2 * this.cols; k++) out[2 * r * this.cols + k] = padded[2 * r * this.width + k];
    }
    return out;
  }

  /** Signed frequency of bin `k` of `size`. */
  static frequency(k: number, size: number): number {
    return k < size / 2 ? k : k - size;
  }

  /**
   * Shift s such that a(r) ~ b(r - s): the peak of the circular cross-correlation sum_r a(r + s) conj(b(r)),
   * refined to sub-pixel by a parabola through the peak and its neighbours along each axis.
   */
  correlationPeak(a: Float64Array, b: Float64Array): [number, number] {
    const { height, width, fft } = this;
    const fa = a.slice();
    const fb = b.slice();
    fft.forward(fa);
    fft.forward(fb);
    for (let k = 0; k < fa.length; k += 2) {
      const re = fa[k] * fb[k] + fa[k + 1] * fb[k + 1];
      const im = fa[k + 1] * fb[k] - fa[k] * fb[k + 1];
      fa[k] = re;
      fa[k + 1] = im;
    }
    fft.inverse(fa);
    const magnitude = (r: number, c: number) => {
      const k = 2 * (((r + height) % height) * width + ((c + width) % width));
      return hypot(fa[k], fa[k + 1]);
    };
    let best = -1;
    let peakR = 0;
    let peakC = 0;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const m = magnitude(r, c);
        if (m > best) {
          best = m;
          peakR = r;
          peakC = c;
        }
      }
    }
    const dy = parabolicOffset(magnitude(peakR - 1, peakC), best, magnitude(peakR + 1, peakC));
    const dx = parabolicOffset(magnitude(peakR, peakC - 1), best, magnitude(peakR, peakC + 1));
    return [PaddedGrid.frequency(peakR, height) + dy, PaddedGrid.frequency(peakC, width) + dx];
  }

  /**
   * image(r - shift) by the Fourier shift theorem; the border mean is taken out first so the padding edge stays
   * soft. A whole-pixel shift is the same circular shift of the padded image, done as a copy.
   */
  shift(image: Float64Array, shiftPx: [number, number]): Float64Array {
    const { height, width, fft } = this;
    const [meanRe, meanIm] = this.borderMean(image);
    const padded = this.pad(image, (re, im) => [re - meanRe, im - meanIm]);
    const [sy, sx] = shiftPx;
    let moved: Float64Array;
    if (Number.isInteger(sy) && Number.isInteger(sx)) {
      moved = roll(padded, height, width, sy, sx);
    } else {
      fft.forward(padded);
      // exp(-2 pi i (u sy / H + v sx / W)) = row factor (u) x column factor (v).
      const rowPhase = phaseFactors(height, (u) => (-2 * PI * PaddedGrid.frequency(u, height) * sy) / height);
      const colPhase = phaseFactors(width, (v) => (-2 * PI * PaddedGrid.frequency(v, width) * sx) / width);
      timesSeparablePhase(padded, padded, height, width, rowPhase, colPhase);
      fft.inverse(padded);
      moved = padded;
    }
    const out = this.crop(moved);
    for (let k = 0; k < out.length; k += 2) {
      out[k] += meanRe;
      out[k + 1] += meanIm;
    }
    return out;
  }

  private borderMean(image: Float64Array): [number, number] {
    const { rows, cols } = this;
    let meanRe = 0;
    let meanIm = 0;
    let count = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (r !== 0 && c !== 0 && r !== rows - 1 && c !== cols - 1) continue;
        meanRe += image[2 * (r * cols + c)];
        meanIm += image[2 * (r * cols + c) + 1];
        count++;
      }
    }
    return [meanRe / count, meanIm / count];
  }
}

/** out(r, c) = image((r - sy) mod H, (c - sx) mod W) for an interleaved H x W image. */
function roll(image: Float64Array, height: number, width: number, sy: number, sx: number): Float64Array {
  const out = new Float64Array(image.length);
  const wrap = (k: number, size: number) => ((k % size) + size) % size;
  for (let r = 0; r < height; r++) {
    const from = 2 * wrap(r - sy, height) * width;
    const to = 2 * r * width;
    const split = wrap(sx, width);
    // Columns [0, W - split) move to [split, W); the rest wrap to the front.
    out.set(image.subarray(from, from + 2 * (width - split)), to + 2 * split);
    out.set(image.subarray(from + 2 * (width - split), from + 2 * width), to);
  }
  return out;
}

/**
 * out(r, c) = image(r, c) exp(i (row(r) + col(c))) for interleaved rows x cols images, the phase given as the
 * `phaseFactors` of each axis; `out` may be `image` (each value is read before it is written).
 */
function timesSeparablePhase(image: ArrayLike<number>, out: Float64Array, rows: number, cols: number, rowPhase: Float64Array, colPhase: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const yr = rowPhase[2 * r];
    const yi = rowPhase[2 * r + 1];
    for (let c = 0; c < cols; c++) {
      const cosine = yr * colPhase[2 * c] - yi * colPhase[2 * c + 1];
      const sine = yr * colPhase[2 * c + 1] + yi * colPhase[2 * c];
      const k = 2 * (r * cols + c);
      const re = image[k] * cosine - image[k + 1] * sine;
      out[k + 1] = image[k] * sine + image[k + 1] * cosine;
      out[k] = re;
    }
  }
}

/** (cos, sin) of `angle(k)` for k = 0 .. n-1, interleaved: the separable factors of a phase ramp. */
function phaseFactors(n: number, angle: (k: number) => number): Float64Array {
  const out = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const a = angle(k);
    out[2 * k] = cos(a);
    out[2 * k + 1] = sin(a);
  }
  return out;
}

/** Vertex of the parabola through (-1, left), (0, centre), (1, right), clamped to half a pixel. */
function parabolicOffset(left: number, centre: number, right: number): number {
  const curvature = left - 2 * centre + right;
  if (curvature >= 0) return 0;
  return max(-0.5, min(0.5, (left - right) / (2 * curvature)));
}

/** Region pixels as indices with their (y, x). */
interface Region {
  indices: Int32Array;
  ys: Int32Array;
  xs: Int32Array;
  rows: number;
  cols: number;
}

function regionOf(mask: Uint8Array, cols: number): Region {
  let count = 0;
  for (const m of mask) count += m ? 1 : 0;
  const region: Region = { indices: new Int32Array(count), ys: new Int32Array(count), xs: new Int32Array(count), rows: mask.length / cols, cols };
  let i = 0;
  for (let k = 0; k < mask.length; k++) {
    if (!mask[k]) continue;
    region.indices[i] = k;
    region.ys[i] = floor(k / cols);
    region.xs[i] = k % cols;
    i++;
  }
  return region;
}

/** t conj(o) over the region's pixels, interleaved: what every ramp overlap sums. */
function regionProduct(truth: ArrayLike<number>, rec: ArrayLike<number>, region: Region): Float64Array {
  const product = new Float64Array(2 * region.indices.length);
  for (let i = 0; i < region.indices.length; i++) {
    const k = region.indices[i];
    const tr = truth[2 * k];
    const ti = truth[2 * k + 1];
    const or = rec[2 * k];
    const oi = rec[2 * k + 1];
    product[2 * i] = tr * or + ti * oi;
    product[2 * i + 1] = ti * or - tr * oi;
  }
  return product;
}

/**
 * The overlap |sum_region t conj(o) exp(-i (a x + b y))| as a function of one ramp component, the other held:
 * the sum over the held axis is taken once (per row for `y`, per column for `x`), so each value of the varying
 * component costs one pass over a row or column of partial sums, not over the region.
 */
function overlapAlong(product: Float64Array, region: Region, axis: "y" | "x", heldRamp: number): (ramp: number) => number {
  const along = axis === "y" ? region.ys : region.xs;
  const held = axis === "y" ? region.xs : region.ys;
  const length = axis === "y" ? region.rows : region.cols;
  const heldPhase = phaseFactors(axis === "y" ? region.cols : region.rows, (j) => -heldRamp * j);
  const sums = new Float64Array(2 * length);
  for (let i = 0; i < along.length; i++) {
    const dr = product[2 * i];
    const di = product[2 * i + 1];
    const h = 2 * held[i];
    const a = 2 * along[i];
    sums[a] += dr * heldPhase[h] - di * heldPhase[h + 1];
    sums[a + 1] += dr * heldPhase[h + 1] + di * heldPhase[h];
  }
  return (ramp) => {
    const phase = phaseFactors(length, (j) => -ramp * j);
    let re = 0;
    let im = 0;
    for (let j = 0; j < length; j++) {
      re += sums[2 * j] * phase[2 * j] - sums[2 * j + 1] * phase[2 * j + 1];
      im += sums[2 * j] * phase[2 * j + 1] + sums[2 * j + 1] * phase[2 * j];
    }
    return hypot(re, im);
  };
}

/** The phase ramp (radians per pixel, (y, x)) best relating rec to truth over the region. */
function fitRamp(grid: PaddedGrid, truth: ArrayLike<number>, rec: ArrayLike<number>, region: Region): [number, number] {
  const { height, width, fft } = grid;
  // t conj(o) on the region only, zero elsewhere, zero-padded.
  const product = new Float64Array(2 * height * width);
  const inRegion = regionProduct(truth, rec, region);
  for (let i = 0; i < region.indices.length; i++) {
    const at = 2 * (region.ys[i] * width + region.xs[i]);
    product[at] = inRegion[2 * i];
    product[at + 1] = inRegion[2 * i + 1];
  }
  fft.forward(product);
  let best = -1;
  let peak = 0;
  for (let k = 0; k < product.length; k += 2) {
    const power = product[k] * product[k] + product[k + 1] * product[k + 1];
    if (power > best) {
      best = power;
      peak = k / 2;
    }
  }
  // The forward FFT has exp(-2 pi i (u y / H + v x / W)), so a ramp exp(i(a x + b y)) peaks at b = 2 pi u / H.
  const coarse: [number, number] = [
    (2 * PI * PaddedGrid.frequency(floor(peak / width), height)) / height,
    (2 * PI * PaddedGrid.frequency(peak % width, width)) / width,
  ];
  return refineRamp(inRegion, region, coarse, [(2 * PI) / height, (2 * PI) / width], 6);
}

/** Shrinking parabolic steps along each axis on the continuous overlap of `product` (`regionProduct`), from `start`. */
function refineRamp(product: Float64Array, region: Region, start: [number, number], steps: [number, number], rounds: number): [number, number] {
  let [rampY, rampX] = start;
  let [stepY, stepX] = steps;
  for (let round = 0; round < rounds; round++) {
    const overlapY = overlapAlong(product, region, "y", rampX);
    rampY += stepY * parabolicOffset(overlapY(rampY - stepY), overlapY(rampY), overlapY(rampY + stepY));
    const overlapX = overlapAlong(product, region, "x", rampY);
    rampX += stepX * parabolicOffset(overlapX(rampX - stepX), overlapX(rampX), overlapX(rampX + stepX));
    stepY /= 2;
    stepX /= 2;
  }
  return [rampY, rampX];
}

function withRamp(image: ArrayLike<number>, rows: number, cols: number, ramp: [number, number]): Float64Array {
  const out = new Float64Array(2 * rows * cols);
  timesSeparablePhase(image, out, rows, cols, phaseFactors(rows, (r) => ramp[0] * r), phaseFactors(cols, (c) => ramp[1] * c));
  return out;
}

/** c minimising ||t - c o|| over the region, and the resulting relative error. */
function scaleAndError(truth: ArrayLike<number>, rec: ArrayLike<number>, region: Region): { scale: [number, number]; error: number } {
  let crossRe = 0;
  let crossIm = 0;
  let recPower = 0;
  let truthPower = 0;
  for (const k of region.indices) {
    const tr = truth[2 * k];
    const ti = truth[2 * k + 1];
    const or = rec[2 * k];
    const oi = rec[2 * k + 1];
    crossRe += tr * or + ti * oi;
    crossIm += ti * or - tr * oi;
    recPower += or * or + oi * oi;
    truthPower += tr * tr + ti * ti;
  }
  if (recPower === 0 || truthPower === 0) return { scale: [0, 0], error: 1 };
  const scale: [number, number] = [crossRe / recPower, crossIm / recPower];
  // ||t - c o||^2 = ||t||^2 - |<o, t>|^2 / ||o||^2 at the optimum.
  const residual = max(0, truthPower - (crossRe * crossRe + crossIm * crossIm) / recPower);
  return { scale, error: sqrt(residual / truthPower) };
}

export function errorAgainstTruth(truth: ComplexImage, reconstruction: ComplexImage, regionMask: Uint8Array): TruthComparison {
  const { rows, cols } = truth;
  if (reconstruction.rows !== rows || reconstruction.cols !== cols) {
    throw new Error(`reconstruction is ${reconstruction.rows}x${reconstruction.cols}, truth ${rows}x${cols}`);
  }
  if (regionMask.length !== rows * cols) throw new Error("region mask does not match the object");
  const region = regionOf(regionMask, cols);
  if (region.indices.length === 0) throw new Error("the illuminated region is empty");
  const grid = new PaddedGrid(rows, cols);
  if (!isPowerOfTwo(grid.height) || !isPowerOfTwo(grid.width)) throw new Error("padding failed");
  // Both cut to the region, the region's mean taken out (else a mostly constant object correlates best at zero
  // shift). For smooth, low-contrast objects the outline still biases the peak, hence the search below.
  const centred = (source: ArrayLike<number>, amplitudeOnly: boolean) => {
    let meanRe = 0;
    let meanIm = 0;
    for (const k of region.indices) {
      meanRe += amplitudeOnly ? hypot(source[2 * k], source[2 * k + 1]) : source[2 * k];
      meanIm += amplitudeOnly ? 0 : source[2 * k + 1];
    }
    meanRe /= region.indices.length;
    meanIm /= region.indices.length;
    return grid.pad(source, (re, im, k) => (!regionMask[k] ? [0, 0] : amplitudeOnly ? [hypot(re, im) - meanRe, 0] : [re - meanRe, im - meanIm]));
  };
  const rec = Float64Array.from(reconstruction.data);

  const candidates: Array<[number, number]> = [
    grid.correlationPeak(centred(truth.data, true), centred(rec, true)),
    grid.correlationPeak(centred(truth.data, false), centred(rec, false)),
  ];
  // The ramp comes off before the Fourier shift (a ramped field wraps badly at the padding edge), then whatever
  // ramp remains is refined; a shift changes a ramp only by a constant phase, which c absorbs.
  const compare = (shiftPx: [number, number], ramp: [number, number]): TruthComparison => {
    const shifted = grid.shift(withRamp(rec, rows, cols, ramp), shiftPx);
    const residual = refineRamp(regionProduct(truth.data, shifted, region), region, [0, 0], [PI / (4 * grid.height), PI / (4 * grid.width)], 3);
    const { scale, error } = scaleAndError(truth.data, withRamp(shifted, rows, cols, residual), region);
    return { error, shiftPx, rampRadPerPx: [ramp[0] + residual[0], ramp[1] + residual[1]], scale, pixels: region.indices.length };
  };
  let best: TruthComparison | undefined;
  const tried = new Set<string>();
  for (const first of candidates) {
    // Coarse ramp at the first shift, then the shift again on the de-ramped field.
    const ramp0 = fitRamp(grid, truth.data, grid.shift(rec, first), region);
    const [peakY, peakX] = grid.correlationPeak(centred(truth.data, false), centred(withRamp(rec, rows, cols, ramp0), false));
    // Whole-pixel search around the peak on the error itself.
    for (let dy = -SEARCH_PX; dy <= SEARCH_PX; dy++) {
      for (let dx = -SEARCH_PX; dx <= SEARCH_PX; dx++) {
        const shiftPx: [number, number] = [Math.round(peakY) + dy, Math.round(peakX) + dx];
        const key = shiftPx.join(",");
        if (tried.has(key)) continue;
        tried.add(key);
        const candidate = compare(shiftPx, fitRamp(grid, truth.data, grid.shift(rec, shiftPx), region));
        if (!best || candidate.error < best.error) best = candidate;
      }
    }
  }
  // The correlation peak's parabola is only approximately the peak: minimise the error itself over the shift.
  let step = 0.5;
  for (let round = 0; round < 5; round++) {
    for (const axis of [0, 1]) {
      const centre = best as TruthComparison;
      const moved = (delta: number): [number, number] => (axis === 0 ? [centre.shiftPx[0] + delta, centre.shiftPx[1]] : [centre.shiftPx[0], centre.shiftPx[1] + delta]);
      const below = compare(moved(-step), centre.rampRadPerPx);
      const above = compare(moved(step), centre.rampRadPerPx);
      const offset = parabolicOffset(-below.error, -centre.error, -above.error);
      const refined = compare(moved(step * offset), centre.rampRadPerPx);
      best = [centre, below, above, refined].reduce((a, b) => (b.error < a.error ? b : a));
    }
    step /= 2;
  }
  return best as TruthComparison;
}
