/**
 * pipelines/stream-to-ptypy.ts publishes a preprocessed simulated scan in the cosmicstreams protocol; a cosmicstreams
 * source (what PtyPy's streaming loader reads) receives every frame with its position, and the start in SI units.
 */
import { lastValueFrom, toArray } from "rxjs";
import { cosmicstreamsSource } from "../../src/sources/cosmicstreams-source";
import { Fault } from "../../src/model/fault";
import { simulateScan } from "../../src/sim/scan";
import { startPipelineFile, summaryOf } from "./run-cosmic";

jest.setTimeout(120_000);

describe("pipelines/stream-to-ptypy.ts", () => {
  it("streams every processed frame and position to a cosmicstreams subscriber", async () => {
    const points = 30;
    const faults: Fault[] = [];
    const received = lastValueFrom(cosmicstreamsSource({ address: "tcp://127.0.0.1:25313", scans: 1, idleTimeoutMs: 60_000, onFault: (f) => faults.push(f) }).pipe(toArray()));
    const { code, stdout } = await startPipelineFile("stream-to-ptypy", [
      ...["--simulate", String(points), "--frameserver", "tcp://127.0.0.1:25310", "--scan-control", "tcp://127.0.0.1:25311"],
      ...["--publish", "tcp://127.0.0.1:25313", "--wait-subscribers", "1", "--json"],
    ]).done;
    const events = await received;
    expect(code).toBe(0);
    expect(faults).toEqual([]);
    const frames = events.flatMap((event) => (event.kind === "item" ? [event.item.value] : []));
    const start = events.find((event) => event.kind === "start");
    expect(start?.kind === "start" && start.meta).toMatchObject({ energyEv: expect.closeTo(800, 3), frameShape: [128, 128] });
    expect(frames.map((f) => f.index)).toEqual(Array.from({ length: points }, (_, i) => i));
    const truth = simulateScan({ numPoints: points, seed: 1, frameSize: 128, darksPerExposure: 10 }).truth;
    frames.forEach((frame, i) => {
      expect(frame.positionM.x).toBeCloseTo(truth.positionsM[i].x, 12);
      expect(frame.positionM.y).toBeCloseTo(truth.positionsM[i].y, 12);
    });
    const photons = frames.reduce((sum, f) => sum + f.data.reduce((a, b) => a + b, 0), 0) / points;
    expect(photons).toBeGreaterThan(1e7);
    expect(summaryOf(stdout).frames.processed).toBe(points);
  });
});
