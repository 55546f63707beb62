/**
 * `pipelines/cosmic.ts --workers 2` as a user runs it: the .ptyd and CXI frames equal the single-process run's bit
 * for bit (read back with h5py), and a worker killed mid-scan is reported while the scan still completes with
 * every point processed once and the same files.
 */
import * as path from "node:path";
import { startCosmic, summaryOf, tempOut } from "../pipelines/run-cosmic";
import { differingFields, exists, stderrOf, until } from "./run-outputs";

jest.setTimeout(90_000);

const POINTS = 60;
const common = ["--points", String(POINTS), "--seed", "4", "--engine", "none", "--json", "--no-progress"];
const files = (out: string) => ({ ptyd: path.join(out, "sim-4.ptyd"), cxi: path.join(out, "sim-4.cxi") });

describe("pipelines/cosmic.ts --workers", () => {
  const single = tempOut("workers-single-");

  it("--workers 2 stores exactly the frames one process stores", async () => {
    const distributed = tempOut("workers-two-");
    const [one, two] = await Promise.all([
      startCosmic([...common, "--out", single, "--sim-port", "27400"]).done,
      startCosmic([...common, "--out", distributed, "--sim-port", "27410", "--workers", "2"]).done,
    ]);
    expect({ code: one.code, stderr: one.code === 0 ? "" : one.stderr }).toEqual({ code: 0, stderr: "" });
    expect({ code: two.code, stderr: two.code === 0 ? "" : two.stderr }).toEqual({ code: 0, stderr: "" });
    const summary = summaryOf(two.stdout);
    expect(summary.frames).toMatchObject({ points: POINTS, processed: POINTS, dropped: 0 });
    expect(summary.bad).toEqual({});
    expect(summary.stages.map((s: { stage: string }) => s.stage)).toContain("preprocess:remote");
    for (const kind of ["ptyd", "cxi"] as const) {
      const compared = differingFields(kind, files(single)[kind], files(distributed)[kind]);
      expect(compared).toMatchObject({ frames: POINTS, differing: [] });
    }
  });

  it("a worker killed mid-scan: reported, its points re-sent, the scan completes with the same files", async () => {
    const out = tempOut("workers-kill-");
    // Paced, so the kill lands mid-scan: 140 frames at 40 per second.
    const run = startCosmic([...common, "--out", out, "--sim-port", "27420", "--workers", "2", "--rate", "40"]);
    const stderr = stderrOf(run);
    // The first worker to join is the first choice for new points when both are idle.
    const joined = /worker \S+-(\d+) joined \(1 live\)/;
    await until(() => joined.test(stderr()), "a worker to join");
    const victim = Number(joined.exec(stderr())![1]);
    await until(exists(files(out).ptyd), "the first stored chunk");
    // Frozen first, so it holds points when it dies (less than the 3 s a silent worker is given).
    process.kill(victim, "SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(victim, "SIGKILL");
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    const summary = summaryOf(stdout);
    expect(summary.frames).toMatchObject({ points: POINTS, processed: POINTS, dropped: 0 });
    expect(summary.frames.stored).toEqual({ "store:cxi": POINTS, "store:ptyd": POINTS });
    expect(summary.bad).toEqual({ "worker-died": 1 });
    expect(stderr()).toMatch(new RegExp(`worker \\S+-${victim} was killed \\(SIGKILL\\); [1-9]\\d* points in flight re-sent to the 1 others`));
    for (const kind of ["ptyd", "cxi"] as const) {
      expect(differingFields(kind, files(single)[kind], files(out)[kind])).toMatchObject({ frames: POINTS, differing: [] });
    }
  });
});
