/**
 * `storeChunks`: a storage sink as a pass-through operator. Every event goes on downstream unchanged and at once;
 * each chunk is also offered to the sink's queue with its own share of the chunk's acknowledgement (`shareAck`),
 * so the source gets its credit back only when downstream AND the sink have let go. Sinks therefore compose by
 * chaining, and the stream that reaches reconstruction is the stream that came in:
 *
 *   chunks$.pipe(storeChunks(ptyd, ...), storeChunks(cxi, ...), reconstruct(...))
 *
 * Policies (DESIGN section 7):
 * - `block`: lossless. The sink acks a chunk once it is on disk, so its credits hold the source back (a PUSH
 *   sender then blocks). Memory is bounded by the credits.
 * - `bypass`: the sink acks at once and keeps the chunk in a queue bounded in bytes; a chunk that does not fit is
 *   skipped and counted (a `skipped-storage` fault). The main stream never waits for storage.
 *
 * Writing runs off the grab path: an async loop takes whole chunks from the queue, one HDF5 append each, yielding
 * to the event loop between chunks. Before each chunk it checks the free space of the file's file system; below
 * `reserveBytes` it stops writing (`disk-full`) and closes the file valid. A file that cannot be created or written
 * is a `write-error` naming the path; the scan's other chunks are skipped and counted, the stream goes on.
 * Files close valid on `end` (stop or abort), on completion, on error and on unsubscription; completion and errors
 * are passed on once the files are closed, so whoever waits for the stream can read them. (The operator shape,
 * shared with the publish sink, is `chunkSinkOperator` in chunk-sink.ts.)
 */
import { MonoTypeOperatorFunction } from "rxjs";
import * as fs from "node:fs";
import * as path from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { Envelope } from "../model/envelope";
import { EndReason, ScanEvent } from "../model/events";
import { Fault, fault } from "../model/fault";
import { Chunk, DarkFrame, ScanMeta } from "../model/scan";
import { ChunkWriter, ChunkWriterFactory } from "./chunk-writer";
import { ChunkSink, chunkSinkOperator } from "./chunk-sink";

export type StoragePolicy = "block" | "bypass";

export interface StoreOptions {
  policy: StoragePolicy;
  /** `bypass`: most bytes of chunks held in the queue (the chunk being written included). */
  queueBytes: number;
  /** Stop writing when the file system's free space would fall below this. */
  reserveBytes: number;
  /** The sink's name in faults and summaries, e.g. "store:cxi". */
  where: string;
  onFault?: (fault: Fault) => void;
  /** Called when a scan's file is closed. */
  onSummary?: (summary: SinkSummary) => void;
  /** Free bytes of the file system holding `directory` (default: fs.statfs); replaceable for tests. */
  freeBytes?: (directory: string) => Promise<number>;
}

export type CloseCause = EndReason | "complete" | "error" | "unsubscribed" | "next-scan" | "disk-full" | "write-error";

export interface SinkSummary {
  sink: string;
  policy: StoragePolicy;
  scanId: string;
  /** The file, once opened. */
  path?: string;
  framesWritten: number;
  framesSkipped: number;
  chunksWritten: number;
  chunksSkipped: number;
  bytesWritten: number;
  /** Time spent in HDF5 calls (open, append, close). */
  writeSeconds: number;
  /** Most bytes / chunks waiting in (or being written from) the queue at once during the scan. */
  queueHighWaterBytes: number;
  queueHighWaterChunks: number;
  /** Why the file was closed: the scan's end reason, or what stopped the writing. */
  closedBy: CloseCause;
  faults: Fault[];
}

export async function freeBytesOnDisk(directory: string): Promise<number> {
  const stats = await fs.promises.statfs(directory);
  return stats.bavail * stats.bsize;
}

const chunkBytes = (chunk: Chunk): number =>
  chunk.data.byteLength + chunk.weights.byteLength + chunk.positionsYX.byteLength + chunk.indices.byteLength;

/** The state of one scan's file. */
interface ScanFile {
  meta: ScanMeta;
  writer?: ChunkWriter;
  /** Set when writing stopped for good (disk full, write error): later chunks are skipped. */
  stopped?: CloseCause;
  closing: boolean;
  summary: SinkSummary;
}

type Task =
  | { kind: "chunk"; scan: ScanFile; chunk: Envelope<Chunk>; bytes: number }
  | { kind: "meta"; scan: ScanFile; meta: ScanMeta }
  | { kind: "close"; scan: ScanFile; cause: CloseCause };

class ChunkStore implements ChunkSink {
  private readonly queue: Task[] = [];
  private queuedBytes = 0;
  private queuedChunks = 0;
  private draining: Promise<void> | undefined;
  private current: ScanFile | undefined;

  constructor(
    private readonly factory: ChunkWriterFactory,
    private readonly options: StoreOptions,
  ) {}

  startScan(meta: ScanMeta): void {
    if (this.current) this.closeScan("next-scan");
    this.current = this.newScan(meta);
  }

  updateMeta(meta: ScanMeta): void {
    const scan = this.scanFor(meta);
    scan.meta = meta;
    this.enqueue({ kind: "meta", scan, meta });
  }

  /** Takes the sink's share of a chunk: queued, or skipped and acknowledged at once. */
  offer(item: Envelope<Chunk>): void {
    const chunk = item.value;
    const scan = this.scanFor(chunk.meta);
    const bytes = chunkBytes(chunk);
    if (scan.stopped) {
      this.skip(scan, item, `writing stopped (${scan.stopped})`);
      return;
    }
    if (this.options.policy === "bypass") {
      if (this.queuedBytes + bytes > this.options.queueBytes) {
        this.skip(scan, item, `queue full (${this.queuedBytes} of ${this.options.queueBytes} bytes)`);
        return;
      }
      item.ack(); // bypass never holds the source back: the queue's bytes bound the memory instead
    }
    this.queuedBytes += bytes;
    this.queuedChunks += 1;
    scan.summary.queueHighWaterBytes = Math.max(scan.summary.queueHighWaterBytes, this.queuedBytes);
    scan.summary.queueHighWaterChunks = Math.max(scan.summary.queueHighWaterChunks, this.queuedChunks);
    this.enqueue({ kind: "chunk", scan, chunk: item, bytes });
  }

  endScan(reason: EndReason): void {
    this.closeScan(reason);
  }

  closeScan(cause: CloseCause): void {
    const scan = this.current;
    this.current = undefined;
    if (scan && !scan.closing) {
      scan.closing = true;
      this.enqueue({ kind: "close", scan, cause });
    }
  }

  /** Resolves once every queued task is done and every file closed. */
  async finish(cause: CloseCause): Promise<void> {
    this.closeScan(cause);
    while (this.draining) await this.draining;
  }

  private newScan(meta: ScanMeta): ScanFile {
    return {
      meta,
      closing: false,
      summary: {
        sink: this.options.where,
        policy: this.options.policy,
        scanId: meta.scanId,
        framesWritten: 0,
        framesSkipped: 0,
        chunksWritten: 0,
        chunksSkipped: 0,
        bytesWritten: 0,
        writeSeconds: 0,
        queueHighWaterBytes: 0,
        queueHighWaterChunks: 0,
        closedBy: "complete",
        faults: [],
      },
    };
  }

  /** Items may come without a `start` (a replay joining late): the chunk's own metadata opens the scan. */
  private scanFor(meta: ScanMeta): ScanFile {
    this.current ??= this.newScan(meta);
    return this.current;
  }

  private report(scan: ScanFile, f: Fault): void {
    scan.summary.faults.push(f);
    this.options.onFault?.(f);
  }

  private skip(scan: ScanFile, item: Envelope<Chunk>, why: string): void {
    const { count, chunkIndex } = item.value;
    item.ack();
    scan.summary.framesSkipped += count;
    scan.summary.chunksSkipped += 1;
    this.report(scan, fault("skipped-storage", this.options.where, `chunk ${chunkIndex} (${count} frames) not stored: ${why}`, { index: chunkIndex, count }));
  }

  private enqueue(task: Task): void {
    this.queue.push(task);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await yieldToEventLoop(); // off the grab path: the producer's synchronous work comes first
      const task = this.queue.shift()!;
      switch (task.kind) {
        case "chunk":
          await this.write(task.scan, task.chunk, task.bytes);
          break;
        case "meta":
          if (task.scan.writer && !task.scan.stopped) this.timed(task.scan, () => task.scan.writer!.updateMeta(task.meta));
          break;
        case "close":
          this.close(task.scan, task.cause);
          break;
      }
    }
  }

  private async write(scan: ScanFile, item: Envelope<Chunk>, bytes: number): Promise<void> {
    let skipReason: string | undefined;
    try {
      skipReason = await this.tryWrite(scan, item, bytes);
    } finally {
      // Leave the queue before acknowledging: the ack may let the source put the next chunk in at once.
      this.queuedBytes -= bytes;
      this.queuedChunks -= 1;
    }
    if (skipReason === undefined) item.ack(); // block: the credit returns only now; bypass: already acked
    else this.skip(scan, item, skipReason);
  }

  /** Appends the chunk; returns why it was not stored, if it was not. */
  private async tryWrite(scan: ScanFile, item: Envelope<Chunk>, bytes: number): Promise<string | undefined> {
    if (scan.stopped) return `writing stopped (${scan.stopped})`;
    const writer = scan.writer ?? (await this.open(scan, item.value.meta));
    if (!writer) return `writing stopped (${scan.stopped})`;
    const free = await (this.options.freeBytes ?? freeBytesOnDisk)(path.dirname(writer.path));
    if (free - bytes < this.options.reserveBytes) {
      const message = `${writer.path}: ${free} bytes free, a chunk of ${bytes} would leave less than the reserve of ${this.options.reserveBytes}; file closed with ${scan.summary.framesWritten} frames`;
      this.stop(scan, "disk-full", fault("disk-full", this.options.where, message));
      return "disk full";
    }
    const before = writer.bytesWritten;
    try {
      await this.timedAsync(scan, () => writer.append(item.value));
    } catch (error) {
      this.stop(scan, "write-error", fault("write-error", this.options.where, `${writer.path}: ${describe(error)}`, { index: item.value.chunkIndex }));
      return "write error";
    }
    scan.summary.framesWritten += item.value.count;
    scan.summary.chunksWritten += 1;
    scan.summary.bytesWritten += writer.bytesWritten - before;
    return undefined;
  }

  private async open(scan: ScanFile, meta: ScanMeta): Promise<ChunkWriter | undefined> {
    const started = performance.now();
    try {
      scan.writer = await this.factory(meta);
      scan.summary.path = scan.writer.path;
      return scan.writer;
    } catch (error) {
      this.stop(scan, "write-error", fault("write-error", this.options.where, `scan ${meta.scanId}: ${describe(error)}`));
      return undefined;
    } finally {
      scan.summary.writeSeconds += (performance.now() - started) / 1000;
    }
  }

  /** Stops writing this scan for good and closes its file (valid, with what it has). */
  private stop(scan: ScanFile, cause: CloseCause, f: Fault): void {
    scan.stopped = cause;
    this.report(scan, f);
    this.closeWriter(scan);
  }

  private close(scan: ScanFile, cause: CloseCause): void {
    this.closeWriter(scan);
    scan.summary.closedBy = scan.stopped ?? cause;
    this.options.onSummary?.({ ...scan.summary, faults: [...scan.summary.faults] });
  }

  private closeWriter(scan: ScanFile): void {
    const writer = scan.writer;
    if (!writer) return;
    try {
      this.timed(scan, () => writer.close());
    } catch (error) {
      this.report(scan, fault("write-error", this.options.where, `${writer.path}: closing failed: ${describe(error)}`));
    }
  }

  private async timedAsync(scan: ScanFile, work: () => void | Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await work();
    } finally {
      scan.summary.writeSeconds += (performance.now() - started) / 1000;
    }
  }

  private timed(scan: ScanFile, work: () => void): void {
    const started = performance.now();
    try {
      work();
    } finally {
      scan.summary.writeSeconds += (performance.now() - started) / 1000;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Stores the chunks of a scan-event stream through `factory` (one writer per scan) and passes every event on.
 * See the file comment for the policies and the composition.
 */
export function storeChunks<D = DarkFrame>(factory: ChunkWriterFactory, options: StoreOptions): MonoTypeOperatorFunction<ScanEvent<Chunk, D>> {
  return chunkSinkOperator<D>(() => new ChunkStore(factory, options));
}
