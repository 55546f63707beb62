/**
 * `preprocessWithEngine(config)`: the preprocessing chain with the engine the configuration names
 * (`engine: reference | fused | workers`, default fused), so a pipeline switches by configuration alone. Same
 * input (grab's points), same output (chunks, or frames with preprocessFramesWithEngine), identical values.
 */
import { OperatorFunction, pipe } from "rxjs";
import { ScanEvent } from "../model/events";
import { Chunk, DarkFrame, Frame, Point } from "../model/scan";
import { ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { DEFAULT_ENGINE, decodePreprocessEngineConfig, PreprocessEngineConfig } from "../kernel/config";
import { KernelWorkerPool } from "../kernel/pool";
import { chunk } from "./chunk";
import { preprocessFrames, preprocessHolds, resolvePreprocessConfig } from "./preprocess";
import { preprocessFusedFrames } from "./preprocess-fused";
import { preprocessWorkersFrames, preprocessWorkersHold } from "./preprocess-workers";

type Input = ScanEvent<Point, DarkFrame>;

export interface EngineOptions {
  /** With `engine: workers`, a long-lived pool to use instead of one per subscription. */
  pool?: KernelWorkerPool;
}

export function preprocessFramesWithEngine(config: PreprocessEngineConfig = {}, options: EngineOptions = {}): OperatorFunction<Input, ItemEvent<Frame>> {
  const c = decodePreprocessEngineConfig(config);
  switch (c.engine ?? DEFAULT_ENGINE) {
    case "reference":
      return preprocessFrames(c);
    case "fused":
      return preprocessFusedFrames(c);
    case "workers":
      return preprocessWorkersFrames(c, { ...c.workers, pool: options.pool });
  }
}

/** The whole chain, points in, chunks out (every engine's chunked form is its frames, then `chunk`). */
export function preprocessWithEngine(config: PreprocessEngineConfig = {}, options: EngineOptions = {}): OperatorFunction<Input, ItemEvent<Chunk>> {
  return pipe(preprocessFramesWithEngine(config, options), chunk(resolvePreprocessConfig(config).chunk));
}

/** What the chain may hold unacknowledged at once (for withCreditBudget): the reference's holds, plus the workers'. */
export function preprocessEngineHolds(config: PreprocessEngineConfig, exposuresPerPoint: number): StageHold[] {
  const holds = preprocessHolds(config, exposuresPerPoint);
  return config.engine === "workers" ? [...holds, preprocessWorkersHold(config.workers ?? {}, exposuresPerPoint)] : holds;
}
