import { simulateScan, resolveSimulatorConfig, SimulatorConfig } from "../../src/sim/scan";
import { FccdModel } from "../../src/sim/fccd";
import { simulatePhysics } from "../../src/sim/physics";
import { decodeOrThrow } from "../../src/model/codec";
import { StartMessage } from "../../src/model/frameserver";
import { layoutMaps } from "../../src/model/layout";
import { frameIndexOf, frameRole, RawFrame } from "../../src/model/scan";

/** A small scan: N = 64 frames binned by 2 from 128 x 128 detector pixels, on the full FCCD raw layout. */
const small: Partial<SimulatorConfig> = {
  frameSize: 64,
  numPoints: 6,
  stepPx: 4,
  photonsPerFrame: 1.25e7,
  darksPerExposure: 3,
};
const scan = simulateScan(small);
const maps = layoutMaps(scan.start.layout!);
const [imageRows, imageCols] = maps.image;
const n = 64;
const b = scan.truth.binning;
const side = n * b;

function descramble(frame: RawFrame): Uint16Array {
  return Uint16Array.from(maps.imageToRaw, (raw) => frame.data[raw]);
}

const exposureFrame = (s: typeof scan, point: number, exposure: number) => s.frame(frameIndexOf(s.start, { point, exposure }));

describe("simulateScan: start message and frame order", () => {
  it("produces a start that decodes with the StartMessage codec and carries what preprocessing needs", () => {
    const start = decodeOrThrow(StartMessage, JSON.parse(JSON.stringify(scan.start)));
    expect(start).toMatchObject({
      type: "start",
      energyEv: 800,
      distanceM: 0.121,
      pixelSizeM: 30e-6,
      exposureTimesS: [0.002, 0.02],
      darksPerExposure: 3,
      numPoints: 6,
      gainAduPerEv: 0.004,
      saturationAdu: 15000,
      detectorShape: [960, 960],
      profile: "cosmic-fccd",
      readNoiseAdu: 2.5,
    });
    expect(start.positionsM).toEqual(scan.truth.positionsM);
    expect(scan.totalFrames).toBe(2 * (3 + 6));
    // The physics sees the effective pixel: physical pixel x binning.
    expect(scan.truth.options.pixelSizeM).toBeCloseTo(30e-6 * b, 12);
  });

  it("serves every frame in acquisition order from any index, and refuses frames beyond the scan", () => {
    const indices = [...scan.frames(15)].map((f) => f.index);
    expect(indices).toEqual([15, 16, 17]);
    const first = scan.frame(0);
    expect([first.rows, first.cols, first.dtype, first.data.length]).toEqual([960, 1152, "uint16", 960 * 1152]);
    expect(() => scan.frame(scan.totalFrames)).toThrow(RangeError);
    expect(() => scan.frame(-1)).toThrow(RangeError);
  });
});

describe("simulateScan: detector model", () => {
  it("descrambles to the image: signal only in the off-centre region, photons x gain on the dark, centre as stated", () => {
    // No noise and no drift, so the image minus the expected dark is exactly the photons' ADU.
    const quiet = simulateScan({ ...small, readNoiseAdu: 0, adcDriftAdu: 0, rowDriftAdu: 0, photonsPerFrame: 2e6 });
    const image = descramble(exposureFrame(quiet, 2, 1));
    const dark = quiet.expectedDarkAdu(1);
    const [top, left] = quiet.truth.regionTopLeftYX;
    let outside = 0;
    let total = 0;
    let cy = 0;
    let cx = 0;
    const photons = new Float32Array(n * n);
    for (let y = 0; y < imageRows; y++) {
      for (let x = 0; x < imageCols; x++) {
        const signal = image[y * imageCols + x] - dark[y * imageCols + x];
        const inside = y >= top && y < top + side && x >= left && x < left + side;
        if (!inside) outside += Math.abs(signal);
        else {
          total += signal;
          cy += signal * y;
          cx += signal * x;
          photons[Math.floor((y - top) / b) * n + Math.floor((x - left) / b)] += Math.round(signal / quiet.truth.aduPerPhoton);
        }
      }
    }
    expect(outside).toBe(0);
    expect(total).toBeGreaterThan(0);
    // The photons binned back are exactly the drawn counts (long exposure, nothing saturated at this flux).
    expect(Array.from(photons)).toEqual(Array.from(quiet.truth.drawnCounts.subarray(2 * n * n, 3 * n * n)));
    // The pattern's centre of mass is near the stated centre (+ (b-1)/2 inside the block).
    expect(Math.abs(cy / total - (quiet.truth.centreYX[0] + (b - 1) / 2))).toBeLessThan(2);
    expect(Math.abs(cx / total - (quiet.truth.centreYX[1] + (b - 1) / 2))).toBeLessThan(2);
    // The region straddles the two readout halves, so the rot180 half is exercised.
    expect(top < imageRows / 2 && top + side > imageRows / 2).toBe(true);
  });

  it("keeps the overscan free of signal and lets it recover each frame's (row, channel) offsets", () => {
    const { channels, overscanColumns } = scan.start.layout!;
    const residuals: number[] = [];
    const offsetsByFrame: Float32Array[] = [];
    for (const index of [0, frameIndexOf(scan.start, { point: 3, exposure: 1 })]) {
      const frame = scan.frame(index);
      const offsets = scan.adcOffsetsAdu(index);
      offsetsByFrame.push(offsets);
      for (let rc = 0; rc < maps.raw[0] * channels; rc++) {
        let sum = 0;
        for (let k = 0; k < overscanColumns; k++) sum += frame.data[maps.overscan[rc * overscanColumns + k]];
        residuals.push(sum / overscanColumns - offsets[rc]);
      }
    }
    const mean = residuals.reduce((a, v) => a + v, 0) / residuals.length;
    const sd = Math.sqrt(residuals.reduce((a, v) => a + (v - mean) ** 2, 0) / residuals.length);
    // Overscan mean = offset + read noise / sqrt(2) (+ integer rounding): no signal even in an exposure frame.
    expect(Math.abs(mean)).toBeLessThan(0.05);
    const expectedSd = Math.sqrt((2.5 ** 2 + 1 / 12) / 2 + 1 / 12);
    expect(sd).toBeGreaterThan(0.85 * expectedSd);
    expect(sd).toBeLessThan(1.15 * expectedSd);
    // The offsets drift from frame to frame (row common mode 4 ADU, channel 8 ADU).
    const drift = offsetsByFrame[1].map((v, k) => v - offsetsByFrame[0][k]);
    const driftSd = Math.sqrt(drift.reduce((a, v) => a + v * v, 0) / drift.length);
    expect(driftSd).toBeGreaterThan(5);
    expect(driftSd).toBeLessThan(20);
  });

  it("saturates the long exposure in the bright centre, never the short one nor a dark", () => {
    const saturation = scan.start.saturationAdu;
    const count = (frame: RawFrame) => {
      let saturated = 0;
      for (let i = 0; i < frame.data.length; i++) if (frame.data[i] >= saturation) saturated += 1;
      return saturated;
    };
    const long = exposureFrame(scan, 1, 1);
    expect(count(long)).toBeGreaterThan(50);
    expect(count(exposureFrame(scan, 1, 0))).toBe(0);
    expect(count(scan.frame(0))).toBe(0);
    expect(count(scan.frame(scan.start.darksPerExposure))).toBe(0);
    // Saturated pixels sit within the central quarter of the region around the centre.
    const image = descramble(long);
    const [cy, cx] = scan.truth.centreYX;
    for (let i = 0; i < image.length; i++) {
      if (image[i] < saturation) continue;
      expect(Math.abs(Math.floor(i / imageCols) - cy)).toBeLessThan(side / 2);
      expect(Math.abs((i % imageCols) - cx)).toBeLessThan(side / 2);
    }
  });

  it("has darks per exposure time: the longer exposure collects dark current", () => {
    const short = scan.expectedDarkAdu(0);
    const long = scan.expectedDarkAdu(1);
    let difference = 0;
    for (let i = 0; i < short.length; i++) difference += long[i] - short[i];
    // 2000 ADU/s on average over the 18 ms between the two exposures.
    expect(difference / short.length).toBeCloseTo(36, 0);
    // A dark frame of the long exposure averages its expected dark: the noise averages out, and what is left is
    // this frame's drift, whose mean over 96 channels (8 ADU) and 960 rows (4 ADU) has a spread of 0.83 ADU.
    const image = descramble(scan.frame(3));
    let mean = 0;
    for (let i = 0; i < image.length; i++) mean += image[i] - long[i];
    expect(Math.abs(mean / image.length)).toBeLessThan(3.5);
  });

  it("draws photons consistent with the ideal intensities (drawnCounts)", () => {
    const drawn = scan.truth.drawnCounts;
    const ideal = scan.truth.intensities;
    let drawnSum = 0;
    let idealSum = 0;
    let z = 0;
    let z2 = 0;
    let m = 0;
    for (let i = 0; i < ideal.length; i++) {
      drawnSum += drawn[i];
      idealSum += ideal[i];
      // Unsaturated in the long exposure for sure: plain Poisson there, so (D - I) / sqrt(I) is about N(0, 1).
      if (ideal[i] > 20 && ideal[i] < 4000) {
        const score = (drawn[i] - ideal[i]) / Math.sqrt(ideal[i]);
        z += score;
        z2 += score * score;
        m += 1;
      }
    }
    expect(drawnSum / idealSum).toBeGreaterThan(0.99);
    expect(drawnSum / idealSum).toBeLessThan(1.01);
    expect(m).toBeGreaterThan(1000);
    expect(Math.abs(z / m)).toBeLessThan(0.1);
    expect(z2 / m).toBeGreaterThan(0.85);
    expect(z2 / m).toBeLessThan(1.15);
    // With 2 and 20 ms, the short exposure never saturates here, so every binned pixel is recoverable.
    expect(scan.truth.drawnValid.every((v) => v === 1)).toBe(true);
  });

  it("bins by 4 as well: a 128 x 128 region for 32 x 32 frames, the same photons in total", () => {
    const four = simulateScan({ ...small, frameSize: 32, numPoints: 2, stepPx: 2, binning: 4, photonsPerFrame: 2e6 });
    const [top, left] = four.truth.regionTopLeftYX;
    expect(four.truth.centreYX).toEqual([top + 64, left + 64]);
    expect(four.truth.options.pixelSizeM).toBeCloseTo(120e-6, 12);
    let drawn = 0;
    let ideal = 0;
    for (let i = 0; i < four.truth.intensities.length; i++) {
      drawn += four.truth.drawnCounts[i];
      ideal += four.truth.intensities[i];
    }
    expect(Math.abs(drawn / ideal - 1)).toBeLessThan(0.01);
  });

  it("marks blocks saturated in every exposure as invalid", () => {
    const single = simulateScan({ ...small, numPoints: 2, exposureTimesS: [0.02], darksPerExposure: 1 });
    const invalid = single.truth.drawnValid.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
    expect(invalid).toBeGreaterThan(10);
    expect(invalid).toBeLessThan(n * n);
  });
});

describe("simulateScan: determinism and speed paths", () => {
  it("gives the same bytes for the same seed and index, different bytes for another seed", () => {
    const index = frameIndexOf(scan.start, { point: 4, exposure: 0 });
    const again = simulateScan(small);
    const a = Buffer.from(scan.frame(index).data.buffer);
    expect(Buffer.from(again.frame(index).data.buffer).equals(a)).toBe(true);
    // Random access: the same frame made after others is the same.
    again.frame(1);
    expect(Buffer.from(again.frame(index).data.buffer).equals(a)).toBe(true);
    expect(Buffer.from(scan.frame(index + 1).data.buffer).equals(a)).toBe(false);
    const other = simulateScan({ ...small, seed: 7 });
    expect(Buffer.from(other.frame(index).data.buffer).equals(a)).toBe(false);
  });

  it("renders the same bytes on the packed (two pixels per int32) and the plain path", () => {
    const config = resolveSimulatorConfig(small);
    const physics = simulatePhysics({ ...config, pixelSizeM: config.physicalPixelSizeM * config.binning });
    const packed = new FccdModel(config, physics, true);
    const plain = new FccdModel(config, physics, false);
    const a = new Uint16Array(packed.rawSize);
    const c = new Uint16Array(plain.rawSize);
    for (const index of [0, 4, frameIndexOf(config, { point: 0, exposure: 1 }), frameIndexOf(config, { point: 5, exposure: 0 })]) {
      packed.render(index, a);
      plain.render(index, c);
      expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(true);
      expect(frameRole(config, index).kind).not.toBe("beyond");
    }
  });

  it("rejects a configuration whose region leaves the detector, with the reason", () => {
    expect(() => simulateScan({ ...small, centreOffsetYX: [450, 0] })).toThrow(/does not fit the 960 x 960 detector image/);
    expect(() => simulateScan({ ...small, saturationAdu: 70000 })).toThrow(/uint16/);
  });
});
