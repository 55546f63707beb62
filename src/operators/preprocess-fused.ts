/**
 * `preprocessFused(config)`: the same chain as `preprocess(config)` (same input, same events, bit-identical
 * frames and chunks) with the steady state in one fused kernel (src/kernel/fused.ts): once the centre is frozen,
 * each point costs one pass over the raw pixels that feed the crop window, into preallocated buffers. Until a
 * centre is found (no `centre.yx`), the first points go through the reference functions.
 */
import { OperatorFunction, pipe } from "rxjs";
import { ScanEvent } from "../model/events";
import { Chunk, DarkFrame, Frame, Point } from "../model/scan";
import { PreprocessConfig } from "../preprocess/config";
import { ItemEvent } from "../preprocess/types";
import { fusedChain } from "../kernel/engine";
import { inThreadKernel } from "../kernel/fused";
import { chunk } from "./chunk";
import { resolvePreprocessConfig } from "./preprocess";

/** The chain up to processed frames, as `preprocessFrames`. */
export function preprocessFusedFrames(config: PreprocessConfig = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Frame>> {
  return fusedChain("preprocess-fused", config, { steady: inThreadKernel() });
}

/** The whole chain, points in, chunks out, as `preprocess`. */
export function preprocessFused(config: PreprocessConfig = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Chunk>> {
  return pipe(preprocessFusedFrames(config), chunk(resolvePreprocessConfig(config).chunk));
}
