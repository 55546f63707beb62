/**
 * The main job: grab -> preprocess -> chunk -> {CXI + .ptyd, publish, reconstruct} -> reconstruction files and picture.
 *
 *   npx ts-node pipelines/cosmic.ts                         # the embedded default: a simulated scan on loopback
 *   npx ts-node pipelines/cosmic.ts --frameserver tcp://host:37010 --scan-control tcp://host:37011
 *   npx ts-node pipelines/cosmic.ts --cosmicstreams tcp://host:37013 --engine dm
 *   npx ts-node pipelines/cosmic.ts --workers 2                           # preprocessing in 2 worker processes
 *   npx ts-node pipelines/cosmic.ts --frameserver tcp://host:37010 --scan-control tcp://host:37011 --serve
 *
 * With no arguments it starts the built-in simulator as a frameserver and scan control on loopback (a separate
 * process), runs a whole scan and leaves in ./out/ the CXI file, the .ptyd file and a PNG of the reconstruction.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { Observable, OperatorFunction, tap } from "rxjs";
import { parseLenientJson } from "../src/model/json";
import { Snapshot } from "../src/model/scan";
import { FrameEvent } from "../src/preprocess/types";
import { SourceMessage } from "../src/model/source";
import { grab } from "../src/operators/grab";
import { chunk } from "../src/operators/chunk";
import { preprocessWithEngine } from "../src/operators/preprocess-engine";
import { reconstruct } from "../src/operators/reconstruct";
import { untilInterrupted } from "../src/operators/until-interrupted";
import { frameserverSource } from "../src/sources/frameserver-source";
import { cosmicstreamsSource } from "../src/sources/cosmicstreams-source";
import { RAW_FRAMES_PORT } from "../src/sources/ports";
import { storageSink } from "../src/sinks/storage-config";
import { publishCosmicstreams } from "../src/sinks/publish";
import { publishReconstructions } from "../src/sinks/publish-rec";
import { snapshotFiles } from "../src/sinks/snapshot-files";
import { simulateScan } from "../src/sim/scan";
import { ChunkEvent, definePipeline } from "../src/pipeline/define";
import { runPipeline } from "../src/pipeline/run";
import { startSimulatedFrameserver } from "../src/pipeline/simulated-frameserver";
import { loadH5wasm } from "../src/runtime/h5wasm";
import { observeProcessedFrames, pointsOf, measuredStage, observeChunks, observePoints, observeSource } from "../src/pipeline/observe";
import { measured } from "../src/operators/measured";
import { startViewer } from "../src/viewer/feed";
import { CosmicConfig, MAX_POINTS_AWAITING_POSITION, defaultCredits, remotePoolOptions } from "../src/pipeline/cosmic-config";
import { PipelineContext } from "../src/pipeline/context";
import { RemoteKernelPool, hostAddress } from "../src/distributed/coordinator";
import { preprocessRemote } from "../src/distributed/preprocess-remote";

type Incoming = SourceMessage | FrameEvent;

/** The worker-process pool of a run with `distributed` (started in setup, for every scan of the run). */
const remotePools = new WeakMap<PipelineContext, RemoteKernelPool>();

const addressesOf = (config: CosmicConfig) => {
  const source = config.source;
  if (source.kind === "simulator") {
    const at = (offset: number) => `tcp://127.0.0.1:${source.basePort + offset}`;
    return { frames: at(0), control: at(1) };
  }
  return source.kind === "frameserver" ? { frames: source.frames, control: source.control } : undefined;
};

export const cosmic = definePipeline<CosmicConfig, Incoming>({
  name: "cosmic",
  description: "COSMIC's ptychography pipeline: grab, FCCD preprocessing, CXI/.ptyd storage, publishing, streaming reconstruction",
  config: CosmicConfig,

  async setup(config, context) {
    fs.mkdirSync(config.out, { recursive: true });
    const stops: Array<() => Promise<void>> = [];
    if (config.viewer !== undefined) {
      const viewer = await startViewer({ port: config.viewer.port, host: config.viewer.host });
      viewer.healthFrom(() => ({ stages: context.metrics.figures(), counts: context.counts() }));
      context.viewer = viewer;
      context.log(`viewer: ${viewer.url}`);
      stops.push(() => viewer.close());
    }
    // HDF5's WebAssembly is compiled here, before any frame: compiled at the first chunk it would take both cores
    // for about a second while frames arrive (runtime/h5wasm.ts compiles it with the optimizing tier).
    if (config.store.policy !== "off") await loadH5wasm();
    const source = config.source;
    if (source.kind === "simulator") {
      const server = startSimulatedFrameserver({ ...source, scanId: `sim-${source.seed}`, log: (line) => context.log(line) });
      context.log(`simulated frameserver: ${source.points} points at ${server.frames} (scan control ${server.control}, monitor ${server.monitor})`);
      stops.push(() => server.stop());
    }
    if (config.distributed !== undefined) {
      const d = config.distributed;
      const pool = await RemoteKernelPool.start({ ...remotePoolOptions(d), onFault: context.onFault, log: (line) => context.log(line) });
      stops.push(() => pool.terminate());
      remotePools.set(context, pool);
      context.log(`preprocessing workers: ${d.workers} started here; others join with: npx ts-node pipelines/worker.ts --connect ${hostAddress(pool.address)}`);
      // The workers this run started come up before the first point (ts-node takes a second or two).
      if (d.workers > 0) await pool.whenWorkers(d.workers);
    }
    return async () => {
      for (const stop of stops.reverse()) await stop();
    };
  },

  source(config, context): Observable<Incoming> {
    // Service mode serves scan after scan until interrupted (the source never completes by itself).
    const scans = config.serve ? undefined : config.source.kind === "simulator" ? 1 : (config.scans ?? 1);
    if (config.source.kind === "cosmicstreams") {
      // A cosmicstreams source carries processed frames and never darks.
      return cosmicstreamsSource({ address: config.source.address, credits: config.credits, scans, onFault: context.onFault }) as Observable<FrameEvent>;
    }
    const { frames, control } = addressesOf(config)!;
    const pattern = config.source.kind === "frameserver" && config.source.pattern ? { pattern: config.source.pattern } : {};
    return frameserverSource({ frames, control, ...pattern, credits: config.credits, scans, onFault: context.onFault });
  },

  stages(config, context): OperatorFunction<Incoming, ChunkEvent> {
    if (config.source.kind === "cosmicstreams") {
      // cosmicstreams frames are already preprocessed, with their positions: they join the flow at chunk.
      return (incoming) =>
        (incoming as Observable<FrameEvent>).pipe(
          observeProcessedFrames(context),
          observePoints(context),
          untilInterrupted(context.stop$),
          measuredStage("chunk", context, chunk(config.preprocess.chunk)),
          observeChunks(context),
        );
    }
    return (incoming) =>
      (incoming as Observable<SourceMessage>).pipe(
        observeSource(context),
        measuredStage("grab", context, grab({ onFault: context.onFault, maxAwaitingPosition: MAX_POINTS_AWAITING_POSITION }), "raw frames"),
        observePoints(context),
        untilInterrupted(context.stop$),
        config.distributed !== undefined
          ? measuredStage("preprocess:remote", context, preprocessRemote(config.preprocess, { pool: remotePools.get(context)! }))
          : measuredStage(`preprocess:${config.preprocess.engine ?? "fused"}`, context, preprocessWithEngine(config.preprocess)),
        observeChunks(context),
      );
  },

  sinks(config, context) {
    const store = config.store;
    const stored =
      store.policy === "off"
        ? []
        : store.formats.map((format) =>
            storageSink<unknown>(
              { format, path: path.join(config.out, `{scanId}.${format}`), policy: store.policy as "block" | "bypass", compression: store.compression, queueBytes: store.queueBytes, reserveBytes: store.reserveBytes },
              { info: { preprocess: config.preprocess }, onFault: context.onFault, onSummary: context.onSinkSummary },
            ),
          );
    const published = config.publish === undefined ? [] : [publishCosmicstreams<unknown>({ address: config.publish, onFault: context.onFault })];
    return [...stored, ...published];
  },

  reconstruct(config, context) {
    const r = config.reconstruct;
    if (r.engine === "none") return undefined;
    const truth = simulatedTruth(config);
    const { iterations, snapshotEveryIterations, iterationsAfterEnd, settledObjectChange, liveFourierRelaxFactor } = r;
    const options = { engine: { algorithm: r.engine }, iterations, snapshotEveryIterations, iterationsAfterEnd, settledObjectChange, liveFourierRelaxFactor };
    const onFinal = () => (context.finalReadyAtMs = Date.now());
    return measured("reconstruct", context.metrics, reconstruct(options, truth ? { truth, truthOnFinalOnly: true, onFinal } : { onFinal }), pointsOf, () => 0);
  },

  outputs(config, context) {
    const cxiPath = config.store.policy !== "off" && config.store.formats.includes("cxi") ? (scanId: string) => context.whenFileClosed("store:cxi", scanId) : undefined;
    const outputs = [snapshotFiles({ directory: config.out, cxiFileOf: cxiPath, onFile: (file: string) => context.files.add(file), log: (line: string) => context.log(line) })];
    if (config.publishRec !== undefined) outputs.push(publishReconstructions({ address: config.publishRec, identifier: (s: Snapshot) => s.scanId }));
    if (context.viewer !== undefined) outputs.push(tap((snapshot: Snapshot) => context.viewer?.snapshot(snapshot)));
    return outputs;
  },
});

/** The truth object and probe of the embedded simulated scan, for the error against the truth. */
function simulatedTruth(config: CosmicConfig) {
  const source = config.source;
  if (source.kind !== "simulator") return undefined;
  const sim = simulateScan({ numPoints: source.points, seed: source.seed, frameSize: source.frameSize, darksPerExposure: source.darks });
  return { object: sim.truth.object, probe: sim.truth.probe };
}

// ---------------------------------------------------------------------------------------------------------
// Command line: flags override the --config file, which overrides the defaults; the result is decoded whole.

/**
 * The reconstruction's defaults: at most 100 iterations in all, but once the scan has ended it stops as soon as the
 * object has settled (an iteration moves it by less than 0.2 %), after at least 8 iterations over the last frames
 * under the tighter live power bound (operators/reconstruct.ts `liveFourierRelaxFactor`) and then under PtyPy's
 * bound, where DM comes to rest within a few iterations. 8 rather than 5: when the scan leaves time for few live
 * iterations (the 1000-point scan served at 160 raw frames/s, 15-20) the last frames need them (0.082 -> 0.054
 * against the truth; all frames at once reach 0.072); 8 and 0.2 % rather than 10 and 0.1 %: the same error to
 * 0.001, 6 s rather than 7-9 s after the last frame. `reconstruct.settledObjectChange: 0` runs `iterations` in all.
 */
export const RECONSTRUCT_DEFAULTS = { iterations: 100, iterationsAfterEnd: 8, settledObjectChange: 2e-3 } as const;

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got ${value}`);
  return n;
};
const number = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got ${value}`);
  return n;
};

export function commandLine(): Command {
  return new Command()
    .name("cosmic")
    .description(cosmic.description)
    .option("--frameserver <address>", "raw frameserver frame socket of a real source (with --scan-control)")
    .option("--scan-control <address>", "scan-control socket of a real source")
    .addOption(new Option("--pattern <pattern>", "how to read the frameserver: pull (lossless) or sub (lossy, gaps counted)").choices(["pull", "sub"]))
    .option("--cosmicstreams <address>", "a cosmicstreams publisher (preprocessed frames with positions)")
    .option("--scans <n>", "a real source: end after this many scans", integer)
    .option("--config <file>", "JSON configuration (see README); command-line flags override it")
    .addOption(new Option("--profile <name>", "preprocessing profile").choices(["cosmic-fccd"]))
    .option("--out <dir>", "output directory", "out")
    .option("--points <n>", "simulated scan: points", integer)
    .option("--seed <n>", "simulated scan: seed", integer)
    .option("--rate <fps>", "simulated scan: frames per second (default: as fast as the pipeline reads)", number)
    .option("--sim-port <port>", "simulated scan: first of three loopback ports", integer)
    .option("--sim-render-ahead", "simulated scan: render every frame before serving (rate tests: the simulator then takes no CPU while the scan runs)")
    .addOption(new Option("--engine <engine>", "reconstruction engine").choices(["dm", "raar", "epie", "none"]))
    .option("--iterations <n>", "reconstruction iterations in all, at most (it stops sooner once settled after the end)", integer)
    .addOption(new Option("--store <policy>", "storage: block (lossless), bypass (skips when behind), off").choices(["block", "bypass", "off"]))
    .option("--credits <n>", "frames the source may have unacknowledged", integer)
    .option("--publish <address>", "publish processed frames in the cosmicstreams protocol (PUB bind address)")
    .option("--publish-rec <address>", "publish reconstructions as cosmicstreams rec messages (PUB bind address)")
    .option("--workers <n>", "preprocess in n worker processes on this host (0: only workers started by hand)", integer)
    .option("--worker-address <address>", "bind address for worker processes on other hosts, e.g. tcp://0.0.0.0:37020")
    .option("--expect-workers <n>", "workers the in-flight bound is sized for (default --workers)", integer)
    .option("--serve", "service mode: scan after scan until SIGINT, one set of outputs per scan")
    .option("--viewer <port>", "serve the live viewer on 127.0.0.1:<port>", integer)
    .option("--json", "end with one JSON line summarising the run")
    .option("--no-progress", "no progress display");
}

/** The configuration the command line describes (not yet validated: `runPipeline` decodes it). */
export function configFromCommandLine(options: Record<string, unknown>, file: Record<string, unknown> = {}): Record<string, unknown> {
  const fileSource = (file.source ?? {}) as Record<string, unknown>;
  const source =
    options.cosmicstreams !== undefined
      ? { kind: "cosmicstreams", address: options.cosmicstreams }
      : options.frameserver !== undefined || options.scanControl !== undefined
        ? { kind: "frameserver", frames: options.frameserver, control: options.scanControl, ...(options.pattern ? { pattern: options.pattern } : {}) }
        : fileSource.kind !== undefined && fileSource.kind !== "simulator"
          ? fileSource
          : {
              kind: "simulator",
              points: 400,
              seed: 1,
              frameSize: 128,
              darks: 10,
              basePort: RAW_FRAMES_PORT,
              ...fileSource,
              ...(options.points !== undefined ? { points: options.points } : {}),
              ...(options.seed !== undefined ? { seed: options.seed } : {}),
              ...(options.rate !== undefined ? { rateHz: options.rate } : {}),
              ...(options.simPort !== undefined ? { basePort: options.simPort } : {}),
              ...(options.simRenderAhead ? { renderAhead: true } : {}),
            };
  const simulated = source.kind === "simulator";
  const frameSize = simulated ? Number((source as { frameSize?: number }).frameSize ?? 128) : undefined;
  const filePreprocess = (file.preprocess ?? {}) as Record<string, unknown>;
  // The simulator bins its detector by 2: a 2N crop binned by 2 gives N x N frames.
  const preprocessDefaults = simulated ? { crop: { size: 2 * frameSize! }, bin: { factor: 2 } } : {};
  const preprocess = { ...preprocessDefaults, ...filePreprocess, ...(options.profile ? { profile: options.profile } : {}) };
  const fileStore = (file.store ?? {}) as Record<string, unknown>;
  const fileReconstruct = (file.reconstruct ?? {}) as Record<string, unknown>;
  const config: Record<string, unknown> = {
    maxExposures: 2,
    ...file,
    source,
    out: path.resolve(String(options.out ?? file.out ?? "out")),
    preprocess,
    store: { policy: "block", formats: ["cxi", "ptyd"], ...fileStore, ...(options.store ? { policy: options.store } : {}) },
    reconstruct: {
      engine: "dm",
      ...RECONSTRUCT_DEFAULTS,
      ...fileReconstruct,
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.iterations !== undefined ? { iterations: options.iterations } : {}),
    },
    ...(options.publish !== undefined ? { publish: options.publish } : {}),
    ...(options.publishRec !== undefined ? { publishRec: options.publishRec } : {}),
    ...(options.viewer !== undefined ? { viewer: { port: options.viewer } } : {}),
    ...(options.scans !== undefined ? { scans: options.scans } : {}),
    ...(options.serve ? { serve: true } : {}),
    ...distributedFromCommandLine(options, file),
  };
  const credits = options.credits ?? file.credits;
  config.credits = credits ?? safeDefaultCredits(config);
  return config;
}

function distributedFromCommandLine(options: Record<string, unknown>, file: Record<string, unknown>): Record<string, unknown> {
  const fromFile = (file.distributed ?? {}) as Record<string, unknown>;
  if (options.workers === undefined && options.workerAddress === undefined && file.distributed === undefined) return {};
  const distributed = {
    workers: 0,
    ...fromFile,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.workerAddress !== undefined ? { address: options.workerAddress } : {}),
    ...(options.expectWorkers !== undefined ? { expectWorkers: options.expectWorkers } : {}),
  };
  return { distributed };
}

function safeDefaultCredits(config: Record<string, unknown>): number {
  try {
    return defaultCredits(config as unknown as CosmicConfig);
  } catch {
    return 256; // the configuration is invalid anyway; decoding will say why
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed = parseLenientJson(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("expected a JSON object");
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new Error(`configuration file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

async function main(): Promise<number> {
  const options = commandLine().parse(process.argv).opts();
  let file: Record<string, unknown> = {};
  try {
    if (options.config) file = readConfigFile(options.config as string);
  } catch (error) {
    process.stderr.write(`cosmic: ${(error as Error).message}\n`);
    return 2;
  }
  const config = configFromCommandLine(options, file);
  const result = await runPipeline(cosmic, config, { json: Boolean(options.json), progress: options.progress !== false });
  return result.exitCode;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`cosmic: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
