/** The probe's starting point and its support, as PtyPy sets them up. */
import { ComplexImage } from "../model/scan";
import { FFT2D, fftshift } from "../numerics/fft2d";
import { complexImage } from "../numerics/complex";

/**
 * A probe whose far field has the mean measured modulus and a flat phase: P = F^-1 sqrt(mean I), centred in
 * the frame. The unitary propagator makes sum |P|^2 equal the mean photons per frame, so an object of modulus
 * ~1 starts at the right scale.
 */
export function probeFromMeanPattern(meanPatternCentred: Float64Array, frameSize: number, shared = false): ComplexImage {
  const n = frameSize;
  const wave = new Float64Array(2 * n * n);
  for (let k = 0; k < n * n; k++) wave[2 * k] = Math.sqrt(Math.max(0, meanPatternCentred[k]));
  fftshift(wave, n, n, 2);
  new FFT2D(n, n).inverse(wave);
  fftshift(wave, n, n, 2);
  const probe = complexImage(n, n, shared);
  // inverse() divides by N^2; the unitary inverse divides by N.
  for (let k = 0; k < wave.length; k++) probe.data[k] = wave[k] * n;
  return probe;
}

/**
 * PtyPy's `probe_support`: a centred disc holding `areaFraction` of the frame area (pi r^2 < f N^2). Returns
 * 1 inside, 0 outside; `null` fraction means no support.
 */
export function probeSupportMask(frameSize: number, areaFraction: number | null): Uint8Array | null {
  if (areaFraction === null) return null;
  const n = frameSize;
  const mask = new Uint8Array(n * n);
  const half = n / 2;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const y = r - half;
      const x = c - half;
      mask[r * n + c] = Math.PI * (x * x + y * y) < areaFraction * n * n ? 1 : 0;
    }
  }
  return mask;
}

export function applySupport(probe: Float32Array, support: Uint8Array | null): void {
  if (!support) return;
  for (let k = 0; k < support.length; k++) {
    if (support[k] === 0) {
      probe[2 * k] = 0;
      probe[2 * k + 1] = 0;
    }
  }
}
