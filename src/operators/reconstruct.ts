/**
 * `reconstruct`: the streaming reconstruction (DESIGN section 6), quasi-synchronous as SHARP runs at COSMIC.
 *
 * - A scan's engine starts on its first chunk: frame size from the chunk, geometry (energyEv, distanceM, the
 *   effective pixelSizeM) from the chunk's metadata, the object sized from the scan extent announced in `start`
 *   (ScanMeta.positionsM) plus `marginPx`, the probe guessed from the mean pattern of the frames so far (propagated
 *   to the sample when the engine options or the scan's `start` give the zone plate's defocus, `probeDefocusM`:
 *   engines/probe.ts; without it the guess is the focus and DM takes ~80 iterations instead of ~10 to converge).
 * - Each chunk's frames are copied as it arrives and the chunk is acknowledged at once (its credits go back, even
 *   while an iteration runs); the engine takes the copies in at the next step.
 * - Between arrivals it iterates, one iteration per scheduled step, so the event loop (sockets, storage) runs
 *   between iterations.
 * - Snapshots go out every `snapshotEveryIterations` iterations and/or `snapshotEverySeconds`; after `end` it runs
 *   until at least `iterations` in all and `iterationsAfterEnd` since the end are done, or, with
 *   `settledObjectChange`, until the object has settled (an iteration moves it by less than that) after at least
 *   `iterationsAfterEnd`; then it emits the final snapshot (`final: true`) and lets the engine (and its worker
 *   threads) go.
 * - Service mode: it then waits for the next scan's `start` and reconstructs that one; the output completes when
 *   the source completes and the last scan's final snapshot is out. A source that completes mid-scan ends the scan
 *   (final snapshot included); a `start` that arrives before `end` ends the current scan first.
 * - Errors (from the source or the engine) propagate; unsubscribing, erroring or completing terminates workers.
 * - Threads (engines/threads.ts): DM/RAAR partitions on `cores - 1` worker threads while the scan is live (one
 *   core left to acquisition and preprocessing), at the lowest scheduling priority (`liveNiceness`), so a source
 *   at the detector's rate and the preprocessing are never held back by the reconstruction; all cores at the
 *   process's priority after `end`, with the same result whatever the count;
 *   ePIE, sequential, runs whole in one worker thread (after 10 DM iterations unless `warmUpDmIterations` says
 *   otherwise: engines/epie-from-dm.ts). This thread only copies frames in and reduces partial sums.
 * - DM/RAAR's Fourier power bound is tighter while the scan is live and for `iterationsAfterEnd` iterations after
 *   `end` (`liveFourierRelaxFactor`) than the engine's own, which then settles the object: frames that arrive
 *   early must not freeze the object at a fit to part of the scan.
 * - With `truth` (simulated sources) each snapshot carries `errorToTruth` (numerics/quality `errorAgainstTruth`,
 *   a few hundred ms at 128 x 128: keep the cadence modest).
 *
 * Memory: what grows with the frames is the engine's store, per frame of N x N: sqrt(I) 4 N^2 + mask N^2 bytes,
 * plus the exit wave 8 N^2 for DM/RAAR (13 N^2 in all, 213 kB at 128 x 128; ePIE 5 N^2), in arrays reserved for
 * the scan's announced points (`expectedFrames`; pages count once written) that grow by doubling only beyond
 * them. Everything else is fixed per scan: object 8 R C bytes (R x C object), probe 8 N^2, per partition partial
 * sums 24 (R C + N^2), per thread FFT scratch about 40 N^2; chunks are let go (acked) once copied, snapshots are
 * copies handed downstream. A live scan's copies wait in the queue while an iteration runs (5 N^2 bytes a frame):
 * frames the engine is about to hold anyway, so the bound above covers them. The next scan's chunks that come
 * while an ended scan finishes are held unacked, so the credits bound them.
 */
import * as os from "node:os";
import * as t from "io-ts";
import { Observable, OperatorFunction, SchedulerLike, Subscription, asyncScheduler } from "rxjs";
import { NonNegativeInteger, NonNegativeNumber, PositiveInteger, PositiveNumber, decodeOrThrow } from "../model/codec";
import { Envelope, envelope } from "../model/envelope";
import { ScanEvent } from "../model/events";
import { Chunk, ComplexImage, ScanMeta, Snapshot } from "../model/scan";
import { EngineSetup, FrameBatch, batchFromChunk, engineOptions, EngineOptions, EngineOptionsCodec } from "../engines";
import { ThreadCounts, createStreamingEngine } from "../engines/threads";
import { relativeChange } from "../engines/projection";
import { MAX_NICENESS } from "../engines/niceness";
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
      /**
       * After `end`, stop before `iterations` in all once the object has settled: an iteration moved it by less than
       * this, ||O_k - O_(k-1)|| / ||O_k|| (still after at least `iterationsAfterEnd`). Default 0: off.
       */
      settledObjectChange: NonNegativeNumber,
      /** A snapshot every this many iterations (default 10). */
      snapshotEveryIterations: PositiveInteger,
      /** ... and/or every this many seconds (default: by iterations only). */
      snapshotEverySeconds: PositiveNumber,
      /** Object pixels to spare around the scan extent (default 8, as the simulator). */
      marginPx: NonNegativeInteger,
      /** Cores to use after `end` (default os.availableParallelism()); cores - 1 while the scan is live. */
      cores: PositiveInteger,
      /**
       * Scheduling niceness added to the engine's worker threads while the scan is live (default 19, the most:
       * acquisition and preprocessing always come first, the reconstruction takes what is left of the cores); after
       * `end` they go back to this process's niceness (engines/niceness.ts: best effort). 0 leaves them alone.
       */
      liveNiceness: NonNegativeInteger,
      /**
       * DM/RAAR: the Fourier power bound's relax factor while the scan is live and for `iterationsAfterEnd`
       * iterations after `end` (default 0.02; the tighter of this and the engine's own), then the engine's own
       * (PtyPy's 0.05), under which the object settles. Why: within the bound the Fourier step leaves a frame
       * alone, so its exit wave becomes P x O and it only holds the object and probe where they are. Under PtyPy's
       * bound (a mean squared modulus misfit of 0.25 x 0.05^2 x the brightest frame's photons per pixel: 2.1 at
       * 3000 photons per pixel, eight times the Poisson floor of sqrt(I), 1/4) frames that arrive early fall within
       * it while the object and probe are still fitted to part of the scan, and then anchor them there; so do the
       * frames already in when the last ones arrive. A 1000-point scan (a recorded run replayed as live runs went,
       * 15-33 live iterations) settled at 0.083-0.090 against the truth that way, all frames at once at 0.072. At
       * 0.02 (near the Poisson floor) every frame keeps working while the scan runs and while the last frames are
       * worked in, and PtyPy's bound then settles the object in about 8 more iterations: 0.043-0.067.
       */
      liveFourierRelaxFactor: NonNegativeNumber,
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
  /** Scheduling niceness of the worker threads from now on (threaded engines; best effort, see engines/niceness.ts). */
  setNiceness?(niceness: number): Promise<unknown>;
  /** The Fourier power bound's relax factor from the next iteration on (DM/RAAR engines). */
  setFourierRelaxFactor?(factor: number): void;
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
  /** Compare with the truth on the final snapshot only (seconds of the main thread on a large object). */
  truthOnFinalOnly?: boolean;
  /**
   * Called with each final snapshot as soon as the engine's state is copied, before the comparison with the truth
   * (which only a simulation can run): when the final reconstruction was ready.
   */
  onFinal?: (snapshot: Snapshot) => void;
}

interface ScanState {
  meta: ScanMeta;
  engine?: StreamEngine;
  objectShape?: [number, number];
  objectPixelSizeM?: number;
  ended: boolean;
  iterationAtEnd: number;
  /** The engine's own power-bound relax factor, restored `iterationsAfterEnd` after `end` (`liveFourierRelaxFactor`). */
  relaxFactorToRestore?: number;
  /** After `end`, with `settledObjectChange`: the object after the last iteration, and how far that iteration moved it. */
  lastObject?: Float32Array;
  objectChange: number;
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
  const settledObjectChange = given.settledObjectChange ?? 0;
  const everyIterations = given.snapshotEveryIterations ?? 10;
  const everyMs = given.snapshotEverySeconds === undefined ? Infinity : 1000 * given.snapshotEverySeconds;
  const marginPx = given.marginPx ?? 8;
  const cores = given.cores ?? os.availableParallelism();
  const liveThreads = Math.max(1, cores - 1);
  const liveNiceness = given.liveNiceness ?? MAX_NICENESS;
  const liveRelaxFactor = given.liveFourierRelaxFactor ?? 0.02;
  /** The niceness worker threads go back to after `end`: this process's. */
  const baseNiceness = os.getPriority();
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
        if (final) hooks.onFinal?.(snapshot);
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
        const setup = { frameSize, objectShape, objectPixelSizeM: pixelM, wavelengthM: wavelengthM(meta.energyEv), expectedFrames: meta.numPoints };
        const engine = makeEngine(settings, setup, { threads: state.ended ? cores : liveThreads, maxThreads: cores });
        if (!state.ended && liveNiceness > 0) setNiceness(engine, baseNiceness + liveNiceness);
        if (!state.ended && engine.setFourierRelaxFactor) {
          engine.setFourierRelaxFactor(Math.min(liveRelaxFactor, settings.fourierRelaxFactor));
          state.relaxFactorToRestore = settings.fourierRelaxFactor;
        }
        return engine;
      };

      /** A scheduling hint: a worker that died shows at the next iteration, so a failure here is not an error. */
      const setNiceness = (engine: StreamEngine, niceness: number) => void engine.setNiceness?.(Math.min(MAX_NICENESS, niceness))?.catch(() => undefined);

      const endScan = (state: ScanState) => {
        if (state.ended) return;
        state.ended = true;
        state.iterationAtEnd = state.engine?.iteration ?? 0;
        state.engine?.setThreads?.(cores);
        if (state.engine && liveNiceness > 0) setNiceness(state.engine, baseNiceness);
      };

      /** Applies queued events in order; stops at a scan that has ended (its final snapshot comes first). */
      const applyEvents = () => {
        while (queue.length > 0 && !(scan && scan.ended)) {
          const event = queue.shift() as ScanEvent<Chunk, unknown>;
          switch (event.kind) {
            case "start":
              scan = { meta: event.meta, ended: false, iterationAtEnd: 0, objectChange: Infinity, lastSnapshotIteration: 0, lastSnapshotMs: scheduler.now() };
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
        state.ended &&
        engine.iteration >= state.iterationAtEnd + iterationsAfterEnd &&
        // Settled counts only under the engine's own bound (under the live one the object keeps moving).
        (engine.iteration >= iterations || (state.relaxFactorToRestore === undefined && state.objectChange < settledObjectChange));

      const afterIteration = () => {
        if (closed) return;
        const state = scan as ScanState;
        const engine = state.engine as StreamEngine;
        if (state.ended && settledObjectChange > 0) {
          // A copy of the object per iteration after the end only (a few ms at 1000 frames' object).
          const object = engine.snapshot(false).object.data;
          state.objectChange = state.lastObject ? relativeChange(state.lastObject, object) : Infinity;
          state.lastObject = object;
        }
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
            if (state.ended && state.relaxFactorToRestore !== undefined && engine.iteration >= state.iterationAtEnd + iterationsAfterEnd) {
              // The last frames have had their iterations under the live bound: the engine's own bound settles it.
              // How far the object moves is measured afresh under it (under the live bound it keeps moving), so a
              // settled stop comes only after an iteration with the engine's bound; `iterations` may end it first.
              engine.setFourierRelaxFactor?.(state.relaxFactorToRestore);
              state.relaxFactorToRestore = undefined;
              state.objectChange = Infinity;
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
          // Only a live scan's chunks are copied and acked on arrival. While an ended scan finishes its iterations
          // the next scan's chunks wait unacked, as before, so the credits hold the source back between scans.
          const ending = scan?.ended === true || queue.some((queued) => queued.kind === "end");
          if (event.kind === "item" && !ending) {
            queue.push(copied(event));
            // Acked after the copy is queued: a synchronous source may emit the next chunk inside this ack.
            event.item.ack();
          } else {
            queue.push(event);
          }
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

/**
 * A chunk's frames copied out and the chunk acknowledged at once, so its credits go back to the source while an
 * iteration runs (the engine takes the copy in at the next step). Holding the chunk until then held the source
 * back for up to an iteration (0.3-1 s at 1000 frames, seconds while the scan is live and the workers yield): at
 * 160 raw frames/s that is more than the credits' slack of 64 frames, so the frameserver had to wait.
 */
function copied(event: ScanEvent<Chunk, unknown> & { kind: "item" }): ScanEvent<Chunk, unknown> {
  const chunk = event.item.value;
  const copy: Chunk = { ...chunk, data: chunk.data.slice(), weights: chunk.weights.slice(), indices: chunk.indices.slice(), positionsYX: chunk.positionsYX.slice() };
  return { ...event, item: envelope(copy) };
}

/** Acks what the operator will never take in (on error or unsubscribe), so upstream credits are not lost. */
function letGo(event: ScanEvent<Chunk, unknown>): void {
  const held: Envelope<unknown> | undefined = event.kind === "item" ? event.item : event.kind === "dark" ? event.dark : undefined;
  held?.ack();
}
