/** The probe's starting point and its support, as PtyPy sets them up. */
import { ComplexImage } from "../model/scan";
import { FFT2D, fftshift } from "../numerics/fft2d";
import { complexImage } from "../numerics/complex";

/**
 * Where the sample sits relative to the focus, for a probe guess from the optics (PtyPy's
 * `illumination.propagation.parallel`): the pupil gets the Fresnel phase exp(-i pi lambda z |q|^2), q the spatial
 * frequency (1 / (N x object pixel) per detector pixel), z > 0 downstream of the focus (a diverging beam).
 */
export interface ProbeDefocus {
  defocusM: number;
  wavelengthM: number;
  objectPixelSizeM: number;
}

/**
 * A probe whose far field has the mean measured modulus and a flat phase: P = F^-1 sqrt(mean I), centred in
 * the frame; with `defocus`, that pupil is propagated from the focus to the sample. The unitary propagator makes
 * sum |P|^2 equal the mean photons per frame, so an object of modulus ~1 starts at the right scale.
 *
 * Why the defocus matters: the flat phase puts the probe in focus, the smallest spot the pupil allows. A zone
 * plate's sample is usually out of focus on purpose (a probe many times larger than the focus, for overlap): the
 * simulator's is 24.6 um upstream, a 35-pixel annular probe whose flat-phase guess is a 3-pixel spot. With 8-pixel
 * steps the guessed spots barely overlap, and DM must grow the probe itself (see options.ts `objectInertia`).
 */
export function probeFromMeanPattern(meanPatternCentred: Float64Array, frameSize: number, shared = false, defocus?: ProbeDefocus): ComplexImage {
  const n = frameSize;
  const wave = new Float64Array(2 * n * n);
  // -pi lambda z |q|^2 with q = k / (N dx), k the pixel offset from the centre.
  const curvature = defocus ? (-Math.PI * defocus.wavelengthM * defocus.defocusM) / (n * defocus.objectPixelSizeM) ** 2 : 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const k = r * n + c;
      const modulus = Math.sqrt(Math.max(0, meanPatternCentred[k]));
      const phase = curvature * ((r - n / 2) ** 2 + (c - n / 2) ** 2);
      wave[2 * k] = modulus * Math.cos(phase);
      wave[2 * k + 1] = modulus * Math.sin(phase);
    }
  }
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
