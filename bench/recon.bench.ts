/**
 * Seconds per iteration of DM and ePIE on a simulated scan of 250 frames of 128 x 128 (the case), and of
 * DM on 256 x 256. PtyPy's CPU engines take about 0.32 s (DM) and 0.6 s (ePIE) per iteration on the 128 x 128
 * scan on this machine, one process; the streaming target is half of that.
 *
 * - `recon-dm`, `recon-epie`, `recon-dm-256`: as the streaming operator runs them, all threads (DM partitions on
 *   os.availableParallelism() worker threads; ePIE sequential in one).
 * - `recon-dm-1t`, `recon-epie-1t`: the plain engines, one thread (the engines issue's figures).
 *
 * The engines are warmed up past `probeUpdateStart`, so the figures include the probe update (and DM's inner
 * object/probe loop) as a steady-state iteration does.
 */
import * as os from "node:os";
import { Bench } from "./harness";
import { createEngine, engineOptions, EngineSetup } from "../src/engines";
import { DmEngine } from "../src/engines/epie-from-dm";
import { createStreamingEngine } from "../src/engines/threads";
import { simulatePhysics, ScanTruth } from "../src/sim/physics";
import { errorAgainstTruth, illuminatedRegion } from "../src/numerics/quality";

const FRAMES = 250;
const ITERATIONS_PER_RUN = 2;
const WARM_UP_ITERATIONS = 3;

interface Case {
  algorithm: "dm" | "epie";
  frameSize: number;
  /** All cores, as the operator runs after `end`; otherwise the plain engine in this thread. */
  allThreads: boolean;
  reference?: number;
}

function reconstructionBench(name: string, { algorithm, frameSize, allThreads, reference }: Case): Bench {
  let truth: ScanTruth | undefined;
  let engine: DmEngine | undefined;
  const cores = allThreads ? os.availableParallelism() : 1;
  const threads = algorithm === "epie" ? 1 : cores;
  return {
    name,
    unit: "s/iteration",
    higherIsBetter: false,
    runs: 5,
    ...(reference === undefined ? {} : { reference: { name: `PtyPy ${algorithm === "dm" ? "DM" : "ePIE"} (CPU, 1 process)`, value: reference } }),
    async setup() {
      // 8-pixel steps under a 128-pixel frame's probe; proportionally more for 256 keeps the overlap alike.
      truth = simulatePhysics({ frameSize, numPoints: FRAMES, photonsPerFrame: 1e8, stepPx: (8 * frameSize) / 128 });
      const setup: EngineSetup = { frameSize, objectShape: [truth.object.rows, truth.object.cols], objectPixelSizeM: truth.objectPixelSizeM };
      // Plain ePIE (no DM warm-up) so every measured iteration is an ePIE one.
      engine = allThreads ? createStreamingEngine(engineOptions({ algorithm }), setup, { threads: cores, maxThreads: cores }) : createEngine({ algorithm }, setup);
      engine.addFrames({ intensities: truth.intensities, viewsTopLeft: truth.positionsPx });
      await engine.iterate(WARM_UP_ITERATIONS);
    },
    async measure() {
      if (!engine || !truth) throw new Error("setup did not run");
      const start = process.hrtime.bigint();
      const error = await engine.iterate(ITERATIONS_PER_RUN);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9 / ITERATIONS_PER_RUN;
      return { value: seconds, detail: { frames: FRAMES, frameSize, threads, iteration: engine.iteration, fourierError: Number(error.toPrecision(3)) } };
    },
    teardown() {
      if (engine && truth) {
        const region = illuminatedRegion(truth.probe, truth.positionsPx, truth.object.rows, truth.object.cols);
        const quality = errorAgainstTruth(truth.object, engine.object, region).error;
        process.stderr.write(`${name}: error against truth after ${engine.iteration} iterations ${quality.toFixed(3)}\n`);
      }
      engine?.dispose?.();
      engine = undefined;
      truth = undefined;
    },
  };
}

export const benches: Bench[] = [
  reconstructionBench("recon-dm", { algorithm: "dm", frameSize: 128, allThreads: true, reference: 0.32 }),
  reconstructionBench("recon-epie", { algorithm: "epie", frameSize: 128, allThreads: true, reference: 0.6 }),
  reconstructionBench("recon-dm-256", { algorithm: "dm", frameSize: 256, allThreads: true }),
  reconstructionBench("recon-dm-1t", { algorithm: "dm", frameSize: 128, allThreads: false, reference: 0.32 }),
  reconstructionBench("recon-epie-1t", { algorithm: "epie", frameSize: 128, allThreads: false, reference: 0.6 }),
];
