/**
 * Replay a recorded scan (a `.ptyd` or CXI file this project or PtyPy wrote) through the same chain as a live scan:
 * chunk -> reconstruct -> picture and reconstruction files. Useful to reconstruct again with another engine or more
 * iterations, or to test a pipeline on real data.
 *
 *   npx ts-node pipelines/replay.ts out/sim-1.ptyd --engine raar --iterations 200 --out replayed
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as t from "io-ts";
import { Command, Option } from "commander";
import { PositiveInteger } from "../src/model/codec";
import { ChunkOptions } from "../src/preprocess/config";
import { FrameEvent } from "../src/preprocess/types";
import { chunk, chunkHold } from "../src/operators/chunk";
import { withCreditBudget } from "../src/runtime/credits";
import { reconstruct } from "../src/operators/reconstruct";
import { untilInterrupted } from "../src/operators/until-interrupted";
import { replayFile } from "../src/sources/file-replay";
import { snapshotFiles } from "../src/sinks/snapshot-files";
import { definePipeline } from "../src/pipeline/define";
import { observePoints, observeProcessedFrames } from "../src/pipeline/observe";
import { runPipeline } from "../src/pipeline/run";

const Fields = t.type({
  file: t.string,
  out: t.string,
  engine: t.keyof({ dm: null, raar: null, epie: null }, "engine (dm, raar or epie)"),
  iterations: PositiveInteger,
  chunk: ChunkOptions,
  /** Frames read from the file and not yet acknowledged, at most. */
  credits: PositiveInteger,
});
const Config = withCreditBudget(Fields, (c) => c.credits, (c) => [chunkHold(c.chunk, 1)]);
type Config = t.TypeOf<typeof Fields>;

export const replay = definePipeline<Config, FrameEvent>({
  name: "replay",
  description: "a recorded .ptyd or CXI scan through chunk, reconstruct and the reconstruction outputs",
  config: Config,
  async setup(config) {
    fs.mkdirSync(config.out, { recursive: true });
  },
  source: (config) => replayFile(config.file, { credits: config.credits }),
  stages: (config, context) => (frames) =>
    frames.pipe(
      observeProcessedFrames(context),
      observePoints(context),
      untilInterrupted(context.stop$),
      chunk(config.chunk),
    ),
  reconstruct: (config) => reconstruct({ engine: { algorithm: config.engine }, iterations: config.iterations }),
  outputs: (config, context) => [snapshotFiles({ directory: config.out, onFile: (file) => context.files.add(file), log: (line) => context.log(line) })],
});

if (require.main === module) {
  const program = new Command()
    .argument("<file>", "a .ptyd or CXI file")
    .option("--out <dir>", "where the picture goes", "out")
    .addOption(new Option("--engine <engine>", "reconstruction engine").choices(["dm", "raar", "epie"]).default("dm"))
    .option("--iterations <n>", "iterations", Number, 100)
    .option("--chunk <frames>", "frames per chunk fed to the engine", Number, 32)
    .option("--credits <frames>", "frames read ahead of the reconstruction, at most", Number, 64)
    .option("--json", "end with one JSON line summarising the run")
    .parse(process.argv);
  const o = program.opts();
  const config = { file: path.resolve(program.args[0]), out: path.resolve(o.out), engine: o.engine, iterations: o.iterations, chunk: { size: o.chunk }, credits: o.credits };
  runPipeline(replay, config, { json: Boolean(o.json) }).then(({ exitCode }) => process.exit(exitCode));
}
