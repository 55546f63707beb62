/**
 * The configuration of `pipelines/cosmic.ts`, as an io-ts codec: a JSON file (`--config`) and the command line
 * both become this object, and decoding checks it whole, including that the credits cover what the stages may
 * hold at once (so a small credit limit is a configuration error, not a deadlock).
 */
import * as t from "io-ts";
import { NonNegativeInteger, NonNegativeNumber, PositiveInteger, PositiveNumber } from "../model/codec";
import { PowerOfTwoSize } from "../preprocess/config";
import { PreprocessEngineConfig } from "../kernel/config";
import { preprocessEngineHolds } from "../operators/preprocess-engine";
import { grabHold } from "../operators/grab";
import { StageHold, requiredCredits, withCreditBudget } from "../runtime/credits";
import { preprocessRemoteHold } from "../distributed/preprocess-remote";

export const SimulatorSourceConfig = t.intersection([
  t.type({
    kind: t.literal("simulator"),
    points: PositiveInteger,
    seed: NonNegativeInteger,
    frameSize: PowerOfTwoSize,
    darks: NonNegativeInteger,
    /** Frames on basePort, scan control on basePort + 1, monitor on basePort + 2, all on 127.0.0.1. */
    basePort: PositiveInteger,
  }),
  t.partial({
    rateHz: PositiveNumber,
    /** Render the whole scan before serving it, so the frameserver's sends alone share the cores (rate tests). */
    renderAhead: t.boolean,
  }),
]);

export const FrameserverSourceConfig = t.intersection([
  t.type({ kind: t.literal("frameserver"), frames: t.string, control: t.string }),
  t.partial({ pattern: t.keyof({ pull: null, sub: null }), monitor: t.string }),
]);

export const CosmicstreamsSourceConfig = t.type({ kind: t.literal("cosmicstreams"), address: t.string });

export const SourceConfig = t.union([SimulatorSourceConfig, FrameserverSourceConfig, CosmicstreamsSourceConfig], "source");
export type SourceConfig = t.TypeOf<typeof SourceConfig>;

export const StoreConfig = t.intersection([
  t.type({
    /** `block` waits for storage (lossless), `bypass` skips chunks when its queue is full, `off` writes nothing. */
    policy: t.keyof({ block: null, bypass: null, off: null }, "store policy (block, bypass or off)"),
    formats: t.array(t.keyof({ cxi: null, ptyd: null }, "format (cxi or ptyd)")),
  }),
  t.partial({ compression: t.keyof({ none: null, gzip: null }), queueBytes: PositiveInteger, reserveBytes: NonNegativeInteger }),
]);

/**
 * Preprocessing in worker processes over ZeroMQ (src/distributed/): `workers` started on this host, and/or workers
 * started by hand anywhere (`pipelines/worker.ts --connect`) connecting to `address` (the coordinator binds it).
 */
export const DistributedConfig = t.intersection([
  t.type({ workers: NonNegativeInteger }),
  t.partial({
    /** Bind address for workers, e.g. tcp://0.0.0.0:37020 (default: an ephemeral loopback port, local workers only). */
    address: t.string,
    /** Workers the in-flight bound is sized for (default `workers`, at least 1). */
    expectWorkers: PositiveInteger,
    inFlightPerWorker: PositiveInteger,
  }),
]);
export type DistributedConfig = t.TypeOf<typeof DistributedConfig>;

/** The remote pool's options for `distributed`. */
export function remotePoolOptions(d: DistributedConfig) {
  return { spawn: d.workers, expectedWorkers: d.expectWorkers ?? d.workers, inFlightPerWorker: d.inFlightPerWorker, ...(d.address ? { bind: d.address } : {}) };
}

export const ReconstructConfig = t.intersection([
  t.type({
    engine: t.keyof({ dm: null, raar: null, epie: null, none: null }, "engine (dm, raar, epie or none)"),
    iterations: PositiveInteger,
  }),
  t.partial({
    snapshotEveryIterations: PositiveInteger,
    iterationsAfterEnd: NonNegativeInteger,
    /** After the end, stop before `iterations` once an iteration moves the object by less than this (0: off). */
    settledObjectChange: NonNegativeNumber,
    /** DM/RAAR's power-bound relax factor while the scan is live and just after it (operators/reconstruct.ts). */
    liveFourierRelaxFactor: NonNegativeNumber,
  }),
]);

const CosmicFields = t.intersection(
  [
    t.type({
      source: SourceConfig,
      /** Frames the source may have unacknowledged at once. */
      credits: PositiveInteger,
      /** Exposures per point assumed for the credit budget (COSMIC: 2). */
      maxExposures: PositiveInteger,
      out: t.string,
      /** The FCCD chain, and which engine runs it: `fused` (default), `workers` or `reference`. */
      preprocess: PreprocessEngineConfig,
      store: StoreConfig,
      reconstruct: ReconstructConfig,
    }),
    t.partial({
      publish: t.string,
      publishRec: t.string,
      viewer: t.intersection([t.type({ port: PositiveInteger }), t.partial({ host: t.string })]),
      /** End after this many scans (a real source; default 1). */
      scans: PositiveInteger,
      /** Service mode: scan after scan until SIGINT/SIGTERM, one set of outputs per scan (overrides `scans`). */
      serve: t.boolean,
      /** Preprocessing in worker processes (the `engine` of `preprocess` is then not used). */
      distributed: DistributedConfig,
    }),
  ],
  "cosmic configuration",
);
export type CosmicConfig = t.TypeOf<typeof CosmicFields>;

/** Points grab may keep waiting for their `point` message in this pipeline. */
export const MAX_POINTS_AWAITING_POSITION = 16;

export function cosmicHolds(config: CosmicConfig): StageHold[] {
  const exposures = config.maxExposures;
  const remote = config.distributed === undefined ? [] : [preprocessRemoteHold(remotePoolOptions(config.distributed), exposures)];
  return [grabHold(exposures, { maxAwaitingPosition: MAX_POINTS_AWAITING_POSITION }), ...preprocessEngineHolds(config.preprocess, exposures), ...remote];
}

export const CosmicConfig = withCreditBudget(CosmicFields, (c) => c.credits, cosmicHolds);

/** Credits that cover the holdings with room to spare for storage and reconstruction to run behind. */
export function defaultCredits(config: Omit<CosmicConfig, "credits">): number {
  return requiredCredits(cosmicHolds({ ...config, credits: 0 })) + 64;
}
