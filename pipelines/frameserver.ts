/**
 * A simulated frameserver as its own process: serves a simulated scan over ZeroMQ in the raw frameserver +
 * scan-control protocol (default) or the cosmicstreams protocol, as fast as the PUSH reader takes it or at
 * `--rate` frames/s, with a conflating PUB monitor port for viewers.
 *
 *   npx ts-node pipelines/frameserver.ts --points 200 --rate 100
 *   npx ts-node pipelines/frameserver.ts --pattern pub --wait-subscribers 1
 *   npx ts-node pipelines/frameserver.ts --protocol cosmicstreams --wait-subscribers 1
 *
 * PUB sends nothing to subscribers that are not connected yet (slow joiner): with `--pattern pub` (and always
 * with cosmicstreams) pass `--wait-subscribers N` to hold the first message until N readers subscribed.
 */
import { Command, InvalidArgumentError } from "commander";
import { simulateScan } from "../src/sim/scan";
import { COSMIC_FRAME_PORT } from "../src/model/cosmicstreams";
import { renderedAhead, serveCosmicScan, serveRawScan, ServeEnding, ServePattern } from "../src/sources/frameserver-server";
import { cosmicScanFromSimulation } from "../src/sources/cosmicstreams-start";
import { RAW_FRAMES_PORT, RAW_CONTROL_PORT, RAW_MONITOR_PORT } from "../src/sources/ports";
import { DetectorLayout, FCCD_LAYOUT, SMALL_LAYOUT } from "../src/model/layout";

/** Detector layouts by name: COSMIC's FCCD (960 x 1152 raw, 2.2 MB a frame); `small` (72 KB) with `--frame-size 32`. */
const LAYOUTS: Record<string, DetectorLayout> = { fccd: FCCD_LAYOUT, small: SMALL_LAYOUT };

const integer = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got ${value}`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`expected a positive number, got ${value}`);
  return n;
};
const oneOf = <T extends string>(...choices: T[]) => (value: string): T => {
  if (!(choices as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(", ")}, got ${value}`);
  return value as T;
};
const tcp = (port: number) => `tcp://127.0.0.1:${port}`;

const program = new Command()
  .name("frameserver")
  .description("Serve a simulated ptychography scan over ZeroMQ (raw frameserver + scan control, or cosmicstreams).")
  .option("--protocol <name>", "raw | cosmicstreams", oneOf("raw", "cosmicstreams"), "raw")
  .option("--pattern <name>", "push (lossless) | pub (lossy, as at COSMIC); cosmicstreams is always pub", oneOf<ServePattern>("push", "pub"), "push")
  .option("--frames <endpoint>", `frame socket (default ${tcp(RAW_FRAMES_PORT)}, cosmicstreams ${tcp(COSMIC_FRAME_PORT)})`)
  .option("--control <endpoint>", "scan-control socket (raw protocol)", tcp(RAW_CONTROL_PORT))
  .option("--monitor <endpoint>", "conflating PUB monitor for viewers", tcp(RAW_MONITOR_PORT))
  .option("--no-monitor", "no monitor port")
  .option("--monitor-hz <n>", "at most this many monitor frames per second", positive, 10)
  .option("--rate <fps>", "frames per second (default: as fast as the reader takes them)", positive)
  .option("--from-index <n>", "resume at this frame index (the start is sent again)", integer(0), 0)
  .option("--until-index <n>", "stop sending before this frame index", integer(0))
  .option("--ending <how>", "stop | abort | none (a frameserver that dies mid-scan)", oneOf<ServeEnding>("stop", "abort", "none"), "stop")
  .option("--wait-subscribers <n>", "PUB: wait for n subscribers on each socket before the first message", integer(0), 0)
  .option("--positions-follow", "send positions as point messages after each point's frames, not in start")
  .option("--points <n>", "scan points", integer(1), 100)
  .option("--frame-size <n>", "reconstruction frame size N (power of two)", integer(8), 128)
  .option("--darks <n>", "dark frames per exposure time", integer(0), 10)
  .option("--seed <n>", "simulation seed", integer(0), 1)
  .option("--layout <name>", `detector layout: ${Object.keys(LAYOUTS).join(" | ")}`, oneOf(...Object.keys(LAYOUTS)), "fccd")
  .option("--scan-id <id>", "scan identifier")
  .option("--render-ahead", "raw protocol: render every frame before serving, so serving costs only the sends (2.2 MB of memory a frame)")
  .option("--linger-ms <ms>", "how long to wait for queued messages at exit", integer(0), 5000);

async function main(): Promise<void> {
  const o = program.parse(process.argv).opts();
  const sim = simulateScan({ numPoints: o.points, frameSize: o.frameSize, darksPerExposure: o.darks, seed: o.seed, scanId: o.scanId ?? "", layout: LAYOUTS[o.layout as string] });
  const cosmic = o.protocol === "cosmicstreams";
  const options = {
    pattern: cosmic ? ("pub" as const) : (o.pattern as ServePattern),
    frames: o.frames ?? tcp(cosmic ? COSMIC_FRAME_PORT : RAW_FRAMES_PORT),
    control: o.control as string,
    monitor: o.monitor === false ? undefined : (o.monitor as string),
    monitorMaxHz: o.monitorHz as number,
    rateHz: o.rate as number | undefined,
    fromIndex: o.fromIndex as number,
    untilIndex: o.untilIndex as number | undefined,
    ending: o.ending as ServeEnding,
    waitSubscribers: o.waitSubscribers as number,
    positionsFollow: Boolean(o.positionsFollow),
    lingerMs: o.lingerMs as number,
  };
  const total = cosmic ? sim.start.numPoints : sim.totalFrames;
  process.stderr.write(
    `frameserver: scan ${sim.start.scanId}, ${total} frames, ${o.protocol} over ${options.pattern} at ${options.frames}` +
      `${cosmic ? "" : `, control ${options.control}`}${options.monitor ? `, monitor ${options.monitor}` : ""}\n`,
  );
  let lastReport = 0;
  const onProgress = (sent: number) => {
    const now = Date.now();
    if (now - lastReport > 1000) {
      lastReport = now;
      process.stderr.write(`frameserver: ${sent} frames sent\n`);
    }
  };
  if (o.renderAhead && cosmic) throw new Error("--render-ahead serves the raw protocol only");
  const raw = o.renderAhead ? renderedAhead(sim, options.fromIndex, Math.min(options.untilIndex ?? sim.totalFrames, sim.totalFrames)) : sim;
  if (o.renderAhead) process.stderr.write(`frameserver: frames rendered ahead\n`);
  const server = cosmic ? await serveCosmicScan(cosmicScanFromSimulation(sim), { ...options, onProgress }) : await serveRawScan(raw, { ...options, onProgress });
  const stop = () => server.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const summary = await server.done;
  const how = summary.interrupted ? "interrupted after" : "done,";
  process.stderr.write(`frameserver: ${how} ${summary.framesSent} frames in ${summary.seconds.toFixed(2)} s\n`);
  server.close();
}

main().catch((error) => {
  process.stderr.write(`frameserver: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
