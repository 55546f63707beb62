/**
 * Seconds per iteration of DM and ePIE, one thread, on a simulated scan of 250 frames of 128 x 128 (the
 * issue's case). PtyPy's CPU engines take about 0.32 s (DM) and 0.6 s (ePIE) per iteration on such a scan on
 * this machine, one process. The engines are warmed up past `probeUpdateStart` first, so the figures include the
 * probe update (and DM's inner object/probe loop) as a steady-state iteration does.
 */
import { Bench } from "./harness";
import { createEngine, ReconstructionEngine } from "../src/engines";
import { simulatePhysics, ScanTruth } from "../src/sim/physics";
import { errorAgainstTruth, illuminatedRegion } from "../src/numerics/quality";

const FRAMES = 250;
const FRAME_SIZE = 128;
const ITERATIONS_PER_RUN = 2;
const WARM_UP_ITERATIONS = 3;

function reconstructionBench(name: string, algorithm: "dm" | "epie", referenceSeconds: number): Bench {
  let truth: ScanTruth | undefined;
  let engine: ReconstructionEngine | undefined;
  return {
    name,
    unit: "s/iteration",
    higherIsBetter: false,
    runs: 5,
    reference: { name: `PtyPy ${algorithm === "dm" ? "DM" : "ePIE"} (CPU, 1 process)`, value: referenceSeconds },
    async setup() {
      truth = simulatePhysics({ frameSize: FRAME_SIZE, numPoints: FRAMES, photonsPerFrame: 1e8 });
      engine = createEngine({ algorithm }, { frameSize: FRAME_SIZE, objectShape: [truth.object.rows, truth.object.cols], objectPixelSizeM: truth.objectPixelSizeM });
      engine.addFrames({ intensities: truth.intensities, viewsTopLeft: truth.positionsPx });
      await engine.iterate(WARM_UP_ITERATIONS);
    },
    async measure() {
      if (!engine || !truth) throw new Error("setup did not run");
      const start = process.hrtime.bigint();
      const error = await engine.iterate(ITERATIONS_PER_RUN);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9 / ITERATIONS_PER_RUN;
      return { value: seconds, detail: { frames: FRAMES, frameSize: FRAME_SIZE, iteration: engine.iteration, fourierError: Number(error.toPrecision(3)) } };
    },
    teardown() {
      if (engine && truth) {
        const region = illuminatedRegion(truth.probe, truth.positionsPx, truth.object.rows, truth.object.cols);
        const quality = errorAgainstTruth(truth.object, engine.object, region).error;
        process.stderr.write(`${name}: error against truth after ${engine.iteration} iterations ${quality.toFixed(3)}\n`);
      }
      engine = undefined;
      truth = undefined;
    },
  };
}

export const benches: Bench[] = [reconstructionBench("recon-dm-1t", "dm", 0.32), reconstructionBench("recon-epie-1t", "epie", 0.6)];
