/**
 * The simulator's raw frames per second (issue 3: at least 300 raw frames/s of the default 960 x 1152 layout on
 * one core, against COSMIC's detector at about 78 frames/s), over the default scan's acquisition mix (10 darks
 * per exposure time, then 100 points of short + long exposures), each frame a fresh buffer as `frame()` gives
 * the sources.
 *
 * Baseline, in the same run: the same detector model written the obvious way, with a Math.random draw per pixel
 * (Box-Muller read noise, Knuth's Poisson), as a simulator without pools would be. A plain copy of a raw frame is
 * in the detail as the ceiling (memory bandwidth), and the rate into one reused buffer (`frameInto`) shows what the
 * fresh buffer per frame costs.
 */
import { Bench, Measurement } from "./harness";
import { simulateScan, SimulatedScan } from "../src/sim/scan";
import { layoutMaps } from "../src/model/layout";
import { frameRole } from "../src/model/scan";

let scan: SimulatedScan;

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function knuthPoisson(mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian()));
  const limit = Math.exp(-mean);
  let k = 0;
  let product = Math.random();
  while (product > limit) {
    k++;
    product *= Math.random();
  }
  return k;
}

/** The naive simulator: the same model, one Math.random call (or more) per pixel. */
function naiveFrame(sim: SimulatedScan, index: number, darks: Float32Array[], rawToImage: Int32Array): Uint16Array {
  const { config, truth } = sim;
  const maps = layoutMaps(config.layout);
  const [rawRows, rawCols] = maps.raw;
  const [, imageCols] = maps.image;
  const role = frameRole(config, index);
  if (role.kind === "beyond") throw new RangeError(`frame ${index}`);
  const out = new Uint16Array(rawRows * rawCols);
  const stride = config.layout.dataColumns + config.layout.overscanColumns;
  const channelDrift = Array.from({ length: config.layout.channels }, () => config.adcDriftAdu * gaussian());
  const rowDrift = Array.from({ length: rawRows }, () => config.rowDriftAdu * gaussian());
  const signal = new Float32Array(maps.image[0] * imageCols);
  if (role.kind === "exposure") {
    const b = truth.binning;
    const n = truth.frameSize;
    const [top, left] = truth.regionTopLeftYX;
    const scale = config.exposureTimesS[role.exposure] / Math.max(...config.exposureTimesS) / (b * b);
    for (let y = 0; y < b * n; y++) {
      for (let x = 0; x < b * n; x++) {
        const mean = truth.intensities[role.point * n * n + Math.floor(y / b) * n + Math.floor(x / b)] * scale;
        signal[(top + y) * imageCols + left + x] = knuthPoisson(mean) * truth.aduPerPhoton;
      }
    }
  }
  const dark = darks[role.exposure];
  for (let row = 0; row < rawRows; row++) {
    for (let column = 0; column < rawCols; column++) {
      const raw = row * rawCols + column;
      const image = rawToImage[raw];
      const level = image >= 0 ? dark[image] + signal[image] : config.baselineAdu;
      const value = Math.round(level + rowDrift[row] + channelDrift[Math.floor(column / stride)] + config.readNoiseAdu * gaussian());
      out[raw] = Math.min(config.saturationAdu, Math.max(0, value));
    }
  }
  return out;
}

function exposureMix(sim: SimulatedScan, count: number): number[] {
  // Evenly spread over the whole scan, so darks and exposures come in the scan's proportions.
  return Array.from({ length: count }, (_, k) => Math.floor((k * sim.totalFrames) / count));
}

export const benches: Bench[] = [
  (() => {
    let darks: Float32Array[] = [];
    let rawToImage: Int32Array;
    let source: Uint16Array;
    return {
      name: "sim-raw-frames",
      unit: "frames/s",
      higherIsBetter: true,
      runs: 5,
      setup: () => {
        scan = simulateScan({});
        darks = scan.config.exposureTimesS.map((_, e) => scan.expectedDarkAdu(e));
        const maps = layoutMaps(scan.config.layout);
        rawToImage = new Int32Array(maps.raw[0] * maps.raw[1]).fill(-1);
        maps.imageToRaw.forEach((raw, image) => (rawToImage[raw] = image));
        source = scan.frame(scan.totalFrames - 1).data as Uint16Array;
        for (let index = 0; index < 40; index++) scan.frame(index); // warm-up
      },
      measure: (): Measurement => {
        const indices = exposureMix(scan, scan.totalFrames);
        const started = performance.now();
        let checksum = 0;
        for (const index of indices) checksum += scan.frame(index).data[12345];
        const seconds = (performance.now() - started) / 1000;
        // The same frames into one reused buffer: what allocating a fresh 2.2 MB buffer per frame costs.
        const reused = new Uint16Array(source.length);
        const reusedStarted = performance.now();
        for (const index of indices) scan.frameInto(index, reused);
        const reusedSeconds = (performance.now() - reusedStarted) / 1000;
        const copies = 200;
        const copyStarted = performance.now();
        for (let k = 0; k < copies; k++) new Uint16Array(source.length).set(source);
        const copySeconds = (performance.now() - copyStarted) / 1000;
        return {
          value: indices.length / seconds,
          detail: {
            frames: indices.length,
            layout: `${scan.frame(0).rows}x${scan.frame(0).cols} uint16`,
            darkShare: Number((scan.start.darksPerExposure * scan.start.exposureTimesS.length / scan.totalFrames).toFixed(3)),
            reusedBufferFramesPerS: Math.round(indices.length / reusedSeconds),
            copyFramesPerS: Math.round(copies / copySeconds),
            checksum,
          },
        };
      },
      baseline: {
        name: "Math.random per pixel",
        measure: () => {
          const indices = exposureMix(scan, 11);
          const started = performance.now();
          for (const index of indices) naiveFrame(scan, index, darks, rawToImage);
          return indices.length / ((performance.now() - started) / 1000);
        },
      },
    };
  })(),
];
