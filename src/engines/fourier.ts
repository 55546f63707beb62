/**
 * The exit-wave algebra every engine shares (DESIGN section 6, PtyPy's `projection_update_generalized`):
 *
 *   psi <- (1 - a - b) psi + a P_O psi + b P_F(c P_O psi + (1 - c) psi),   P_O psi = P x O_view
 *
 * DM(alpha): a = -alpha, b = 1, c = 1 + alpha.  RAAR(beta): a = 1 - 2 beta, b = beta, c = 2.
 * Plain projection (ePIE's Fourier step, psi = P x O_view): a = 0, b = 1, c = 1.
 *
 * P_F replaces the Fourier modulus by the measured one where the pixel is valid and keeps it where masked, relaxed by
 * PtyPy's power bound: when the frame's mean squared modulus deviation `err` exceeds `pbound`, the deviation is
 * scaled by sqrt(pbound / err) instead of removed; when within the bound, P_F is the identity. The propagator is
 * unitary (FFT / N), as PtyPy's, so |F psi|^2 is in photons; only the modulus comparison needs the 1/N.
 */
import { FarField, createFarField } from "../numerics/pffft";

export interface ExitWaveCoefficients {
  a: number;
  b: number;
  c: number;
}

export function dmCoefficients(alpha: number): ExitWaveCoefficients {
  return { a: -alpha, b: 1, c: 1 + alpha };
}

export function raarCoefficients(beta: number): ExitWaveCoefficients {
  return { a: 1 - 2 * beta, b: beta, c: 2 };
}

export const PROJECTION_COEFFICIENTS: ExitWaveCoefficients = { a: 0, b: 1, c: 1 };

// Module-level aliases: under jest's vm context every global lookup (Math) in a hot loop goes through an interceptor.
const { sqrt } = Math;

/** Keeps divisions finite where the model modulus vanishes (PtyPy's 1e-10). */
const MODULUS_FLOOR = 1e-10;

/** One frame at a time: FFT plan and scratch made once per frame size. */
export class FourierProjector {
  /** The wave and its far field, in place: PFFFT (wasm SIMD) where it loads, fft.js otherwise (numerics/pffft.ts). */
  private readonly farField: FarField;
  /** P x O_view of the frame being updated, float64 interleaved. */
  readonly product: Float64Array;
  /** The unitary far-field modulus per pixel (spectrum layout), computed once for the error and the correction. */
  private readonly modulus: Float64Array;
  private readonly unitaryScale: number;

  constructor(readonly frameSize: number) {
    this.farField = createFarField(frameSize);
    this.product = new Float64Array(2 * frameSize * frameSize);
    this.modulus = new Float64Array(frameSize * frameSize);
    this.unitaryScale = 1 / frameSize;
  }

  /** product <- P x O[row:row+N, col:col+N]. */
  loadProduct(object: Float32Array, objectCols: number, probe: Float32Array, row: number, col: number): void {
    const n = this.frameSize;
    const product = this.product;
    for (let r = 0; r < n; r++) {
      let o = 2 * ((row + r) * objectCols + col);
      let p = 2 * r * n;
      const end = p + 2 * n;
      for (; p < end; p += 2, o += 2) {
        const pr = probe[p];
        const pi = probe[p + 1];
        const or = object[o];
        const oi = object[o + 1];
        product[p] = pr * or - pi * oi;
        product[p + 1] = pr * oi + pi * or;
      }
    }
  }

  /**
   * Updates the exit wave `exit[offset .. offset + 2 N^2)` in place with the algebra above, `product` already
   * loaded. `moduli`/`masks` are the frame's measured sqrt(I) and validity at `dataOffset` (unshifted).
   * Returns the frame's Fourier error: mean over valid pixels of (|F wave| - sqrt(I))^2, photons.
   */
  update(
    exit: Float32Array,
    offset: number,
    moduli: Float32Array,
    masks: Uint8Array,
    dataOffset: number,
    validCount: number,
    coefficients: ExitWaveCoefficients,
    powerBound: number,
  ): number {
    const { a, b, c } = coefficients;
    const { product, farField, modulus, unitaryScale } = this;
    const length = product.length;
    const keep = 1 - c;
    const spatial = farField.spatial;
    for (let k = 0; k < length; k++) spatial[k] = c * product[k] + keep * exit[offset + k];
    farField.toSpectrum();
    const wave = farField.spectrum;

    let deviation = 0;
    for (let k = 0, p = dataOffset; k < length; k += 2, p++) {
      if (masks[p] === 0) continue;
      const model = unitaryScale * sqrt(wave[k] * wave[k] + wave[k + 1] * wave[k + 1]);
      modulus[p - dataOffset] = model;
      const d = model - moduli[p];
      deviation += d * d;
    }
    const error = validCount > 0 ? deviation / validCount : 0;

    if (error <= powerBound) {
      // Within the power bound P_F is the identity, so the whole update collapses to a mix of psi and P x O.
      const step = a + b * c;
      for (let k = 0; k < length; k++) exit[offset + k] += step * (product[k] - exit[offset + k]);
      return error;
    }
    // renorm = 0 is the plain modulus replacement; otherwise only part of the deviation is removed.
    const renorm = powerBound > 0 ? sqrt(powerBound / error) : 0;
    for (let k = 0, p = dataOffset; k < length; k += 2, p++) {
      if (masks[p] === 0) continue;
      const model = modulus[p - dataOffset];
      const factor = (moduli[p] + (model - moduli[p]) * renorm) / (model + MODULUS_FLOOR);
      wave[k] *= factor;
      wave[k + 1] *= factor;
    }
    farField.toSpatial();
    const back = farField.spatial;
    const mixExit = 1 - a - b;
    const mixBack = b * farField.inverseScale;
    for (let k = 0; k < length; k++) exit[offset + k] = mixExit * exit[offset + k] + a * product[k] + mixBack * back[k];
    return error;
  }
}
