import { tap, mergeMap, take } from "rxjs";
import { monitorSource } from "../../src/sources/monitor-source";
import { CreditGate, requiredCredits } from "../../src/runtime/credits";
import * as zmq from "zeromq";
import { frameserverSource } from "../../src/sources/frameserver-source";
import { serveRawScan, RunningServer } from "../../src/sources/frameserver-server";
import { grab, grabHold } from "../../src/operators/grab";
import { ScanEvent } from "../../src/model/events";
import { Point, frameIndexOf, totalFrames } from "../../src/model/scan";
import { SimulatedScan, simulateScan } from "../../src/sim/scan";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { SourceMessage } from "../../src/model/source";
import { FaultLog, ackAll, collect, endpoint, positionOf, sameBytes, tinyFrame, tinyStart } from "./fixtures";


const SMALL_LAYOUT = { halves: 2 as const, rowsPerHalf: 16, channels: 4, dataColumns: 8, overscanColumns: 2, flip: "rot180" as const };

/** Every dark and point of `sim` arrived, in order, with its position and its exact bytes, and nothing was wrong. */
function expectWholeSimulatedScan(sim: SimulatedScan, events: ScanEvent<Point>[], faults: FaultLog): void {
  expect(faults.faults).toEqual([]);
  expect(events[0]).toMatchObject({ kind: "start", meta: { scanId: sim.start.scanId, numPoints: sim.start.numPoints } });
  expect(events[events.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
  const darks = events.flatMap((e) => (e.kind === "dark" ? [e.dark.value] : []));
  const darkCount = sim.start.darksPerExposure * sim.start.exposureTimesS.length;
  expect(darks.map((d) => d.frame.index)).toEqual(Array.from({ length: darkCount }, (_, i) => i));
  for (const d of darks) expect(sameBytes(d.frame.data, sim.frame(d.frame.index).data)).toBe(true);
  const points = events.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));
  expect(points.map((p) => p.index)).toEqual(Array.from({ length: sim.start.numPoints }, (_, i) => i));
  for (const p of points) {
    const truth = sim.truth.positionsM[p.index];
    // JSON has no -0: compare as numbers.
    expect([p.positionM.x, p.positionM.y]).toEqual([truth.x + 0, truth.y + 0]);
    expect(p.exposures.map((f) => f.index)).toEqual(sim.start.exposureTimesS.map((_, e) => frameIndexOf(sim.start, { point: p.index, exposure: e })));
    for (const f of p.exposures) expect(sameBytes(f.data, sim.frame(f.index).data)).toBe(true);
  }
}

describe("frameserver over loopback", () => {
  let server: RunningServer | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it("delivers a simulated 200-point scan over PUSH complete, in order, with positions and bytes", async () => {
    const sim = simulateScan({ numPoints: 200, frameSize: 16, binning: 1, darksPerExposure: 2, centreOffsetYX: [0, 0], stepPx: 2, layout: SMALL_LAYOUT });
    // Positions follow as point messages after each point's frames: grab holds the points until they come.
    server = await serveRawScan(sim, { frames: endpoint(21001), control: endpoint(21002), pattern: "push", positionsFollow: true, monitor: endpoint(21003) });
    const faults = new FaultLog();
    const events = await collect(
      frameserverSource({ frames: endpoint(21001), control: endpoint(21002), credits: 8, scans: 1, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()),
    );
    expectWholeSimulatedScan(sim, events, faults);
    expect((await server.done).framesSent).toBe(sim.totalFrames);
  });

  it("runs as its own process: pipelines/frameserver.ts serves the simulated scan it is asked for", async () => {
    const args = ["--points", "3", "--darks", "1", "--frame-size", "16", "--seed", "7", "--frames", endpoint(21071), "--control", endpoint(21072), "--no-monitor"];
    const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "pipelines/frameserver.ts", ...args], { cwd: path.join(__dirname, "../.."), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const faults = new FaultLog();
      const events = await collect(
        frameserverSource({ frames: endpoint(21071), control: endpoint(21072), scans: 1, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()),
        30000,
      );
      expectWholeSimulatedScan(simulateScan({ numPoints: 3, darksPerExposure: 1, frameSize: 16, seed: 7 }), events, faults);
      expect(await exited).toBe(0);
      expect(stderr).toContain("done, 8 frames");
    } finally {
      child.kill();
    }
  });

  it("frees a frame's pixels at its ack (they are there until then)", async () => {
    const start = tinyStart({ numPoints: 5 });
    server = await serveRawScan({ start, frame: (i) => tinyFrame(i) }, { frames: endpoint(21081), control: endpoint(21082) });
    const lengths: Array<{ before: number; after: number; expected: number }> = [];
    await collect(
      frameserverSource({ frames: endpoint(21081), control: endpoint(21082), scans: 1 }).pipe(
        tap((message) => {
          if (message.kind !== "frame") return;
          const { data, index } = message.frame.value;
          const before = data.length;
          message.frame.ack();
          lengths.push({ before, after: data.length, expected: tinyFrame(index).data.length });
        }),
      ),
    );
    expect(lengths).toHaveLength(totalFrames(start));
    for (const { before, after, expected } of lengths) expect({ before, after }).toEqual({ before: expected, after: 0 });
  });

  it("lets a slow downstream hold the PUSH sender back: never more frames unacknowledged than credits", async () => {
    const start = tinyStart({ numPoints: 40 });
    server = await serveRawScan({ start, frame: (i) => tinyFrame(i) }, { frames: endpoint(21011), control: endpoint(21012), sendHighWaterMark: 1 });
    const gate = new CreditGate(4);
    const faults = new FaultLog();
    let received = 0;
    const events = await collect(
      frameserverSource({ frames: endpoint(21011), control: endpoint(21012), credits: gate, scans: 1, onFault: faults.onFault }).pipe(
        grab({ onFault: faults.onFault, reorderWindowPoints: 0, maxAwaitingPosition: 0 }),
        mergeMap(async (e) => {
          // Storage that takes 2 ms per point.
          await new Promise((r) => setTimeout(r, 2));
          if (e.kind === "item") (received += 1, e.item.ack());
          if (e.kind === "dark") e.dark.ack();
          return e;
        }, 1),
      ),
    );
    expect(received).toBe(40);
    expect(faults.faults).toEqual([]);
    expect(gate.highWaterMark).toBeLessThanOrEqual(4);
    expect(gate.outstanding).toBe(0);
    expect(events[events.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
  });

  it("publishes decodable latest frames on the conflating monitor port", async () => {
    const start = tinyStart({ numPoints: 20 });
    server = await serveRawScan({ start, frame: (i) => tinyFrame(i) }, { frames: endpoint(21021), control: endpoint(21022), monitor: endpoint(21023), monitorMaxHz: 1000, rateHz: 400 });
    const monitored = collect(monitorSource({ address: endpoint(21023) }).pipe(take(3)));
    const events = collect(frameserverSource({ frames: endpoint(21021), control: endpoint(21022), scans: 1, onFault: () => undefined }).pipe(grab(), ackAll()));
    const frames = await monitored;
    for (const frame of frames) {
      expect([frame.rows, frame.cols, frame.dtype]).toEqual([8, 8, "uint16"]);
      expect(sameBytes(frame.data, tinyFrame(frame.index).data)).toBe(true);
    }
    // The pipeline's stream is untouched by the viewer.
    expect((await events).filter((e) => e.kind === "item").length).toBe(20);
  });

  it("ends a scan whose frameserver died mid-scan with reason idle", async () => {
    const start = tinyStart({ numPoints: 20 });
    server = await serveRawScan({ start, frame: (i) => tinyFrame(i) }, { frames: endpoint(21031), control: endpoint(21032), untilIndex: 11, ending: "none" });
    const faults = new FaultLog();
    const events = await collect(
      frameserverSource({ frames: endpoint(21031), control: endpoint(21032), scans: 1, idleTimeoutMs: 300, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()),
    );
    expect(events[events.length - 1]).toMatchObject({ kind: "end", reason: "idle" });
    expect(events.filter((e) => e.kind === "item").length).toBe(4);
    expect(faults.reasons()).toEqual(["source-idle", "missing-frames"]);
    expect(faults.faults[1]).toMatchObject({ index: 4, count: 1 });
  });

  it("resumes a scan part-way with fromIndex", async () => {
    const start = tinyStart({ numPoints: 10 });
    server = await serveRawScan({ start, frame: (i) => tinyFrame(i) }, { frames: endpoint(21041), control: endpoint(21042), fromIndex: 12 });
    const faults = new FaultLog();
    const events = await collect(frameserverSource({ frames: endpoint(21041), control: endpoint(21042), scans: 1, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()));
    expect(events.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []))).toEqual([5, 6, 7, 8, 9]);
    // The frames before the resume point are counted, not silently absent.
    expect(faults.count("gap")).toBe(12);
  });

  it("closes both sockets on unsubscribe", async () => {
    const frames = new zmq.Push({ linger: 0 });
    const control = new zmq.Push({ linger: 0 });
    try {
      await frames.bind(endpoint(21051));
      await control.bind(endpoint(21052));
      /** Resolves on the socket's next event of this type (bounded by the test timeout). */
      const next = async (socket: zmq.Push, type: string) => {
        for (let event = await socket.events.receive(); event.type !== type; event = await socket.events.receive());
      };
      const accepted = Promise.all([next(frames, "accept"), next(control, "accept")]);
      const subscription = frameserverSource({ frames: endpoint(21051), control: endpoint(21052), onFault: () => undefined }).subscribe();
      await accepted;
      const disconnected = Promise.all([next(frames, "disconnect"), next(control, "disconnect")]);
      subscription.unsubscribe();
      await disconnected;
    } finally {
      frames.close();
      control.close();
    }
  });

  it("counts exactly the frames an overloaded PUB run lost, as gaps by index and as grab's missing frames", async () => {
    const layout = { halves: 2 as const, rowsPerHalf: 64, channels: 16, dataColumns: 10, overscanColumns: 2, flip: "rot180" as const };
    const start = tinyStart({ numPoints: 300, layout });
    const total = totalFrames({ ...start });
    server = await serveRawScan(
      { start, frame: (i) => tinyFrame(i, layout) },
      { frames: endpoint(21061), control: endpoint(21062), pattern: "pub", waitSubscribers: 1, sendHighWaterMark: 10, waitSubscribersTimeoutMs: 5000 },
    );
    const sourceFaults = new FaultLog();
    const grabFaults = new FaultLog();
    const received: number[] = [];
    // Few credits, so reading stops often; enough for what grab may hold (a smaller budget would deadlock).
    const grabOptions = { onFault: grabFaults.onFault, maxAwaitingPosition: 0, reorderWindowPoints: 0 };
    const credits = requiredCredits([grabHold(start.exposureTimesS.length, grabOptions)]);
    const events = await collect(
      frameserverSource({ frames: endpoint(21061), control: endpoint(21062), pattern: "sub", receiveHighWaterMark: 10, credits, drainMs: 200, scans: 1, onFault: sourceFaults.onFault }).pipe(
        tap((m) => m.kind === "frame" && received.push(m.frame.value.index)),
        grab(grabOptions),
        // A consumer slower than the publisher: 1 ms per event.
        mergeMap(async (e) => {
          await new Promise((r) => setTimeout(r, 1));
          if (e.kind === "item") e.item.ack();
          if (e.kind === "dark") e.dark.ack();
          return e;
        }, 1),
      ),
    );
    expect((await server.done).framesSent).toBe(total);
    expect(received.length).toBeLessThan(total);
    expect(received.length).toBeGreaterThan(0);
    const gaps = sourceFaults.faults.filter((f) => f.reason === "gap");
    expect(sourceFaults.faults.length).toBe(gaps.length);
    const lost = new Set(gaps.flatMap((g) => Array.from({ length: g.count! }, (_, k) => g.index! + k)));
    expect(lost.size).toBe(total - received.length);
    for (const index of received) expect(lost.has(index)).toBe(false);
    // grab accounts for the same frames, point by point (and the darks).
    expect(grabFaults.reasons().every((r) => r === "missing-frames")).toBe(true);
    expect(grabFaults.count("missing-frames")).toBe(lost.size);
    expect(events[events.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
  });
});
