/**
 * Publish -> cosmicstreams source over loopback (issue 10): what `publishCosmicstreams` sends, the project's own
 * `cosmicstreamsSource` reads back whole: the scan's metadata in SI units, every frame with its index, pixels
 * and position, then stop, with no fault. Ports 23300-23399.
 */
import { Chunk, Frame, ScanMeta } from "../../src/model/scan";
import { ScanEvent } from "../../src/model/events";
import { CreditGate } from "../../src/runtime/credits";
import { cosmicstreamsSource } from "../../src/sources/cosmicstreams-source";
import { publishCosmicstreams } from "../../src/sinks/publish";
import { FaultLog, ackAll, collect } from "../sources/fixtures";
import { scanEvents, scanMeta, syntheticChunks } from "./fixtures";
import { endpoint } from "./publish-fixtures";

async function roundTrip(port: number, meta: ScanMeta, chunkSizes: number[]) {
  const chunks = syntheticChunks(chunkSizes, meta);
  const faults = new FaultLog();
  const received = collect(cosmicstreamsSource({ address: endpoint(port), scans: 1, onFault: faults.onFault }).pipe(ackAll()));
  await collect(
    scanEvents(chunks, { ...meta, frameShape: [960, 960], pixelSizeM: 30e-6 }, new CreditGate(4)).pipe(
      publishCosmicstreams({ address: endpoint(port), waitForSubscribers: 1, waitTimeoutMs: 5000 }),
      ackAll<Chunk, unknown>(),
    ),
  );
  return { chunks, events: await received, faults };
}

/** Every frame of the chunks as the source should deliver it: masked pixels were sent as 0 photons. */
function expectedFrames(chunks: Chunk[]): Array<{ index: number; position: { x: number; y: number }; data: Float32Array }> {
  return chunks.flatMap((chunk) => {
    const size = chunk.rows * chunk.cols;
    return Array.from({ length: chunk.count }, (_, i) => {
      const data = chunk.data.slice(i * size, (i + 1) * size);
      for (let k = 0; k < size; k++) if (chunk.weights[i * size + k] === 0) data[k] = 0;
      return { index: chunk.indices[i], position: { x: chunk.positionsYX[2 * i + 1], y: chunk.positionsYX[2 * i] }, data };
    });
  });
}

const itemsOf = (events: ScanEvent<Frame>[]) => events.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));

describe("publish -> cosmicstreams source round trip", () => {
  it("delivers the scan's metadata and every frame, pixel and position of a small scan", async () => {
    const meta = scanMeta({ frameShape: [8, 8], pixelSizeM: 60e-6, numPoints: 15 });
    const { chunks, events, faults } = await roundTrip(23301, meta, [4, 4, 4, 3]);
    expect(faults.faults).toEqual([]);
    const start = events[0];
    if (start.kind !== "start") throw new Error(`expected start, got ${start.kind}`);
    expect(start.meta.scanId).toBe("scan-007");
    expect(start.meta.energyEv).toBeCloseTo(800, 9);
    expect(start.meta.distanceM).toBeCloseTo(0.121, 12);
    expect(start.meta.pixelSizeM).toBeCloseTo(60e-6, 15);
    expect(start.meta.numPoints).toBe(15);
    expect(start.meta.frameShape).toEqual([8, 8]);
    const frames = itemsOf(events);
    const expected = expectedFrames(chunks);
    expect(frames.map((f) => f.index)).toEqual(expected.map((f) => f.index));
    frames.forEach((frame, n) => {
      expect(frame.positionM).toEqual(expected[n].position);
      expect(frame.data).toEqual(expected[n].data);
    });
    expect(events[events.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
  });

  it("loses nothing of a 400-point scan of 32 x 32 frames", async () => {
    const meta = scanMeta({ frameShape: [32, 32], pixelSizeM: 60e-6, numPoints: 400 });
    const { chunks, events, faults } = await roundTrip(23311, meta, Array(25).fill(16));
    expect(faults.faults).toEqual([]);
    const frames = itemsOf(events);
    const expected = expectedFrames(chunks);
    expect(frames).toHaveLength(400);
    expect(frames.map((f) => f.index)).toEqual(expected.map((f) => f.index));
    expect(frames.every((f, n) => f.positionM.x === expected[n].position.x && f.positionM.y === expected[n].position.y)).toBe(true);
    expect(frames.every((f, n) => f.data.every((v, k) => v === expected[n].data[k]))).toBe(true);
  });
});
