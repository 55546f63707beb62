/**
 * `preprocessRemote(config, options)`: `preprocessWithEngine` with the kernel in worker processes over ZeroMQ
 * (RemoteKernelPool), so preprocessing spreads over processes and hosts. Same input (grab's points), same output
 * (chunks, or frames with preprocessRemoteFrames), bit-identical frames, in input order; each frame carries its
 * point's acknowledgement, so credits hold end to end: a point's raw frames stay unacknowledged until its
 * processed frame is handed on (and chunk acks it in turn).
 *
 * The coordinator runs the scan logic of the fused engine (src/kernel/engine.ts: darks folded, centre frozen,
 * the first `centre.frames` points processed here), and ships each plan once per worker, then only raw pixels.
 * With `options.pool` the pool is long-lived (scan after scan; its owner terminates it), otherwise one is started
 * with the subscription (`options.spawn` local workers, or workers that connect to `options.bind`) and ended with it.
 */
import { Observable, OperatorFunction, pipe } from "rxjs";
import { ScanEvent } from "../model/events";
import { Chunk, DarkFrame, Frame, Point } from "../model/scan";
import { PreprocessConfig } from "../preprocess/config";
import { ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { fusedChain } from "../kernel/engine";
import { chunk } from "../operators/chunk";
import { resolvePreprocessConfig } from "../operators/preprocess";
import { framesInOrder } from "../operators/preprocess-workers";
import { RemoteKernelPool, RemoteKernelPoolOptions, remotePoolBound } from "./coordinator";

export interface PreprocessRemoteOptions extends RemoteKernelPoolOptions {
  /** A running pool to use (and leave running). */
  pool?: RemoteKernelPool;
}

export function preprocessRemoteFrames(config: PreprocessConfig = {}, options: PreprocessRemoteOptions = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Frame>> {
  return (source) =>
    new Observable<ItemEvent<Frame>>((subscriber) => {
      let pool = options.pool;
      let ended = false;
      let subscription: { unsubscribe(): void } | undefined;
      const started = pool ? Promise.resolve(pool) : RemoteKernelPool.start(options);
      started.then(
        (running) => {
          pool = running;
          if (ended) return;
          const chain = fusedChain<Promise<Frame>>("preprocess-remote", config, {
            planChanged: (plan) => running.setPlan(plan),
            steady: (_plan, point) => {
              const frame = running.run(point);
              // Rejections surface in order through concatMap below; this keeps Node from reporting them first.
              frame.catch(() => undefined);
              return frame;
            },
          });
          subscription = source
            .pipe(
              chain,
              framesInOrder(),
            )
            .subscribe(subscriber);
        },
        (error) => subscriber.error(error),
      );
      return () => {
        ended = true;
        subscription?.unsubscribe();
        if (options.pool === undefined) void started.then((running) => running.terminate(), () => undefined);
      };
    });
}

/** The whole chain, points in, chunks out. */
export function preprocessRemote(config: PreprocessConfig = {}, options: PreprocessRemoteOptions = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Chunk>> {
  return pipe(preprocessRemoteFrames(config, options), chunk(resolvePreprocessConfig(config).chunk));
}

/** What the remote stage holds unacknowledged at once: the points packed for or in workers. */
export function preprocessRemoteHold(options: RemoteKernelPoolOptions, exposuresPerPoint: number): StageHold {
  const points = remotePoolBound(options);
  return { stage: "preprocess-remote", maxHeldFrames: points * exposuresPerPoint, why: `${points} points of ${exposuresPerPoint} exposures in worker processes` };
}
