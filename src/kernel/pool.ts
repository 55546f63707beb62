/**
 * Worker threads running the fused kernel. Points go to the least busy worker; each in-flight point owns one
 * slot of shared memory (its packed raw window; the frame comes back as a transferred buffer), and there are `threads x inFlightPerThread`
 * slots, so at most that many points are in flight whatever the scan length. Points beyond wait in order for a
 * slot (they keep their credits meanwhile, so the source's credit limit bounds them too). Results come back as
 * promises; callers emit them in input order.
 */
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { DTYPES } from "../model/dtype";
import { Frame, Point } from "../model/scan";
import { startWorker } from "../runtime/workers";
import { finishResampled } from "./fused";
import { KernelPlan } from "./plan";
import { WorkerReply, WorkerRequest } from "./protocol";
import { packedPlan, packWindow, RawWindow, rawWindow } from "./window";

export interface KernelPoolOptions {
  /** Worker threads (default: the machine's available parallelism). */
  threads?: number;
  /** Points queued per worker at once (default 2: one running, one ready, so a worker never waits). */
  inFlightPerThread?: number;
}

interface Slot {
  id: number;
  input: SharedArrayBuffer;
  /** Byte view of `input`, for packing. */
  inputBytes: Buffer;
}

const emptySlot = (id: number): Slot => {
  const input = new SharedArrayBuffer(0);
  return { id, input, inputBytes: Buffer.from(input) };
};

interface Job {
  /** The worker's frame: data then weights (see WorkerReply). */
  complete(frame: ArrayBuffer): void;
  reject(error: Error): void;
  worker: PoolWorker;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

interface ActivePlan {
  id: number;
  plan: KernelPlan;
  window: RawWindow;
  /** Points waiting or in flight with this plan; once 0 and a newer plan is active, the workers drop it. */
  outstanding: number;
}

export const DEFAULT_IN_FLIGHT_PER_THREAD = 2;

/** The most points a pool with `options` has in flight. */
export function poolBound(options: KernelPoolOptions): number {
  return (options.threads ?? Math.max(1, os.availableParallelism())) * (options.inFlightPerThread ?? DEFAULT_IN_FLIGHT_PER_THREAD);
}

const WORKER_SCRIPT = path.join(__dirname, `worker${path.extname(__filename)}`);

export class KernelWorkerPool {
  readonly threads: number;
  /** The most points in flight (in workers) at once. */
  readonly bound: number;
  private readonly workers: PoolWorker[];
  private readonly free: Slot[];
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private readonly jobs = new Map<number, Job>();
  private active: ActivePlan | undefined;
  private nextJob = 0;
  private nextPlan = 0;
  private inFlightCount = 0;
  private highWater = 0;
  private failure: Error | undefined;
  private terminated = false;

  constructor(options: KernelPoolOptions = {}) {
    this.threads = options.threads ?? Math.max(1, os.availableParallelism());
    this.bound = poolBound({ ...options, threads: this.threads });
    this.free = Array.from({ length: this.bound }, (_, id) => emptySlot(id));
    this.workers = Array.from({ length: this.threads }, () => this.spawn());
  }

  /** Points in workers now, and the most there ever were. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  get highWaterMark(): number {
    return this.highWater;
  }

  /** Points waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Every later `run` uses `plan` (its raw window packed). */
  setPlan(plan: KernelPlan): void {
    const window = rawWindow(plan);
    const previous = this.active;
    this.active = { id: this.nextPlan++, plan, window, outstanding: 0 };
    const request: WorkerRequest = { type: "plan", id: this.active.id, plan: packedPlan(plan, window) };
    this.workers.forEach((w) => this.post(w, request));
    if (previous) this.dropIfUnused(previous);
  }

  /** The kernel on `point` with the current plan, in a worker. */
  run(point: Point): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    const active = this.active;
    if (active === undefined) return Promise.reject(new Error("kernel pool: run before setPlan"));
    active.outstanding += 1;
    const settled = () => {
      active.outstanding -= 1;
      this.dropIfUnused(active);
    };
    return new Promise<Frame>((resolve, reject) => {
      const dispatch = (slot: Slot) => {
        try {
          this.dispatch(active, point, slot, resolve, reject);
        } catch (error) {
          this.release(slot);
          reject(error as Error);
        }
      };
      const slot = this.free.pop();
      if (slot) dispatch(slot);
      else this.waiting.push(dispatch);
    }).finally(settled);
  }

  private dropIfUnused(plan: ActivePlan): void {
    if (plan === this.active || plan.outstanding > 0 || this.terminated) return;
    this.workers.forEach((w) => this.post(w, { type: "drop", id: plan.id }));
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    this.fail(new Error("kernel pool terminated"));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private spawn(): PoolWorker {
    const poolWorker: PoolWorker = { worker: startWorker(WORKER_SCRIPT), inFlight: 0 };
    poolWorker.worker.on("message", (reply: WorkerReply) => this.onReply(reply));
    poolWorker.worker.on("error", (error) => this.fail(error));
    poolWorker.worker.on("exit", (code) => {
      if (!this.terminated) this.fail(new Error(`kernel worker exited with code ${code}`));
    });
    return poolWorker;
  }

  private dispatch(active: ActivePlan, point: Point, slot: Slot, resolve: (frame: Frame) => void, reject: (error: Error) => void): void {
    if (this.failure) throw this.failure;
    const { plan, window } = active;
    const dtype = point.exposures[0].dtype;
    const inputBytes = point.exposures.length * window.length * DTYPES[dtype].bytes;
    const pixels = plan.rows * plan.cols;
    if (slot.input.byteLength < inputBytes) {
      // Grown to what this plan needs; every worker learns the new memory before a job names the slot.
      slot.input = new SharedArrayBuffer(inputBytes);
      slot.inputBytes = Buffer.from(slot.input);
      this.workers.forEach((w) => this.post(w, { type: "slot", slot: slot.id, input: slot.input }));
    }
    point.exposures.forEach((exposure, e) => {
      if (exposure.dtype !== dtype) throw new Error(`kernel pool: point ${point.index} mixes dtypes ${dtype} and ${exposure.dtype}`);
      packWindow(exposure.data, window, slot.inputBytes, e * window.length);
    });
    const worker = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const job = this.nextJob++;
    const done = (frame: Frame | Error) => {
      this.jobs.delete(job);
      worker.inFlight -= 1;
      this.inFlightCount -= 1;
      this.release(slot);
      if (frame instanceof Error) reject(frame);
      else resolve(frame);
    };
    this.jobs.set(job, {
      worker,
      reject: (error) => done(error),
      complete: (output) => {
        const frame: Frame = {
          index: point.index,
          positionM: point.positionM,
          rows: plan.rows,
          cols: plan.cols,
          data: new Float32Array(output, 0, pixels),
          weights: new Uint8Array(output, 4 * pixels, pixels),
        };
        done(finishResampled(plan, frame));
      },
    });
    worker.inFlight += 1;
    this.inFlightCount += 1;
    this.highWater = Math.max(this.highWater, this.inFlightCount);
    this.post(worker, {
      type: "run",
      job,
      plan: active.id,
      slot: slot.id,
      dtype,
      exposures: point.exposures.length,
      windowLength: window.length,
    });
  }

  private post(worker: PoolWorker, request: WorkerRequest): void {
    worker.worker.postMessage(request);
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  private onReply(reply: WorkerReply): void {
    const job = this.jobs.get(reply.job);
    if (reply.type === "failed") {
      const error = new Error(`kernel worker: ${reply.message}`);
      if (job) job.reject(error);
      else this.fail(error);
      return;
    }
    job?.complete(reply.frame);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    [...this.jobs.values()].forEach((job) => job.reject(error));
    const waiting = this.waiting.splice(0);
    // Waiting points get a slot only to be told: dispatch throws on the failure and rejects them.
    waiting.forEach((dispatch) => dispatch(emptySlot(-1)));
  }
}
