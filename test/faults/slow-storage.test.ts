/**
 * Storage much slower than acquisition over a long burst (DESIGN section 7), with the real .ptyd writer slowed
 * down: `bypass` skips an exact, named set of chunks (the file holds precisely the others, downstream gets all of
 * them byte for byte), and `block` loses nothing while the chunks alive at once never exceed the credits.
 * (test/sinks/store-chunks.test.ts has the short cases; this is the long burst, checked chunk by chunk.)
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Observable, concat, lastValueFrom, map, of, tap, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { ScanEvent, endEvent, itemEvent, startEvent } from "../../src/model/events";
import { Fault } from "../../src/model/fault";
import { Chunk } from "../../src/model/scan";
import { CreditGate, fromIterableWithCredits } from "../../src/runtime/credits";
import { PtydWriter } from "../../src/sinks/ptyd-writer";
import { SinkSummary, StoreOptions, storeChunks } from "../../src/sinks/store-chunks";
import { PYTHON, scanMeta, slowed, syntheticChunk, tempDir } from "../sinks/fixtures";
import { sameBytes } from "../sources/fixtures";

jest.setTimeout(90_000);

const CHUNKS = 400;
const FRAMES_PER_CHUNK = 8;
const FRAME_SIZE = 64;
const meta = scanMeta({ frameShape: [FRAME_SIZE, FRAME_SIZE], numPoints: CHUNKS * FRAMES_PER_CHUNK });
const chunkAt = (i: number) => syntheticChunk(i, i * FRAMES_PER_CHUNK, FRAMES_PER_CHUNK, meta);
const CHUNK_BYTES = (() => {
  const c = chunkAt(0);
  return c.data.byteLength + c.weights.byteLength + c.positionsYX.byteLength + c.indices.byteLength;
})();
const MB = 2 ** 20;

let dir: string;
beforeAll(() => (dir = tempDir("faults-slow-storage-")));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function store(file: string, policy: StoreOptions["policy"], delayMs: number, faults: Fault[], extra: Partial<StoreOptions> = {}) {
  let summary: SinkSummary | undefined;
  const operator = storeChunks(async (m) => slowed(await PtydWriter.open({ path: file }, m), delayMs), {
    policy,
    where: "store:ptyd",
    queueBytes: 64 * MB,
    reserveBytes: 0,
    onFault: (f) => faults.push(f),
    onSummary: (s) => (summary = s),
    ...extra,
  });
  return { operator, summary: () => summary! };
}

/** Downstream (the reconstruction): checks every chunk's bytes against what was made, then acks it. */
function consume(events: Observable<ScanEvent<Chunk>>): Promise<number[]> {
  return lastValueFrom(
    events.pipe(
      tap((e) => {
        if (e.kind !== "item") return;
        expect(sameBytes(e.item.value.data, chunkAt(e.item.value.chunkIndex).data)).toBe(true);
        e.item.ack();
      }),
      toArray(),
    ),
  ).then((events) => events.flatMap((e) => (e.kind === "item" ? [e.item.value.chunkIndex] : [])));
}

/** The chunks a .ptyd file holds, by the frame indices stored in each, as h5py reads them (indices only: fast). */
function storedChunks(file: string): number[] {
  const script = "import h5py,json,sys\nwith h5py.File(sys.argv[1],'r') as f: print(json.dumps([int(f['chunks'][c]['indices'][0]) for c in f['chunks']]))";
  const firstFrames: number[] = JSON.parse(execFileSync(PYTHON, ["-c", script, file]).toString());
  return firstFrames.map((frame) => frame / FRAMES_PER_CHUNK).sort((a, b) => a - b);
}

const heapNow = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

describe("storage slower than acquisition, a long burst", () => {
  it("bypass: the skipped chunks are counted exactly and named; the file holds exactly the rest; downstream gets every chunk intact", async () => {
    const file = path.join(dir, "bypass.ptyd");
    const faults: Fault[] = [];
    const sink = store(file, "bypass", 8, faults, { queueBytes: 3 * CHUNK_BYTES });
    // Acquisition: a chunk every millisecond or so, far faster than the slowed disk (8 ms a chunk on top of HDF5).
    const burst = new Observable<ScanEvent<Chunk>>((subscriber) => {
      subscriber.next(startEvent(meta));
      let i = 0;
      const next = () => {
        if (i < CHUNKS) {
          subscriber.next(itemEvent(envelope(chunkAt(i++))));
          timer = setTimeout(next, 1);
        } else {
          subscriber.next(endEvent(meta, "stop"));
          subscriber.complete();
        }
      };
      let timer = setTimeout(next, 1);
      return () => clearTimeout(timer);
    });
    const started = Date.now();
    const downstream = await consume(burst.pipe(sink.operator));
    const seconds = (Date.now() - started) / 1000;
    expect(downstream).toEqual(Array.from({ length: CHUNKS }, (_, i) => i));

    const summary = sink.summary();
    const skippedChunks = faults.filter((f) => f.reason === "skipped-storage").map((f) => f.index!);
    const written = storedChunks(file);
    expect(summary.framesSkipped).toBeGreaterThan(0);
    expect(summary.framesWritten + summary.framesSkipped).toBe(CHUNKS * FRAMES_PER_CHUNK);
    expect(skippedChunks.length * FRAMES_PER_CHUNK).toBe(summary.framesSkipped);
    // Exact: every chunk is either in the file or named in a skipped-storage fault, never both, never neither.
    expect([...written, ...skippedChunks].sort((a, b) => a - b)).toEqual(downstream);
    expect(written.length).toBe(summary.chunksWritten);
    expect(summary.queueHighWaterBytes).toBeLessThanOrEqual(3 * CHUNK_BYTES);
    console.log(
      `bypass, ${CHUNKS} chunks of ${FRAMES_PER_CHUNK} ${FRAME_SIZE}x${FRAME_SIZE} frames in ${seconds.toFixed(1)} s, disk slowed 8 ms a chunk: ` +
        `${summary.chunksWritten} chunks written, ${skippedChunks.length} skipped and named (${summary.framesSkipped} frames), ` +
        `written + skipped = ${CHUNKS} exactly; downstream got all ${CHUNKS} intact; queue high water ${(summary.queueHighWaterBytes / MB).toFixed(2)} MB of ${((3 * CHUNK_BYTES) / MB).toFixed(2)} MB`,
    );
  });

  it("block: no frame lost, the source held back by credits, the chunks alive at once never more than the credits", async () => {
    const file = path.join(dir, "block.ptyd");
    const faults: Fault[] = [];
    const credits = 4;
    const gate = new CreditGate(credits);
    const sink = store(file, "block", 1, faults);
    // Chunks are made only when a credit is free (the source reads the socket only then), so the gate's high-water
    // mark is the most chunks alive at once.
    function* lazily(): Iterable<Chunk> {
      for (let i = 0; i < CHUNKS; i++) yield chunkAt(i);
    }
    const events = concat(
      of(startEvent(meta) as ScanEvent<Chunk>),
      fromIterableWithCredits(lazily(), gate).pipe(map((item) => itemEvent(item) as ScanEvent<Chunk>)),
      of(endEvent(meta, "stop") as ScanEvent<Chunk>),
    );
    const before = heapNow();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, heapNow())), 5);
    const started = Date.now();
    const downstream = await consume(events.pipe(sink.operator)).finally(() => clearInterval(sampler));
    const seconds = (Date.now() - started) / 1000;
    expect(downstream).toEqual(Array.from({ length: CHUNKS }, (_, i) => i));
    const summary = sink.summary();
    expect(faults).toEqual([]);
    expect([summary.framesWritten, summary.framesSkipped]).toEqual([CHUNKS * FRAMES_PER_CHUNK, 0]);
    expect(storedChunks(file)).toEqual(downstream);
    expect(gate.highWaterMark).toBe(credits);
    expect(summary.queueHighWaterChunks).toBeLessThanOrEqual(credits);
    console.log(
      `block, ${CHUNKS} chunks (${((CHUNKS * CHUNK_BYTES) / MB).toFixed(0)} MB) in ${seconds.toFixed(1)} s: all ${summary.framesWritten} frames written, none skipped; ` +
        `at most ${gate.highWaterMark} chunks (${((credits * CHUNK_BYTES) / MB).toFixed(2)} MB) alive at once = the credits; ` +
        `heap + array buffers grew at most ${((peak - before) / MB).toFixed(1)} MB (garbage included)`,
    );
  });
});
