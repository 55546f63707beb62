/**
 * Service mode as at the beamline: `pipelines/cosmic.ts --serve` on a real source (pipelines/frameserver.ts, run
 * once per scan on the same ports) with preprocessing in two worker processes. Two consecutive scans leave two
 * complete, valid output sets named by their scan ids; SIGINT then ends the service cleanly.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOutput, startCosmic, summaryOf, tempOut } from "../pipelines/run-cosmic";
import { exists, stderrOf, until } from "./run-outputs";

jest.setTimeout(90_000);

const ROOT = path.join(__dirname, "..", "..");
const FRAMES = "tcp://127.0.0.1:27500";
const CONTROL = "tcp://127.0.0.1:27501";
const POINTS = 30;

/** Serves one simulated scan and resolves with the frameserver's exit code once it has been delivered. */
function serveScan(scanId: string, seed: number): Promise<number | null> {
  const args = [require.resolve("ts-node/dist/bin.js"), path.join(ROOT, "pipelines", "frameserver.ts")];
  const options = ["--frames", FRAMES, "--control", CONTROL, "--no-monitor", "--points", String(POINTS), "--seed", String(seed), "--scan-id", scanId];
  const child = spawn(process.execPath, [...args, ...options], { cwd: ROOT, stdio: "ignore" });
  return new Promise((resolve) => child.once("exit", resolve));
}

describe("pipelines/cosmic.ts --serve", () => {
  it("two consecutive scans give two complete output sets; SIGINT then ends the service", async () => {
    const out = tempOut("serve-");
    const config = path.join(out, "config.json");
    // The frameserver's detector: a 256-pixel crop binned by 2 gives the simulator's 128 x 128 frames.
    fs.writeFileSync(config, JSON.stringify({ preprocess: { crop: { size: 256 }, bin: { factor: 2 } } }));
    const run = startCosmic(["--config", config, "--frameserver", FRAMES, "--scan-control", CONTROL, "--serve", "--workers", "2", "--engine", "dm", "--iterations", "10", "--out", out, "--json", "--no-progress"]);
    const stderr = stderrOf(run);
    const setOf = (scanId: string) => ["cxi", "ptyd"].map((kind) => path.join(out, `${scanId}.${kind}`)).concat(path.join(out, `${scanId}-reconstruction.png`));

    expect(await serveScan("scan-a", 1)).toBe(0);
    // The next scan starts as soon as the first has been served: the pipeline takes it once scan-a's files are closed.
    expect(await serveScan("scan-b", 2)).toBe(0);
    await until(() => setOf("scan-b").every((file) => fs.existsSync(file)), "scan-b's outputs");
    await until(exists(setOf("scan-a")[2]), "scan-a's picture");
    expect(run.child.exitCode).toBeNull();
    run.child.kill("SIGINT");
    const { code, stdout } = await run.done;
    expect(code).toBe(130);
    const summary = summaryOf(stdout);
    expect(summary.stoppedBy).toBe("SIGINT");
    expect(summary.frames).toMatchObject({ points: 2 * POINTS, processed: 2 * POINTS, dropped: 0 });
    expect(summary.frames.stored).toEqual({ "store:cxi": 2 * POINTS, "store:ptyd": 2 * POINTS });
    expect(summary.bad).toEqual({});
    expect(stderr()).not.toMatch(/worker-died/);
    const sums: number[] = [];
    for (const scanId of ["scan-a", "scan-b"]) {
      const ptyd = checkOutput("ptyd", path.join(out, `${scanId}.ptyd`));
      expect(ptyd).toMatchObject({ frames: POINTS, num_frames: POINTS, frame_shape: [128, 128], indices_sorted: true, positions_shape: [POINTS, 2] });
      const cxi = checkOutput("cxi", path.join(out, `${scanId}.cxi`));
      expect(cxi).toMatchObject({ frames: POINTS, frame_shape: [128, 128], translation_shape: [POINTS, 3], images: ["image_1"], image_complex: true });
      expect(cxi.sum).toBeCloseTo(ptyd.sum, -2);
      sums.push(ptyd.sum);
    }
    // Two different scans (seeds), not one scan written twice.
    expect(sums[0]).not.toBe(sums[1]);
    expect(summary.files.sort()).toEqual([...setOf("scan-a"), ...setOf("scan-b")].sort());
  });
});
