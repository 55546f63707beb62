import { DataSummary, FrameStore, MAX_RESERVED_BYTES, batchFromChunk } from "../../src/engines/frames";
import { partitionBlocks, partitionReserve } from "../../src/engines/projection";
import { chunkFromFrames, scanMetaFromStart } from "../../src/model/scan";
import { StartMessage } from "../../src/model/frameserver";

const N = 4;

describe("frames in the engines", () => {
  it("stores sqrt(I) with the zero frequency moved to (0, 0), masks alike, growing as frames arrive", () => {
    const store = new FrameStore(N, true);
    const intensities = new Float32Array(3 * N * N);
    const weights = new Uint8Array(3 * N * N).fill(1);
    for (let f = 0; f < 3; f++) intensities[f * N * N + (N / 2) * N + N / 2] = (f + 1) ** 2;
    weights[2 * N * N + 1] = 0;
    store.add({ intensities: intensities.subarray(0, N * N), weights: weights.subarray(0, N * N), viewsTopLeft: Int32Array.from([1, 2]) });
    store.add({ intensities: intensities.subarray(N * N), weights: weights.subarray(N * N), viewsTopLeft: Int32Array.from([3, 4, 5, 6]) });
    expect(store.count).toBe(3);
    expect([store.moduli[0], store.moduli[N * N], store.moduli[2 * N * N]]).toEqual([1, 2, 3]);
    expect(Array.from(store.views.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    // Pixel 1 (row 0, col 1) moves to (2, 3) by the shift.
    expect(store.masks[2 * N * N + 2 * N + 3]).toBe(0);
    expect(Array.from(store.validCounts.subarray(0, 3))).toEqual([16, 16, 15]);
    expect(store.exitWaves.length).toBeGreaterThanOrEqual(3 * 2 * N * N);
  });

  it("reserves the announced frames at the first frame, so the scan's frames never move to new buffers", () => {
    const batch = (count: number, first: number) => ({
      intensities: Float32Array.from({ length: count * N * N }, (_, k) => (first + Math.floor(k / (N * N))) ** 2),
      viewsTopLeft: new Int32Array(2 * count),
    });
    const store = new FrameStore(N, true, true, 50);
    store.add(batch(7, 0));
    const buffers = [store.moduli.buffer, store.masks.buffer, store.exitWaves.buffer, store.views.buffer];
    expect(buffers[0]).toBeInstanceOf(SharedArrayBuffer);
    while (store.count + 7 <= 50) store.add(batch(7, store.count));
    store.add(batch(50 - store.count, store.count));
    const same = [store.moduli.buffer, store.masks.buffer, store.exitWaves.buffer, store.views.buffer].map((buffer, i) => buffer === buffers[i]);
    expect({ count: store.count, same }).toEqual({ count: 50, same: [true, true, true, true] });
    // More than announced: it grows (by doubling), keeping what it had.
    store.add(batch(1, 50));
    expect(store.moduli.buffer).not.toBe(buffers[0]);
    expect(store.moduli.length).toBe(100 * N * N);
    expect(Array.from({ length: 51 }, (_, f) => store.moduli[f * N * N])).toEqual(Array.from({ length: 51 }, (_, f) => f));
    // A wild announcement reserves at most MAX_RESERVED_BYTES.
    const wild = new FrameStore(64, true, false, 1e9);
    wild.add({ intensities: new Float32Array(64 * 64), viewsTopLeft: new Int32Array(2) });
    expect(wild.moduli.length / (64 * 64)).toBe(Math.floor(MAX_RESERVED_BYTES / wild.bytesPerFrame));
  });

  it("gives each partition room for what partitionBlocks hands it when batches average at least one frame per partition", () => {
    for (const partitions of [1, 2, 3, 4]) {
      for (const batchSizes of [[16], [partitions], [1, 2 * partitions - 1], [3, 5, 7, partitions + 1]]) {
        const held = new Array<number>(partitions).fill(0);
        let total = 0;
        for (let b = 0; total < 997; b++) {
          const count = Math.min(batchSizes[b % batchSizes.length], 997 - total);
          partitionBlocks(count, partitions).forEach(([from, to], p) => (held[p] += to - from));
          total += count;
        }
        expect(Math.max(...held)).toBeLessThanOrEqual(partitionReserve(997, partitions));
      }
    }
  });

  it("summarises photons as PtyPy does for its power bound and object inertia", () => {
    const summary = new DataSummary(N);
    const intensities = Float32Array.from({ length: 2 * N * N }, (_, k) => (k < N * N ? 1 : 3));
    const weights = new Uint8Array(2 * N * N).fill(1);
    weights[N * N] = 0;
    summary.add({ intensities, weights, viewsTopLeft: Int32Array.from([0, 0, 0, 0]) });
    expect(summary.maxFramePhotons).toBe(45);
    expect(summary.totalPhotons).toBe(61);
    expect(summary.powerBound(0.05)).toBeCloseTo((0.25 * 0.0025 * 45) / 16, 12);
    expect(summary.meanPower()).toBeCloseTo(61 / 32, 12);
    expect(summary.meanPattern()[0]).toBe(1);
    expect(summary.meanPattern()[1]).toBe(2);
  });

  it("turns a preprocessed chunk into a batch with views on the object grid", () => {
    const start = {
      type: "start", scanId: "s", energyEv: 800, distanceM: 0.1, pixelSizeM: 1e-4, exposureTimesS: [0.1], darksPerExposure: 0,
      numPoints: 2, gainAduPerEv: 0.004, saturationAdu: 60000, positionsFollow: false,
    } as unknown as StartMessage;
    const meta = scanMetaFromStart(start);
    const frames = [
      { index: 0, positionM: { x: 0, y: 0 }, rows: N, cols: N, data: new Float32Array(N * N), weights: new Uint8Array(N * N) },
      { index: 1, positionM: { x: 20e-9, y: -10e-9 }, rows: N, cols: N, data: new Float32Array(N * N), weights: new Uint8Array(N * N) },
    ];
    const batch = batchFromChunk(chunkFromFrames(0, frames, meta), [12, 12], 10e-9);
    expect(Array.from(batch.viewsTopLeft)).toEqual([4, 4, 3, 6]);
  });
});
