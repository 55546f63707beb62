/** Simulated scans with known truth for the engine tests (64 x 64 frames, 150 positions: seconds, not minutes). */
import { simulatePhysics, ScanTruth } from "../../src/sim/physics";
import { gaussianGenerator, mulberry32 } from "../../src/sim/random";
import { ComplexImage } from "../../src/model/scan";
import { createEngine, EngineSetup, FrameBatch, ReconstructionEngine } from "../../src/engines";
import { errorAgainstTruth, illuminatedRegion } from "../../src/numerics/quality";

export const FRAME_SIZE = 64;

export interface TestScan {
  truth: ScanTruth;
  /** What the engine sees: ideal or Poisson-drawn intensities. */
  intensities: Float32Array;
  region: Uint8Array;
  setup: EngineSetup;
}

/** A Poisson draw per pixel: inversion for small means, the normal approximation above 50 photons. */
export function poissonNoise(ideal: Float32Array, seed: number): Float32Array {
  const uniform = mulberry32(seed);
  const gaussian = gaussianGenerator(uniform);
  return ideal.map((mean) => {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian()));
    const limit = Math.exp(-mean);
    let k = 0;
    let product = uniform();
    while (product > limit) {
      k++;
      product *= uniform();
    }
    return k;
  });
}

export function testScan(options: { photonsPerFrame: number; poisson: boolean; seed?: number }): TestScan {
  const truth = simulatePhysics({ frameSize: FRAME_SIZE, numPoints: 150, stepPx: 4, photonsPerFrame: options.photonsPerFrame, seed: options.seed ?? 1 });
  return {
    truth,
    intensities: options.poisson ? poissonNoise(truth.intensities, 77) : truth.intensities,
    region: illuminatedRegion(truth.probe, truth.positionsPx, truth.object.rows, truth.object.cols),
    setup: { frameSize: FRAME_SIZE, objectShape: [truth.object.rows, truth.object.cols], objectPixelSizeM: truth.objectPixelSizeM },
  };
}

/** Frames [from, to) of the scan as an engine batch. */
export function batchOf(scan: TestScan, from = 0, to = scan.truth.positionsPx.length / 2): FrameBatch {
  const area = FRAME_SIZE * FRAME_SIZE;
  return { intensities: scan.intensities.subarray(from * area, to * area), viewsTopLeft: scan.truth.positionsPx.subarray(2 * from, 2 * to) };
}

export function truthError(scan: TestScan, engine: ReconstructionEngine): number {
  return errorAgainstTruth(scan.truth.object, engine.object, scan.region).error;
}

/** An engine on `scan` fed all frames at once (or the batches given, iterating `between` after each), then iterated. */
export async function reconstruct(
  scan: TestScan,
  options: object,
  iterations: number,
  feed: { batches?: Array<[number, number]>; between?: number; initialProbe?: ComplexImage } = {},
): Promise<ReconstructionEngine> {
  const engine = createEngine(options, { ...scan.setup, initialProbe: feed.initialProbe });
  for (const [from, to] of feed.batches ?? [[0, scan.truth.positionsPx.length / 2]]) {
    engine.addFrames(batchOf(scan, from, to));
    if (feed.between) await engine.iterate(feed.between);
  }
  await engine.iterate(iterations);
  return engine;
}
