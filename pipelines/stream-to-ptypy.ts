/**
 * Preprocess a scan and stream it to PtyPy in the cosmicstreams protocol: no storage, no reconstruction here.
 * PtyPy's streaming loader (or a cluster job) subscribes to --publish.
 *
 *   npx ts-node pipelines/stream-to-ptypy.ts --frameserver tcp://host:37010 --scan-control tcp://host:37011 \
 *       --publish tcp://127.0.0.1:37013 --config preprocess.json
 *
 * With no source address it serves the built-in simulated scan on loopback, as `cosmic.ts` does.
 */
import * as t from "io-ts";
import { Command } from "commander";
import { PositiveInteger } from "../src/model/codec";
import { PreprocessEngineConfig } from "../src/kernel/config";
import { grab } from "../src/operators/grab";
import { preprocessWithEngine } from "../src/operators/preprocess-engine";
import { untilInterrupted } from "../src/operators/until-interrupted";
import { frameserverSource } from "../src/sources/frameserver-source";
import { publishCosmicstreams } from "../src/sinks/publish";
import { definePipeline } from "../src/pipeline/define";
import { observeSource, observePoints } from "../src/pipeline/observe";
import { runPipeline } from "../src/pipeline/run";
import { startSimulatedFrameserver } from "../src/pipeline/simulated-frameserver";
import { RAW_FRAMES_PORT, RAW_CONTROL_PORT } from "../src/sources/ports";

const Config = t.intersection([
  t.type({ frames: t.string, control: t.string, publish: t.string, credits: PositiveInteger, preprocess: PreprocessEngineConfig }),
  t.partial({ simulatePoints: PositiveInteger, waitForSubscribers: t.number }),
]);
type Config = t.TypeOf<typeof Config>;

export const streamToPtypy = definePipeline<Config, import("../src/model/source").SourceMessage>({
  name: "stream-to-ptypy",
  description: "preprocess and publish in the cosmicstreams protocol for PtyPy",
  config: Config,
  async setup(config, context) {
    if (config.simulatePoints === undefined) return;
    const server = startSimulatedFrameserver({ points: config.simulatePoints, seed: 1, frameSize: 128, darks: 10, basePort: Number(config.frames.split(":").pop()) });
    context.log(`simulated frameserver: ${config.simulatePoints} points at ${server.frames}`);
    return () => server.stop();
  },
  source: (config, context) => frameserverSource({ frames: config.frames, control: config.control, credits: config.credits, scans: 1, onFault: context.onFault }),
  stages: (config, context) => (messages) =>
    messages.pipe(observeSource(context), grab({ onFault: context.onFault }), observePoints(context), untilInterrupted(context.stop$), preprocessWithEngine(config.preprocess)),
  sinks: (config, context) => [publishCosmicstreams<unknown>({ address: config.publish, waitForSubscribers: config.waitForSubscribers, onFault: context.onFault })],
});

if (require.main === module) {
  const o = new Command()
    .option("--frameserver <address>", "frame socket of a real source", `tcp://127.0.0.1:${RAW_FRAMES_PORT}`)
    .option("--scan-control <address>", "scan-control socket of a real source", `tcp://127.0.0.1:${RAW_CONTROL_PORT}`)
    .option("--publish <address>", "cosmicstreams PUB bind address", "tcp://127.0.0.1:37013")
    .option("--wait-subscribers <n>", "hold the scan until this many subscribers joined", Number)
    .option("--simulate <points>", "serve a simulated scan of this many points on the frameserver addresses", Number)
    .option("--credits <n>", "frames the source may have unacknowledged", Number, 256)
    .option("--crop <pixels>", "square crop around the centre, in detector pixels", Number, 256)
    .option("--bin <factor>", "binning factor after the crop", Number, 2)
    .option("--profile <name>", "preprocessing profile (cosmic-fccd)")
    .option("--json", "end with one JSON line summarising the run")
    .parse(process.argv)
    .opts();
  const config = {
    frames: o.frameserver,
    control: o.scanControl,
    publish: o.publish,
    credits: o.credits,
    preprocess: { crop: { size: o.crop }, bin: { factor: o.bin }, ...(o.profile ? { profile: o.profile } : {}) },
    ...(o.simulate !== undefined ? { simulatePoints: o.simulate } : {}),
    ...(o.waitSubscribers !== undefined ? { waitForSubscribers: o.waitSubscribers } : {}),
  };
  runPipeline(streamToPtypy, config, { json: Boolean(o.json) }).then(({ exitCode }) => process.exit(exitCode));
}
