import { ComplexImage } from "../../src/model/scan";
import { errorAgainstTruth, illuminatedRegion } from "../../src/numerics/quality";
import { makeProbe } from "../../src/sim/physics";
import { mulberry32 } from "../../src/sim/random";

const ROWS = 96;
const COLS = 80;

/** A smooth random complex field: a few Gaussian blobs in amplitude and phase, so it can be shifted by a fraction of a pixel. */
function smoothObject(seed: number, shiftY = 0, shiftX = 0): ComplexImage {
  const random = mulberry32(seed);
  const blobs = Array.from({ length: 12 }, () => ({ y: random() * ROWS, x: random() * COLS, a: random() - 0.5, p: 2 * random() - 1, w: 2 + 4 * random() }));
  const data = new Float32Array(2 * ROWS * COLS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      let amplitude = 1;
      let phase = 0;
      for (const b of blobs) {
        const g = Math.exp(-((r - shiftY - b.y) ** 2 + (c - shiftX - b.x) ** 2) / (2 * b.w * b.w));
        amplitude += 0.6 * b.a * g;
        phase += b.p * g;
      }
      data[2 * (r * COLS + c)] = amplitude * Math.cos(phase);
      data[2 * (r * COLS + c) + 1] = amplitude * Math.sin(phase);
    }
  }
  return { rows: ROWS, cols: COLS, data };
}

/** c exp(i (a x + b y)) O. */
function rampAndScale(image: ComplexImage, a: number, b: number, scale: [number, number]): ComplexImage {
  const data = new Float32Array(image.data.length);
  for (let r = 0; r < image.rows; r++) {
    for (let c = 0; c < image.cols; c++) {
      const k = 2 * (r * image.cols + c);
      const angle = a * c + b * r;
      const fr = scale[0] * Math.cos(angle) - scale[1] * Math.sin(angle);
      const fi = scale[0] * Math.sin(angle) + scale[1] * Math.cos(angle);
      data[k] = fr * image.data[k] - fi * image.data[k + 1];
      data[k + 1] = fr * image.data[k + 1] + fi * image.data[k];
    }
  }
  return { rows: image.rows, cols: image.cols, data };
}

function centralRegion(margin: number): Uint8Array {
  return Uint8Array.from({ length: ROWS * COLS }, (_, k) => {
    const r = Math.floor(k / COLS);
    const c = k % COLS;
    return r >= margin && r < ROWS - margin && c >= margin && c < COLS - margin ? 1 : 0;
  });
}

describe("error against the truth", () => {
  it("is 0 for the truth itself", () => {
    const truth = smoothObject(1);
    expect(errorAgainstTruth(truth, truth, centralRegion(16)).error).toBeLessThan(1e-6);
  });

  it("removes a complex scale, a phase ramp and a sub-pixel shift", () => {
    const truth = smoothObject(1);
    // The reconstruction is the truth moved by (+1.3, -0.6) pixels, so it must be shifted back by (-1.3, +0.6).
    const moved = rampAndScale(smoothObject(1, 1.3, -0.6), 0.07, -0.05, [0.4, -1.1]);
    const result = errorAgainstTruth(truth, moved, centralRegion(16));
    expect(result.error).toBeLessThan(0.01);
    expect(result.shiftPx[0]).toBeCloseTo(-1.3, 1);
    expect(result.shiftPx[1]).toBeCloseTo(0.6, 1);
    expect(result.rampRadPerPx[0]).toBeCloseTo(0.05, 2);
    expect(result.rampRadPerPx[1]).toBeCloseTo(-0.07, 2);
  });

  it("measures real differences: an unrelated object is far off, added noise shows at its size", () => {
    const truth = smoothObject(1);
    // Random values have nothing in common with the truth: no scale, ramp or shift brings them close.
    const unrelated = mulberry32(4);
    const scrambled = { ...truth, data: truth.data.map(() => 2 * unrelated() - 1) };
    expect(errorAgainstTruth(truth, scrambled, centralRegion(16)).error).toBeGreaterThan(0.9);
    const random = mulberry32(9);
    const noisy = { ...truth, data: truth.data.map((v) => v + 0.05 * (2 * random() - 1)) };
    // Uniform noise of half-width 0.05 per component: rms 0.05 * sqrt(2/3) = 0.041 against |O| ~ 1.
    const error = errorAgainstTruth(truth, noisy, centralRegion(16)).error;
    expect(error).toBeGreaterThan(0.03);
    expect(error).toBeLessThan(0.05);
  });

  it("the illuminated region is where the summed probe intensity reaches 0.1 of its maximum", () => {
    const probe = makeProbe(16);
    const views = Int32Array.from([10, 10, 10, 14, 14, 10, 14, 14]);
    const region = illuminatedRegion(probe, views, 48, 48);
    expect(region[(10 + 8 + 2) * 48 + 10 + 8 + 2]).toBe(1);
    expect(region[0]).toBe(0);
    expect(region[47 * 48 + 47]).toBe(0);
    const count = region.reduce((s, v) => s + v, 0);
    expect(count).toBeGreaterThan(50);
    expect(count).toBeLessThan(48 * 48 - 500);
  });
});
