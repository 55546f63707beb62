/**
 * A whole engine in a worker thread (`WorkerEngine` in threads.ts): ePIE, sequential by nature, runs here so
 * its iterations never hold up the main thread's event loop. After every request the object and probe are
 * copied into the buffers shared with the main thread, which reads them for snapshots.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createEngine, EngineSetup, FrameBatch } from "./index";
import { EngineOptions } from "./options";
import { setThreadNiceness } from "./niceness";

export interface EngineWorkerData {
  options: EngineOptions;
  setup: EngineSetup;
  object: Float32Array;
  probe: Float32Array;
}

export type EngineRequest = { op: "add"; id: number; batch: FrameBatch } | { op: "iterate"; id: number; count: number } | { op: "niceness"; id: number; niceness: number };
export type EngineReply = { id: number; errors: number[] } | { id: number; niceness: number } | { id: number; error: string };

const { options, setup, object, probe } = (workerData as { data: EngineWorkerData }).data;
const engine = createEngine(options, setup);
const port = parentPort;
if (!port) throw new Error("worker-engine runs as a worker thread");

port.on("message", (request: EngineRequest) => {
  const done = (work: Promise<number[]>) =>
    work.then(
      (errors) => {
        object.set(engine.object.data);
        probe.set(engine.probe.data);
        port.postMessage({ id: request.id, errors });
      },
      (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
    );
  if (request.op === "niceness") {
    port.postMessage({ id: request.id, niceness: setThreadNiceness(request.niceness) });
  } else if (request.op === "add") {
    void done(Promise.resolve().then(() => (engine.addFrames(request.batch), [])));
  } else {
    const before = engine.errors.length;
    void done(engine.iterate(request.count).then(() => engine.errors.slice(before)));
  }
});
