/**
 * A simulated run feeding a live viewer, as its own process (`npx ts-node test/viewer/drive-viewer.ts PORT`):
 * the page test watches it from Chromium. It runs outside jest because jest's sandbox makes calls to built-ins
 * such as Math.log1p some 30 times slower, which would starve the viewer's timer. Prints `{"url": ...}` on stdout
 * once serving; stops on SIGTERM/SIGINT or after `MAX_SECONDS`.
 */
import { startViewer } from "../../src/viewer/feed";
import { SimulatedRun } from "./simulated-run";

const MAX_SECONDS = 60;

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  const viewer = await startViewer({ port, maxFps: 10 });
  const run = new SimulatedRun(viewer);
  let step = 0;
  const driver = setInterval(() => {
    run.frame();
    if (step++ % 3 === 0) run.snapshot();
  }, 40);
  const stop = () => {
    clearInterval(driver);
    viewer.close().then(() => process.exit(0));
  };
  setTimeout(stop, MAX_SECONDS * 1000).unref();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdout.write(`${JSON.stringify({ url: viewer.url, scanId: run.sim.start.scanId })}\n`);
}

main().catch((error) => {
  process.stderr.write(`drive-viewer: ${(error as Error).message}\n`);
  process.exit(1);
});
