/**
 * DM and RAAR on worker threads. The frames of each iteration are split over a fixed set of partitions
 * (`partitionBlocks`, as in one thread), each partition's frames, exit waves and partial sums live on
 * SharedArrayBuffers, and so do the object and the probe. Any worker can run any partition: a partition's work
 * depends only on its own frames, so which thread runs it (and how many threads there are) cannot change the
 * result, and the engine reduces the partials in partition order (`combinePartials`). The thread count may
 * change between iterations (cores - 1 while a scan is live, all cores after `end`) without changing the numbers.
 *
 * The main thread only copies frames in and does the reductions; the Fourier steps and the accumulations run in
 * the workers, so the event loop stays free while an iteration runs. ePIE, sequential by nature, runs whole in
 * one worker (`WorkerEngine`) for the same reason.
 */
import { Worker } from "node:worker_threads";
import * as path from "node:path";
import { ComplexImage, Snapshot } from "../model/scan";
import { startWorker } from "../runtime/workers";
import { EngineSetup, ReconstructionEngine, checkBatch, snapshotOf, startingImages } from "./engine";
import { DmEngine } from "./epie-from-dm";
import { ExitWaveCoefficients } from "./fourier";
import { FrameBatch, FrameStore, batchCount } from "./frames";
import { EngineOptions } from "./options";
import { PartialSums, PartitionRunner, ProjectionEngine, partitionBlocks, partitionStores } from "./projection";
import type { EngineReply, EngineRequest, EngineWorkerData } from "./worker-engine";

/** Worker threads now, and at most (after `end`). */
export interface ThreadCounts {
  threads: number;
  maxThreads: number;
}

/** Messages to a partition worker. */
export type PartitionRequest =
  | { op: "init"; frameSize: number; objectCols: number; object: Float32Array; probe: Float32Array; objectSums: PartialSums[]; probeSums: PartialSums[] }
  | { op: "attach"; partition: number; store: ReturnType<FrameStore["arrays"]> }
  | { op: "fourier"; id: number; partitions: number[]; started: number[]; coefficients: ExitWaveCoefficients; powerBound: number }
  | { op: "object" | "probe"; id: number; partitions: number[] }
  | { op: "niceness"; id: number; niceness: number };

export type PartitionReply = { id: number; errorSums?: number[]; niceness?: number } | { id: number; error: string };

const WORKER_SCRIPT = path.join(__dirname, "worker-partitions.ts");

function sharedSums(pixels: number): PartialSums {
  return { numerator: new Float64Array(new SharedArrayBuffer(16 * pixels)), denominator: new Float64Array(new SharedArrayBuffer(8 * pixels)) };
}

type Reply = { errorSums?: number[]; niceness?: number };

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

export class WorkerPartitionRunner implements PartitionRunner {
  private readonly stores: FrameStore[];
  private readonly started: number[];
  private readonly objectSums: PartialSums[];
  private readonly probeSums: PartialSums[];
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private active: number;
  private failure: Error | null = null;

  constructor(
    readonly partitions: number,
    object: ComplexImage,
    probe: ComplexImage,
    threads: ThreadCounts,
    expectedFrames = 0,
  ) {
    const n = probe.rows;
    this.stores = partitionStores(n, partitions, expectedFrames, true);
    this.started = new Array<number>(partitions).fill(0);
    this.objectSums = this.stores.map(() => sharedSums(object.rows * object.cols));
    this.probeSums = this.stores.map(() => sharedSums(n * n));
    this.active = Math.max(1, Math.min(threads.threads, threads.maxThreads));
    const init: PartitionRequest = { op: "init", frameSize: n, objectCols: object.cols, object: object.data, probe: probe.data, objectSums: this.objectSums, probeSums: this.probeSums };
    this.workers = Array.from({ length: Math.max(1, threads.maxThreads) }, () => {
      const worker = startWorker(WORKER_SCRIPT);
      worker.on("message", (reply: PartitionReply) => this.settle(reply));
      worker.on("error", (error) => this.abort(error));
      worker.on("exit", (code) => {
        if (code !== 0) this.abort(new Error(`partition worker exited with code ${code}`));
      });
      worker.postMessage(init);
      return worker;
    });
  }

  get threads(): number {
    return this.active;
  }

  setThreads(threads: number): void {
    this.active = Math.max(1, Math.min(threads, this.workers.length));
  }

  /** Every worker thread's scheduling niceness (engines/niceness.ts, best effort); resolves with what is in force. */
  async setNiceness(niceness: number): Promise<number[]> {
    if (this.failure) throw this.failure;
    const replies = await Promise.all(this.workers.map((worker) => this.call(worker, { op: "niceness", id: 0, niceness })));
    return replies.map((reply) => reply.niceness as number);
  }

  dispose(): void {
    this.abort(new Error("partition workers terminated"));
    for (const worker of this.workers) {
      worker.removeAllListeners();
      void worker.terminate();
    }
  }

  addFrames(batch: FrameBatch): void {
    const blocks = partitionBlocks(batchCount(batch, this.stores[0].frameSize), this.partitions);
    blocks.forEach(([from, to], p) => {
      if (to <= from) return;
      this.stores[p].add(batch, from, to);
      // Growth may have moved the arrays to new buffers: every worker may run any partition, so all hear of it.
      const attach: PartitionRequest = { op: "attach", partition: p, store: this.stores[p].arrays() };
      for (const worker of this.workers) worker.postMessage(attach);
    });
  }

  async fourierStep(coefficients: ExitWaveCoefficients, powerBound: number): Promise<number[]> {
    const errorSums = new Array<number>(this.partitions).fill(0);
    await this.everywhere((partitions) => ({ op: "fourier", id: 0, partitions, started: partitions.map((p) => this.started[p]), coefficients, powerBound }), (partitions, reply) =>
      partitions.forEach((p, i) => (errorSums[p] = (reply.errorSums as number[])[i])),
    );
    this.stores.forEach((store, p) => (this.started[p] = store.count));
    return errorSums;
  }

  async objectPartials(): Promise<PartialSums[]> {
    await this.everywhere((partitions) => ({ op: "object", id: 0, partitions }));
    return this.objectSums;
  }

  async probePartials(): Promise<PartialSums[]> {
    await this.everywhere((partitions) => ({ op: "probe", id: 0, partitions }));
    return this.probeSums;
  }

  /** Splits the partitions over the active workers in contiguous blocks and waits for all of them. */
  private async everywhere(request: (partitions: number[]) => PartitionRequest, collect?: (partitions: number[], reply: Reply) => void): Promise<void> {
    if (this.failure) throw this.failure;
    const blocks = partitionBlocks(this.partitions, this.active);
    await Promise.all(
      blocks.map(async ([from, to], w) => {
        if (to <= from) return;
        const partitions = Array.from({ length: to - from }, (_, i) => from + i);
        const reply = await this.call(this.workers[w], request(partitions));
        collect?.(partitions, reply);
      }),
    );
  }

  private call(worker: Worker, message: PartitionRequest): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  private settle(reply: PartitionReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if ("error" in reply) waiting.reject(new Error(`partition worker: ${reply.error}`));
    else waiting.resolve(reply);
  }

  private abort(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/** A DM/RAAR engine whose partitions run on worker threads; `setThreads` and `dispose` reach its workers. */
export class ThreadedProjectionEngine extends ProjectionEngine {
  private runnerHandle!: WorkerPartitionRunner;

  constructor(options: EngineOptions, setup: EngineSetup, threads: ThreadCounts) {
    let made: WorkerPartitionRunner | undefined;
    // As many partitions as threads at most, so every thread has its own; fixed for the engine's life.
    const partitions = Math.max(options.partitions, threads.maxThreads);
    super({ ...options, partitions }, setup, (object, probe) => (made = new WorkerPartitionRunner(partitions, object, probe, threads, setup.expectedFrames)));
    this.runnerHandle = made as WorkerPartitionRunner;
  }

  get threads(): number {
    return this.runnerHandle.threads;
  }

  setThreads(threads: number): void {
    this.runnerHandle.setThreads(threads);
  }

  setNiceness(niceness: number): Promise<number[]> {
    return this.runnerHandle.setNiceness(niceness);
  }

  dispose(): void {
    this.runnerHandle.dispose();
  }
}

const ENGINE_WORKER_SCRIPT = path.join(__dirname, "worker-engine.ts");

/**
 * Any engine (`createEngine`) run whole in one worker thread: for ePIE, so its sequential iterations leave this
 * thread's event loop free. Frames are copied to the worker (the caller may let go of them at once); object and
 * probe come back through shared buffers, refreshed after every call.
 */
export class WorkerEngine implements ReconstructionEngine {
  readonly frameSize: number;
  readonly object: ComplexImage;
  readonly probe: ComplexImage;
  readonly errors: number[] = [];
  framesUsed = 0;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (reply: { errors?: number[]; niceness?: number }) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(
    readonly options: EngineOptions,
    readonly setup: EngineSetup,
  ) {
    this.frameSize = setup.frameSize;
    ({ object: this.object, probe: this.probe } = startingImages(setup));
    const data: EngineWorkerData = { options, setup, object: this.object.data, probe: this.probe.data };
    this.worker = startWorker(ENGINE_WORKER_SCRIPT, data);
    this.worker.on("message", (reply: EngineReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ("error" in reply) waiting.reject(new Error(`engine worker: ${reply.error}`));
      else waiting.resolve(reply);
    });
    this.worker.on("error", (error) => this.abort(error));
    this.worker.on("exit", (code) => {
      if (code !== 0) this.abort(new Error(`engine worker exited with code ${code}`));
    });
  }

  get iteration(): number {
    return this.errors.length;
  }

  addFrames(batch: FrameBatch): void {
    this.framesUsed += checkBatch(batch, this.setup);
    // A failure here surfaces at the next iterate (requests are answered in order, and failures stick).
    this.call({ op: "add", id: 0, batch }).catch((error: Error) => (this.failure ??= error));
  }

  async iterate(count = 1): Promise<number> {
    if (this.framesUsed === 0) throw new Error("no frames to iterate on");
    const errors = (await this.call({ op: "iterate", id: 0, count })).errors as number[];
    this.errors.push(...errors);
    return errors[errors.length - 1];
  }

  snapshot(final = false): Snapshot {
    return snapshotOf(this, this.setup, final);
  }

  /** The worker thread's scheduling niceness (engines/niceness.ts, best effort); resolves with what is in force. */
  async setNiceness(niceness: number): Promise<number[]> {
    return [(await this.call({ op: "niceness", id: 0, niceness })).niceness as number];
  }

  dispose(): void {
    this.abort(new Error("engine worker terminated"));
    this.worker.removeAllListeners();
    void this.worker.terminate();
  }

  private call(request: EngineRequest): Promise<{ errors?: number[]; niceness?: number }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private abort(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/**
 * The engine the streaming operator runs: DM/RAAR with their partitions on worker threads; ePIE (sequential by
 * nature, with its DM warm-up when `warmUpDmIterations` asks for one) whole in one worker thread. Call `dispose`
 * when done so the workers exit.
 */
export function createStreamingEngine(options: EngineOptions, setup: EngineSetup, threads: ThreadCounts): DmEngine {
  return options.algorithm === "epie" ? new WorkerEngine(options, setup) : new ThreadedProjectionEngine(options, setup, threads);
}
