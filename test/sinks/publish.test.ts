/**
 * `publishCosmicstreams` over real loopback sockets: a subscriber gets start (for the processed frames), every
 * frame with its bytes and position, then stop; abort and cut-short scans end with abort; frames PtyPy would
 * reject are counted, not sent; the stream passes through at once and the credits come back only once the
 * frames are sent; the slow-joiner wait counts every subscriber and gives up visibly; a taken port is an error
 * naming the address. Ports 23100-23199.
 */
import { Subject, concat, map, of, tap } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { CosmicEnd, CosmicFrameHeader } from "../../src/model/cosmicstreams";
import { decodeEither } from "../../src/model/codec";
import { ScanEvent, darkEvent, endEvent, itemEvent, metaEvent, startEvent } from "../../src/model/events";
import { envelope } from "../../src/model/envelope";
import { Chunk } from "../../src/model/scan";
import { CreditGate } from "../../src/runtime/credits";
import { ptypyStartProblems } from "../../src/sinks/cosmic-start";
import { PublishSummary, publishCosmicstreams } from "../../src/sinks/publish";
import { FaultLog, ackAll, collect } from "../sources/fixtures";
import { scanEvents, scanMeta, syntheticChunk, syntheticChunks } from "./fixtures";
import { Listener, endpoint, endsScan, float32Of, jsonOf, topicOf } from "./publish-fixtures";

const positions = Array.from({ length: 10 }, (_, i) => ({ x: 2.25e-6 * i, y: -1.5e-6 * i }));
/** What the chunks carry: 8 x 8 frames after crop/bin, the binned pixel. */
const processed = scanMeta({ frameShape: [8, 8], pixelSizeM: 60e-6, numPoints: 10, positionsM: positions });
/** What the scan's start said: the detector's shape and pixel. */
const raw = { ...processed, frameShape: [960, 960] as [number, number], pixelSizeM: 30e-6 };

/** The pixels a frame should carry on the wire: the chunk's, masked ones as 0. */
function expectedPixels(chunk: Chunk, i: number): Float32Array {
  const size = chunk.rows * chunk.cols;
  const out = chunk.data.slice(i * size, (i + 1) * size);
  for (let k = 0; k < size; k++) if (chunk.weights[i * size + k] === 0) out[k] = 0;
  return out;
}

describe("publishCosmicstreams", () => {
  const listeners: Listener[] = [];
  const listen = (port: number, topics?: string[]) => {
    const listener = new Listener(endpoint(port), topics);
    listeners.push(listener);
    return listener;
  };
  afterEach(() => listeners.splice(0).forEach((l) => l.close()));

  it("publishes start, every frame with its bytes and position, and stop; credits return once sent", async () => {
    const chunks = syntheticChunks([4, 4, 2], processed);
    const gate = new CreditGate(2);
    const summaries: PublishSummary[] = [];
    const faults = new FaultLog();
    const listener = listen(23101);
    const events = collect(
      scanEvents(chunks, raw, gate).pipe(
        publishCosmicstreams({ address: endpoint(23101), waitForSubscribers: 1, waitTimeoutMs: 5000, onSummary: (s) => summaries.push(s), onFault: faults.onFault }),
        ackAll(),
      ),
    );
    const messages = await listener.until(endsScan);
    const passed = await events;

    expect(messages.map(topicOf)).toEqual(["start", ...Array(10).fill("frame"), "stop"]);
    const start = jsonOf(messages[0]);
    expect(ptypyStartProblems(start)).toEqual([]);
    expect(start.output_frame_width).toBe(8); // the processed width, not the detector's 960
    expect(start.x_pixel_size).toBe(60e-6);
    expect(start.identifier).toBe("scan-007");
    const capacity = (start.exp_num_x as number) * (start.exp_num_y as number);

    const frames = messages.slice(1, 11);
    frames.forEach((message, n) => {
      expect(message).toHaveLength(3);
      const decoded = decodeEither(CosmicFrameHeader, jsonOf(message));
      if (!decoded.ok) throw new Error(decoded.problems.join("\n"));
      const header = decoded.value;
      const chunk = chunks[Math.floor(n / 4)];
      const i = n % 4;
      expect(header).toEqual({ shape_y: 8, shape_x: 8, dtype: "float32", byteorder: "<", order: "C", identifier: "scan-007", index: n, posy: chunk.positionsYX[2 * i], posx: chunk.positionsYX[2 * i + 1] });
      expect(header.index).toBeLessThan(capacity);
      expect(float32Of(message[2])).toEqual(expectedPixels(chunk, i));
    });
    expect(decodeEither(CosmicEnd, jsonOf(messages[11]))).toEqual({ ok: true, value: { identifier: "scan-007" } });

    // The main stream: everything passed, unchanged; the publisher gave every credit back.
    expect(passed.map((e) => e.kind)).toEqual(["start", "item", "item", "item", "end"]);
    expect(gate.outstanding).toBe(0);
    expect(gate.issued).toBe(3);
    expect(faults.faults).toEqual([]);
    const wireBytes = messages.reduce((sum, m) => sum + m.reduce((s, part) => s + part.length, 0), 0);
    expect(summaries).toEqual([
      expect.objectContaining({ scanId: "scan-007", identifier: "scan-007", startSent: true, framesPublished: 10, framesSkipped: 0, messages: 12, bytesPublished: wireBytes, endTopic: "stop", endedBy: "stop" }),
    ]);
    expect(summaries[0].subscribers).toMatchObject({ subscribers: 1, ready: true });
  });

  it("passes every event through unchanged and at once (marble)", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const chunks = syntheticChunks([1, 1], processed);
    const dark = darkEvent(envelope({ exposure: 0, darkIndex: 0, frame: { index: 0, rows: 1, cols: 1, dtype: "uint16" as const, data: new Uint16Array(1) } }));
    const values = { s: startEvent(raw), d: dark, m: metaEvent(processed), a: itemEvent(envelope(chunks[0])), b: itemEvent(envelope(chunks[1])) } as Record<string, ScanEvent<Chunk>>;
    const describe = (e: ScanEvent<Chunk>) => (e.kind === "item" ? `item ${e.item.value.chunkIndex}` : e.kind);
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<ScanEvent<Chunk>>("s-d-m-a--b-", values);
      // The source never completes: the socket closes when the scheduler unsubscribes at the end.
      const published = source.pipe(publishCosmicstreams({ address: endpoint(23171) }), map(describe));
      expectObservable(published).toBe("s-d-m-a--b-", { s: "start", d: "dark", m: "meta", a: "item 0", b: "item 1" });
    });
  });

  it("passes events on at once and holds the chunk's credit until its frames are out", async () => {
    const input = new Subject<ScanEvent<Chunk>>();
    const seen: string[] = [];
    let acked = false;
    // Downstream lets go of each chunk at once; only the publisher's share is left holding it.
    const done = collect(input.pipe(publishCosmicstreams({ address: endpoint(23111), waitForSubscribers: 1, waitTimeoutMs: 300 }), tap((e) => seen.push(e.kind)), ackAll()));
    input.next(startEvent(raw));
    input.next(itemEvent(envelope(syntheticChunk(0, 0, 2, processed), () => (acked = true))));
    expect(seen).toEqual(["start", "item"]); // synchronously, while the publisher still waits for a subscriber
    expect(acked).toBe(false);
    input.next(endEvent(raw, "stop"));
    input.complete();
    await done;
    expect(acked).toBe(true);
  });

  it("ends an aborted scan, and one cut short by completion, with abort", async () => {
    const listener = listen(23121);
    const summaries: PublishSummary[] = [];
    const chunks = syntheticChunks([3, 3], processed);
    const aborted = scanEvents(chunks, raw, new CreditGate(4), "abort");
    const cutShort = concat(of(startEvent({ ...raw, scanId: "scan-008" }) as ScanEvent<Chunk>), of(itemEvent(envelope(syntheticChunk(0, 0, 2, { ...processed, scanId: "scan-008" }))) as ScanEvent<Chunk>));
    await collect(
      concat(aborted, cutShort).pipe(publishCosmicstreams({ address: endpoint(23121), waitForSubscribers: 1, waitTimeoutMs: 5000, onSummary: (s) => summaries.push(s) }), ackAll()),
    );
    const messages = await listener.until((m) => m.filter((x) => topicOf(x) === "abort").length === 2);
    expect(messages.map(topicOf)).toEqual(["start", ...Array(6).fill("frame"), "abort", "start", "frame", "frame", "abort"]);
    expect(jsonOf(messages[7])).toEqual({ identifier: "scan-007" });
    expect(jsonOf(messages[11])).toEqual({ identifier: "scan-008" });
    expect(summaries.map((s) => [s.scanId, s.endTopic, s.endedBy, s.framesPublished])).toEqual([
      ["scan-007", "abort", "abort", 6],
      ["scan-008", "abort", "complete", 2],
    ]);
  });

  it("skips and counts frames PtyPy would reject: beyond the raster, another width, no position", async () => {
    const listener = listen(23131);
    const faults = new FaultLog();
    const meta = { ...processed, numPoints: 4 }; // a 2 x 2 raster
    const first = syntheticChunk(0, 0, 2, meta);
    const beyond = syntheticChunk(1, 3, 3, meta); // frames 3, 4, 5: 4 and 5 lie outside [0, 4)
    const lostPosition = syntheticChunk(2, 2, 1, meta);
    lostPosition.positionsYX[0] = Number.NaN;
    const wider = syntheticChunk(3, 6, 1, { ...meta, frameShape: [16, 16] });
    const items = [first, beyond, lostPosition, wider].map((c) => itemEvent(envelope(c)) as ScanEvent<Chunk>);
    const summaries: PublishSummary[] = [];
    await collect(
      concat(of(startEvent(meta) as ScanEvent<Chunk>), of(...items), of(endEvent(meta, "stop") as ScanEvent<Chunk>)).pipe(
        publishCosmicstreams({ address: endpoint(23131), waitForSubscribers: 1, waitTimeoutMs: 5000, onFault: faults.onFault, onSummary: (s) => summaries.push(s) }),
        ackAll(),
      ),
    );
    const messages = await listener.until(endsScan);
    expect(messages.filter((m) => topicOf(m) === "frame").map((m) => jsonOf(m).index)).toEqual([0, 1, 3]);
    expect(faults.count("beyond-scan")).toBe(2);
    expect(faults.count("invalid-message")).toBe(2); // the NaN position and the 16 x 16 frame
    expect(summaries[0]).toMatchObject({ framesPublished: 3, framesSkipped: 4, endTopic: "stop" });
  });

  it("refuses non-square frames without sending a start, counting every frame", async () => {
    const faults = new FaultLog();
    const wide = { ...processed, frameShape: [8, 16] as [number, number] };
    const summaries: PublishSummary[] = [];
    await collect(
      scanEvents(syntheticChunks([2, 2], wide), raw, new CreditGate(2)).pipe(
        publishCosmicstreams({ address: endpoint(23141), onFault: faults.onFault, onSummary: (s) => summaries.push(s) }),
        ackAll(),
      ),
    );
    expect(faults.count("invalid-start")).toBe(4);
    expect(faults.faults[0].message).toMatch(/square/);
    expect(summaries[0]).toMatchObject({ startSent: false, framesPublished: 0, framesSkipped: 4, messages: 0, endTopic: "none" });
  });

  it("waits for every subscriber it was told to, and gives up visibly when they do not come", async () => {
    const a = listen(23151, ["start", "frame", "stop", "abort"]);
    const b = listen(23151, [""]);
    const both: PublishSummary[] = [];
    await collect(
      scanEvents(syntheticChunks([2], processed), raw, new CreditGate(2)).pipe(
        publishCosmicstreams({ address: endpoint(23151), waitForSubscribers: 2, waitTimeoutMs: 5000, onSummary: (s) => both.push(s) }),
        ackAll(),
      ),
    );
    for (const listener of [a, b]) expect((await listener.until(endsScan)).map(topicOf)).toEqual(["start", "frame", "frame", "stop"]);
    expect(both[0].subscribers).toMatchObject({ subscribers: 2, ready: true });

    const alone: PublishSummary[] = [];
    const t0 = Date.now();
    await collect(
      scanEvents(syntheticChunks([2], processed), raw, new CreditGate(2)).pipe(
        publishCosmicstreams({ address: endpoint(23152), waitForSubscribers: 1, waitTimeoutMs: 300, onSummary: (s) => alone.push(s) }),
        ackAll(),
      ),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(alone[0].subscribers).toMatchObject({ subscribers: 0, ready: false });
    expect(alone[0].framesPublished).toBe(2); // handed to PUB, which drops them: said, not hidden
  });

  it("errors with the address when the port is taken", async () => {
    const first = new Subject<ScanEvent<Chunk>>();
    const holding = collect(first.pipe(publishCosmicstreams({ address: endpoint(23161) })));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(collect(of(startEvent(raw) as ScanEvent<Chunk>).pipe(publishCosmicstreams({ address: endpoint(23161) })))).rejects.toThrow(
      /cannot bind a publisher to tcp:\/\/127\.0\.0\.1:23161/,
    );
    first.complete();
    await holding;
  });
});
