/** Builds the engine named in the options: `createEngine({ algorithm: "dm" }, setup)`. */
import { EngineSetup, ReconstructionEngine } from "./engine";
import { EpieEngine } from "./epie";
import { engineOptions } from "./options";
import { ProjectionEngine } from "./projection";

export function createEngine(options: unknown, setup: EngineSetup): ReconstructionEngine {
  const resolved = engineOptions(options);
  return resolved.algorithm === "epie" ? new EpieEngine(resolved, setup) : new ProjectionEngine(resolved, setup);
}

export type { EngineSetup, ReconstructionEngine } from "./engine";
export { batchFromChunk } from "./frames";
export type { FrameBatch } from "./frames";
export { EngineOptionsCodec, engineOptions } from "./options";
export type { EngineOptions, EngineOptionsInput } from "./options";
export { EpieEngine } from "./epie";
export { LocalPartitionRunner, ProjectionEngine, ProjectionPartition, combinePartials, partitionBlocks } from "./projection";
export type { PartialSums, PartitionRunner } from "./projection";
