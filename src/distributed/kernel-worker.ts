/**
 * A kernel worker process's loop (`pipelines/worker.ts`): connects a DEALER to a coordinator, says it is alive
 * every HEARTBEAT_MS (which is also how it joins, and how it rejoins a coordinator that restarted), keeps the plans
 * jobs may name and runs the fused kernel (src/kernel/fused.ts) on the packed raw windows it receives, exactly as
 * a worker thread of KernelWorkerPool does (src/kernel/worker.ts), so the frames are bit-identical.
 */
import * as os from "node:os";
import * as zmq from "zeromq";
import { decodeArray, Dtype, DTYPES, PixelArray } from "../model/dtype";
import { KernelScratch, kernelScratch, runKernel } from "../kernel/fused";
import { KernelPlan } from "../kernel/plan";
import { AliveHeader, HEARTBEAT_MS, headerOf, message, PlanHeader, RunHeader } from "./protocol";
import { SendQueue } from "./send-queue";
import { bytesOf, decodeStructure } from "./wire";

export interface KernelWorkerOptions {
  /** The coordinator's address, e.g. tcp://beamline-host:37020. */
  connect: string;
  heartbeatMs?: number;
  log?: (line: string) => void;
}

export interface KernelWorkerHandle {
  /** Points processed so far. */
  readonly processed: number;
  /** Resolves once the worker has stopped. */
  readonly done: Promise<void>;
  stop(): void;
}

export function startKernelWorker(options: KernelWorkerOptions): KernelWorkerHandle {
  const socket = new zmq.Dealer({ linger: 0, routingId: `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}` });
  socket.connect(options.connect);
  const log = options.log ?? (() => undefined);
  const outbox = new SendQueue(socket, (error) => log(`worker: send failed: ${error.message}`));
  const plans = new Map<number, { plan: KernelPlan; scratch: KernelScratch }>();
  const alive: AliveHeader = { host: os.hostname(), pid: process.pid };
  const sayAlive = () => {
    // Heartbeats must not pile up behind a coordinator that is away (the DEALER would queue them).
    if (outbox.length === 0) void outbox.send(message("alive", alive));
  };
  sayAlive();
  const heartbeat = setInterval(sayAlive, options.heartbeatMs ?? HEARTBEAT_MS);
  let processed = 0;
  let stopped = false;

  const run = (parts: Buffer[]): Buffer[] => {
    const header = headerOf(RunHeader, parts, "run");
    const planned = plans.get(header.plan);
    if (planned === undefined) throw new Error(`job ${header.job} names plan ${header.plan}, which this worker does not have`);
    const { plan, scratch } = planned;
    const { exposures, windowLength } = header;
    const input = rawInput(parts[2] ?? Buffer.alloc(0), exposures * windowLength, header.dtype);
    const raws: PixelArray[] = Array.from({ length: exposures }, (_, e) => input.subarray(e * windowLength, (e + 1) * windowLength) as PixelArray);
    const pixels = plan.rows * plan.cols;
    const data = new Float32Array(pixels);
    const weights = new Uint8Array(pixels);
    runKernel(plan, raws, scratch, data, weights);
    processed += 1;
    return message("done", { job: header.job }, bytesOf(data), bytesOf(weights));
  };

  const handle = (parts: Buffer[]): void => {
    const type = parts[0]?.toString();
    try {
      if (type === "plan") {
        const { id } = headerOf(PlanHeader, parts, "plan");
        const plan = decodeStructure<KernelPlan>(parts.slice(2));
        plans.set(id, { plan, scratch: kernelScratch(plan) });
      } else if (type === "drop") {
        plans.delete(headerOf(PlanHeader, parts, "drop").id);
      } else if (type === "run") {
        void outbox.send(run(parts));
      } else {
        log(`worker: ignored a message of type ${type}`);
      }
    } catch (error) {
      const job = type === "run" ? jobOf(parts) : -1;
      void outbox.send(message("failed", { job, message: (error as Error).message }));
    }
  };

  const done = (async () => {
    while (!stopped) {
      let parts: Buffer[];
      try {
        parts = await socket.receive();
      } catch (error) {
        if (stopped || socket.closed) return;
        throw error;
      }
      handle(parts);
    }
  })().finally(() => clearInterval(heartbeat));

  return {
    get processed() {
      return processed;
    },
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      socket.close();
    },
  };
}

/** The packed raw values of a job: a view of the received bytes where aligned (no copy, no garbage), else a copy. */
function rawInput(bytes: Buffer, length: number, dtype: Dtype): PixelArray {
  const { bytes: width } = DTYPES[dtype];
  if (bytes.byteOffset % width !== 0 || dtype === "complex64") return decodeArray(bytes, [length], dtype);
  if (bytes.byteLength !== length * width) throw new Error(`expected ${length * width} bytes of ${dtype}, got ${bytes.byteLength}`);
  return new (DTYPES[dtype].make(0).constructor as new (buffer: ArrayBuffer, offset: number, length: number) => PixelArray)(bytes.buffer as ArrayBuffer, bytes.byteOffset, length);
}

/** The job a (possibly malformed) run message names, or -1. */
function jobOf(parts: Buffer[]): number {
  try {
    const job = Number(JSON.parse(parts[1].toString("utf8")).job);
    return Number.isInteger(job) ? job : -1;
  } catch {
    return -1;
  }
}
