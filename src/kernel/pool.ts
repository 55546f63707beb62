/**
 * Worker threads running the fused kernel. Points go to the least busy worker; each in-flight point owns one
 * slot of shared memory (its packed raw window in, its frame out), and there are `threads x inFlightPerThread`
 * slots, so at most that many points are in flight whatever the scan length. Points beyond wait in order for a
 * slot (they keep their credits meanwhile, so the source's credit limit bounds them too). Results come back as
 * promises; callers emit them in input order.
 *
 * While every slot is taken and points wait, the calling thread runs the oldest waiting point itself, one per
 * event-loop turn (so the workers' replies are taken in between and their queues refilled first). Handing a point
 * to a worker costs the calling thread a copy of its raw window (cold memory), a message and a reply: 0.3-0.6 ms
 * of its time per point against about 1.3 ms for the kernel when windows were copied a row at a time, so on two
 * cores two workers fed by an otherwise idle main thread reached only 1.2x one core, one worker plus this thread
 * 1.4x. Copied eight rows at a time the window takes about 0.1 ms per double exposure, and this thread packs its
 * own points as well (inThreadKernel), so both threads run the same kernel on the same kind of input. Copying the
 * second exposure only around the first one's saturated pixels (a sixth of its window on the FCCD) saved nothing:
 * finding them took as long as the copy. Points it takes never enter the workers, so the bound on points in flight
 * is unchanged.
 *
 * Frames come back through the slot's shared output and are copied into new arrays here (80 kB for 128 x 128,
 * some microseconds), which the chain frees at the frame's ack (ownedFrameEnvelope in ./engine.ts). Buffers
 * transferred from a worker instead were freed only by full collections (six 400-point scans, before frames were
 * freed at their ack: 17 full collections, 13 with the copy, 7 for the in-thread engine).
 */
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { DTYPES } from "../model/dtype";
import { Frame, Point } from "../model/scan";
import { startWorker } from "../runtime/workers";
import { finishResampled, inThreadKernel, kernelOutputFrame } from "./fused";
import { KernelPlan } from "./plan";
import { WorkerReply, WorkerRequest } from "./protocol";
import { packedForm, packWindow, RawWindow } from "./window";

export interface KernelPoolOptions {
  /**
   * Worker threads (default: the machine's available parallelism, less one for the calling thread when it
   * helps, at least one).
   */
  threads?: number;
  /**
   * Points queued per worker at once (default 4). With 2 (one running, one ready) a worker waited up to a third of
   * the time (event-loop utilisation 0.63-0.93 over 400-1600-point scans): the calling thread refills it only
   * between the points it runs itself (1.2-2 ms each, longer across a garbage collection). With 4: 0.83-0.97
   * (0.93-0.97 on 1600-point scans). With 8 the worker waited less still (15-40 ms a 1000-point scan against
   * 33-103, measured in the worker) but the pool was no faster (medians 2438 against 2528 raw frames/s over 20
   * interleaved runs): twice the slots to keep in cache.
   */
  inFlightPerThread?: number;
  /** The calling thread runs waiting points itself while every worker is busy (default true). */
  callingThreadHelps?: boolean;
}

interface Slot {
  id: number;
  input: SharedArrayBuffer;
  /** Byte view of `input`, for packing. */
  inputBytes: Buffer;
  /** The worker's frame: rows x cols float32 data, then rows x cols uint8 weights. */
  output: SharedArrayBuffer;
}

const newSlot = (id: number): Slot => {
  const input = new SharedArrayBuffer(0);
  return { id, input, inputBytes: Buffer.from(input), output: new SharedArrayBuffer(0) };
};

/** A point waiting for a slot (or for the calling thread). */
interface Waiting {
  active: ActivePlan;
  point: Point;
  resolve(frame: Frame): void;
  reject(error: Error): void;
}

interface Job {
  /** The worker's frame is in the slot's output. */
  complete(): void;
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

export const DEFAULT_IN_FLIGHT_PER_THREAD = 4;

/** The most points a pool with `options` has in flight. */
export function poolBound(options: KernelPoolOptions): number {
  return poolThreads(options) * (options.inFlightPerThread ?? DEFAULT_IN_FLIGHT_PER_THREAD);
}

/** The worker threads a pool with `options` starts. */
export function poolThreads(options: KernelPoolOptions): number {
  const helper = (options.callingThreadHelps ?? true) ? 1 : 0;
  return options.threads ?? Math.max(1, os.availableParallelism() - helper);
}

const WORKER_SCRIPT = path.join(__dirname, `worker${path.extname(__filename)}`);

export class KernelWorkerPool {
  readonly threads: number;
  /** The most points in flight (in workers) at once. */
  readonly bound: number;
  private readonly workers: PoolWorker[];
  private readonly free: Slot[];
  private readonly waiting: Waiting[] = [];
  private readonly callingThreadHelps: boolean;
  private readonly kernelHere = inThreadKernel();
  private helpScheduled: NodeJS.Immediate | undefined;
  private helped = 0;
  private sent = 0;
  private readonly jobs = new Map<number, Job>();
  private active: ActivePlan | undefined;
  private nextJob = 0;
  private nextPlan = 0;
  private inFlightCount = 0;
  private highWater = 0;
  private failure: Error | undefined;
  private terminated = false;

  constructor(options: KernelPoolOptions = {}) {
    this.threads = poolThreads(options);
    this.bound = poolBound({ ...options, threads: this.threads });
    this.callingThreadHelps = options.callingThreadHelps ?? true;
    this.free = Array.from({ length: this.bound }, (_, id) => newSlot(id));
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

  /** Points the calling thread has run itself, and points sent to workers, since the pool started. */
  get pointsRunHere(): number {
    return this.helped;
  }

  get pointsSent(): number {
    return this.sent;
  }

  /** Every later `run` uses `plan` (its raw window packed). */
  setPlan(plan: KernelPlan): void {
    const { window, plan: packed } = packedForm(plan);
    const previous = this.active;
    this.active = { id: this.nextPlan++, plan, window, outstanding: 0 };
    const request: WorkerRequest = { type: "plan", id: this.active.id, plan: packed };
    this.workers.forEach((w) => this.post(w, request));
    if (previous) this.dropIfUnused(previous);
  }

  /** The kernel on `point` with the current plan, in a worker (or in this thread while every worker is busy). */
  run(point: Point): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    const active = this.active;
    if (active === undefined) return Promise.reject(new Error("kernel pool: run before setPlan"));
    const dtype = point.exposures[0].dtype;
    // Checked here so that a point fails alike whether a worker (one shared slot, one dtype) or this thread takes it.
    const mixed = point.exposures.find((exposure) => exposure.dtype !== dtype);
    if (mixed) return Promise.reject(new Error(`kernel pool: point ${point.index} mixes dtypes ${dtype} and ${mixed.dtype}`));
    active.outstanding += 1;
    const settled = () => {
      active.outstanding -= 1;
      this.dropIfUnused(active);
    };
    return new Promise<Frame>((resolve, reject) => {
      const waiting: Waiting = { active, point, resolve, reject };
      const slot = this.free.pop();
      if (slot) this.dispatchOrReject(waiting, slot);
      else {
        this.waiting.push(waiting);
        this.scheduleHelp();
      }
    }).finally(settled);
  }

  private dispatchOrReject(waiting: Waiting, slot: Slot): void {
    try {
      this.dispatch(waiting.active, waiting.point, slot, waiting.resolve, waiting.reject);
    } catch (error) {
      this.release(slot);
      waiting.reject(error as Error);
    }
  }

  /** The oldest waiting point in this thread, on the next event-loop turn (replies first refill the workers). */
  private scheduleHelp(): void {
    if (!this.callingThreadHelps || this.helpScheduled !== undefined) return;
    this.helpScheduled = setImmediate(() => {
      this.helpScheduled = undefined;
      const waiting = this.failure === undefined ? this.waiting.shift() : undefined;
      if (waiting === undefined) return;
      try {
        waiting.resolve(this.kernelHere(waiting.active.plan, waiting.point));
        this.helped += 1;
      } catch (error) {
        waiting.reject(error as Error);
      }
      if (this.waiting.length > 0) this.scheduleHelp();
    });
  }

  private dropIfUnused(plan: ActivePlan): void {
    if (plan === this.active || plan.outstanding > 0 || this.terminated) return;
    this.workers.forEach((w) => this.post(w, { type: "drop", id: plan.id }));
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    this.fail(new Error("kernel pool terminated"));
    if (this.helpScheduled !== undefined) clearImmediate(this.helpScheduled);
    this.helpScheduled = undefined;
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
    if (slot.input.byteLength < inputBytes || slot.output.byteLength < 5 * pixels) {
      // Grown to what this plan needs; every worker learns the new memory before a job names the slot.
      if (slot.input.byteLength < inputBytes) {
        slot.input = new SharedArrayBuffer(inputBytes);
        slot.inputBytes = Buffer.from(slot.input);
      }
      if (slot.output.byteLength < 5 * pixels) slot.output = new SharedArrayBuffer(5 * pixels);
      this.workers.forEach((w) => this.post(w, { type: "slot", slot: slot.id, input: slot.input, output: slot.output }));
    }
    point.exposures.forEach((exposure, e) => packWindow(exposure.data, window, slot.inputBytes, e * window.length));
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
      complete: () => {
        // Copied out before `done` frees the slot for the next point.
        const frame = kernelOutputFrame(plan, point);
        frame.data.set(new Float32Array(slot.output, 0, pixels));
        frame.weights.set(new Uint8Array(slot.output, 4 * pixels, pixels));
        done(finishResampled(plan, frame));
      },
    });
    worker.inFlight += 1;
    this.sent += 1;
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
    if (next) this.dispatchOrReject(next, slot);
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
    job?.complete();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    [...this.jobs.values()].forEach((job) => job.reject(error));
    this.waiting.splice(0).forEach((waiting) => waiting.reject(error));
  }
}
