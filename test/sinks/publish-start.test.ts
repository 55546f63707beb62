/**
 * The cosmicstreams `start` our publisher builds: every key PtyPy's loader requires, with its type; PtyPy's units
 * (energy in J, geometry.psize x 1e-6, geometry.distance x 1e-3); the processed frame width and pixel size; a
 * raster holding every frame; and a probe guess carrying the measured photons. The check itself must catch a
 * missing key.
 */
import { CosmicStart, PTYPY_REQUIRED_GEOMETRY_KEYS, PTYPY_REQUIRED_LASTSCAN_KEYS, PTYPY_REQUIRED_START_KEYS, distanceFromWire, psizeFromWire } from "../../src/model/cosmicstreams";
import { decodeEither } from "../../src/model/codec";
import { Chunk } from "../../src/model/scan";
import { FFT2D, fftshift } from "../../src/numerics/fft2d";
import { buildCosmicStart, cosmicStartWithProbe, illuminationGuess, ptypyStartProblems, scanGrid } from "../../src/sinks/cosmic-start";
import { scanMeta, syntheticChunk } from "./fixtures";

const JOULES_PER_EV = 1.602176634e-19;
const positions = Array.from({ length: 10 }, (_, i) => ({ x: 1e-6 * (i % 4), y: 2e-6 * Math.floor(i / 4) }));
const processed = scanMeta({ frameShape: [8, 8], pixelSizeM: 60e-6, numPoints: 10, positionsM: positions });
const firstChunk = syntheticChunk(0, 0, 4, processed);

const photonsPerFrame = (chunk: Chunk): number => {
  let sum = 0;
  for (let k = 0; k < chunk.data.length; k++) if (chunk.weights[k]) sum += chunk.data[k];
  return sum / chunk.count;
};
/** Per pixel, the mean of its valid values over the chunk's frames (0 where never valid). */
const meanValidPattern = (chunk: Chunk): number[] => {
  const size = chunk.rows * chunk.cols;
  return Array.from({ length: size }, (_, k) => {
    let sum = 0;
    let n = 0;
    for (let f = 0; f < chunk.count; f++) {
      if (chunk.weights[f * size + k]) {
        sum += chunk.data[f * size + k];
        n += 1;
      }
    }
    return n > 0 ? sum / n : 0;
  });
};
const probePower = (data: Float32Array): number => {
  let sum = 0;
  for (let k = 0; k < data.length; k += 2) sum += data[k] * data[k] + data[k + 1] * data[k + 1];
  return sum;
};

describe("cosmicstreams start for PtyPy", () => {
  const start = buildCosmicStart(processed, firstChunk, { address: "tcp://127.0.0.1:23000" });

  it("passes the CosmicStart codec, every required key list and PtyPy's full loader model", () => {
    expect(decodeEither(CosmicStart, start).ok).toBe(true);
    expect(ptypyStartProblems(start)).toEqual([]);
    for (const key of PTYPY_REQUIRED_START_KEYS) expect(start).toHaveProperty([key]);
    for (const key of PTYPY_REQUIRED_GEOMETRY_KEYS) expect(start.geometry).toHaveProperty([key]);
    for (const key of PTYPY_REQUIRED_LASTSCAN_KEYS) expect(start.lastScan).toHaveProperty([key]);
    expect(typeof start.header).toBe("string");
    // JSON as it goes on the wire: no NaN, nothing lost.
    expect(JSON.parse(JSON.stringify(start))).toEqual(start);
  });

  it("converts units at the edge: energy in J, psize x 1e-6, distance x 1e-3, metres elsewhere", () => {
    expect(start.energy).toBeCloseTo(800 * JOULES_PER_EV, 30);
    expect(start.geometry.psize).toBeCloseTo(60e-6 * 1e-6, 25);
    expect(start.geometry.distance).toBeCloseTo(0.121 * 1e-3, 15);
    expect(psizeFromWire(start.geometry.psize)).toBeCloseTo(60e-6, 15);
    expect(distanceFromWire(start.geometry.distance)).toBeCloseTo(0.121, 12);
    expect(start.detector_distance).toBe(0.121);
    expect(start.x_pixel_size).toBe(60e-6);
    expect(start.y_pixel_size).toBe(60e-6);
    // object pixel = lambda z / (N dx) = (1.5498 nm x 0.121 m) / (8 x 60 um)
    expect(start.geometry.resolution).toBeCloseTo((1.239841984e-6 / 800) * 0.121 / (8 * 60e-6), 15);
    expect(start.translations).toEqual(positions.map((p) => [p.y, p.x]));
  });

  it("describes the processed frames: width, one merged frame per point, no second binning, a raster holding them", () => {
    expect(start.output_frame_width).toBe(8);
    expect(start.geometry.shape).toBe(8);
    expect(start.geometry.rebin).toBe(1);
    expect(start.double_exposure).toBe(false);
    expect(start.exp_num_total).toBe(10);
    expect(start.exp_num_x * start.exp_num_y).toBeGreaterThanOrEqual(10);
    expect(start.dtype).toBe("float32");
    expect(start.identifier).toBe("scan-007");
    expect(start.server.dataPort).toBe(23000);
  });

  it("finds the smallest near-square raster for any number of points", () => {
    for (const points of [1, 2, 3, 10, 17, 400, 401, 1000]) {
      const grid = scanGrid(points);
      expect(grid.x * grid.y).toBeGreaterThanOrEqual(points);
      expect(grid.x * (grid.y - 1)).toBeLessThan(points);
      expect(Math.abs(grid.x - grid.y)).toBeLessThanOrEqual(1);
    }
  });

  it("guesses the probe from the mean pattern: its far field has the mean measured modulus", () => {
    const probe = illuminationGuess(firstChunk);
    const mean = meanValidPattern(firstChunk);
    expect(probePower(probe.data) / mean.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Forward again (unitary, centred): |F P|^2 is the chunk's mean valid intensity per pixel.
    const wave = Float64Array.from(probe.data);
    fftshift(wave, 8, 8, 2);
    new FFT2D(8, 8).forward(wave);
    fftshift(wave, 8, 8, 2);
    for (let k = 0; k < 64; k++) {
      const intensity = (wave[2 * k] ** 2 + wave[2 * k + 1] ** 2) / 64;
      expect(intensity / mean[k]).toBeCloseTo(1, 4);
    }
    expect(start.illumination_real).toHaveLength(8);
    expect(start.illumination_real[3][5]).toBeCloseTo(probe.data[2 * (3 * 8 + 5)], 6);
    expect(start.illumination_imag[3][5]).toBeCloseTo(probe.data[2 * (3 * 8 + 5) + 1], 6);
  });

  it("falls back to a flat disc with the mean photons for widths that are not powers of two", () => {
    const odd = syntheticChunk(0, 0, 3, scanMeta({ frameShape: [6, 6], numPoints: 3 }));
    const probe = illuminationGuess(odd);
    expect(probePower(probe.data)).toBeCloseTo(photonsPerFrame(odd), 1);
    expect(probe.data[2 * (3 * 6 + 3)]).toBeGreaterThan(0); // centre inside the disc
    expect(probe.data[0]).toBe(0); // corner outside
    const s = buildCosmicStart(scanMeta({ frameShape: [6, 6], numPoints: 3 }), odd);
    expect(ptypyStartProblems(s)).toEqual([]);
    expect(s.illumination_mask[0][0]).toBe(0);
    expect(s.illumination_mask[3][3]).toBe(1);
  });

  it("reports each missing or mistyped key by name", () => {
    const without = (key: string) => Object.fromEntries(Object.entries(start).filter(([k]) => k !== key));
    for (const key of PTYPY_REQUIRED_START_KEYS) {
      expect(ptypyStartProblems(without(key)).some((p) => p.startsWith(`${key}:`))).toBe(true);
    }
    for (const key of PTYPY_REQUIRED_GEOMETRY_KEYS) {
      const geometry = Object.fromEntries(Object.entries(start.geometry).filter(([k]) => k !== key));
      expect(ptypyStartProblems({ ...start, geometry })).toContain(`geometry.${key}: missing`);
    }
    for (const key of PTYPY_REQUIRED_LASTSCAN_KEYS) {
      const lastScan = Object.fromEntries(Object.entries(start.lastScan).filter(([k]) => k !== key));
      expect(ptypyStartProblems({ ...start, lastScan })).toContain(`lastScan.${key}: missing`);
    }
    expect(ptypyStartProblems({ ...start, header: {} }).join("\n")).toMatch(/header: expected string/);
    expect(ptypyStartProblems({ ...start, exp_num_x: 2, exp_num_y: 2 }).join("\n")).toMatch(/holds fewer than the 10 frames/);
    expect(ptypyStartProblems({ ...start, illumination_real: [[0]] }).join("\n")).toMatch(/illumination_real: expected 8 x 8/);
  });

  it("takes a given probe (a simulator's true one) as the guess", () => {
    const probe = illuminationGuess(syntheticChunk(0, 5, 2, processed));
    const given = cosmicStartWithProbe(processed, probe, 1);
    expect(ptypyStartProblems(given)).toEqual([]);
    expect(given.illumination_real.flat()).toEqual(Array.from({ length: 64 }, (_, k) => probe.data[2 * k]));
    expect(given.illumination_imag.flat()).toEqual(Array.from({ length: 64 }, (_, k) => probe.data[2 * k + 1]));
    expect(given.dp_fraction_for_illumination_init).toBe(1);
    expect(start.dp_fraction_for_illumination_init).toBeCloseTo(0.4, 12); // 4 of 10 patterns
  });

  it("refuses non-square frames and lets the beamline add what the pipeline cannot know", () => {
    const wide = syntheticChunk(0, 0, 2, scanMeta({ frameShape: [8, 16] }));
    expect(() => buildCosmicStart(wide.meta, wide)).toThrow(/square/);
    const extra = buildCosmicStart(processed, firstChunk, { identifier: "NS_230101001", extra: { header: "/data/NS_230101001.stxm" } });
    expect(extra.identifier).toBe("NS_230101001");
    expect(extra.header).toBe("/data/NS_230101001.stxm");
    expect(() => buildCosmicStart(processed, firstChunk, { extra: { exp_num_total: 1.5 } })).toThrow(/exp_num_total/);
  });
});
