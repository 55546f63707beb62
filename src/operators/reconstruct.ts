/**
 * `reconstruct`: the streaming reconstruction (DESIGN section 6), quasi-synchronous as SHARP runs at COSMIC.
 *
 * - A scan's engine starts on its first chunk: frame size from the chunk, geometry (energyEv, distanceM, the
 *   effective pixelSizeM) from the chunk's metadata, the object sized from the scan extent announced in `start`
 *   (ScanMeta.positionsM) plus `marginPx`, the probe guessed from the mean pattern of the frames so far (propagated
 *   to the sample when the engine options or the scan's `start` give the zone plate's defocus, `probeDefocusM`:
 *   engines/probe.ts; without it the guess is the focus and DM takes ~80 iterations instead of ~10 to converge).
 * - Each chunk's frames are copied into the engine, then the chunk is acknowledged (its credits go back).
 * - Between arrivals it iterates, one iteration per scheduled step, so the event loop (sockets, storage) runs
 *   between iterations; chunks that arrive during an iteration wait (unacknowledged: backpressure) for the next step.
 * - Snapshots go out every `snapshotEveryIterations` iterations and/or `snapshotEverySeconds`; after `end` it runs
 *   until at least `iterations` in all and `iterationsAfterEnd` since the end are done, emits the final snapshot
 *   (`final: true`) and lets the engine (and its worker threads) go.
 * - Service mode: it then waits for the next scan's `start` and reconstructs that one; the output completes when
 *   the source completes and the last scan's final snapshot is out. A source that completes mid-scan ends the scan
 *   (final snapshot included); a `start` that arrives before `end` ends the current scan first.
 * - Errors (from the source or the engine) propagate; unsubscribing, erroring or completing terminates workers.
 * - Threads (engines/threads.ts): DM/RAAR partitions on `cores - 1` worker threads while the scan is live (one
 *   core left to acquisition and preprocessing), all cores after `end`, with the same result whatever the count;
 *   ePIE, sequential, runs whole in one worker thread (after 10 DM iterations unless `warmUpDmIterations` says
 *   otherwise: engines/epie-from-dm.ts). This thread only copies frames in and reduces partial sums.
 * - With `truth` (simulated sources) each snapshot carries `errorToTruth` (numerics/quality `errorAgainstTruth`,
 *   a few hundred ms at 128 x 128: keep the cadence modest).
 *
 * Memory: what grows with the frames is the engine's store, per frame of N x N: sqrt(I) 4 N^2 + mask N^2 bytes,
 * plus the exit wave 8 N^2 for DM/RAAR (13 N^2 in all, 213 kB at 128 x 128; ePIE 5 N^2), in arrays that grow by
 * doubling (so up to twice that). Everything else is fixed per scan: object 8 R C bytes (R x C object), probe
 * 8 N^2, per partition partial sums 24 (R C + N^2), per thread FFT scratch about 40 N^2; chunks are let go (acked) once
 * copied in, snapshots are copies handed downstream, and events wait in the queue only while an iteration runs
 * (bounded by the upstream credits, since unacknowledged chunks hold them).
 */
import * as os from "node:os";
import * as t from "io-ts";
import { Observable, OperatorFunction, SchedulerLike, Subscription, asyncScheduler } from "rxjs";
import { NonNegativeInteger, PositiveInteger, PositiveNumber, decodeOrThrow } from "../model/codec";
import { Envelope } from "../model/envelope";
import { ScanEvent } from "../model/events";
import { Chunk, ComplexImage, ScanMeta, Snapshot } from "../model/scan";
import { EngineSetup, FrameBatch, batchFromChunk, engineOptions, EngineOptions, EngineOptionsCodec } from "../engines";
import { ThreadCounts, createStreamingEngine } from "../engines/threads";
import { objectPixelSizeM, objectShapeFor, viewsTopLeft, wavelengthM } from "../numerics/geometry";
import { errorAgainstTruth, illuminatedRegion } from "../numerics/quality";

export const ReconstructOptionsCodec = t.intersection(
  [
    t.type({ engine: EngineOptionsCodec }),
    t.partial({
      /** Iterations of a scan in all, at least (default 100). */
      iterations: PositiveInteger,
      /** Iterations after `end`, at least, so the last frames are worked in (default 20). */
      iterationsAfterEnd: NonNegativeInteger,
      /** A snapshot every this many iterations (default 10). */
      snapshotEveryIterations: PositiveInteger,
      /** ... and/or every this many seconds (default: by iterations only). */
      snapshotEverySeconds: PositiveNumber,
      /** Object pixels to spare around the scan extent (default 8, as the simulator). */
      marginPx: NonNegativeInteger,
      /** Cores to use after `end` (default os.availableParallelism()); cores - 1 while the scan is live. */
      cores: PositiveInteger,
    }),
  ],
  "ReconstructOptions",
);
export type ReconstructOptionsInput = t.TypeOf<typeof ReconstructOptionsCodec>;

/** What the operator needs of an engine; `ReconstructionEngine`s and the threaded engines satisfy it. */
export interface StreamEngine {
  readonly iteration: number;
  readonly framesUsed: number;
  addFrames(batch: FrameBatch): void;
  /** One or more iterations; a plain number (fake engines in marble tests) counts as already done. */
  iterate(count?: number): Promise<number> | number;
  snapshot(final?: boolean): Snapshot;
  /** Worker threads to use from now on (threaded engines). */
  setThreads?(threads: number): void;
  /** Lets worker threads go. */
  dispose?(): void;
}

/** Code, not configuration: what tests and simulated sources plug in. */
export interface ReconstructHooks {
  /** Builds the engine of a scan (default: `createStreamingEngine`, threaded DM/RAAR). */
  createEngine?: (options: EngineOptions, setup: EngineSetup, threads: ThreadCounts) => StreamEngine;
  /** Schedules the iteration steps (default asyncScheduler: a macrotask, so I/O runs between iterations). */
  scheduler?: SchedulerLike;
  /** Virtual time between iterations, for marble tests with engines that take no time (default 0). */
  iterationGapMs?: number;
  /** Ground truth on the operator's object grid (same margin), for `errorToTruth`; `probe` fixes the region compared. */
  truth?: { object: ComplexImage; probe?: ComplexImage };
  /** Compare with the truth on the final snapshot only (it costs a few hundred ms of the main thread each time). */
  truthOnFinalOnly?: boolean;
}

interface ScanState {
  meta: ScanMeta;
  engine?: StreamEngine;
  objectShape?: [number, number];
  objectPixelSizeM?: number;
  ended: boolean;
  iterationAtEnd: number;
  lastSnapshotIteration: number;
  lastSnapshotMs: number;
  truthRegion?: Uint8Array;
}

export function reconstruct(optionsInput: ReconstructOptionsInput, hooks: ReconstructHooks = {}): OperatorFunction<ScanEvent<Chunk, unknown>, Snapshot> {
  const given = decodeOrThrow(ReconstructOptionsCodec, optionsInput, "reconstruct options");
  // ePIE in a stream starts from a DM warm-up unless told otherwise (engines/epie-from-dm.ts explains why).
  const engineSettings = engineOptions({ ...(given.engine.algorithm === "epie" ? { warmUpDmIterations: 10 } : {}), ...given.engine });
  const iterations = given.iterations ?? 100;
  const iterationsAfterEnd = given.iterationsAfterEnd ?? 20;
  const everyIterations = given.snapshotEveryIterations ?? 10;
  const everyMs = given.snapshotEverySeconds === undefined ? Infinity : 1000 * given.snapshotEverySeconds;
  const marginPx = given.marginPx ?? 8;
  const cores = given.cores ?? os.availableParallelism();
  const liveThreads = Math.max(1, cores - 1);
  const scheduler = hooks.scheduler ?? asyncScheduler;
  const makeEngine = hooks.createEngine ?? createStreamingEngine;
  const iterationGapMs = hooks.iterationGapMs ?? 0;

  return (source) =>
    new Observable<Snapshot>((subscriber) => {
      const queue: ScanEvent<Chunk, unknown>[] = [];
      let scan: ScanState | undefined;
      let sourceDone = false;
      let closed = false;
      /** A step is scheduled or an iteration is in flight. */
      let busy = false;
      let pending: Subscription | undefined;
      const schedule = (delayMs: number) => {
        busy = true;
        pending = scheduler.schedule(step, delayMs);
      };

      const release = () => {
        scan?.engine?.dispose?.();
        if (scan) scan.engine = undefined;
      };
      const fail = (error: unknown) => {
        if (closed) return;
        closed = true;
        release();
        for (const event of queue.splice(0)) letGo(event);
        subscriber.error(error);
      };
      const wake = () => {
        if (busy || closed) return;
        schedule(0);
      };

      const emit = (final: boolean) => {
        const state = scan as ScanState;
        const engine = state.engine as StreamEngine;
        const snapshot = { ...engine.snapshot(final), scanId: state.meta.scanId };
        if (hooks.truth && (final || !hooks.truthOnFinalOnly)) snapshot.errorToTruth = truthError(state, snapshot);
        state.lastSnapshotIteration = engine.iteration;
        state.lastSnapshotMs = scheduler.now();
        subscriber.next(snapshot);
      };

      const truthError = (state: ScanState, snapshot: Snapshot): number => {
        const truth = hooks.truth as NonNullable<ReconstructHooks["truth"]>;
        const [rows, cols] = state.objectShape as [number, number];
        const positions = state.meta.positionsM ?? [];
        const views = viewsTopLeft(positions, rows, cols, state.objectPixelSizeM as number, snapshot.probe.rows);
        const region = state.truthRegion ?? illuminatedRegion(truth.probe ?? snapshot.probe, views, rows, cols);
        if (truth.probe) state.truthRegion = region;
        return errorAgainstTruth(truth.object, snapshot.object, region).error;
      };

      const startEngine = (state: ScanState, chunk: Chunk): StreamEngine => {
        const meta = chunk.meta;
        const positions = state.meta.positionsM ?? meta.positionsM;
        if (!positions || positions.length === 0) throw new Error("reconstruct: the scan's start carries no positions to size the object from");
        const frameSize = chunk.rows;
        const pixelM = objectPixelSizeM(meta.energyEv, meta.distanceM, frameSize, meta.pixelSizeM);
        const objectShape = objectShapeFor(positions, pixelM, frameSize, marginPx);
        state.objectShape = objectShape;
        state.objectPixelSizeM = pixelM;
        // The engine options' defocus, else the one the scan announces (a beamline knows its zone plate's focus).
        const announced = given.engine.probeDefocusM === undefined ? (state.meta.probeDefocusM ?? meta.probeDefocusM) : undefined;
        const settings = announced === undefined ? engineSettings : { ...engineSettings, probeDefocusM: announced };
        return makeEngine(settings, { frameSize, objectShape, objectPixelSizeM: pixelM, wavelengthM: wavelengthM(meta.energyEv) }, { threads: state.ended ? cores : liveThreads, maxThreads: cores });
      };

      const endScan = (state: ScanState) => {
        if (state.ended) return;
        state.ended = true;
        state.iterationAtEnd = state.engine?.iteration ?? 0;
        state.engine?.setThreads?.(cores);
      };

      /** Applies queued events in order; stops at a scan that has ended (its final snapshot comes first). */
      const applyEvents = () => {
        while (queue.length > 0 && !(scan && scan.ended)) {
          const event = queue.shift() as ScanEvent<Chunk, unknown>;
          switch (event.kind) {
            case "start":
              scan = { meta: event.meta, ended: false, iterationAtEnd: 0, lastSnapshotIteration: 0, lastSnapshotMs: scheduler.now() };
              break;
            case "meta":
              if (scan) scan.meta = { ...event.meta, positionsM: event.meta.positionsM ?? scan.meta.positionsM };
              break;
            case "dark":
              event.dark.ack();
              break;
            case "item": {
              if (!scan) {
                event.item.ack();
                throw new Error("reconstruct: a chunk before start");
              }
              const chunk = event.item.value;
              try {
                scan.engine ??= startEngine(scan, chunk);
                scan.engine.addFrames(batchFromChunk(chunk, scan.objectShape as [number, number], scan.objectPixelSizeM as number));
              } finally {
                event.item.ack();
              }
              break;
            }
            case "end":
              if (scan) endScan(scan);
              break;
          }
        }
        if (scan && sourceDone && queue.length === 0) endScan(scan);
      };

      const finished = (state: ScanState, engine: StreamEngine) =>
        state.ended && engine.iteration >= Math.max(iterations, state.iterationAtEnd + iterationsAfterEnd);

      const afterIteration = () => {
        if (closed) return;
        const state = scan as ScanState;
        const engine = state.engine as StreamEngine;
        const dueByCount = engine.iteration - state.lastSnapshotIteration >= everyIterations;
        const dueByTime = scheduler.now() - state.lastSnapshotMs >= everyMs;
        if ((dueByCount || dueByTime) && !finished(state, engine)) emit(false);
        schedule(iterationGapMs);
      };

      function step(): void {
        // `busy` stays set while the step runs: acknowledging a chunk can make a synchronous source (a file replay)
        // emit at once, and its wake() must not schedule a second step beside an iteration this step starts.
        if (closed) return;
        try {
          applyEvents();
          // A scan that is already live with a `start` queued behind it: that start ends it.
          if (scan && !scan.ended && queue.length > 0 && queue[0].kind === "start") endScan(scan);
          const state = scan;
          const engine = state?.engine;
          if (state && engine && engine.framesUsed > 0) {
            if (finished(state, engine)) {
              emit(true);
              release();
              scan = undefined;
              busy = false;
              wake();
              return;
            }
            busy = true;
            const result = engine.iterate(1);
            if (typeof result === "number") afterIteration();
            else result.then(afterIteration, fail);
            return;
          }
          if (state && state.ended) {
            // A scan without frames: nothing to reconstruct, nothing to emit.
            release();
            scan = undefined;
            busy = false;
            wake();
            return;
          }
          busy = false;
          if (sourceDone && queue.length === 0 && !scan) {
            closed = true;
            subscriber.complete();
          } else if (queue.length > 0) {
            wake();
          }
        } catch (error) {
          busy = false;
          fail(error);
        }
      }

      const sourceSubscription = source.subscribe({
        next: (event) => {
          queue.push(event);
          wake();
        },
        error: (error) => fail(error),
        complete: () => {
          sourceDone = true;
          wake();
        },
      });

      return () => {
        closed = true;
        sourceSubscription.unsubscribe();
        pending?.unsubscribe();
        release();
        for (const event of queue.splice(0)) letGo(event);
      };
    });
}

/** Acks what the operator will never take in (on error or unsubscribe), so upstream credits are not lost. */
function letGo(event: ScanEvent<Chunk, unknown>): void {
  const held: Envelope<unknown> | undefined = event.kind === "item" ? event.item : event.kind === "dark" ? event.dark : undefined;
  held?.ack();
}
