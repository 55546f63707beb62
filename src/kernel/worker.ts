/**
 * A kernel worker thread (started by KernelWorkerPool through startWorker): keeps the plans that jobs may still
 * name (a point keeps the plan of the moment it arrived, as the reference chain would process it) and runs the
 * fused kernel on packed raw windows in shared memory, into the slot's shared output.
 */
import { parentPort } from "node:worker_threads";
import { KernelScratch, kernelScratch, runKernel } from "./fused";
import { KernelPlan } from "./plan";
import { sharedView, WorkerRequest, WorkerReply } from "./protocol";

const plans = new Map<number, { plan: KernelPlan; scratch: KernelScratch }>();
const slots = new Map<number, { input: SharedArrayBuffer; output: SharedArrayBuffer }>();

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
    slots.set(request.slot, { input: request.input, output: request.output });
    return undefined;
  }
  const slot = slots.get(request.slot);
  const planned = plans.get(request.plan);
  if (planned === undefined || slot === undefined) throw new Error(`kernel worker: job ${request.job} before its plan or slot`);
  const { plan, scratch } = planned;
  const { exposures, windowLength } = request;
  const input = sharedView(request.dtype, slot.input, exposures * windowLength);
  const raws = Array.from({ length: exposures }, (_, e) => input.subarray(e * windowLength, (e + 1) * windowLength));
  const pixels = plan.rows * plan.cols;
  runKernel(plan, raws, scratch, new Float32Array(slot.output, 0, pixels), new Uint8Array(slot.output, 4 * pixels, pixels));
  return { type: "done", job: request.job };
}

parentPort!.on("message", (request: WorkerRequest) => {
  try {
    const reply = handle(request);
    if (reply) parentPort!.postMessage(reply);
  } catch (error) {
    const job = request.type === "run" ? request.job : -1;
    parentPort!.postMessage({ type: "failed", job, message: error instanceof Error ? error.message : String(error) } satisfies WorkerReply);
  }
});
