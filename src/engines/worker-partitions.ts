/**
 * A partition worker of `WorkerPartitionRunner` (threads.ts): runs the Fourier step and the object/probe
 * accumulations of whichever partitions it is asked to, on the shared object, probe, frame stores and partial
 * sums. It keeps no state of its own between requests beyond views of the shared arrays.
 */
import { parentPort } from "node:worker_threads";
import { FrameStore } from "./frames";
import { PartialSums, ProjectionPartition } from "./projection";
import type { PartitionReply, PartitionRequest } from "./threads";
import { setThreadNiceness } from "./niceness";

interface Shared {
  object: Float32Array;
  probe: Float32Array;
  objectSums: PartialSums[];
  probeSums: PartialSums[];
  partitions: ProjectionPartition[];
  frameSize: number;
  objectCols: number;
}

let shared: Shared | undefined;

function partition(state: Shared, p: number): ProjectionPartition {
  state.partitions[p] ??= new ProjectionPartition(state.frameSize, state.objectCols, new FrameStore(state.frameSize, true));
  return state.partitions[p];
}

function handle(request: PartitionRequest): PartitionReply | undefined {
  if (request.op === "niceness") return { id: request.id, niceness: setThreadNiceness(request.niceness) };
  if (request.op === "init") {
    const { frameSize, objectCols, object, probe, objectSums, probeSums } = request;
    shared = { frameSize, objectCols, object, probe, objectSums, probeSums, partitions: [] };
    return undefined;
  }
  const state = shared;
  if (!state) throw new Error(`${request.op} before init`);
  switch (request.op) {
    case "attach":
      partition(state, request.partition).store.adopt(request.store);
      return undefined;
    case "fourier": {
      const errorSums = request.partitions.map((p, i) => {
        const part = partition(state, p);
        part.started = request.started[i];
        return part.fourierStep(state.object, state.probe, request.coefficients, request.powerBound);
      });
      return { id: request.id, errorSums };
    }
    case "object":
      for (const p of request.partitions) partition(state, p).accumulateObject(state.probe, state.objectSums[p]);
      return { id: request.id };
    case "probe":
      for (const p of request.partitions) partition(state, p).accumulateProbe(state.object, state.probeSums[p]);
      return { id: request.id };
  }
}

const port = parentPort;
if (!port) throw new Error("worker-partitions runs as a worker thread");
port.on("message", (request: PartitionRequest) => {
  try {
    const reply = handle(request);
    if (reply) port.postMessage(reply);
  } catch (error) {
    const id = "id" in request ? request.id : -1;
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
