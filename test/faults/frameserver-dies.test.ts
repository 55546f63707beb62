/**
 * DESIGN section 10 at the pipeline level: a frameserver killed mid-scan (SIGKILL) and restarted with
 * `--from-index`, and an `abort` from scan control. `pipelines/cosmic.ts` reads the frameserver process over
 * loopback; the files are read back with h5py. (SIGINT mid-scan: test/pipelines/cosmic.test.ts, "drains on SIGINT".)
 */
import * as path from "node:path";
import { checkOutput, summaryOf, tempOut } from "../pipelines/run-cosmic";
import { faultLines, preprocessFor, startCosmicOn, startFrameserver } from "./processes";

jest.setTimeout(120_000);

const POINTS = 40;
const DARKS = 2; // per exposure time, two exposure times
const DARK_FRAMES = 2 * DARKS;
const TOTAL = DARK_FRAMES + 2 * POINTS;
const scanArgs = ["--points", String(POINTS), "--darks", String(DARKS)];
const config = { preprocess: preprocessFor(128), reconstruct: { engine: "none", iterations: 1 } };

/** Points whose two exposure frames both fall in `received` (frame i >= darks is exposure (i - darks) % 2 of point (i - darks) / 2). */
function completePoints(received: (index: number) => boolean): number {
  let complete = 0;
  for (let point = 0; point < POINTS; point++) {
    const first = DARK_FRAMES + 2 * point;
    if (received(first) && received(first + 1)) complete += 1;
  }
  return complete;
}

function expectValidFiles(out: string, frames: number) {
  const ptyd = checkOutput("ptyd", path.join(out, "sim-1.ptyd"));
  expect(ptyd).toMatchObject({ frames, indices_sorted: true, positions_shape: [frames, 2], meta_type: "dict" });
  expect(checkOutput("cxi", path.join(out, "sim-1.cxi"))).toMatchObject({ frames, translation_shape: [frames, 3] });
}

describe("the frameserver dies or aborts mid-scan", () => {
  it("killed (SIGKILL) and restarted with --from-index: the gap is reported by index, the scan completes, the files are valid", async () => {
    const port = 26100;
    const out = tempOut("faults-restart-");
    const first = startFrameserver(port, [...scanArgs, "--rate", "40"]);
    const run = startCosmicOn(port, out, config);
    const sentBeforeKill = await first.whenSent(30);
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    const resumeAt = sentBeforeKill + 16;
    const second = startFrameserver(port, [...scanArgs, "--from-index", String(resumeAt)]);
    const [{ code, stdout, stderr }, restarted] = await Promise.all([run.done, second.done]);
    expect({ code, error: code === 0 ? "" : stderr }).toEqual({ code: 0, error: "" });
    expect(restarted.code).toBe(0);

    const summary = summaryOf(stdout);
    const gaps = faultLines(stderr, "gap");
    expect(gaps).toHaveLength(1);
    const match = /\(index (\d+)\): frames (\d+)\.\.(\d+) of sim-1 lost/.exec(gaps[0]);
    expect(match).not.toBeNull();
    const [from, firstLost, until] = match!.slice(1).map(Number);
    expect(firstLost).toBe(from);
    expect(until).toBe(resumeAt - 1);
    expect(from).toBeLessThanOrEqual(first.sent() + 8); // the killed server's last frames may still have been in flight
    const lost = resumeAt - from;
    expect(summary.frames.dropped).toBe(lost);
    expect(summary.frames.received).toBe(TOTAL - lost);
    const points = completePoints((i) => i < from || i >= resumeAt);
    expect(summary.frames).toMatchObject({ points, processed: points, stored: { "store:cxi": points, "store:ptyd": points } });
    // One scan, one set of files, closed by the resumed scan's stop.
    expect(summary.files.sort()).toEqual([path.join(out, "sim-1.cxi"), path.join(out, "sim-1.ptyd")]);
    expect(summary.sinks.map((s: { closedBy: string }) => s.closedBy)).toEqual(["stop", "stop"]);
    expect(summary.bad).toEqual({ gap: lost, "missing-frames": lost }); // the same frames, seen by the source and by grab
    expectValidFiles(out, points);
    console.log(
      `frameserver SIGKILLed after ${sentBeforeKill} frames sent, restarted at --from-index ${resumeAt}: ` +
        `gap ${from}..${resumeAt - 1} (${lost} frames) reported by index, ${summary.frames.received} of ${TOTAL} frames received, ` +
        `${points} of ${POINTS} points stored in valid CXI and .ptyd files, exit ${code}`,
    );
  });

  it("abort from scan control: the files close valid with every complete point, the summary counts the abort, exit 0", async () => {
    const port = 26110;
    const out = tempOut("faults-abort-");
    const until = DARK_FRAMES + 2 * 20 + 1; // 20 whole points and one exposure of the 21st
    const server = startFrameserver(port, [...scanArgs, "--until-index", String(until), "--ending", "abort"]);
    const { code, stdout, stderr } = await startCosmicOn(port, out, config).done;
    await server.done;
    expect({ code, error: code === 0 ? "" : stderr }).toEqual({ code: 0, error: "" });
    const summary = summaryOf(stdout);
    expect(summary.frames).toMatchObject({ received: until, points: 20, processed: 20, dropped: 0, stored: { "store:cxi": 20, "store:ptyd": 20 } });
    expect(summary.bad).toEqual({ abort: 1, "missing-frames": 1 }); // the 21st point lost its long exposure
    expect(faultLines(stderr, "abort")[0]).toContain("scan sim-1 aborted");
    expect(summary.sinks.map((s: { closedBy: string }) => s.closedBy)).toEqual(["abort", "abort"]);
    expectValidFiles(out, 20);
    console.log(`abort after ${until} of ${TOTAL} frames: exit ${code}, 20 points in valid files (closed by abort), summary bad ${JSON.stringify(summary.bad)}`);
  });
});
