/**
 * Taps the run's dataflow for the summary, the progress display and the viewer, without holding anything:
 * counts and the latest values only.
 */
import { MonoTypeOperatorFunction, OperatorFunction, tap } from "rxjs";
import { ScanEvent } from "../model/events";
import { Chunk, Frame } from "../model/scan";
import { SourceMessage } from "../model/source";
import { measured } from "../operators/measured";
import { PipelineContext } from "./context";

/** Raw frames an event stands for: a source frame or a dark 1, a point its exposures, control events 0. */
export function rawFramesOf(event: ScanEvent<unknown, unknown> | SourceMessage): number {
  if (event.kind === "frame" || event.kind === "dark") return 1;
  if (event.kind !== "item") return 0;
  const exposures = (event.item.value as { exposures?: unknown[] }).exposures;
  return Array.isArray(exposures) ? exposures.length : 1;
}

/** Scan points an event stands for: a chunk its frames, a point or frame 1, darks and control events 0. */
export function pointsOf(event: ScanEvent<unknown, unknown>): number {
  if (event.kind !== "item") return 0;
  const value = event.item.value as Partial<Chunk>;
  return typeof value.count === "number" && value.data instanceof Float32Array ? value.count : 1;
}

/**
 * `stage` with its metrics recorded under `name`. Items in and out are counted in the same unit, so the queue depth
 * is what the stage holds: raw frames for `grab` (frames in, points of exposures out), points elsewhere.
 */
export function measuredStage<A extends ScanEvent<unknown, unknown> | SourceMessage, B extends ScanEvent<unknown, unknown>>(
  name: string,
  context: PipelineContext,
  stage: OperatorFunction<A, B>,
  unit: "raw frames" | "points" = "points",
): OperatorFunction<A, B> {
  const count = unit === "raw frames" ? rawFramesOf : (event: A | B) => (event.kind === "frame" ? 1 : pointsOf(event as ScanEvent<unknown, unknown>));
  return measured(name, context.metrics, stage, count, count);
}

/** Raw frames as they arrive: counted, and the latest shown by the viewer. */
export function observeSource(context: PipelineContext): MonoTypeOperatorFunction<SourceMessage> {
  return tap((message) => {
    if (message.kind !== "frame") return;
    context.frameReceived();
    context.viewer?.rawFrame(message.frame.value);
  });
}

/** Processed frames as they arrive from a source of them (cosmicstreams, a file): counted as received. */
export function observeProcessedFrames<T, D>(context: PipelineContext): MonoTypeOperatorFunction<ScanEvent<T, D>> {
  return tap((event) => event.kind === "item" && context.frameReceived());
}

/** Scans and points after grab: the progress total, the points count, the positions filling in. */
export function observePoints<T extends { positionM: { x: number; y: number } }, D>(context: PipelineContext): MonoTypeOperatorFunction<ScanEvent<T, D>> {
  return tap((event) => {
    if (event.kind === "start") {
      context.currentScan = event.meta;
      context.viewer?.scan({ scanId: event.meta.scanId, layout: event.meta.layout });
    } else if (event.kind === "item") {
      context.pointGrabbed();
      context.viewer?.position(event.item.value.positionM);
    }
  });
}

/** Chunks: the latest processed frame for the viewer. */
export function observeChunks(context: PipelineContext): MonoTypeOperatorFunction<ScanEvent<Chunk, unknown>> {
  return tap((event) => {
    if (event.kind !== "item" || context.viewer === undefined) return;
    const chunk = event.item.value;
    const last = chunk.count - 1;
    const area = chunk.rows * chunk.cols;
    const frame: Frame = {
      index: chunk.indices[last],
      positionM: { y: chunk.positionsYX[2 * last], x: chunk.positionsYX[2 * last + 1] },
      rows: chunk.rows,
      cols: chunk.cols,
      data: chunk.data.subarray(last * area, (last + 1) * area),
      weights: chunk.weights.subarray(last * area, (last + 1) * area),
    };
    context.viewer.processedFrame(frame);
  });
}
