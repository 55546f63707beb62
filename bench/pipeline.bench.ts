/**
 * The main job at COSMIC's detector rate: `pipelines/cosmic.ts` on a 1000-point simulated scan served at 160 raw
 * frames/s (about 350 MB/s of 960 x 1152 uint16 frames), storage on, DM reconstruction. The frameserver renders the
 * scan before serving it (`--sim-render-ahead`, 4.5 GB), so on this 2-core machine it takes only the sends' CPU, as a
 * frameserver on its own machine would take none of the pipeline's. Two figures from one run:
 * how far preprocessing lags the source (most points grabbed but not yet in a handed-on chunk, in chunks of 32;
 * the chunk being filled counts, so 1 is the floor) and how long after the last frame the final reconstruction is
 * ready (target 10 s; the comparison with the simulation's truth that follows is reported on its own).
 */
import { Bench } from "./harness";
import { startCosmic, summaryOf, tempOut } from "../test/pipelines/run-cosmic";

const CHUNK = 32;
let run: Promise<Record<string, any>> | undefined;

function runOnce(): Promise<Record<string, any>> {
  run ??= startCosmic(["--points", "1000", "--rate", "160", "--sim-render-ahead", "--out", tempOut("bench-pipeline-"), "--sim-port", "25600", "--json", "--no-progress"], 600_000).done.then(
    ({ code, stdout, stderr }) => {
      if (code !== 0) throw new Error(`cosmic.ts exited ${code}: ${stderr.slice(-2000)}`);
      return summaryOf(stdout);
    },
  );
  return run;
}

export const benches: Bench[] = [
  {
    name: "pipeline-lag",
    unit: "chunks",
    higherIsBetter: false,
    runs: 1,
    measure: async () => {
      const s = await runOnce();
      return { value: s.frames.maxLagPoints / CHUNK, detail: { points: s.frames.points, acquisitionS: s.timings.acquisitionS, rawFramesPerS: s.frames.received / s.timings.acquisitionS, maxRssMB: s.maxRssMB } };
    },
    reference: { name: "one chunk", value: 1 },
  },
  {
    name: "pipeline-final-latency",
    unit: "s after the last frame",
    higherIsBetter: false,
    runs: 1,
    measure: async () => {
      const s = await runOnce();
      const { errorToTruth, iteration } = s.reconstruction;
      return { value: s.timings.lastFrameToFinalReconstructionS, detail: { errorToTruth, iterations: iteration, truthComparisonS: s.timings.truthComparisonS } };
    },
    reference: { name: "target", value: 10 },
  },
];
