import { DEFAULT_PHYSICS, extractView, makeProbe, simulatePhysics, viewTopLeft } from "../../src/sim/physics";
import { FFT2D, fftshift } from "../../src/numerics/fft2d";
import { objectPixelSizeM } from "../../src/numerics/geometry";

const small = { frameSize: 64, numPoints: 30, stepPx: 4, photonsPerFrame: 1e6 };

function sumOf(values: ArrayLike<number>, from = 0, to = values.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i];
  return sum;
}

describe("simulatePhysics", () => {
  const truth = simulatePhysics(small);
  const n = truth.frameSize;

  it("fills defaults and records the options used", () => {
    expect(truth.options).toEqual({ ...DEFAULT_PHYSICS, ...small });
    expect(truth.objectPixelSizeM).toBeCloseTo(objectPixelSizeM(800, 0.121, 64, DEFAULT_PHYSICS.pixelSizeM), 18);
    expect(truth.positionsM).toHaveLength(30);
    expect(truth.intensities).toHaveLength(30 * n * n);
  });

  it("keeps every view inside the object, on whole pixels, via viewTopLeft", () => {
    const { rows, cols } = truth.object;
    for (let j = 0; j < 30; j++) {
      const [row, col] = [truth.positionsPx[2 * j], truth.positionsPx[2 * j + 1]];
      expect(row).toBeGreaterThanOrEqual(0);
      expect(col).toBeGreaterThanOrEqual(0);
      expect(row + n).toBeLessThanOrEqual(rows);
      expect(col + n).toBeLessThanOrEqual(cols);
      expect(viewTopLeft(truth.positionsM[j], rows, cols, truth.objectPixelSizeM, n)).toEqual([row, col]);
      // Whole object pixels: y / psize is an integer.
      const yPx = truth.positionsM[j].y / truth.objectPixelSizeM;
      expect(Math.abs(yPx - Math.round(yPx))).toBeLessThan(1e-9);
    }
  });

  it("spreads the spiral: distinct positions about stepPx apart", () => {
    const keys = new Set<string>();
    let nearestSum = 0;
    for (let j = 0; j < 30; j++) {
      keys.add(`${truth.positionsPx[2 * j]},${truth.positionsPx[2 * j + 1]}`);
      let nearest = Infinity;
      for (let k = 0; k < 30; k++) {
        if (k === j) continue;
        const d = Math.hypot(truth.positionsPx[2 * j] - truth.positionsPx[2 * k], truth.positionsPx[2 * j + 1] - truth.positionsPx[2 * k + 1]);
        nearest = Math.min(nearest, d);
      }
      nearestSum += nearest;
    }
    expect(keys.size).toBeGreaterThan(25);
    const meanNearest = nearestSum / 30;
    expect(meanNearest).toBeGreaterThan(2);
    expect(meanNearest).toBeLessThan(8);
  });

  it("lays a raster out on a centred grid", () => {
    const raster = simulatePhysics({ ...small, pattern: "raster", numPoints: 9, jitterPx: 0 });
    const rowsPx = new Set<number>();
    const colsPx = new Set<number>();
    for (let j = 0; j < 9; j++) {
      rowsPx.add(raster.positionsPx[2 * j]);
      colsPx.add(raster.positionsPx[2 * j + 1]);
    }
    expect([...rowsPx].sort((a, b) => a - b)).toEqual([...colsPx].sort((a, b) => a - b));
    expect(rowsPx.size).toBe(3);
    expect(raster.positionsM[4]).toEqual({ x: 0, y: 0 });
  });

  it("has an object with amplitude in (0, 1] and phase within about +-1 rad, not flat", () => {
    const o = truth.object.data;
    let minAmp = Infinity;
    let maxAmp = 0;
    let minPhase = Infinity;
    let maxPhase = -Infinity;
    for (let i = 0; i < o.length / 2; i++) {
      const amp = Math.hypot(o[2 * i], o[2 * i + 1]);
      const phase = Math.atan2(o[2 * i + 1], o[2 * i]);
      minAmp = Math.min(minAmp, amp);
      maxAmp = Math.max(maxAmp, amp);
      minPhase = Math.min(minPhase, phase);
      maxPhase = Math.max(maxPhase, phase);
    }
    expect(minAmp).toBeGreaterThan(0);
    expect(maxAmp).toBeLessThanOrEqual(1 + 1e-6);
    expect(maxAmp - minAmp).toBeGreaterThan(0.3);
    expect(minPhase).toBeGreaterThan(-1.2);
    expect(maxPhase).toBeLessThan(1.2);
    expect(maxPhase - minPhase).toBeGreaterThan(1);
  });

  it("normalises the probe: unit power from makeProbe, photon-scaled in the truth", () => {
    const unit = makeProbe(n);
    expect(sumOf(unit.data.map((v) => v * v))).toBeCloseTo(1, 5);
    // Scaled so frames average photonsPerFrame: Parseval links probe power and frame sums.
    const frameSums = Array.from({ length: 30 }, (_, j) => sumOf(truth.intensities, j * n * n, (j + 1) * n * n));
    expect(sumOf(frameSums) / 30).toBeCloseTo(1e6, -1);
    const probePower = sumOf(truth.probe.data.map((v) => v * v));
    // An absorbing object lowers every frame below the clear-beam count N^2 sum |P|^2.
    for (const frameSum of frameSums) expect(frameSum).toBeLessThan(n * n * probePower);
  });

  it("centres the probe and keeps its far field off the detector edges (no wrap)", () => {
    const p = truth.probe.data;
    let power = 0;
    let cy = 0;
    let cx = 0;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const w = p[2 * (y * n + x)] ** 2 + p[2 * (y * n + x) + 1] ** 2;
        power += w;
        cy += w * y;
        cx += w * x;
      }
    }
    expect(cy / power).toBeCloseTo(n / 2, 0);
    expect(cx / power).toBeCloseTo(n / 2, 0);
    const frame = truth.intensities.subarray(0, n * n);
    let border = 0;
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (y < 4 || x < 4 || y >= n - 4 || x >= n - 4) border += frame[y * n + x];
    expect(border / sumOf(frame)).toBeLessThan(0.005);
    // ...but fills a good part of it: more than a tenth of the pixels carry 1e-3 of the peak.
    let peak = 0;
    for (const v of frame) peak = Math.max(peak, v);
    expect(frame.filter((v) => v > 1e-3 * peak).length).toBeGreaterThan(0.1 * n * n);
  });

  it("obeys Parseval and equals |FFT(P O_view)|^2 fftshifted", () => {
    const fft = new FFT2D(n, n);
    const wave = new Float64Array(2 * n * n);
    for (const j of [0, 17, 29]) {
      extractView(truth.object, truth.positionsPx[2 * j], truth.positionsPx[2 * j + 1], n, wave);
      let exitPower = 0;
      for (let i = 0; i < n * n; i++) {
        const [pr, pi, or, oi] = [truth.probe.data[2 * i], truth.probe.data[2 * i + 1], wave[2 * i], wave[2 * i + 1]];
        wave[2 * i] = pr * or - pi * oi;
        wave[2 * i + 1] = pr * oi + pi * or;
        exitPower += wave[2 * i] ** 2 + wave[2 * i + 1] ** 2;
      }
      const frame = truth.intensities.subarray(j * n * n, (j + 1) * n * n);
      expect(sumOf(frame) / (n * n * exitPower)).toBeCloseTo(1, 4);
      fft.forward(wave);
      const expected = Float64Array.from({ length: n * n }, (_, i) => wave[2 * i] ** 2 + wave[2 * i + 1] ** 2);
      fftshift(expected, n, n, 1);
      let peak = 0;
      for (const v of expected) peak = Math.max(peak, v);
      for (let i = 0; i < n * n; i += 7) expect(Math.abs(frame[i] - expected[i])).toBeLessThan(1e-4 * peak);
    }
  });

  it("is deterministic in its seed", () => {
    const again = simulatePhysics(small);
    expect(Buffer.from(again.object.data.buffer).equals(Buffer.from(truth.object.data.buffer))).toBe(true);
    expect(again.positionsPx).toEqual(truth.positionsPx);
    const other = simulatePhysics({ ...small, seed: 2 });
    expect(Buffer.from(other.object.data.buffer).equals(Buffer.from(truth.object.data.buffer))).toBe(false);
  });

  it("rejects invalid options with a readable message", () => {
    expect(() => simulatePhysics({ frameSize: 100 })).toThrow(/frameSize: expected power-of-two/);
    expect(() => simulatePhysics({ numPoints: 0 })).toThrow(/numPoints/);
  });
});
