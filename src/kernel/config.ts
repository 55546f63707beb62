/**
 * Which engine runs the preprocessing chain, as configuration: `reference` (the composable operators, one per
 * stage), `fused` (the crop-first kernel on the pipeline's thread) or `workers` (the kernel in worker threads).
 * All three give identical frames; the preprocessing fields are those of PreprocessConfig.
 */
import * as t from "io-ts";
import { decodeOrThrow, PositiveInteger } from "../model/codec";
import { PreprocessConfig } from "../preprocess/config";

export const PreprocessEngineName = t.keyof({ reference: null, fused: null, workers: null }, "engine (reference, fused or workers)");
export type PreprocessEngineName = t.TypeOf<typeof PreprocessEngineName>;

export const WorkersOptions = t.partial(
  {
    /** Worker threads; default the machine's available parallelism (less one while the calling thread helps). */
    threads: PositiveInteger,
    /** Points handed to each worker at once; default 4. */
    inFlightPerThread: PositiveInteger,
    /** The pipeline's thread runs waiting points itself while every worker is busy; default true. */
    callingThreadHelps: t.boolean,
  },
  "workers",
);
export type WorkersOptions = t.TypeOf<typeof WorkersOptions>;

export const PreprocessEngineConfig = t.intersection([PreprocessConfig, t.partial({ engine: PreprocessEngineName, workers: WorkersOptions })], "preprocess");
export type PreprocessEngineConfig = t.TypeOf<typeof PreprocessEngineConfig>;

export const DEFAULT_ENGINE: PreprocessEngineName = "fused";

export function decodePreprocessEngineConfig(input: unknown): PreprocessEngineConfig {
  return decodeOrThrow(PreprocessEngineConfig, input, "preprocessing configuration");
}
