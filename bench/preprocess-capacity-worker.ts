/**
 * A thread for `kernelTwoThreadSpeedup` (bench/preprocess.bench.ts): the one-core fused chain on its own copy of
 * the simulated replay, timed on request.
 */
import { parentPort, workerData } from "node:worker_threads";
import { preprocessFusedFrames } from "../src/operators/preprocess-fused";
import { measure, simulate } from "./preprocess.bench";

const { points } = (workerData as { data: { points: number } }).data;

void (async () => {
  await measure(20, preprocessFusedFrames(simulate().config)); // simulated and warmed before any timing
  parentPort!.on("message", async () => {
    const m = await measure(points, preprocessFusedFrames(simulate().config));
    parentPort!.postMessage(m.detail.seconds);
  });
  parentPort!.postMessage("ready");
})();
