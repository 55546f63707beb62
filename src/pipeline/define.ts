/**
 * `definePipeline`: a pipeline file reads as the dataflow it is.
 *
 *   source ─ stages ─ sinks (pass-through: storage, publishing) ─ reconstruct ─ outputs (PNG, CXI image, rec)
 *
 * The configuration is an io-ts codec, so a pipeline is validated at its edge and typed inside. Each part is a
 * function of the decoded configuration and the run's context (fault channel, metrics, stop signal).
 */
import * as t from "io-ts";
import { MonoTypeOperatorFunction, Observable, OperatorFunction, defer, ignoreElements, tap } from "rxjs";
import { ScanEvent } from "../model/events";
import { Chunk, Snapshot } from "../model/scan";
import { PipelineContext } from "./context";

export type ChunkEvent = ScanEvent<Chunk, unknown>;

export interface PipelineDefinition<C, S> {
  name: string;
  description: string;
  config: t.Decoder<unknown, C>;
  /** Anything to start before the dataflow (a simulated frameserver...) and to stop after it. */
  setup?: (config: C, context: PipelineContext) => Promise<(() => Promise<void>) | void>;
  source: (config: C, context: PipelineContext) => Observable<S>;
  /** From what the source gives to chunks of processed frames. */
  stages: (config: C, context: PipelineContext) => OperatorFunction<S, ChunkEvent>;
  /** Pass-through chunk sinks: storage, publishing. Each holds its own share of a chunk's acknowledgement. */
  sinks?: (config: C, context: PipelineContext) => MonoTypeOperatorFunction<ChunkEvent>[];
  /** The reconstruction, or undefined when it is off (chunks are then acknowledged at the end of the flow). */
  reconstruct?: (config: C, context: PipelineContext) => OperatorFunction<ChunkEvent, Snapshot> | undefined;
  /** Snapshot outputs: pictures, files, publishing, the viewer. */
  outputs?: (config: C, context: PipelineContext) => MonoTypeOperatorFunction<Snapshot>[];
}

export type Pipeline<C, S> = PipelineDefinition<C, S> & {
  /** The whole dataflow as one Observable; it completes when every output is written. */
  dataflow(config: C, context: PipelineContext): Observable<never>;
};

function compose<T>(source: Observable<T>, operators: MonoTypeOperatorFunction<T>[]): Observable<T> {
  return operators.reduce((stream, operator) => operator(stream), source);
}

/** Acknowledges chunks nobody downstream holds (reconstruction off), so credits return to the source. */
function releaseChunks(): OperatorFunction<ChunkEvent, never> {
  return (source) =>
    source.pipe(
      tap((event) => {
        if (event.kind === "item") event.item.ack();
      }),
      ignoreElements(),
    );
}

export function definePipeline<C, S>(definition: PipelineDefinition<C, S>): Pipeline<C, S> {
  return {
    ...definition,
    dataflow(config, context) {
      return defer(() => {
        const chunks = definition
          .source(config, context)
          .pipe(definition.stages(config, context), tap(countProcessed(context)));
        const stored = compose(chunks, definition.sinks?.(config, context) ?? []);
        const reconstruction = definition.reconstruct?.(config, context);
        if (reconstruction === undefined) return stored.pipe(releaseChunks());
        const snapshots = stored.pipe(
          reconstruction,
          tap((snapshot) => {
            context.lastSnapshot = snapshot;
            if (snapshot.final) context.finalSnapshotAtMs = Date.now();
          }),
        );
        return compose(snapshots, definition.outputs?.(config, context) ?? []).pipe(ignoreElements());
      });
    },
  };
}

const countProcessed = (context: PipelineContext) => (event: ChunkEvent) => {
  if (event.kind === "item") context.counters.processed += event.item.value.count;
};
