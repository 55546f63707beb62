/** Worker threads that run TypeScript modules under ts-node and jest alike (through worker-bootstrap.js). */
import { Worker, WorkerOptions } from "node:worker_threads";
import * as path from "node:path";

const BOOTSTRAP = path.join(__dirname, "worker-bootstrap.js");

/**
 * Starts `script` (an absolute path to a .ts or .js module) in a worker thread. The module reads its own
 * input as `workerData.data`.
 */
export function startWorker(script: string, data?: unknown, options: Omit<WorkerOptions, "workerData"> = {}): Worker {
  return new Worker(BOOTSTRAP, { ...options, workerData: { script, data } });
}
