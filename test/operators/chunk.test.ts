import { map, tap } from "rxjs";
import { chunk, chunkHold } from "../../src/operators/chunk";
import { Chunk } from "../../src/model/scan";
import { FrameEvent, ItemEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("chunk (stream)", () => {
  const meta = testMeta({ frameShape: [1, 2] });

  it("packs contiguous frames, flushes the partial last chunk at end, and carries chunk indices", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const log = new AckLog();
      const f = (i: number) => ({ kind: "item" as const, item: log.wrap(`f${i}`, frame(i, 1, 2, [i, 10 * i])) });
      const source = cold<FrameEvent>("s---a---b---c---d---x---e---|", { s: startOf(meta), a: f(0), b: f(1), c: f(2), d: f(3), x: f(4), e: endOf(meta) });
      expectObservable(source.pipe(chunk({ size: 2 }), map(summarize))).toBe("s-------0-------1-------(2e)|", {
        s: "start 1x2",
        0: "chunk 0 [0,1]",
        1: "chunk 1 [2,3]",
        2: "chunk 2 [4]",
        e: "end stop",
      });
    });
  });

  it("packs data, weights and positions as (y, x)", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const f = (i: number) => ({ kind: "item" as const, item: new AckLog().wrap(`f${i}`, frame(i, 1, 2, [i, 10 * i], [1, i % 2])) });
      const show = map((event: ItemEvent<Chunk>) => {
        if (event.kind !== "item") return summarize(event);
        const c = event.item.value;
        return `${c.count} ${Array.from(c.data)} ${Array.from(c.weights)} ${Array.from(c.positionsYX).map((v) => Math.round(v * 1e7))} ${c.meta.scanId}`;
      });
      expectObservable(cold<FrameEvent>("s-a-b|", { s: startOf(meta), a: f(1), b: f(2) }).pipe(chunk({ size: 2 }), show)).toBe("s---c|", {
        s: "start 1x2",
        c: "2 1,10,2,20 1,1,1,0 -1,1,-2,2 test",
      });
    });
  });

  it("acks its frames only when the chunk is acked downstream", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const f = (i: number) => ({ kind: "item" as const, item: log.wrap(`f${i}`, frame(i, 1, 2, [0, 0])) });
      const source = cold<FrameEvent>("s---a---b---c---e---|", { s: startOf(meta), a: f(0), b: f(1), c: f(2), e: endOf(meta) });
      // Downstream lets go of each chunk as it arrives.
      const out = source.pipe(chunk({ size: 2 }), tap((event) => event.kind === "item" && event.item.ack()), map(summarize));
      expectObservable(out).toBe("s-------0-------(1e)|", { s: "start 1x2", 0: "chunk 0 [0,1]", 1: "chunk 1 [2]", e: "end stop" });
    });
    expect(log.acks).toEqual(["f0@8", "f1@8", "f2@16"]);
  });

  it("flushes before a metadata change and when the source closes without an end; a new scan restarts the index", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const f = (i: number) => ({ kind: "item" as const, item: new AckLog().wrap(`f${i}`, frame(i, 1, 2, [0, 0])) });
      const changed = { ...meta, centreYX: [0, 1] as [number, number] };
      const source = cold<FrameEvent>("s---a---m---b---e---t---c---|", { s: startOf(meta), a: f(0), m: { kind: "meta", meta: changed }, b: f(1), e: endOf(meta), t: startOf(meta), c: f(7) });
      expectObservable(source.pipe(chunk({ size: 4 }), map(summarize))).toBe("s-------(0m)----(1e)t-------(2|)", {
        s: "start 1x2",
        0: "chunk 0 [0]",
        m: "meta 1x2 c=(0,1)",
        1: "chunk 1 [1]",
        e: "end stop",
        t: "start 1x2",
        2: "chunk 0 [7]",
      });
    });
  });

  it("declares chunk size x exposures as its holding", () => {
    expect(chunkHold({ size: 16 }, 2)).toEqual(expect.objectContaining({ stage: "chunk", maxHeldFrames: 32 }));
  });
});
