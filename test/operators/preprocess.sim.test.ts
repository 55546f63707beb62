/**
 * End to end against the simulator's truth: raw FCCD frames (960 x 1152, ADC offsets and drift, dark level and
 * current, read noise, saturated long exposures) through grab and the whole chain with the true centre must give
 * the binned photon counts the simulator drew, within the read noise that survives preprocessing.
 *
 * sigma_eff of a binned pixel (photons), from the detector model: every detector pixel i of the b x b block adds
 * its read noise (sigma_r^2 + 2/12: the simulator rounds read noise and photon ADU to integers) scaled by s_i
 * (1 for the long exposure, t_long / t_short where the long one saturated); equalize subtracts the mean of the
 * 2 overscan pixels of its (row, channel), an error shared by the pixels of one block row (counted as fully
 * correlated, the conservative case); the dark mean adds 1 / darks of both. All over ADU per photon.
 */
import { from, lastValueFrom, pipe, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { ScanEvent } from "../../src/model/events";
import { layoutMaps } from "../../src/model/layout";
import { Frame, frameIndexOf, scanMetaFromStart, ScanMeta } from "../../src/model/scan";
import { SourceMessage } from "../../src/model/source";
import { centre } from "../../src/operators/centre";
import { darks } from "../../src/operators/darks";
import { descramble } from "../../src/operators/descramble";
import { equalize } from "../../src/operators/equalize";
import { grab } from "../../src/operators/grab";
import { hdr } from "../../src/operators/hdr";
import { noise } from "../../src/operators/noise";
import { photons } from "../../src/operators/photons";
import { preprocess } from "../../src/operators/preprocess";
import { subtract } from "../../src/operators/subtract";
import { PREPROCESS_DEFAULTS } from "../../src/preprocess/config";
import { simulateScan } from "../../src/sim/scan";

const NUM_POINTS = 3;
const DARKS = 4;
// The simulator's defaults (binning, photons enough to saturate the long exposure); everything below follows its truth.
const sim = simulateScan({ numPoints: NUM_POINTS, darksPerExposure: DARKS, seed: 5 });
const { truth, config } = sim;
const b = truth.binning;
const n = truth.frameSize;
const side = b * n;

function sourceMessages(acked: { count: number }): SourceMessage[] {
  return [
    { kind: "control", message: sim.start },
    ...Array.from(sim.frames(), (frame): SourceMessage => ({ kind: "frame", frame: envelope(frame, () => (acked.count += 1)) })),
    { kind: "control", message: { type: "stop" } },
  ];
}

/** Per binned pixel of each point: sigma_eff in photons, and whether the long exposure saturated in the block. */
function noiseModel(): { sigma: Float64Array; shortUsed: Uint8Array } {
  const maps = layoutMaps(config.layout);
  const [top, left] = truth.regionTopLeftYX;
  const times = config.exposureTimesS;
  const longest = times.indexOf(Math.max(...times));
  const shortest = times.indexOf(Math.min(...times));
  const ratio = times[longest] / times[shortest];
  const pixelVariance = (config.readNoiseAdu ** 2 + 2 / 12) * (1 + 1 / DARKS);
  const overscanVariance = (config.readNoiseAdu ** 2 / config.layout.overscanColumns) * (1 + 1 / DARKS);
  const sigma = new Float64Array(NUM_POINTS * n * n);
  const shortUsed = new Uint8Array(NUM_POINTS * n * n);
  for (let point = 0; point < NUM_POINTS; point++) {
    const long = sim.frame(frameIndexOf(sim.start, { point, exposure: longest })).data;
    for (let by = 0; by < n; by++) {
      for (let bx = 0; bx < n; bx++) {
        let variance = 0;
        let anyShort = 0;
        for (let dy = 0; dy < b; dy++) {
          let rowScale = 0;
          for (let dx = 0; dx < b; dx++) {
            const image = (top + by * b + dy) * maps.image[1] + left + bx * b + dx;
            const saturated = long[maps.imageToRaw[image]] >= config.saturationAdu;
            const scale = saturated ? ratio : 1;
            anyShort |= saturated ? 1 : 0;
            variance += scale * scale * pixelVariance;
            rowScale += scale;
          }
          variance += rowScale * rowScale * overscanVariance;
        }
        sigma[point * n * n + by * n + bx] = Math.sqrt(variance) / truth.aduPerPhoton;
        shortUsed[point * n * n + by * n + bx] = anyShort;
      }
    }
  }
  return { sigma, shortUsed };
}

/**
 * The simulator's `centreYX` is the corner of the zero-frequency b x b block (its frames are crop rows
 * [cy - bN/2, cy + bN/2) binned by b); the pattern's centre, which `centre` means and a centre of mass finds,
 * is the middle of that block, (b - 1) / 2 further on both axes.
 */
const patternCentre: [number, number] = [truth.centreYX[0] + (b - 1) / 2, truth.centreYX[1] + (b - 1) / 2];

describe("preprocess against the simulator", () => {
  const preprocessConfig = { centre: { yx: patternCentre }, crop: { size: side }, bin: { factor: b }, chunk: { size: 2 } };
  let events: ScanEvent<unknown, never>[];
  const acked = { count: 0 };

  beforeAll(async () => {
    events = await lastValueFrom(from(sourceMessages(acked)).pipe(grab(), preprocess(preprocessConfig), toArray()));
  });

  it("emits start, the chunks (2 + 1 points) and end; darks are acknowledged as folded, exposures once the chunks are let go", () => {
    expect(events.map((e) => e.kind)).toEqual(["start", "item", "item", "end"]);
    expect(acked.count).toBe(config.exposureTimesS.length * DARKS);
    events.forEach((e) => e.kind === "item" && e.item.ack());
    expect(acked.count).toBe(sim.totalFrames);
  });

  it("says the effective pixel size, shape and centre", () => {
    const start = events[0] as { kind: "start"; meta: ScanMeta };
    expect(start.meta.pixelSizeM).toBeCloseTo(config.physicalPixelSizeM * b, 15);
    expect(start.meta.pixelSizeM).toBeCloseTo(truth.options.pixelSizeM, 15);
    expect(start.meta.frameShape).toEqual([n, n]);
    // The zero frequency on the binned frame's centre pixel, as the simulator's truth puts it.
    expect(start.meta.centreYX).toEqual([n / 2, n / 2]);
  });

  it("matches the drawn counts within 3 sigma_eff on pixels above the noise threshold, recovering saturated pixels", () => {
    const chunks = events.flatMap((e) => (e.kind === "item" ? [e.item.value as { count: number; data: Float32Array; weights: Uint8Array; indices: Int32Array }] : []));
    const data = new Float32Array(NUM_POINTS * n * n);
    const weights = new Uint8Array(NUM_POINTS * n * n);
    for (const c of chunks) {
      c.indices.forEach((point, i) => {
        data.set(c.data.subarray(i * n * n, (i + 1) * n * n), point * n * n);
        weights.set(c.weights.subarray(i * n * n, (i + 1) * n * n), point * n * n);
      });
    }
    // Weights: 0 exactly where the simulator says no exposure of some detector pixel of the block was unsaturated.
    expect(Array.from(weights)).toEqual(Array.from(truth.drawnValid));

    const { sigma, shortUsed } = noiseModel();
    // Above the noise threshold: the block's mean per detector pixel is at least twice k x dark noise (in
    // photons), so the noise cut rarely removes a source pixel's photons.
    const darkNoisePhotons = Math.sqrt(config.readNoiseAdu ** 2 * 1.5 + 2 / 12) / truth.aduPerPhoton;
    const threshold = 2 * PREPROCESS_DEFAULTS.noiseK * darkNoisePhotons * b * b;
    let compared = 0;
    let outside = 0;
    let saturatedCompared = 0;
    let saturatedOutside = 0;
    for (let i = 0; i < data.length; i++) {
      if (truth.drawnValid[i] === 0 || truth.drawnCounts[i] < threshold) continue;
      const expected = Math.max(0, truth.drawnCounts[i] - PREPROCESS_DEFAULTS.floorPhotons);
      const off = Math.abs(data[i] - expected) > 3 * sigma[i];
      compared += 1;
      outside += off ? 1 : 0;
      if (shortUsed[i]) {
        saturatedCompared += 1;
        saturatedOutside += off ? 1 : 0;
      }
    }
    // Allowed outside 3 sigma: 1 % (Gaussian noise alone puts 0.27 % there).
    expect(compared).toBeGreaterThan(1000);
    expect(outside / compared).toBeLessThan(0.01);
    // The long exposure saturates in the bright field: those pixels came back from the short exposure.
    expect(saturatedCompared).toBeGreaterThan(10);
    expect(saturatedOutside / saturatedCompared).toBeLessThan(0.01);
  });

  it("finds the centre from the first frames within 1 pixel of the pattern's centre, and then gives the same frames", async () => {
    const found = await lastValueFrom(
      from(sourceMessages({ count: 0 })).pipe(
        grab(),
        pipe(equalize(), descramble(), darks(), subtract(), noise(), hdr(), photons(), centre({ frames: NUM_POINTS })),
        toArray(),
      ),
    );
    const meta = found.find((e) => e.kind === "meta") as { kind: "meta"; meta: ScanMeta };
    expect(Math.abs(meta.meta.centreYX![0] - patternCentre[0])).toBeLessThan(1);
    expect(Math.abs(meta.meta.centreYX![1] - patternCentre[1])).toBeLessThan(1);
    expect(found.filter((e) => e.kind === "item").map((e) => (e.kind === "item" ? (e.item.value as Frame).index : -1))).toEqual([0, 1, 2]);

    // The whole chain with the centre found: within half a pixel of the truth it picks the same window.
    const auto = await lastValueFrom(
      from(sourceMessages({ count: 0 })).pipe(grab(), preprocess({ ...preprocessConfig, centre: { frames: NUM_POINTS } }), toArray()),
    );
    const dataOf = (stream: ScanEvent<unknown, never>[]) => stream.flatMap((e) => (e.kind === "item" ? [Array.from((e.item.value as { data: Float32Array }).data)] : []));
    expect(auto.map((e) => e.kind)).toEqual(["start", "meta", "item", "item", "end"]);
    expect(dataOf(auto)).toEqual(dataOf(events));
  });
});
