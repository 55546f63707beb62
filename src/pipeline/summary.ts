/** The run's summary: what came in, what went out, what was lost and why, the files, the reconstruction, timings. */
import * as fs from "node:fs";
import { PipelineContext } from "./context";

export interface RunSummary {
  pipeline: string;
  exitCode: number;
  error?: string;
  stoppedBy?: string;
  frames: {
    received: number;
    points: number;
    processed: number;
    /** Frames written, per storage sink. */
    stored: Record<string, number>;
    /** Frames a `bypass` sink skipped because its queue was full, per sink. */
    skipped: Record<string, number>;
    /** Frames the source lost (PUB gaps), by index count. */
    dropped: number;
    /** Most points grabbed but not yet in a handed-on chunk at any moment (a chunk in the making counts). */
    maxLagPoints: number;
  };
  /** Faults by reason: every bad message, skip and loss is counted here. */
  bad: Record<string, number>;
  files: string[];
  sinks: Array<{ sink: string; path?: string; framesWritten: number; framesSkipped: number; bytesWritten: number; writeSeconds: number; queueHighWaterBytes: number; closedBy: string }>;
  reconstruction?: { iteration: number; framesUsed: number; error: number; errorToTruth?: number; final: boolean };
  timings: {
    totalS: number;
    acquisitionS?: number;
    /** From the last frame in to the final reconstruction ready (before any comparison with the truth). */
    lastFrameToFinalReconstructionS?: number;
    /** How long the final reconstruction's comparison with the simulation's truth took after that. */
    truthComparisonS?: number;
  };
  /** Peak resident memory of the process over the run (MB), for soak checks. */
  maxRssMB: number;
  stages: Array<{ stage: string; itemsIn: number; itemsOut: number; ratePerS: number; busyFraction: number; maxQueueDepth: number }>;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

/**
 * This process's peak resident memory (KiB). Linux's VmHWM belongs to the process image and starts afresh at exec;
 * getrusage's maxrss does not: a pipeline started by a large parent (a test runner) would report the parent's peak.
 */
function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}

export function summarize(name: string, context: PipelineContext, exitCode: number, failure: unknown): RunSummary {
  const stored: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  for (const s of context.sinkSummaries) {
    stored[s.sink] = (stored[s.sink] ?? 0) + s.framesWritten;
    skipped[s.sink] = (skipped[s.sink] ?? 0) + s.framesSkipped;
  }
  const snapshot = context.lastSnapshot;
  const now = Date.now();
  const finalAtMs = context.finalReadyAtMs ?? context.finalSnapshotAtMs;
  return {
    pipeline: name,
    exitCode,
    ...(failure !== undefined ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
    ...(context.stopReason !== undefined ? { stoppedBy: context.stopReason } : {}),
    frames: {
      received: context.counters.received,
      points: context.counters.points,
      processed: context.counters.processed,
      stored,
      skipped,
      dropped: context.faults.count("gap"),
      maxLagPoints: context.maxLagPoints,
    },
    bad: context.faults.byReason() as Record<string, number>,
    files: [...context.files],
    sinks: context.sinkSummaries.map((s) => ({
      sink: s.sink,
      path: s.path,
      framesWritten: s.framesWritten,
      framesSkipped: s.framesSkipped,
      bytesWritten: s.bytesWritten,
      writeSeconds: round(s.writeSeconds),
      queueHighWaterBytes: s.queueHighWaterBytes,
      closedBy: s.closedBy,
    })),
    ...(snapshot
      ? {
          reconstruction: {
            iteration: snapshot.iteration,
            framesUsed: snapshot.framesUsed,
            error: snapshot.error,
            ...(snapshot.errorToTruth !== undefined ? { errorToTruth: round(snapshot.errorToTruth, 4) } : {}),
            final: snapshot.final,
          },
        }
      : {}),
    timings: {
      totalS: round((now - context.startedAtMs) / 1000),
      ...(context.firstFrameAtMs !== undefined && context.lastFrameAtMs !== undefined ? { acquisitionS: round((context.lastFrameAtMs - context.firstFrameAtMs) / 1000) } : {}),
      ...(finalAtMs !== undefined && context.lastFrameAtMs !== undefined ? { lastFrameToFinalReconstructionS: round((finalAtMs - context.lastFrameAtMs) / 1000) } : {}),
      ...(snapshot?.errorToTruth !== undefined && context.finalReadyAtMs !== undefined && context.finalSnapshotAtMs !== undefined
        ? { truthComparisonS: round((context.finalSnapshotAtMs - context.finalReadyAtMs) / 1000) }
        : {}),
    },
    maxRssMB: round(peakRssKiB() / 1024, 1),
    stages: context.metrics.figures().map((f) => ({
      stage: f.stage,
      itemsIn: f.itemsIn,
      itemsOut: f.itemsOut,
      ratePerS: round(f.rateOut, 1),
      busyFraction: round(f.busyFraction),
      maxQueueDepth: f.maxQueueDepth,
    })),
  };
}

export function summaryLines(summary: RunSummary): string[] {
  const f = summary.frames;
  const perSink = (record: Record<string, number>) =>
    Object.keys(record).length === 0 ? "none" : Object.entries(record).map(([sink, n]) => `${n} (${sink})`).join(", ");
  const bad = Object.entries(summary.bad);
  const lines = [
    `${summary.pipeline}: ${summary.exitCode === 0 ? "done" : `exit ${summary.exitCode}`}${summary.stoppedBy ? ` (stopped by ${summary.stoppedBy})` : ""} in ${summary.timings.totalS.toFixed(1)} s`,
    `  frames: ${f.received} received, ${f.points} points, ${f.processed} processed, stored ${perSink(f.stored)}, skipped ${perSink(f.skipped)}, dropped ${f.dropped}, most points waiting for a chunk ${f.maxLagPoints}`,
    `  faults: ${bad.length === 0 ? "none" : bad.map(([reason, n]) => `${reason} ${n}`).join(", ")}`,
  ];
  if (summary.reconstruction) {
    const r = summary.reconstruction;
    lines.push(
      `  reconstruction: iteration ${r.iteration}, ${r.framesUsed} frames, Fourier error ${r.error.toPrecision(3)}` +
        (r.errorToTruth !== undefined ? `, error against the truth ${r.errorToTruth.toFixed(3)}` : "") +
        (summary.timings.lastFrameToFinalReconstructionS !== undefined ? `, final ${summary.timings.lastFrameToFinalReconstructionS.toFixed(1)} s after the last frame` : "") +
        (summary.timings.truthComparisonS !== undefined ? ` (then ${summary.timings.truthComparisonS.toFixed(1)} s comparing with the truth)` : ""),
    );
  }
  for (const file of summary.files) lines.push(`  wrote ${file}`);
  for (const stage of summary.stages) {
    lines.push(`  stage ${stage.stage}: ${stage.itemsOut} out, ${stage.ratePerS}/s, busy ${(100 * stage.busyFraction).toFixed(0)}%, max queue ${stage.maxQueueDepth}`);
  }
  return lines;
}
