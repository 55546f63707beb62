/**
 * PFFFT (wasm SIMD) against fft.js (itself checked against a naive DFT in fft2d.test.ts): same transform in
 * float32 precision, same normalisation, and the far-field workspace's transposed spectrum matches the layout
 * `toSpectrumLayout` gives per-pixel data.
 */
import { FFT2D } from "../../src/numerics/fft2d";
import { PffftFFT2D, createFFT2D, createFarField, loadPffft, toSpectrumLayout } from "../../src/numerics/pffft";
import { mulberry32 } from "../../src/sim/random";
import { relativeDifference } from "./compare";

function randomComplex(length: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: 2 * length }, () => 2 * random() - 1);
}

describe("PFFFT 2-D FFT", () => {
  it("loads here (the package is installed and the machine has wasm SIMD)", () => {
    expect(loadPffft()).not.toBeNull();
    expect(createFFT2D(64, 64)).toBeInstanceOf(PffftFFT2D);
    // Sizes PFFFT cannot do fall back to fft.js.
    expect(createFFT2D(8, 8)).toBeInstanceOf(FFT2D);
  });

  it.each([
    [64, 64],
    [32, 128],
    [256, 16],
  ])("equals fft.js forward and inverse at %i x %i", (rows, cols) => {
    const input = randomComplex(rows * cols, rows + cols);
    const expected = input.slice();
    new FFT2D(rows, cols).forward(expected);
    const actual = input.slice();
    const fft = new PffftFFT2D(rows, cols);
    fft.forward(actual);
    expect(relativeDifference(expected, actual)).toBeLessThan(1e-6);
    fft.inverse(actual);
    expect(relativeDifference(input, actual)).toBeLessThan(1e-6);
  });

  it("the far-field workspace's spectrum is the transform in the layout toSpectrumLayout gives", () => {
    const n = 32;
    const input = randomComplex(n * n, 5);
    const expected = input.slice();
    new FFT2D(n, n).forward(expected);
    const farField = createFarField(n);
    farField.spatial.set(input);
    farField.toSpectrum();
    const moduli = Float32Array.from({ length: n * n }, (_, k) => Math.hypot(expected[2 * k], expected[2 * k + 1]));
    toSpectrumLayout(moduli, n);
    const spectrum = farField.spectrum;
    const actual = Float32Array.from({ length: n * n }, (_, k) => Math.hypot(spectrum[2 * k], spectrum[2 * k + 1]));
    expect(relativeDifference(moduli, actual)).toBeLessThan(1e-6);
    // Back, with the normalisation left to the caller.
    farField.toSpatial();
    expect(relativeDifference(input, Array.from(farField.spatial, (v) => v * farField.inverseScale))).toBeLessThan(1e-6);
  });
});
