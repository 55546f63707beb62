import { FFT2D, fftshift } from "../../src/numerics/fft2d";

function naiveDft2(input: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(input.length);
  for (let u = 0; u < rows; u++) {
    for (let v = 0; v < cols; v++) {
      let re = 0;
      let im = 0;
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const angle = -2 * Math.PI * ((u * y) / rows + (v * x) / cols);
          const a = input[2 * (y * cols + x)];
          const b = input[2 * (y * cols + x) + 1];
          re += a * Math.cos(angle) - b * Math.sin(angle);
          im += a * Math.sin(angle) + b * Math.cos(angle);
        }
      }
      out[2 * (u * cols + v)] = re;
      out[2 * (u * cols + v) + 1] = im;
    }
  }
  return out;
}

function randomComplex(n: number, seed: number): Float64Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Float64Array.from({ length: 2 * n }, rand);
}

describe("FFT2D", () => {
  it("matches a naive DFT on a non-square array", () => {
    const rows = 8;
    const cols = 16;
    const input = randomComplex(rows * cols, 7);
    const expected = naiveDft2(input, rows, cols);
    const data = input.slice();
    new FFT2D(rows, cols).forward(data);
    for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(expected[i], 9);
  });

  it("inverse(forward(x)) = x, also on float32 storage", () => {
    const fft = new FFT2D(32, 32);
    const input = randomComplex(32 * 32, 3);
    const data = Float32Array.from(input);
    fft.forward(data);
    fft.inverse(data);
    for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(input[i], 5);
  });

  it("rejects sizes that are not powers of two", () => {
    expect(() => new FFT2D(12, 16)).toThrow(/power-of-two/);
  });

  it("fftshift moves the zero frequency to the centre and is its own inverse", () => {
    const rows = 4;
    const cols = 6;
    const data = new Float64Array(rows * cols);
    data[0] = 1;
    fftshift(data, rows, cols, 1);
    expect(data[2 * cols + 3]).toBe(1);
    fftshift(data, rows, cols, 1);
    expect(data[0]).toBe(1);
  });
});
