/** Builds the engine named in the options: `createEngine({ algorithm: "dm" }, setup)`. */
import { EngineSetup, ReconstructionEngine } from "./engine";
import { EpieEngine } from "./epie";
import { EpieFromDm } from "./epie-from-dm";
import { engineOptions } from "./options";
import { ProjectionEngine } from "./projection";

export function createEngine(options: unknown, setup: EngineSetup): ReconstructionEngine {
  const resolved = engineOptions(options);
  if (resolved.algorithm !== "epie") return new ProjectionEngine(resolved, setup);
  return resolved.warmUpDmIterations > 0 ? new EpieFromDm(resolved, setup, (dm, s) => new ProjectionEngine(dm, s)) : new EpieEngine(resolved, setup);
}

export type { EngineSetup, ReconstructionEngine } from "./engine";
export { batchFromChunk } from "./frames";
export type { FrameBatch } from "./frames";
export { EngineOptionsCodec, engineOptions } from "./options";
export type { EngineOptions, EngineOptionsInput } from "./options";
export { EpieEngine } from "./epie";
export { EpieFromDm } from "./epie-from-dm";
export { LocalPartitionRunner, ProjectionEngine, ProjectionPartition, combinePartials, partitionBlocks } from "./projection";
export type { PartialSums, PartitionRunner } from "./projection";
