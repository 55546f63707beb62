/**
 * Preprocessing fanned out to worker processes over ZeroMQ (issue 11) on the simulator's raw 960 x 1152 double
 * exposures, the scan replayed as in bench/preprocess.bench.ts (same data, same measure: raw frames per second,
 * darks included, every frame acknowledged as it comes).
 * - `workers-2`: `preprocessRemoteFrames` with two worker processes on this host (pipelines/worker.ts, started in
 *   setup: not timed); baseline the fused kernel in this one process, in the same run. On a 2-core machine the
 *   coordinator (packing windows, sending, merging in order) shares the cores with the two workers, so the ceiling
 *   is below 2; `detail` gives each worker's throughput and what a plain two-thread loop got (machine load).
 */
import { Bench } from "./harness";
import { measure, parallelCapacity, simulate } from "./preprocess.bench";
import { preprocessFusedFrames } from "../src/operators/preprocess-fused";
import { RemoteKernelPool } from "../src/distributed/coordinator";
import { preprocessRemoteFrames } from "../src/distributed/preprocess-remote";

const POINTS = 400;
let pool: RemoteKernelPool | undefined;
let capacityBefore = 0;

export const benches: Bench[] = [
  {
    name: "workers-2",
    unit: "raw frames/s",
    higherIsBetter: true,
    runs: 5,
    setup: async () => {
      simulate();
      pool = await RemoteKernelPool.start({ bind: "tcp://127.0.0.1:27900", spawn: 2 });
      await pool.whenWorkers(2);
      // Warm both workers (plan shipped, JIT) on a short scan first.
      await measure(16, preprocessRemoteFrames(simulate().config, { pool }));
      capacityBefore = await parallelCapacity();
    },
    measure: async () => {
      const before = pool!.statistics.processedBy;
      const m = await measure(POINTS, preprocessRemoteFrames(simulate().config, { pool }));
      const after = pool!.statistics.processedBy;
      const seconds = Number(m.detail.seconds);
      const perWorker = Object.keys(after).map((worker) => (after[worker] - (before[worker] ?? 0)) / seconds);
      return {
        ...m,
        detail: {
          ...m.detail,
          workers: perWorker.length,
          pointsPerSecondPerWorker: perWorker.map((rate) => rate.toFixed(0)).join(" / "),
          rawFramesPerSecondPerWorker: perWorker.map((rate) => (2 * rate).toFixed(0)).join(" / "),
          inFlightBound: pool!.bound,
          machineTwoThreadSpeedup: +capacityBefore.toFixed(2),
        },
      };
    },
    baseline: { name: "fused, one process", measure: () => measure(POINTS, preprocessFusedFrames(simulate().config)) },
    teardown: async () => {
      process.stderr.write(`workers-2: a plain two-thread loop got ${capacityBefore.toFixed(2)}x before, ${(await parallelCapacity()).toFixed(2)}x after\n`);
      await pool?.terminate();
      pool = undefined;
    },
  },
];
