/**
 * `preprocessWorkers(config, options)`: `preprocessFused` with the kernel in worker threads, so points spread
 * over the cores. Same input, same events, bit-identical frames, in input order; each frame carries its point's
 * ack. At most `pool.bound` points are in workers at once (threads x inFlightPerThread); later points wait for
 * a slot holding their credits, so memory stays bounded for any scan length. While they wait, the pipeline's
 * thread runs them itself, one per event-loop turn (`callingThreadHelps`, default on; see KernelWorkerPool), so
 * by default the pool starts one worker fewer than the machine has cores.
 *
 * The pool starts with the subscription and is terminated with it, unless one is passed in `options.pool`
 * (a long-lived pool for scan after scan, which its owner terminates).
 */
import { concatMap, from, map, Observable, of, OperatorFunction, pipe } from "rxjs";
import { mapEnvelope } from "../model/envelope";
import { ScanEvent } from "../model/events";
import { Chunk, DarkFrame, Frame, Point } from "../model/scan";
import { PreprocessConfig } from "../preprocess/config";
import { ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { fusedChain } from "../kernel/engine";
import { KernelPoolOptions, KernelWorkerPool, poolBound } from "../kernel/pool";
import { chunk } from "./chunk";
import { resolvePreprocessConfig } from "./preprocess";

export interface PreprocessWorkersOptions extends KernelPoolOptions {
  /** A pool to use (and leave running) instead of one per subscription. */
  pool?: KernelWorkerPool;
}

/** The chain up to processed frames, as `preprocessFrames`, with the kernel in worker threads. */
export function preprocessWorkersFrames(
  config: PreprocessConfig = {},
  options: PreprocessWorkersOptions = {},
): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Frame>> {
  return (source) =>
    new Observable<ItemEvent<Frame>>((subscriber) => {
      const pool = options.pool ?? new KernelWorkerPool(options);
      const chain = fusedChain<Promise<Frame>>("preprocess-workers", config, {
        planChanged: (plan) => pool.setPlan(plan),
        steady: (_plan, point) => {
          const frame = pool.run(point);
          // Rejections surface in order through concatMap below; this keeps Node from calling them unhandled first.
          frame.catch(() => undefined);
          return frame;
        },
      });
      const subscription = source
        .pipe(
          chain,
          framesInOrder(),
        )
        .subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        if (options.pool === undefined) void pool.terminate();
      };
    });
}

/**
 * Frames that are still promises (in a worker thread or process) resolved in input order: a frame still in a worker
 * holds back everything behind it. Shared by the worker-thread and worker-process engines.
 */
export function framesInOrder(): OperatorFunction<ItemEvent<Frame | Promise<Frame>>, ItemEvent<Frame>> {
  return concatMap((event) =>
    event.kind === "item" && event.item.value instanceof Promise
      ? from(event.item.value).pipe(map((frame): ItemEvent<Frame> => ({ kind: "item", item: mapEnvelope(event.item, () => frame) })))
      : of(event as ItemEvent<Frame>),
  );
}

/** The whole chain, points in, chunks out, as `preprocess`. */
export function preprocessWorkers(config: PreprocessConfig = {}, options: PreprocessWorkersOptions = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Chunk>> {
  return pipe(preprocessWorkersFrames(config, options), chunk(resolvePreprocessConfig(config).chunk));
}

/** What the worker stage holds unacknowledged at full speed: the points in flight. */
export function preprocessWorkersHold(options: KernelPoolOptions, exposuresPerPoint: number): StageHold {
  const points = poolBound(options);
  return { stage: "preprocess-workers", maxHeldFrames: points * exposuresPerPoint, why: `${points} points of ${exposuresPerPoint} exposures in worker threads` };
}
