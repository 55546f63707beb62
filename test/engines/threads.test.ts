/**
 * DM and RAAR on worker threads equal one thread: bit for bit against the same partitions run in this thread
 * (which thread runs a partition, and how many threads there are, cannot matter), and within float rounding
 * against a single partition (only the order of the sums differs). The thread count changes mid-run, as it does
 * when a scan ends, and so does the workers' scheduling niceness (which must not change the numbers either). ePIE
 * run whole in a worker thread equals ePIE in this thread.
 */
import * as os from "node:os";
import { createEngine, ReconstructionEngine } from "../../src/engines";
import { MAX_NICENESS } from "../../src/engines/niceness";
import { engineOptions } from "../../src/engines/options";
import { ThreadedProjectionEngine, WorkerEngine } from "../../src/engines/threads";
import { batchOf, testScan, TestScan } from "./fixture";
import { relativeDifference } from "../numerics/compare";

const BASE_NICENESS = os.getPriority();
/** Lowering a niceness again needs privilege (root here in CI; CAP_SYS_NICE in general). */
const mayLowerNiceness = process.getuid?.() === 0 || BASE_NICENESS === MAX_NICENESS;

const BATCHES: Array<[number, number]> = [
  [0, 60],
  [60, 150],
];

async function run(scan: TestScan, engine: ReconstructionEngine, onSecondBatch?: () => void): Promise<ReconstructionEngine> {
  engine.addFrames(batchOf(scan, ...BATCHES[0]));
  await engine.iterate(3);
  onSecondBatch?.();
  engine.addFrames(batchOf(scan, ...BATCHES[1]));
  await engine.iterate(3);
  return engine;
}

describe.each([
  ["dm", { algorithm: "dm" }],
  ["raar", { algorithm: "raar", beta: 0.9 }],
] as const)("%s on worker threads", (_name, given) => {
  const scan = testScan({ photonsPerFrame: 1e6, poisson: true });

  it("equals the same partitions in one thread exactly, and one partition within rounding", async () => {
    const threaded = new ThreadedProjectionEngine(engineOptions(given), scan.setup, { threads: 1, maxThreads: 2 });
    try {
      // Live, the workers yield to everything else; after the end they go back (if allowed: engines/niceness.ts).
      expect(await threaded.setNiceness(MAX_NICENESS)).toEqual([MAX_NICENESS, MAX_NICENESS]);
      expect(os.getPriority()).toBe(BASE_NICENESS); // per thread: this (main) thread keeps its own
      let restored: number[] = [];
      await run(scan, threaded, () => {
        threaded.setThreads(2);
        void threaded.setNiceness(BASE_NICENESS).then((niceness) => (restored = niceness));
      });
      expect(threaded.threads).toBe(2);
      expect(restored).toEqual(mayLowerNiceness ? [BASE_NICENESS, BASE_NICENESS] : [MAX_NICENESS, MAX_NICENESS]);
      const samePartitions = await run(scan, createEngine({ ...given, partitions: 2 }, scan.setup));
      const onePartition = await run(scan, createEngine(given, scan.setup));

      expect(Buffer.compare(Buffer.from(threaded.object.data.buffer), Buffer.from(samePartitions.object.data.buffer))).toBe(0);
      expect(Buffer.compare(Buffer.from(threaded.probe.data.buffer), Buffer.from(samePartitions.probe.data.buffer))).toBe(0);
      expect(threaded.errors).toEqual(samePartitions.errors);

      expect(relativeDifference(onePartition.object.data, threaded.object.data)).toBeLessThan(1e-4);
      expect(relativeDifference(onePartition.probe.data, threaded.probe.data)).toBeLessThan(1e-4);
      threaded.errors.forEach((error, i) => expect(Math.abs(error - onePartition.errors[i])).toBeLessThan(1e-4 * onePartition.errors[i]));
      // And the iterations did something: the object moved away from its start (1 everywhere).
      expect(relativeDifference(new Float32Array(threaded.object.data.length).fill(1).map((v, k) => (k % 2 ? 0 : v)), threaded.object.data)).toBeGreaterThan(0.1);
    } finally {
      threaded.dispose();
    }
  }, 60000);

  it("a disposed engine refuses to iterate instead of hanging", async () => {
    const threaded = new ThreadedProjectionEngine(engineOptions(given), scan.setup, { threads: 2, maxThreads: 2 });
    threaded.addFrames(batchOf(scan, 0, 20));
    threaded.dispose();
    await expect(threaded.iterate(1)).rejects.toThrow(/terminated/);
  });
});

describe("an engine run whole in a worker thread", () => {
  it("ePIE there equals ePIE in this thread, frames added between iterations; disposing stops it", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: true });
    const options = engineOptions({ algorithm: "epie", seed: 3 });
    const remote = new WorkerEngine(options, scan.setup);
    try {
      expect(await remote.setNiceness(MAX_NICENESS)).toEqual([MAX_NICENESS]);
      const local = await run(scan, createEngine(options, scan.setup));
      await run(scan, remote);
      expect(remote.iteration).toBe(6);
      expect(remote.framesUsed).toBe(150);
      expect(remote.errors).toEqual(local.errors);
      expect(Buffer.compare(Buffer.from(remote.object.data.buffer), Buffer.from(local.object.data.buffer))).toBe(0);
      expect(Buffer.compare(Buffer.from(remote.snapshot().probe.data.buffer), Buffer.from(local.probe.data.buffer))).toBe(0);
    } finally {
      remote.dispose();
    }
    await expect(remote.iterate(1)).rejects.toThrow(/terminated/);
  }, 60000);
});
