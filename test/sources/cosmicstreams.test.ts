import * as zmq from "zeromq";
import { cosmicstreamsSource } from "../../src/sources/cosmicstreams-source";
import { serveCosmicScan, CosmicFrame, RunningServer } from "../../src/sources/frameserver-server";
import {
  CosmicStart,
  PTYPY_REQUIRED_GEOMETRY_KEYS,
  PTYPY_REQUIRED_LASTSCAN_KEYS,
  PTYPY_REQUIRED_START_KEYS,
  distanceToWire,
  energyToWire,
  psizeToWire,
} from "../../src/model/cosmicstreams";
import { cosmicScanFromSimulation } from "../../src/sources/cosmicstreams-start";
import { simulateScan } from "../../src/sim/scan";
import { FaultLog, ackAll, collect, endpoint, positionOf, sameBytes } from "./fixtures";

const WIDTH = 16;

function cosmicStart(frames: number, identifier = "cosmic-test"): CosmicStart {
  const zeros = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
  return {
    identifier,
    energy: energyToWire(750),
    geometry: { psize: psizeToWire(60e-6), distance: distanceToWire(0.12), shape: WIDTH, resolution: 1e-8, rebin: 1, basis_vectors: [[0, 0, -1], [0, 1, 0], [1, 0, 0]] },
    exp_num_x: frames,
    exp_num_y: 1,
    exp_num_total: frames * 2,
    double_exposure: true,
    output_frame_width: WIDTH,
    dtype: "float32",
    illumination_real: zeros,
    illumination_imag: zeros,
    illumination_mask: zeros,
    translations: [],
    detector_distance: 0.12,
    x_pixel_size: 60e-6,
    y_pixel_size: 60e-6,
    header: {},
    lastScan: { Image: null, "Ptychography Image": null, Focus: null, "Line Spectrum": null },
  };
}

function cosmicFrame(index: number): CosmicFrame {
  const data = new Float32Array(WIDTH * WIDTH);
  for (let i = 0; i < data.length; i++) data[i] = index + i / 1000;
  const { x, y } = positionOf(index);
  return { index, rows: WIDTH, cols: WIDTH, data, posxM: x, posyM: y };
}

describe("cosmicstreams source", () => {
  let server: RunningServer | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it("receives a published scan complete, with positions, pixels and the start converted to SI units", async () => {
    const frames = 250;
    server = await serveCosmicScan({ start: cosmicStart(frames), totalFrames: frames, frame: cosmicFrame }, { frames: endpoint(21201), waitSubscribers: 1, waitSubscribersTimeoutMs: 5000 });
    const faults = new FaultLog();
    const events = await collect(cosmicstreamsSource({ address: endpoint(21201), scans: 1, onFault: faults.onFault }).pipe(ackAll()));
    expect((await server.done).framesSent).toBe(frames);
    expect(faults.faults).toEqual([]);
    const start = events[0];
    if (start.kind !== "start") throw new Error("no start");
    expect(start.meta.scanId).toBe("cosmic-test");
    expect(start.meta.energyEv).toBeCloseTo(750, 9);
    expect(start.meta.pixelSizeM).toBeCloseTo(60e-6, 15);
    expect(start.meta.distanceM).toBeCloseTo(0.12, 12);
    expect(start.meta.numPoints).toBe(frames);
    expect(start.meta.frameShape).toEqual([WIDTH, WIDTH]);
    const items = events.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));
    expect(items.map((f) => f.index)).toEqual(Array.from({ length: frames }, (_, i) => i));
    for (const f of items) {
      expect(f.positionM).toEqual(positionOf(f.index));
      expect(f.data).toEqual(cosmicFrame(f.index).data);
      expect(f.weights.every((w) => w === 1)).toBe(true);
    }
    expect(events[events.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
  });

  it("reads Python's bare NaN, masks NaN pixels, and counts each bad message without losing the scan", async () => {
    const publisher = new zmq.XPublisher({ linger: 0 });
    try {
      await publisher.bind(endpoint(21211));
      const faults = new FaultLog();
      const events = collect(cosmicstreamsSource({ address: endpoint(21211), scans: 1, onFault: faults.onFault }).pipe(ackAll()));
      await publisher.receive(); // the subscription: no slow joiner
      const header = (index: number, extra: object = {}) =>
        JSON.stringify({ shape_y: WIDTH, shape_x: WIDTH, dtype: "float32", byteorder: "<", order: "C", identifier: "py", index, posy: 0, posx: 0, ...extra });
      const bytes = (index: number) => Buffer.from(cosmicFrame(index).data.buffer);
      await publisher.send(["frame", header(0), bytes(0)]); // before any start
      await publisher.send(["start", JSON.stringify({ identifier: "py" })]); // invalid start
      await publisher.send(["start", "{oops"]);
      // Python's json.dumps writes NaN bare.
      await publisher.send(["start", JSON.stringify(cosmicStart(3, "py")).replace('"header":{}', '"header":{"dwell":NaN}')]);
      const withNaN = cosmicFrame(0).data.slice();
      withNaN[5] = Number.NaN;
      await publisher.send(["frame", header(0).replace('"posy":0', '"posy":NaN'), bytes(0)]); // NaN position: bad header
      await publisher.send(["frame", header(0), Buffer.from(withNaN.buffer)]);
      await publisher.send(["frame", header(1, { identifier: "other" }), bytes(1)]);
      await publisher.send(["frame", header(1, { dtype: "float128" }), bytes(1)]);
      await publisher.send(["frame", header(1), bytes(1).subarray(4)]);
      await publisher.send(["frame", header(1)]);
      await publisher.send(["frame", header(0), bytes(0)]);
      await publisher.send(["frame", header(2), bytes(2)]);
      await publisher.send(["frame", header(1), bytes(1)]);
      await publisher.send(["frame", header(7), bytes(1)]);
      await publisher.send(["stop", JSON.stringify({ identifier: "py" })]);
      const result = await events;
      const items = result.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));
      expect(items.map((f) => f.index)).toEqual([0, 2, 1]);
      expect(items[0].weights[5]).toBe(0);
      expect(items[0].data[5]).toBe(0);
      expect(items[0].weights.reduce((a, b) => a + b, 0)).toBe(WIDTH * WIDTH - 1);
      expect(faults.reasons()).toEqual([
        "no-start",
        "invalid-start",
        "malformed-json",
        "bad-header",
        "invalid-message",
        "unknown-dtype",
        "byte-length",
        "bad-header",
        "duplicate-index",
        "gap",
        "out-of-order",
        "beyond-scan",
      ]);
      expect(faults.faults[1].message).toContain("energy");
      expect(result[result.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
    } finally {
      publisher.close();
    }
  });

  it("ends a scan with reason idle when the publisher goes silent, and with abort on abort", async () => {
    const frames = 5;
    server = await serveCosmicScan({ start: cosmicStart(frames), totalFrames: frames, frame: cosmicFrame }, { frames: endpoint(21221), waitSubscribers: 1, ending: "none", untilIndex: 2 });
    const faults = new FaultLog();
    const idle = await collect(cosmicstreamsSource({ address: endpoint(21221), scans: 1, idleTimeoutMs: 200, onFault: faults.onFault }).pipe(ackAll()));
    expect(idle[idle.length - 1]).toMatchObject({ kind: "end", reason: "idle" });
    expect(faults.reasons()).toEqual(["source-idle"]);
    server.close();
    server = await serveCosmicScan({ start: cosmicStart(frames), totalFrames: frames, frame: cosmicFrame }, { frames: endpoint(21222), waitSubscribers: 1, ending: "abort", untilIndex: 2 });
    const aborted = await collect(cosmicstreamsSource({ address: endpoint(21222), scans: 1, onFault: faults.onFault }).pipe(ackAll()));
    expect(aborted[aborted.length - 1]).toMatchObject({ kind: "end", reason: "abort" });
    expect(aborted.filter((e) => e.kind === "item").length).toBe(2);
  });

  it("serves a simulated scan as a PtyPy-complete start and the photon counts the simulator drew", async () => {
    const sim = simulateScan({ numPoints: 30, frameSize: 16, binning: 1, darksPerExposure: 1, centreOffsetYX: [0, 0], stepPx: 2, layout: { halves: 2, rowsPerHalf: 16, channels: 4, dataColumns: 8, overscanColumns: 2, flip: "rot180" } });
    const scan = cosmicScanFromSimulation(sim);
    for (const key of PTYPY_REQUIRED_START_KEYS) expect(scan.start).toHaveProperty([key]);
    for (const key of PTYPY_REQUIRED_GEOMETRY_KEYS) expect(scan.start.geometry).toHaveProperty([key]);
    for (const key of PTYPY_REQUIRED_LASTSCAN_KEYS) expect(scan.start.lastScan).toHaveProperty([key]);
    server = await serveCosmicScan(scan, { frames: endpoint(21231), waitSubscribers: 1 });
    const faults = new FaultLog();
    const events = await collect(cosmicstreamsSource({ address: endpoint(21231), scans: 1, onFault: faults.onFault }).pipe(ackAll()));
    expect(faults.faults).toEqual([]);
    expect(events[0]).toMatchObject({ kind: "start", meta: { scanId: sim.start.scanId, numPoints: 30, frameShape: [16, 16] } });
    if (events[0].kind !== "start") throw new Error("no start");
    expect(events[0].meta.pixelSizeM).toBeCloseTo(sim.start.pixelSizeM * sim.truth.binning, 15);
    expect(events[0].meta.energyEv).toBeCloseTo(sim.start.energyEv, 9);
    const items = events.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));
    expect(items.length).toBe(30);
    for (const f of items) {
      expect(sameBytes(f.data, sim.truth.drawnCounts.subarray(f.index * 256, (f.index + 1) * 256))).toBe(true);
      expect([f.positionM.x, f.positionM.y]).toEqual([sim.truth.positionsM[f.index].x + 0, sim.truth.positionsM[f.index].y + 0]);
    }
  });
});
