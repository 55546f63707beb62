/** Messages between KernelWorkerPool and its worker threads (./worker.ts), and typed views on shared memory. */
import { Dtype } from "../model/dtype";
import { KernelPlan } from "./plan";

export type WorkerRequest =
  | { type: "plan"; id: number; plan: KernelPlan }
  /** No job will name plan `id` again. */
  | { type: "drop"; id: number }
  | {
      /** A slot's shared memory, sent once (and again when it grows) so a job names its slot only. */
      type: "slot";
      slot: number;
      /** exposures x windowLength raw values of the job's dtype. */
      input: SharedArrayBuffer;
      /** The job's frame: rows x cols float32 data, then rows x cols uint8 weights. */
      output: SharedArrayBuffer;
    }
  | {
      type: "run";
      job: number;
      plan: number;
      slot: number;
      dtype: Dtype;
      exposures: number;
      /** Packed raw values per exposure (see ./window.ts). */
      windowLength: number;
    };

/** `done`: the job's frame is in its slot's output. */
export type WorkerReply = { type: "done"; job: number } | { type: "failed"; job: number; message: string };

type SharedArray = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

const VIEWS: Partial<Record<Dtype, new (buffer: SharedArrayBuffer, offset: number, length: number) => SharedArray>> = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

export function sharedView(dtype: Dtype, buffer: SharedArrayBuffer, length: number): SharedArray {
  const View = VIEWS[dtype];
  if (View === undefined) throw new Error(`kernel worker: raw frames of dtype ${dtype} are not supported`);
  return new View(buffer, 0, length);
}
