/**
 * What a running pipeline shares with its stages and sinks: the fault channel (every fault counted by reason and
 * logged, nothing lost silently), per-stage metrics, the stop signal (SIGINT/SIGTERM), counters for the summary,
 * the files written, and the latest reconstruction.
 */
import { Subject } from "rxjs";
import { Fault, FaultCounter } from "../model/fault";
import { ScanMeta, Snapshot } from "../model/scan";
import { PipelineMetrics } from "../runtime/metrics";
import { SinkSummary } from "../sinks/store-chunks";
import type { ViewerFeed } from "../viewer/feed";

export interface RunCounters {
  /** Raw (or cosmicstreams) frames read from the source. */
  received: number;
  /** Processed frames handed on in chunks. */
  processed: number;
  /** Points assembled by grab. */
  points: number;
}

export interface LoggerOptions {
  /** Where log lines go (default stderr). */
  write?: (line: string) => void;
  /** At most this many fault lines per reason are logged; the rest are only counted (default 5). */
  faultLinesPerReason?: number;
}

export class PipelineContext {
  readonly faults = new FaultCounter();
  readonly metrics = new PipelineMetrics();
  readonly counters: RunCounters = { received: 0, processed: 0, points: 0 };
  readonly sinkSummaries: SinkSummary[] = [];
  readonly files = new Set<string>();
  /** Emits once when the run is asked to stop (the reason, e.g. "SIGINT"). */
  readonly stop$ = new Subject<string>();
  readonly startedAtMs = Date.now();
  stopReason: string | undefined;
  lastSnapshot: Snapshot | undefined;
  /** The scan in progress (its start), for the progress total. */
  currentScan: ScanMeta | undefined;
  /** The live viewer, when the run serves one. */
  viewer: ViewerFeed | undefined;
  /** When the last frame came in and when the final reconstruction was out (ms since the epoch). */
  lastFrameAtMs: number | undefined;
  firstFrameAtMs: number | undefined;
  finalSnapshotAtMs: number | undefined;
  /**
   * When the final reconstruction was ready, if the reconstruction tells (its `onFinal` hook): before the comparison
   * with a simulation's truth, which delays `finalSnapshotAtMs` by seconds on a large object.
   */
  finalReadyAtMs: number | undefined;
  private readonly write: (line: string) => void;
  private readonly faultLinesPerReason: number;
  private readonly fileWaiters = new Map<string, Array<(summary: SinkSummary) => void>>();
  /** Faults seen per reason (each once, whatever frames it stands for), for the logging limit. */
  private readonly faultLines = new Map<Fault["reason"], number>();

  constructor(options: LoggerOptions = {}) {
    this.write = options.write ?? ((line) => process.stderr.write(line + "\n"));
    this.faultLinesPerReason = options.faultLinesPerReason ?? 5;
  }

  log(line: string): void {
    this.write(line);
  }

  /** The fault channel: counted by reason, logged (the first few of each reason), and the scan goes on. */
  readonly onFault = (f: Fault): void => {
    this.faults.record(f);
    // Lines, not frames: a gap of 25 frames is one fault and must be logged, with its indices.
    const seen = (this.faultLines.get(f.reason) ?? 0) + 1;
    this.faultLines.set(f.reason, seen);
    if (seen <= this.faultLinesPerReason) {
      const at = f.index === undefined ? "" : ` (index ${f.index})`;
      this.write(`fault ${f.reason} at ${f.where}${at}: ${f.message}`);
    } else if (seen === this.faultLinesPerReason + 1) {
      this.write(`fault ${f.reason}: more of these are counted, not logged`);
    }
  };

  requestStop(reason: string): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.log(`stopping (${reason}): no more frames are read; in-flight chunks are finished and files closed`);
    this.stop$.next(reason);
    this.stop$.complete();
  }

  /** Counts for the summary, the viewer and the progress display. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = { ...this.counters };
    for (const s of this.sinkSummaries) {
      counts[`stored:${s.sink}`] = (counts[`stored:${s.sink}`] ?? 0) + s.framesWritten;
      counts[`skipped:${s.sink}`] = (counts[`skipped:${s.sink}`] ?? 0) + s.framesSkipped;
    }
    counts.skipped = this.faults.count("skipped-storage");
    counts.dropped = this.faults.count("gap");
    for (const [reason, n] of Object.entries(this.faults.byReason())) counts[`bad:${reason}`] = n ?? 0;
    return counts;
  }

  /** Most points grabbed and not yet handed on in a chunk, at any moment: how far processing lags the source. */
  maxLagPoints = 0;

  pointGrabbed(): void {
    this.counters.points += 1;
    this.maxLagPoints = Math.max(this.maxLagPoints, this.counters.points - this.counters.processed);
  }

  frameReceived(): void {
    const now = Date.now();
    this.firstFrameAtMs ??= now;
    this.lastFrameAtMs = now;
    this.counters.received += 1;
  }

  /** A storage sink closed a file: remembered for the summary, and anyone waiting for it is told. */
  readonly onSinkSummary = (summary: SinkSummary): void => {
    this.sinkSummaries.push(summary);
    if (summary.path !== undefined) this.files.add(summary.path);
    const key = `${summary.sink}|${summary.scanId}`;
    this.fileWaiters.get(key)?.forEach((resolve) => resolve(summary));
    this.fileWaiters.delete(key);
  };

  /** Resolves once the sink `sink` (e.g. "store:cxi") has closed the file of scan `scanId`. */
  whenFileClosed(sink: string, scanId: string): Promise<SinkSummary> {
    const done = this.sinkSummaries.find((s) => s.sink === sink && s.scanId === scanId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      const key = `${sink}|${scanId}`;
      this.fileWaiters.set(key, [...(this.fileWaiters.get(key) ?? []), resolve]);
    });
  }
}
