/**
 * `storeChunks`: the stream passes through untouched; `block` holds credits until chunks are on disk and loses
 * nothing; `bypass` skips exactly what does not fit its queue; files close valid on end, abort, error and a
 * full disk; an unwritable location is a fault naming the path while the stream goes on.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Observable, concat, lastValueFrom, map, of, take, tap, throwError, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { envelope } from "../../src/model/envelope";
import { ScanEvent, darkEvent, endEvent, itemEvent, metaEvent, startEvent } from "../../src/model/events";
import { Fault } from "../../src/model/fault";
import { Chunk, ScanMeta } from "../../src/model/scan";
import { CreditGate } from "../../src/runtime/credits";
import { ChunkWriter, ChunkWriterFactory } from "../../src/sinks/chunk-writer";
import { CxiWriter } from "../../src/sinks/cxi-writer";
import { PtydWriter } from "../../src/sinks/ptyd-writer";
import { SinkSummary, StoreOptions, storeChunks } from "../../src/sinks/store-chunks";
import { dumpH5, scanEvents, scanMeta, slowed, syntheticChunks, tempDir } from "./fixtures";

const meta = scanMeta({ frameShape: [16, 16] });
const CHUNK_FRAMES = 4;
/** data float32 + weights uint8 + positions float64 x2 + indices int32, per frame. */
const FRAME_BYTES = 16 * 16 * 4 + 16 * 16 + 16 + 4;
const CHUNK_BYTES = CHUNK_FRAMES * FRAME_BYTES;

let dir: string;
beforeAll(() => {
  dir = tempDir("sinks-store-");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Recorded {
  faults: Fault[];
  summaries: SinkSummary[];
}

function options(policy: StoreOptions["policy"], where: string, recorded: Recorded, extra: Partial<StoreOptions> = {}): StoreOptions {
  return {
    policy,
    where,
    queueBytes: 64 * 1024 * 1024,
    reserveBytes: 0,
    onFault: (f) => recorded.faults.push(f),
    onSummary: (s) => recorded.summaries.push(s),
    ...extra,
  };
}

const ptydAt = (file: string, wrap: (w: ChunkWriter) => ChunkWriter = (w) => w): ChunkWriterFactory => async (m) => wrap(await PtydWriter.open({ path: file }, m));
const cxiAt = (file: string, wrap: (w: ChunkWriter) => ChunkWriter = (w) => w): ChunkWriterFactory => async (m) => wrap(await CxiWriter.open({ path: file }, m));

/** Downstream (reconstruction, say): acks each chunk as soon as it sees it and records every event. */
function consume(events: Observable<ScanEvent<Chunk>>): Promise<ScanEvent<Chunk>[]> {
  return lastValueFrom(events.pipe(tap((e) => e.kind === "item" && e.item.ack()), toArray()));
}

const framesOf = (events: ScanEvent<Chunk>[]) => events.filter((e) => e.kind === "item").reduce((n, e) => n + (e.kind === "item" ? e.item.value.count : 0), 0);
const ptydChunks = (file: string) => Object.keys(dumpH5(file)).filter((p) => /^\/chunks\/\d+$/.test(p)).length;
const cxiFrames = (file: string) => dumpH5(file)["/entry_1/instrument_1/detector_1/data"].shape![0];

describe("storeChunks", () => {
  it("passes every event through unchanged and at once (marble)", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const written: number[] = [];
    const memoryWriter: ChunkWriter = { path: "memory", bytesWritten: 0, append: (c) => void written.push(c.chunkIndex), updateMeta: () => undefined, close: () => undefined };
    const chunks = syntheticChunks([1, 1], meta);
    const dark = darkEvent(envelope({ exposure: 0, darkIndex: 0, frame: { index: 0, rows: 1, cols: 1, dtype: "uint16" as const, data: new Uint16Array(1) } }));
    const values = { s: startEvent(meta), d: dark, m: metaEvent(meta), a: itemEvent(envelope(chunks[0])), b: itemEvent(envelope(chunks[1])) } as Record<string, ScanEvent<Chunk>>;
    const describe = (e: ScanEvent<Chunk>) => (e.kind === "item" ? `item ${e.item.value.chunkIndex}` : e.kind);
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<ScanEvent<Chunk>>("s-d-m-a--b-", values);
      const stored = source.pipe(storeChunks(() => memoryWriter, options("block", "store:memory", { faults: [], summaries: [] })), map(describe));
      expectObservable(stored).toBe("s-d-m-a--b-", { s: "start", d: "dark", m: "meta", a: "item 0", b: "item 1" });
    });
  });

  it("fans a scan out to a .ptyd and a CXI sink and downstream; block loses nothing and closes both files", async () => {
    const recorded: Recorded = { faults: [], summaries: [] };
    const chunks = syntheticChunks([4, 4, 4, 3], meta);
    const gate = new CreditGate(2);
    const ptyd = path.join(dir, "fan.ptyd");
    const cxi = path.join(dir, "fan.cxi");
    const events = await consume(scanEvents(chunks, meta, gate).pipe(storeChunks(ptydAt(ptyd), options("block", "store:ptyd", recorded)), storeChunks(cxiAt(cxi), options("block", "store:cxi", recorded))));
    expect(events.map((e) => e.kind)).toEqual(["start", "item", "item", "item", "item", "end"]);
    expect(framesOf(events)).toBe(15);
    expect(gate.outstanding).toBe(0); // every chunk acked by both sinks and downstream
    expect(ptydChunks(ptyd)).toBe(4);
    expect(cxiFrames(cxi)).toBe(15);
    expect(recorded.faults).toEqual([]);
    // The two sinks close independently: their summaries come in either order.
    const bySink = new Map(recorded.summaries.map((summary) => [summary.sink, summary]));
    expect(recorded.summaries).toHaveLength(2);
    expect(["store:ptyd", "store:cxi"].map((sink) => bySink.get(sink)).map((s) => [s?.sink, s?.framesWritten, s?.framesSkipped, s?.chunksWritten, s?.closedBy])).toEqual([
      ["store:ptyd", 15, 0, 4, "stop"],
      ["store:cxi", 15, 0, 4, "stop"],
    ]);
    expect(bySink.get("store:ptyd")?.bytesWritten).toBe(15 * FRAME_BYTES);
    expect(bySink.get("store:cxi")?.bytesWritten).toBe(15 * (16 * 16 * 4 + 24)); // frames + (x, y, z) translations
    expect(recorded.summaries.every((s) => s.writeSeconds > 0 && s.path !== undefined)).toBe(true);
  });

  it("a reader opens both files after every complete chunk, while they are still being written", async () => {
    const chunks = syntheticChunks([4, 4, 2], meta);
    const ptyd = path.join(dir, "live.ptyd");
    const cxi = path.join(dir, "live.cxi");
    const seenPtyd: number[] = [];
    const seenNumFrames: unknown[] = [];
    const seenCxi: number[] = [];
    const recorded: Recorded = { faults: [], summaries: [] };
    await consume(
      scanEvents(chunks, meta, new CreditGate(8)).pipe(
        storeChunks(
          ptydAt(ptyd, (w) =>
            slowed(w, 0, () => {
              seenPtyd.push(ptydChunks(ptyd));
              seenNumFrames.push(dumpH5(ptyd)["/meta/num_frames"].value);
            }),
          ),
          options("block", "store:ptyd", recorded),
        ),
        storeChunks(cxiAt(cxi, (w) => slowed(w, 0, () => seenCxi.push(cxiFrames(cxi)))), options("block", "store:cxi", recorded)),
      ),
    );
    expect(seenPtyd).toEqual([1, 2, 3]);
    expect(seenNumFrames).toEqual([meta.numPoints, meta.numPoints, meta.numPoints]); // the promise, while live
    expect(seenCxi).toEqual([4, 8, 10]);
  });

  it("on abort mid-scan both files close valid with every complete chunk", async () => {
    const aborted = scanMeta({ frameShape: [16, 16], numPoints: 25 });
    const chunks = syntheticChunks([4, 4, 4], aborted); // 12 frames of a 25-point scan, then abort
    const ptyd = path.join(dir, "abort.ptyd");
    const cxi = path.join(dir, "abort.cxi");
    const recorded: Recorded = { faults: [], summaries: [] };
    await consume(scanEvents(chunks, aborted, new CreditGate(4), "abort").pipe(storeChunks(ptydAt(ptyd), options("block", "store:ptyd", recorded)), storeChunks(cxiAt(cxi), options("bypass", "store:cxi", recorded))));
    expect(ptydChunks(ptyd)).toBe(3);
    expect(dumpH5(ptyd)["/meta/num_frames"].value).toBe(12); // rewritten at close to what the file holds
    expect(cxiFrames(cxi)).toBe(12);
    expect(recorded.summaries.map((s) => s.closedBy)).toEqual(["abort", "abort"]);
  });

  it("on a source error the files close valid first, then the error goes on", async () => {
    const chunks = syntheticChunks([4, 4], meta);
    const ptyd = path.join(dir, "error.ptyd");
    const cxi = path.join(dir, "error.cxi");
    const recorded: Recorded = { faults: [], summaries: [] };
    const failing = concat(of(startEvent(meta) as ScanEvent<Chunk>), of(...chunks.map((c) => itemEvent(envelope(c)) as ScanEvent<Chunk>)), throwError(() => new Error("frameserver died")));
    const stored = failing.pipe(storeChunks(ptydAt(ptyd), options("block", "store:ptyd", recorded)), storeChunks(cxiAt(cxi), options("block", "store:cxi", recorded)));
    await expect(consume(stored)).rejects.toThrow("frameserver died");
    expect(ptydChunks(ptyd)).toBe(2);
    expect(cxiFrames(cxi)).toBe(8);
    expect(recorded.summaries.map((s) => s.closedBy)).toEqual(["error", "error"]);
  });

  it("bypass with a slow sink: downstream gets every frame, the skip count is exact, the queue stays within its bytes", async () => {
    const chunks = syntheticChunks(Array(20).fill(CHUNK_FRAMES), meta);
    const queueChunks = 3;
    const cxi = path.join(dir, "bypass.cxi");
    const recorded: Recorded = { faults: [], summaries: [] };
    const gate = new CreditGate(2); // bypass acks at once, so two credits are enough for the source to run free
    const events = await consume(
      scanEvents(chunks, meta, gate).pipe(storeChunks(cxiAt(cxi, (w) => slowed(w, 20)), options("bypass", "store:cxi", recorded, { queueBytes: queueChunks * CHUNK_BYTES }))),
    );
    expect(framesOf(events)).toBe(80);
    const [summary] = recorded.summaries;
    // the source is synchronous: all 20 chunks arrive before the first write ends, so exactly `queueChunks` fit
    expect(summary.chunksWritten).toBe(queueChunks);
    expect(summary.framesWritten).toBe(queueChunks * CHUNK_FRAMES);
    expect(summary.framesSkipped).toBe(80 - queueChunks * CHUNK_FRAMES);
    expect(cxiFrames(cxi)).toBe(summary.framesWritten);
    expect(summary.queueHighWaterBytes).toBeLessThanOrEqual(queueChunks * CHUNK_BYTES);
    const skipped = recorded.faults.filter((f) => f.reason === "skipped-storage");
    expect(skipped.reduce((n, f) => n + (f.count ?? 0), 0)).toBe(summary.framesSkipped);
    expect(skipped[0].message).toMatch(/queue full/);
  });

  it("bypass with a paced source and a slow sink keeps skipping bounded and writes what fits", async () => {
    const chunks = syntheticChunks(Array(12).fill(CHUNK_FRAMES), meta);
    const cxi = path.join(dir, "paced.cxi");
    const recorded: Recorded = { faults: [], summaries: [] };
    const paced = new Observable<ScanEvent<Chunk>>((subscriber) => {
      subscriber.next(startEvent(meta));
      let i = 0;
      const timer = setInterval(() => {
        if (i < chunks.length) subscriber.next(itemEvent(envelope(chunks[i++])));
        else {
          clearInterval(timer);
          subscriber.next(endEvent(meta, "stop"));
          subscriber.complete();
        }
      }, 5);
      return () => clearInterval(timer);
    });
    const events = await consume(paced.pipe(storeChunks(cxiAt(cxi, (w) => slowed(w, 25)), options("bypass", "store:cxi", recorded, { queueBytes: 2 * CHUNK_BYTES }))));
    const [summary] = recorded.summaries;
    expect(framesOf(events)).toBe(48);
    expect(summary.framesWritten + summary.framesSkipped).toBe(48);
    expect(summary.framesSkipped).toBeGreaterThan(0);
    expect(cxiFrames(cxi)).toBe(summary.framesWritten);
    expect(summary.queueHighWaterChunks).toBeLessThanOrEqual(2);
  });

  it("block with a slow sink: nothing skipped, the source held back by credits, memory bounded", async () => {
    const chunks = syntheticChunks(Array(10).fill(CHUNK_FRAMES), meta);
    const ptyd = path.join(dir, "block.ptyd");
    const recorded: Recorded = { faults: [], summaries: [] };
    const gate = new CreditGate(3);
    const events = await consume(scanEvents(chunks, meta, gate).pipe(storeChunks(ptydAt(ptyd, (w) => slowed(w, 15)), options("block", "store:ptyd", recorded, { queueBytes: CHUNK_BYTES }))));
    const [summary] = recorded.summaries;
    expect(framesOf(events)).toBe(40);
    expect(summary.framesSkipped).toBe(0);
    expect(summary.framesWritten).toBe(40);
    expect(ptydChunks(ptyd)).toBe(10);
    expect(gate.highWaterMark).toBe(3); // the sink held the credits: the source waited for the disk
    expect(summary.queueHighWaterChunks).toBeLessThanOrEqual(3);
    expect(summary.queueHighWaterBytes).toBeLessThanOrEqual(3 * CHUNK_BYTES);
  });

  it("stops writing below the disk reserve with a disk-full fault; the file closes valid and the stream goes on", async () => {
    const chunks = syntheticChunks(Array(6).fill(CHUNK_FRAMES), meta);
    const ptyd = path.join(dir, "full.ptyd");
    const recorded: Recorded = { faults: [], summaries: [] };
    const reserve = 1_000_000;
    let written = 0;
    const freeBytes = async () => reserve + 2.5 * CHUNK_BYTES - written; // room for two chunks above the reserve
    const factory = ptydAt(ptyd, (w) => slowed(w, 0, () => (written += CHUNK_BYTES)));
    const events = await consume(scanEvents(chunks, meta, new CreditGate(2)).pipe(storeChunks(factory, options("block", "store:ptyd", recorded, { reserveBytes: reserve, freeBytes }))));
    expect(framesOf(events)).toBe(24);
    const [summary] = recorded.summaries;
    expect([summary.chunksWritten, summary.framesSkipped, summary.closedBy]).toEqual([2, 16, "disk-full"]);
    expect(ptydChunks(ptyd)).toBe(2);
    expect(dumpH5(ptyd)["/meta/num_frames"].value).toBe(8);
    const diskFull = recorded.faults.filter((f) => f.reason === "disk-full");
    expect(diskFull).toHaveLength(1);
    expect(diskFull[0].message).toContain(ptyd);
  });

  it("an unwritable location is a write-error naming the path; the stream goes on and the source is not held", async () => {
    const blocker = path.join(dir, "plain-file");
    fs.writeFileSync(blocker, "");
    const target = path.join(blocker, "scan.cxi");
    const chunks = syntheticChunks([4, 4, 4], meta);
    const recorded: Recorded = { faults: [], summaries: [] };
    const gate = new CreditGate(2);
    const events = await consume(scanEvents(chunks, meta, gate).pipe(storeChunks(cxiAt(target), options("block", "store:cxi", recorded))));
    expect(events.map((e) => e.kind)).toEqual(["start", "item", "item", "item", "end"]);
    expect(gate.outstanding).toBe(0);
    const writeErrors = recorded.faults.filter((f) => f.reason === "write-error");
    expect(writeErrors).toHaveLength(1);
    expect(writeErrors[0].message).toContain(target);
    expect(recorded.summaries[0]).toMatchObject({ framesWritten: 0, framesSkipped: 12, closedBy: "write-error" });
  });

  it("closes the files valid when downstream unsubscribes mid-scan", async () => {
    const chunks = syntheticChunks([4, 4, 4, 4], meta);
    const ptyd = path.join(dir, "unsubscribed.ptyd");
    const recorded: Recorded = { faults: [], summaries: [] };
    let closed: (summary: SinkSummary) => void = () => undefined;
    const summary = new Promise<SinkSummary>((resolve) => (closed = resolve));
    const stored = scanEvents(chunks, meta, new CreditGate(8)).pipe(storeChunks(ptydAt(ptyd), options("bypass", "store:ptyd", recorded, { onSummary: (s) => closed(s) })));
    await consume(stored.pipe(take(3))); // start and two chunks, then the viewer goes away
    expect(await summary).toMatchObject({ closedBy: "unsubscribed", framesWritten: 8, framesSkipped: 0 });
    expect(ptydChunks(ptyd)).toBe(2);
  });

  it("writes one file per scan in service mode", async () => {
    const recorded: Recorded = { faults: [], summaries: [] };
    const scans: ScanMeta[] = [scanMeta({ scanId: "a", frameShape: [16, 16] }), scanMeta({ scanId: "b", frameShape: [16, 16] })];
    const stream = concat(...scans.map((m) => scanEvents(syntheticChunks([4, 2], m), m, new CreditGate(2))));
    const factory: ChunkWriterFactory = (m) => PtydWriter.open({ path: path.join(dir, `service-${m.scanId}.ptyd`) }, m);
    await consume(stream.pipe(storeChunks(factory, options("block", "store:ptyd", recorded))));
    expect(recorded.summaries.map((s) => [s.scanId, s.framesWritten])).toEqual([
      ["a", 6],
      ["b", 6],
    ]);
    expect(dumpH5(path.join(dir, "service-b.ptyd"))["/meta/label"].value).toBe("b");
  });
});
