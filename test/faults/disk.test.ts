/**
 * Storage faults at the pipeline level, on real small file systems (tmpfs, mounted here as root): a nearly full
 * disk (writing stops above the reserve, files close valid) and an unwritable output directory (a read-only
 * mount). Either way the error names the path and the stream to reconstruction goes on. Where mounting is not
 * permitted these two cases cannot be made at the pipeline level; test/sinks/store-chunks.test.ts covers both
 * with a size-limited writer and a path under a plain file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOutput, startCosmic, summaryOf, tempOut } from "../pipelines/run-cosmic";
import { configFile, faultLines, mountTmpfs, unmount } from "./processes";

jest.setTimeout(120_000);

const probe = mountTmpfs("faults-mount-probe-", "size=1m");
if (probe !== undefined) unmount(probe);
const withMount = probe !== undefined ? it : it.skip;
if (probe === undefined) console.log("mount -t tmpfs is not permitted here: the pipeline-level disk tests are skipped (unit level: test/sinks/store-chunks.test.ts)");

describe("storage faults at the pipeline level", () => {
  withMount("a nearly full disk: writing stops above the reserve, both files close valid, the reconstruction uses every frame", async () => {
    const disk = mountTmpfs("faults-full-", "size=8m")!;
    const settings = tempOut("faults-full-config-");
    try {
      const points = 80;
      const reserveBytes = 2_000_000;
      const config = configFile(settings, { store: { policy: "block", formats: ["cxi", "ptyd"], reserveBytes } });
      const { code, stdout, stderr } = await startCosmic(["--config", config, "--points", String(points), "--iterations", "5", "--sim-port", "26200", "--out", disk, "--json", "--no-progress"]).done;
      expect({ code, error: code === 0 ? "" : stderr }).toEqual({ code: 0, error: "" });
      const summary = summaryOf(stdout);
      const diskFull = faultLines(stderr, "disk-full");
      expect(diskFull.length).toBeGreaterThanOrEqual(1);
      for (const line of diskFull) expect(line).toMatch(new RegExp(`${disk}/sim-1\\.(cxi|ptyd): \\d+ bytes free, .* reserve of ${reserveBytes}; file closed with \\d+ frames`));
      const sinks: Array<{ sink: string; framesWritten: number; framesSkipped: number; closedBy: string }> = summary.sinks;
      for (const sink of sinks) expect(sink.framesWritten + sink.framesSkipped).toBe(points);
      expect(sinks.some((s) => s.closedBy === "disk-full" && s.framesWritten < points)).toBe(true);
      expect(summary.bad["skipped-storage"]).toBe(sinks.reduce((n, s) => n + s.framesSkipped, 0));
      // The files hold exactly what the summary says, and an independent reader opens them.
      const written = (sink: string) => sinks.find((s) => s.sink === sink)!.framesWritten;
      expect(checkOutput("ptyd", path.join(disk, "sim-1.ptyd"))).toMatchObject({ frames: written("store:ptyd"), indices_sorted: true, meta_type: "dict" });
      expect(checkOutput("cxi", path.join(disk, "sim-1.cxi"))).toMatchObject({ frames: written("store:cxi") });
      // The stream to reconstruction went on: every frame was used, the picture was written within the reserve.
      expect(summary.frames).toMatchObject({ points, processed: points });
      expect(summary.reconstruction).toMatchObject({ framesUsed: points, final: true });
      expect(fs.existsSync(path.join(disk, "sim-1-reconstruction.png"))).toBe(true);
      const free = fs.statfsSync(disk);
      console.log(
        `8 MB tmpfs, reserve ${reserveBytes} B: ${sinks.map((s) => `${s.sink} ${s.framesWritten} written + ${s.framesSkipped} skipped (closed by ${s.closedBy})`).join(", ")}; ` +
          `reconstruction used ${summary.reconstruction.framesUsed} of ${points} frames; ${free.bavail * free.bsize} B left free; first fault: ${diskFull[0]}`,
      );
    } finally {
      unmount(disk);
    }
  });

  withMount("an unwritable output directory: a write-error naming each file, the reconstruction still uses every frame, the run fails naming the picture's path", async () => {
    const readOnly = mountTmpfs("faults-readonly-", "ro,size=1m")!;
    try {
      const points = 40;
      const { code, stdout, stderr } = await startCosmic(["--points", String(points), "--iterations", "5", "--sim-port", "26210", "--out", readOnly, "--json", "--no-progress"]).done;
      const summary = summaryOf(stdout);
      const writeErrors = faultLines(stderr, "write-error");
      expect(writeErrors.map((line) => /cannot write (\S+):/.exec(line)?.[1]).sort()).toEqual([path.join(readOnly, "sim-1.cxi"), path.join(readOnly, "sim-1.ptyd")]);
      expect(summary.frames.stored).toEqual({ "store:cxi": 0, "store:ptyd": 0 });
      expect(summary.frames.skipped).toEqual({ "store:cxi": points, "store:ptyd": points });
      expect(summary.reconstruction).toMatchObject({ framesUsed: points, final: true });
      // Storage faults are counted and the run goes on; the reconstruction's picture has nowhere to go, which fails the run.
      expect(code).toBe(1);
      expect(summary.error).toContain(path.join(readOnly, "sim-1-reconstruction.png"));
      expect(stderr).toContain(`cosmic: failed: EROFS: read-only file system, open '${path.join(readOnly, "sim-1-reconstruction.png")}'`);
      console.log(`read-only output directory: ${writeErrors.length} write-errors (${writeErrors[0]}); reconstruction used ${summary.reconstruction.framesUsed} of ${points} frames; exit ${code}: ${summary.error}`);
    } finally {
      unmount(readOnly);
    }
  });
});
