/**
 * A preprocessing worker process: connects to a pipeline's coordinator and runs the fused kernel on the points it
 * is sent, for as long as it runs (it rejoins a coordinator that restarts, so one worker serves scan after scan).
 *
 *   npx ts-node pipelines/worker.ts --connect tcp://beamline-host:37020
 *
 * The pipeline side: `npx ts-node pipelines/cosmic.ts --worker-address tcp://0.0.0.0:37020 --workers 0 --expect-workers 4`
 * (or `--workers N` to start N workers on the pipeline's own host).
 */
import { Command } from "commander";
import { startKernelWorker } from "../src/distributed/kernel-worker";

const program = new Command()
  .name("worker")
  .description("Preprocessing worker: runs the fused FCCD kernel for a pipeline's coordinator over ZeroMQ")
  .requiredOption("--connect <address>", "the coordinator's worker address, e.g. tcp://beamline-host:37020")
  .option("--exit-with-parent", "exit when standard input closes (workers the pipeline starts itself)")
  .option("--quiet", "no log lines");

function main(): void {
  const options = program.parse(process.argv).opts();
  const log = options.quiet ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
  const worker = startKernelWorker({ connect: options.connect as string, log });
  log(`worker ${process.pid}: connected to ${options.connect}`);
  const stop = (why: string) => {
    log(`worker ${process.pid}: ${why}, ${worker.processed} points processed`);
    worker.stop();
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  if (options.exitWithParent) {
    process.stdin.resume();
    process.stdin.once("close", () => stop("parent gone"));
  }
  worker.done.then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

main();
