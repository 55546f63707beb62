/**
 * The main job as a user runs it: `npx ts-node pipelines/cosmic.ts`, here with a reduced simulated scan on its own
 * loopback ports. Checks the files with an independent reader (h5py), the summary, the picture, SIGINT draining and
 * readable configuration errors.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PNG } from "pngjs";
import { checkOutput, startCosmic, summaryOf, tempOut } from "./run-cosmic";

jest.setTimeout(180_000);

describe("pipelines/cosmic.ts", () => {
  it("runs a simulated scan end to end and leaves valid CXI, .ptyd and PNG files", async () => {
    const out = tempOut("cosmic-run-");
    const points = 60;
    const { code, stdout, stderr } = await startCosmic(["--points", String(points), "--iterations", "30", "--out", out, "--sim-port", "25200", "--json", "--no-progress"]).done;
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const summary = summaryOf(stdout);
    const darks = 2 * 10;
    expect(summary.frames).toMatchObject({ received: 2 * points + darks, points, processed: points, dropped: 0 });
    expect(summary.frames.stored).toEqual({ "store:cxi": points, "store:ptyd": points });
    expect(summary.bad).toEqual({});
    // At most 30 iterations: after the end it stops once the object has settled (RECONSTRUCT_DEFAULTS).
    expect(summary.reconstruction).toMatchObject({ framesUsed: points, final: true });
    expect(summary.reconstruction.iteration).toBeLessThanOrEqual(30);
    // Ready after the last frame, then compared with the truth (a simulation only), each timed on its own.
    expect(summary.timings.lastFrameToFinalReconstructionS).toBeGreaterThan(0);
    expect(summary.timings.truthComparisonS).toBeGreaterThan(0);
    // DM stops correcting frames within PtyPy's power bound, which leaves 0.02-0.05 against the truth on these
    // counts (test/engines/realistic.test.ts); the found centre and 30 iterations leave a little more room. A wrong
    // sign, orientation or scale anywhere in the chain gives 0.5 or more.
    expect(summary.reconstruction.errorToTruth).toBeLessThan(0.08);

    const files = { cxi: path.join(out, "sim-1.cxi"), ptyd: path.join(out, "sim-1.ptyd"), png: path.join(out, "sim-1-reconstruction.png") };
    expect(summary.files.sort()).toEqual(Object.values(files).sort());
    const ptyd = checkOutput("ptyd", files.ptyd);
    expect(ptyd).toMatchObject({ frames: points, frame_shape: [128, 128], num_frames: points, indices_sorted: true, positions_shape: [points, 2], positions_dtype: "float64", meta_type: "dict" });
    expect(ptyd.energy_kev).toBeCloseTo(0.8, 6);
    expect(ptyd.psize_m).toBeCloseTo(60e-6, 12);
    const cxi = checkOutput("cxi", files.cxi);
    expect(cxi).toMatchObject({ frames: points, frame_shape: [128, 128], translation_shape: [points, 3], images: ["image_1"], image_complex: true });
    // The same processed frames went to both files.
    expect(cxi.sum).toBeCloseTo(ptyd.sum, -2);
    expect(ptyd.sum / points).toBeGreaterThan(1e7);
    const png = PNG.sync.read(fs.readFileSync(files.png));
    expect(png.width).toBeGreaterThan(2 * png.height * 0.8);
  });

  it("drains on SIGINT: stops reading, closes valid files, prints the summary and exits 130", async () => {
    const out = tempOut("cosmic-sigint-");
    const run = startCosmic(["--points", "400", "--rate", "60", "--engine", "none", "--out", out, "--sim-port", "25210", "--json", "--no-progress"]);
    const cxiFile = path.join(out, "sim-1.cxi");
    // Interrupt once the first chunk is on disk, well before the 400-point scan ends.
    for (let waited = 0; !fs.existsSync(cxiFile) && waited < 60_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill("SIGINT");
    const { code, stdout } = await run.done;
    expect(code).toBe(130);
    const summary = summaryOf(stdout);
    expect(summary.stoppedBy).toBe("SIGINT");
    expect(summary.frames.points).toBeLessThan(400);
    expect(summary.frames.processed).toBe(summary.frames.points);
    expect(summary.frames.stored["store:ptyd"]).toBe(summary.frames.processed);
    const ptyd = checkOutput("ptyd", path.join(out, "sim-1.ptyd"));
    expect(ptyd.frames).toBe(summary.frames.processed);
    expect(ptyd.num_frames).toBe(ptyd.frames);
    expect(checkOutput("cxi", cxiFile).frames).toBe(summary.frames.processed);
  });

  it("rejects an invalid configuration with readable lines and exit code 2", async () => {
    const out = tempOut("cosmic-config-");
    const file = path.join(out, "bad.json");
    fs.writeFileSync(file, JSON.stringify({ credits: 10, store: { policy: "sometimes" }, preprocess: { crop: { size: 255 }, bin: { factor: 2 } } }));
    const { code, stderr } = await startCosmic(["--config", file, "--out", out, "--no-progress"]).done;
    expect(code).toBe(2);
    expect(stderr).toContain("cosmic: invalid configuration:");
    expect(stderr).toContain('store.policy: expected store policy (block, bypass or off), got "sometimes"');
    expect(stderr).toContain("crop.size: expected a multiple of bin.factor 2, got 255");
    fs.writeFileSync(file, "{ not json");
    const malformed = await startCosmic(["--config", file, "--no-progress"]).done;
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain(`configuration file ${file} is not valid JSON`);
  });
});
