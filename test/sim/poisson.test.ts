import { poissonFromNormal, poissonFromTable, poissonTable, POISSON_NORMAL_ABOVE, POISSON_TABLE_LENGTH } from "../../src/sim/poisson";
import { gaussianGenerator, mulberry32 } from "../../src/sim/random";

const DRAWS = 200000;

function moments(sample: number[]): { mean: number; variance: number; skewness: number } {
  const mean = sample.reduce((a, v) => a + v, 0) / sample.length;
  const variance = sample.reduce((a, v) => a + (v - mean) ** 2, 0) / sample.length;
  const skewness = sample.reduce((a, v) => a + (v - mean) ** 3, 0) / sample.length / variance ** 1.5;
  return { mean, variance, skewness };
}

function draw(mean: number, seed: number): number[] {
  const uniform = mulberry32(seed);
  const gaussian = gaussianGenerator(mulberry32(seed + 1));
  const cdf = new Float64Array(POISSON_TABLE_LENGTH);
  if (mean > POISSON_NORMAL_ABOVE) return Array.from({ length: DRAWS }, () => poissonFromNormal(mean, Math.sqrt(mean), gaussian()));
  const last = poissonTable(mean, cdf);
  const mode = Math.min(Math.floor(mean), last);
  return Array.from({ length: DRAWS }, () => poissonFromTable(cdf, last, mode, uniform()));
}

describe("Poisson draws", () => {
  it.each([0.05, 0.7, 3, 9.5, 10.5, 40, 5000])("has the mean, variance and skewness of a Poisson of mean %p", (mean) => {
    const m = moments(draw(mean, 11));
    const standardError = Math.sqrt(mean / DRAWS);
    expect(Math.abs(m.mean - mean)).toBeLessThan(5 * standardError);
    expect(m.variance / mean).toBeGreaterThan(0.97);
    expect(m.variance / mean).toBeLessThan(1.03);
    // Skewness 1/sqrt(mean), within sampling error (about sqrt(6 / DRAWS) = 0.0055) plus the approximation's.
    expect(Math.abs(m.skewness - 1 / Math.sqrt(mean))).toBeLessThan(0.03 + 0.05 / Math.sqrt(mean));
  });

  it("matches the probabilities of a Poisson of mean 3 (inversion from the mode)", () => {
    const sample = draw(3, 5);
    const histogram = new Array(15).fill(0);
    for (const k of sample) histogram[Math.min(k, 14)] += 1;
    let probability = Math.exp(-3);
    for (let k = 0; k < 12; k++) {
      const expected = probability * DRAWS;
      expect(Math.abs(histogram[k] - expected)).toBeLessThan(5 * Math.sqrt(expected) + 1);
      probability *= 3 / (k + 1);
    }
  });

  it("inverts the table exactly: the smallest k with u <= CDF(k), from any start", () => {
    const cdf = new Float64Array(POISSON_TABLE_LENGTH);
    const last = poissonTable(4, cdf);
    for (const u of [0, 0.01, cdf[0], cdf[0] + 1e-12, 0.5, cdf[4], 0.999999, 1 - 1e-12]) {
      const expected = cdf.findIndex((c, k) => k <= last && u <= c);
      for (const start of [0, 2, 4, last]) expect(poissonFromTable(cdf, last, start, u)).toBe(expected === -1 ? last + 1 : expected);
    }
  });
});
