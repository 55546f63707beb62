/**
 * A kernel worker thread (started by KernelWorkerPool through startWorker): keeps the plans that jobs may still
 * name (a point keeps the plan of the moment it arrived, as the reference chain would process it) and runs the
 * fused kernel on packed raw windows in shared memory; each frame goes back as a transferred buffer.
 */
import { parentPort } from "node:worker_threads";
import { KernelScratch, kernelScratch, runKernel } from "./fused";
import { KernelPlan } from "./plan";
import { sharedView, WorkerRequest, WorkerReply } from "./protocol";

const plans = new Map<number, { plan: KernelPlan; scratch: KernelScratch }>();
const slots = new Map<number, SharedArrayBuffer>();

function handle(request: WorkerRequest): WorkerReply | undefined {
  if (request.type === "plan") {
    plans.set(request.id, { plan: request.plan, scratch: kernelScratch(request.plan) });
    return undefined;
  }
  if (request.type === "drop") {
    plans.delete(request.id);
    return undefined;
  }
  if (request.type === "slot") {
    slots.set(request.slot, request.input);
    return undefined;
  }
  const slot = slots.get(request.slot);
  const planned = plans.get(request.plan);
  if (planned === undefined || slot === undefined) throw new Error(`kernel worker: job ${request.job} before its plan or slot`);
  const { plan, scratch } = planned;
  const { exposures, windowLength } = request;
  const input = sharedView(request.dtype, slot, exposures * windowLength);
  const raws = Array.from({ length: exposures }, (_, e) => input.subarray(e * windowLength, (e + 1) * windowLength));
  const pixels = plan.rows * plan.cols;
  const frame = new ArrayBuffer(5 * pixels);
  runKernel(plan, raws, scratch, new Float32Array(frame, 0, pixels), new Uint8Array(frame, 4 * pixels, pixels));
  return { type: "done", job: request.job, frame };
}

parentPort!.on("message", (request: WorkerRequest) => {
  try {
    const reply = handle(request);
    if (reply) parentPort!.postMessage(reply, reply.type === "done" ? [reply.frame] : []);
  } catch (error) {
    const job = request.type === "run" ? request.job : -1;
    parentPort!.postMessage({ type: "failed", job, message: error instanceof Error ? error.message : String(error) } satisfies WorkerReply);
  }
});
