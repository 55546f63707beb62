/**
 * `RemoteKernelPool`: the fused kernel in worker processes over ZeroMQ (DESIGN section 8), with the interface of
 * the worker-thread pool (src/kernel/pool.ts): `setPlan(plan)` then `run(point)` resolving to the processed frame.
 *
 * - A ROUTER socket binds; workers (pipelines/worker.ts, on this host or any other) connect a DEALER and join by
 *   saying they are alive. `spawn: N` starts N of them on this host, tied to this process's life.
 * - The coordinator keeps the scan state (darks folded, centre frozen: src/kernel/engine.ts); each plan goes to a
 *   worker once, before its first job, and each job carries only the packed raw window of one point.
 * - Jobs go to the least loaded worker, at most `inFlightPerWorker` each; at most `bound` points are packed at
 *   once (the rest wait holding their credits, so the source's credit limit bounds memory end to end).
 * - A worker that exits or stays silent for `deadAfterMs` is reported (a `worker-died` fault) and its in-flight
 *   jobs go to the others, first in line. A job completes once: a late answer from a worker taken for dead
 *   is ignored (and counted), so every point is processed once in the output.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import * as zmq from "zeromq";
import { DTYPES } from "../model/dtype";
import { Fault, fault } from "../model/fault";
import { Frame, Point } from "../model/scan";
import { finishResampled } from "../kernel/fused";
import { KernelPlan } from "../kernel/plan";
import { packedForm, packWindow, RawWindow } from "../kernel/window";
import { AliveHeader, DEFAULT_DEAD_AFTER_MS, DoneHeader, FailedHeader, headerOf, message, RunHeader } from "./protocol";
import { SendQueue } from "./send-queue";
import { encodeStructure, viewOf } from "./wire";

export interface RemoteKernelPoolOptions {
  /** Where workers connect (ROUTER bind), e.g. tcp://0.0.0.0:37020; default an ephemeral loopback port. */
  bind?: string;
  /** Worker processes to start on this host (default 0: workers are started by hand, see pipelines/worker.ts). */
  spawn?: number;
  /** Workers the pool is sized for (default `spawn`, at least 1): `bound` = expectedWorkers x inFlightPerWorker. */
  expectedWorkers?: number;
  /** Jobs queued per worker (default 4: one running, the rest covering the network round trip). */
  inFlightPerWorker?: number;
  /** A worker silent this long counts as dead (default 3 s; workers speak every 250 ms). */
  deadAfterMs?: number;
  /** With jobs waiting and no live worker for this long, the pool fails (default 60 s). */
  noWorkerTimeoutMs?: number;
  onFault?: (f: Fault) => void;
  log?: (line: string) => void;
}

export const DEFAULT_IN_FLIGHT_PER_WORKER = 4;
const WHERE = "preprocess-remote";
const WORKER_COMMAND = path.join(__dirname, "..", "..", "pipelines", `worker${path.extname(__filename)}`);

/** The most points a pool with `options` holds packed at once. */
export function remotePoolBound(options: RemoteKernelPoolOptions): number {
  return Math.max(1, options.expectedWorkers ?? options.spawn ?? 1) * (options.inFlightPerWorker ?? DEFAULT_IN_FLIGHT_PER_WORKER);
}

interface ActivePlan {
  id: number;
  plan: KernelPlan;
  window: RawWindow;
  /** The plan message (packed plan), built once and sent to each worker before its first job. */
  parts: Buffer[];
  outstanding: number;
}

interface RemoteWorker {
  routingId: Buffer;
  label: string;
  pid?: number;
  lastSeenMs: number;
  inFlight: Set<number>;
  plans: Set<number>;
  processed: number;
}

interface Job {
  id: number;
  plan: ActivePlan;
  point: Point;
  header: RunHeader;
  bytes: Buffer;
  worker?: RemoteWorker;
  resolve(frame: Frame): void;
  reject(error: Error): void;
}

export interface RemotePoolStats {
  workersLive: number;
  workersDied: number;
  /** Jobs sent again after their worker died. */
  resent: number;
  /** Late answers for jobs already completed (ignored). */
  duplicatesIgnored: number;
  highWaterMark: number;
  /** Points processed per worker (label: host-pid). */
  processedBy: Record<string, number>;
}

export class RemoteKernelPool {
  readonly bound: number;
  private readonly socket: zmq.Router;
  private readonly outbox: SendQueue;
  private readonly workers = new Map<string, RemoteWorker>();
  private readonly children: ChildProcess[] = [];
  private readonly jobs = new Map<number, Job>();
  /** Jobs packed and waiting for a worker, in order (re-sent jobs go first). */
  private readonly queue: Job[] = [];
  /**
   * Packing buffers of completed jobs, reused (at most `bound`): a point's window is ~7 % of its raw frames but
   * still hundreds of kB, and allocating one per point kept the garbage collector busy. A buffer is reused only
   * once its job is done, i.e. after the worker received it, so ZeroMQ no longer holds it.
   */
  private readonly spareBuffers: Buffer[] = [];
  /** Points waiting for one of the `bound` places. */
  private readonly waiting: Array<() => void> = [];
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly stats: RemotePoolStats = { workersLive: 0, workersDied: 0, resent: 0, duplicatesIgnored: 0, highWaterMark: 0, processedBy: {} };
  private active: ActivePlan | undefined;
  private packed = 0;
  private nextJob = 0;
  private nextPlan = 0;
  private noWorkerSinceMs: number | undefined;
  private failure: Error | undefined;
  private terminated = false;
  private joinWaiters: Array<() => void> = [];

  private constructor(
    private readonly options: RemoteKernelPoolOptions,
    /** The address workers connect to. */
    readonly address: string,
    socket: zmq.Router,
  ) {
    this.bound = remotePoolBound(options);
    this.socket = socket;
    this.outbox = new SendQueue(socket, (error, parts) => this.onSendError(error, parts));
    const deadAfter = options.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
    const every = Math.max(20, Math.min(250, deadAfter / 4));
    let lastTickMs = Date.now();
    this.ticker = setInterval(() => {
      const now = Date.now();
      // A tick this late means our own event loop was busy (a long synchronous stage): the workers' heartbeats
      // are waiting unread in the socket, so the silence is ours, not theirs.
      const stalledMs = now - lastTickMs - every;
      if (stalledMs > every) this.workers.forEach((worker) => (worker.lastSeenMs += stalledMs));
      lastTickMs = now;
      this.checkLiveness(deadAfter);
    }, every);
    void this.receiveLoop();
  }

  /** Binds, starts `spawn` local workers and returns the pool (workers join as they come up). */
  static async start(options: RemoteKernelPoolOptions = {}): Promise<RemoteKernelPool> {
    // mandatory: a job to a worker that is gone fails to send (and is re-queued) instead of vanishing.
    const socket = new zmq.Router({ linger: 0, mandatory: true });
    await socket.bind(options.bind ?? "tcp://127.0.0.1:*");
    const pool = new RemoteKernelPool(options, connectAddress(socket.lastEndpoint ?? options.bind!), socket);
    for (let i = 0; i < (options.spawn ?? 0); i++) pool.spawnLocalWorker();
    return pool;
  }

  /** Resolves once at least `count` workers have joined (rejects after `timeoutMs`). */
  async whenWorkers(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.workers.size < count) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new Error(`${WHERE}: ${this.workers.size} of ${count} workers joined within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.joinWaiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Process ids of the workers this pool started. */
  get localPids(): number[] {
    return this.children.map((c) => c.pid!).filter((pid) => pid !== undefined);
  }

  get statistics(): RemotePoolStats {
    return { ...this.stats, workersLive: this.workers.size, processedBy: { ...this.stats.processedBy } };
  }

  /** Every later `run` uses `plan`. */
  setPlan(plan: KernelPlan): void {
    const { window, plan: packed } = packedForm(plan);
    const id = this.nextPlan++;
    const previous = this.active;
    this.active = { id, plan, window, parts: message("plan", { id }, ...encodeStructure(packed)), outstanding: 0 };
    if (previous) this.dropIfUnused(previous);
  }

  /** The kernel on `point` with the current plan, in some worker. */
  run(point: Point): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    const plan = this.active;
    if (plan === undefined) return Promise.reject(new Error(`${WHERE}: run before setPlan`));
    plan.outstanding += 1;
    return new Promise<Frame>((resolve, reject) => {
      const enqueue = () => {
        try {
          this.enqueue(plan, point, resolve, reject);
        } catch (error) {
          this.releasePlace();
          reject(error as Error);
        }
      };
      if (this.packed < this.bound) {
        this.packed += 1;
        enqueue();
      } else this.waiting.push(enqueue);
    }).finally(() => {
      plan.outstanding -= 1;
      this.dropIfUnused(plan);
    });
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    this.fail(new Error(`${WHERE}: pool terminated`));
    clearInterval(this.ticker);
    const exits = this.children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((resolve) => c.once("exit", resolve)));
    this.children.forEach((c) => c.kill("SIGTERM"));
    this.socket.close();
    await Promise.all(exits);
  }

  private spawnLocalWorker(): void {
    const tsNode = WORKER_COMMAND.endsWith(".ts") ? [require.resolve("ts-node/dist/bin.js")] : [];
    const child = spawn(process.execPath, [...tsNode, WORKER_COMMAND, "--connect", this.address, "--exit-with-parent"], {
      cwd: path.join(__dirname, "..", ".."),
      stdio: ["pipe", "ignore", "pipe"],
    });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => text.split("\n").filter(Boolean).forEach((line) => this.options.log?.(line)));
    child.once("exit", (code, signal) => {
      if (this.terminated) return;
      const worker = [...this.workers.values()].find((w) => w.pid === child.pid);
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      if (worker) this.declareDead(worker, how);
      else this.report(fault("worker-died", WHERE, `local worker ${child.pid} ${how} before it joined`));
    });
    this.children.push(child);
  }

  private enqueue(plan: ActivePlan, point: Point, resolve: (frame: Frame) => void, reject: (error: Error) => void): void {
    if (this.failure) throw this.failure;
    const { window } = plan;
    const dtype = point.exposures[0].dtype;
    const length = point.exposures.length * window.length * DTYPES[dtype].bytes;
    const spare = this.spareBuffers.pop();
    const buffer = spare !== undefined && spare.byteLength >= length ? spare : Buffer.allocUnsafe(length);
    const bytes = buffer.subarray(0, length);
    point.exposures.forEach((exposure, e) => {
      if (exposure.dtype !== dtype) throw new Error(`${WHERE}: point ${point.index} mixes dtypes ${dtype} and ${exposure.dtype}`);
      packWindow(exposure.data, window, bytes, e * window.length);
    });
    const id = this.nextJob++;
    const header: RunHeader = { job: id, plan: plan.id, dtype, exposures: point.exposures.length, windowLength: window.length };
    const settle = () => {
      this.jobs.delete(id);
      this.spareBuffers.push(buffer);
      this.releasePlace();
    };
    const job: Job = {
      id,
      plan,
      point,
      header,
      bytes,
      resolve: (frame) => {
        settle();
        resolve(frame);
      },
      reject: (error) => {
        settle();
        reject(error);
      },
    };
    this.jobs.set(id, job);
    this.stats.highWaterMark = Math.max(this.stats.highWaterMark, this.jobs.size);
    this.queue.push(job);
    this.pump();
  }

  private releasePlace(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.packed -= 1;
  }

  /** Hands queued jobs to the least loaded workers with room. */
  private pump(): void {
    const perWorker = this.options.inFlightPerWorker ?? DEFAULT_IN_FLIGHT_PER_WORKER;
    while (this.queue.length > 0) {
      let target: RemoteWorker | undefined;
      for (const worker of this.workers.values()) {
        if (worker.inFlight.size < perWorker && (target === undefined || worker.inFlight.size < target.inFlight.size)) target = worker;
      }
      if (target === undefined) return;
      this.sendJob(target, this.queue.shift()!);
    }
  }

  private sendJob(worker: RemoteWorker, job: Job): void {
    if (!worker.plans.has(job.plan.id)) {
      worker.plans.add(job.plan.id);
      void this.outbox.send([worker.routingId, ...job.plan.parts]);
    }
    job.worker = worker;
    worker.inFlight.add(job.id);
    void this.outbox.send([worker.routingId, ...message("run", job.header, job.bytes)]);
  }

  private dropIfUnused(plan: ActivePlan): void {
    if (plan === this.active || plan.outstanding > 0 || this.terminated) return;
    for (const worker of this.workers.values()) {
      if (worker.plans.delete(plan.id)) void this.outbox.send([worker.routingId, ...message("drop", { id: plan.id })]);
    }
  }

  private async receiveLoop(): Promise<void> {
    while (!this.terminated) {
      let parts: Buffer[];
      try {
        parts = await this.socket.receive();
      } catch (error) {
        if (this.terminated || this.socket.closed) return;
        this.fail(error as Error);
        return;
      }
      try {
        this.onMessage(parts);
      } catch (error) {
        this.report(fault("invalid-message", WHERE, `from worker ${parts[0]?.toString()}: ${(error as Error).message}`));
      }
    }
  }

  private onMessage(parts: Buffer[]): void {
    const [routingId, type] = parts;
    const body = parts.slice(1);
    const worker = this.workerOf(routingId, type.toString() === "alive" ? headerOf(AliveHeader, body, "alive") : undefined);
    worker.lastSeenMs = Date.now();
    switch (type.toString()) {
      case "alive":
        return;
      case "done": {
        const { job: id } = headerOf(DoneHeader, body, "done");
        worker.inFlight.delete(id);
        const job = this.jobs.get(id);
        if (job === undefined) {
          this.stats.duplicatesIgnored += 1;
        } else {
          job.worker?.inFlight.delete(id);
          worker.processed += 1;
          this.stats.processedBy[worker.label] = worker.processed;
          job.resolve(this.frameOf(job, body.slice(2)));
        }
        this.pump();
        return;
      }
      case "failed": {
        const { job: id, message: text } = headerOf(FailedHeader, body, "failed");
        const error = new Error(`${WHERE}: worker ${worker.label}: ${text}`);
        const job = this.jobs.get(id);
        if (job) {
          worker.inFlight.delete(id);
          job.reject(error);
        } else this.fail(error);
        this.pump();
        return;
      }
      default:
        throw new Error(`unknown message type ${type.toString()}`);
    }
  }

  private workerOf(routingId: Buffer, alive: AliveHeader | undefined): RemoteWorker {
    const key = routingId.toString("hex");
    let worker = this.workers.get(key);
    if (worker === undefined) {
      worker = { routingId, label: alive ? `${alive.host}-${alive.pid}` : routingId.toString(), pid: alive?.pid, lastSeenMs: Date.now(), inFlight: new Set(), plans: new Set(), processed: 0 };
      this.workers.set(key, worker);
      this.stats.processedBy[worker.label] ??= 0;
      this.noWorkerSinceMs = undefined;
      this.options.log?.(`worker ${worker.label} joined (${this.workers.size} live)`);
      this.joinWaiters.splice(0).forEach((wake) => wake());
      this.pump();
    } else if (alive && worker.pid === undefined) {
      worker.pid = alive.pid;
    }
    return worker;
  }

  private frameOf(job: Job, parts: Buffer[]): Frame {
    const { plan } = job.plan;
    const pixels = plan.rows * plan.cols;
    const [data, weights] = parts;
    if (data?.byteLength !== 4 * pixels || weights?.byteLength !== pixels) {
      throw new Error(`job ${job.id}: expected ${4 * pixels} + ${pixels} bytes, got ${data?.byteLength} + ${weights?.byteLength}`);
    }
    const frame: Frame = {
      index: job.point.index,
      positionM: job.point.positionM,
      rows: plan.rows,
      cols: plan.cols,
      data: viewOf(Float32Array, data),
      weights: viewOf(Uint8Array, weights),
    };
    return finishResampled(plan, frame);
  }

  private checkLiveness(deadAfterMs: number): void {
    const now = Date.now();
    for (const worker of [...this.workers.values()]) {
      if (now - worker.lastSeenMs > deadAfterMs) this.declareDead(worker, `was silent for ${now - worker.lastSeenMs} ms`);
    }
    if (this.workers.size > 0 || this.queue.length === 0) {
      this.noWorkerSinceMs = undefined;
      return;
    }
    this.noWorkerSinceMs ??= now;
    const timeout = this.options.noWorkerTimeoutMs ?? 60_000;
    if (now - this.noWorkerSinceMs > timeout) this.fail(new Error(`${WHERE}: no worker for ${timeout} ms with ${this.queue.length} points waiting (workers connect to ${this.address})`));
  }

  /** Forgets `worker`, reports it, and sends its in-flight jobs to the others, first in line, in order. */
  private declareDead(worker: RemoteWorker, how: string): void {
    const key = worker.routingId.toString("hex");
    if (this.workers.get(key) !== worker) return;
    this.workers.delete(key);
    this.stats.workersDied += 1;
    const orphans = [...worker.inFlight].map((id) => this.jobs.get(id)).filter((job): job is Job => job !== undefined);
    orphans.sort((a, b) => a.id - b.id);
    worker.inFlight.clear();
    orphans.forEach((job) => (job.worker = undefined));
    this.queue.unshift(...orphans);
    this.stats.resent += orphans.length;
    this.report(
      fault("worker-died", WHERE, `worker ${worker.label} ${how}; ${orphans.length} points in flight re-sent to the ${this.workers.size} others`, {
        count: 1,
        ...(orphans.length > 0 ? { index: orphans[0].point.index } : {}),
      }),
    );
    this.pump();
  }

  private onSendError(error: Error, parts: Buffer[]): void {
    // A ROUTER with `mandatory` refuses to send to a peer that is gone: that worker is dead.
    const worker = this.workers.get(parts[0].toString("hex"));
    if (worker) this.declareDead(worker, `cannot be reached (${error.message})`);
  }

  private report(f: Fault): void {
    if (this.options.onFault) this.options.onFault(f);
    else this.options.log?.(`[${f.where}] ${f.reason}: ${f.message}`);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.queue.splice(0);
    [...this.jobs.values()].forEach((job) => job.reject(error));
    this.waiting.splice(0).forEach((enqueue) => enqueue());
  }
}

/** The address a worker on this host connects to, from the bound endpoint (a wildcard host becomes loopback). */
export function connectAddress(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/(\*|0\.0\.0\.0)(?=:)/, "tcp://127.0.0.1");
}

/** For a log line: where other hosts reach the coordinator. */
export function hostAddress(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/(\*|0\.0\.0\.0|127\.0\.0\.1)(?=:)/, `tcp://${os.hostname()}`);
}
