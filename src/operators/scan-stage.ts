/**
 * The plumbing the preprocessing operators share, in the manner of RxJS's own `operate`: subscribe to the
 * source, keep the current scan metadata, route each event kind to a handler, and turn a throw inside a
 * handler into an error notification that names the stage. Stages then say only what they do.
 */
import { Observable, OperatorFunction } from "rxjs";
import { Envelope, mapEnvelope } from "../model/envelope";
import { EndReason, ScanEvent, endEvent, metaEvent, startEvent } from "../model/events";
import { ScanMeta } from "../model/scan";
import { DarkOf, PointOf } from "../preprocess/types";
import { StageHold } from "../runtime/credits";

export type Emit<T, D> = (event: ScanEvent<T, D>) => void;

export interface ScanHandlers<TIn, DIn> {
  start(meta: ScanMeta): void;
  meta(meta: ScanMeta): void;
  dark(dark: Envelope<DIn>, meta: ScanMeta): void;
  item(item: Envelope<TIn>, meta: ScanMeta): void;
  end(meta: ScanMeta, reason: EndReason, message?: string): void;
  /** The source completed (after its last `end`, or mid-scan if it closed without one). */
  complete?(): void;
}

/** Thrown by a stage for data it cannot process; the stream errors with the stage's name in front. */
export class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(`${stage}: ${message}`);
    this.name = "StageError";
  }
}

function asStageError(stage: string, error: unknown): StageError {
  if (error instanceof StageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StageError(stage, message.startsWith(`${stage}: `) ? message.slice(stage.length + 2) : message);
}

/**
 * Builds an operator from per-subscription handlers. Darks and items before `start` are an error: every stage
 * needs the scan's metadata.
 */
export function scanOperator<TIn, DIn, TOut, DOut>(
  stage: string,
  open: (emit: Emit<TOut, DOut>) => ScanHandlers<TIn, DIn>,
): OperatorFunction<ScanEvent<TIn, DIn>, ScanEvent<TOut, DOut>> {
  return (source) =>
    new Observable<ScanEvent<TOut, DOut>>((subscriber) => {
      const handlers = open((event) => subscriber.next(event));
      let meta: ScanMeta | undefined;
      const current = (what: string): ScanMeta => {
        if (meta === undefined) throw new StageError(stage, `${what} before start`);
        return meta;
      };
      const guard = (work: () => void): void => {
        try {
          work();
        } catch (error) {
          subscriber.error(asStageError(stage, error));
        }
      };
      return source.subscribe({
        next: (event) =>
          guard(() => {
            switch (event.kind) {
              case "start":
                meta = event.meta;
                return handlers.start(event.meta);
              case "meta":
                meta = event.meta;
                return handlers.meta(event.meta);
              case "dark":
                return handlers.dark(event.dark, current("a dark frame"));
              case "item":
                return handlers.item(event.item, current("an item"));
              case "end":
                handlers.end(event.meta, event.reason, event.message);
                meta = undefined;
                return;
            }
          }),
        error: (error) => subscriber.error(error),
        complete: () =>
          guard(() => {
            handlers.complete?.();
            subscriber.complete();
          }),
      });
    });
}

/**
 * Handlers that pass metadata on (through `describe`, the metadata downstream sees: geometric stages change
 * shape, centre and pixel size) and leave the rest to the stage.
 */
export function passMeta<T, D>(
  emit: Emit<T, D>,
  describe: (meta: ScanMeta) => ScanMeta = (meta) => meta,
): Pick<ScanHandlers<unknown, unknown>, "start" | "meta" | "end"> {
  return {
    start: (meta) => emit(startEvent(describe(meta))),
    meta: (meta) => emit(metaEvent(describe(meta))),
    end: (meta, reason, message) => emit(endEvent(describe(meta), reason, message)),
  };
}

/**
 * A stage that transforms each item on its own and passes darks on untouched: the envelope's ack goes with the
 * new value (the stage holds nothing).
 */
export function mapItemsStage<TIn, TOut, D>(
  stage: string,
  project: (value: TIn, meta: ScanMeta) => TOut,
  describe?: (meta: ScanMeta) => ScanMeta,
): OperatorFunction<ScanEvent<TIn, D>, ScanEvent<TOut, D>> {
  return scanOperator<TIn, D, TOut, D>(stage, (emit) => ({
    ...passMeta(emit, describe),
    dark: (dark) => emit({ kind: "dark", dark }),
    item: (item, meta) => emit({ kind: "item", item: mapEnvelope(item, (value) => project(value, meta)) }),
  }));
}

/** A stage that transforms every exposure alike, in darks and in points (equalize, descramble). */
export function mapExposuresStage<A, B>(
  stage: string,
  project: (exposure: A, meta: ScanMeta) => B,
  describe?: (meta: ScanMeta) => ScanMeta,
): OperatorFunction<ScanEvent<PointOf<A>, DarkOf<A>>, ScanEvent<PointOf<B>, DarkOf<B>>> {
  return scanOperator<PointOf<A>, DarkOf<A>, PointOf<B>, DarkOf<B>>(stage, (emit) => ({
    ...passMeta(emit, describe),
    dark: (dark, meta) =>
      emit({ kind: "dark", dark: mapEnvelope(dark, (value) => ({ ...value, frame: project(value.frame, meta) })) }),
    item: (item, meta) =>
      emit({
        kind: "item",
        item: mapEnvelope(item, (point) => ({ ...point, exposures: point.exposures.map((e) => project(e, meta)) })),
      }),
  }));
}

/** What a stage that only transforms holds: nothing (its output carries the input's ack). */
export function transformsOnly(stage: string): StageHold {
  return { stage, maxHeldFrames: 0, why: "transforms each value and passes its ack on" };
}
