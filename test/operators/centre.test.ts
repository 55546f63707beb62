import { map, tap } from "rxjs";
import { centre, centreHold } from "../../src/operators/centre";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

/** A 4 x 4 frame with a bright pixel at (y, x) on a dim background. */
const spot = (index: number, y: number, x: number) => frame(index, 4, 4, Array.from({ length: 16 }, (_, i) => (i === y * 4 + x ? 100 : 1)));

describe("centre (stream)", () => {
  const meta = testMeta({ frameShape: [4, 4] });

  it("given: every metadata event carries it, items pass as they come", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<FrameEvent>("s-a-e|", { s: startOf(meta), a: { kind: "item", item: new AckLog().wrap("a", spot(0, 1, 1)) }, e: endOf(meta) });
      expectObservable(source.pipe(centre({ yx: [2.5, 1.5] }), map(summarize))).toBe("s-a-e|", { s: "start 4x4 c=(2.5,1.5)", a: "item 0", e: "end stop" });
    });
  });

  it("found: holds the first frames, announces the centre in a meta event, releases them, then stays frozen", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const item = (id: string, f: ReturnType<typeof spot>) => ({ kind: "item" as const, item: log.wrap(id, f) });
      // Mean of frames 0 and 1: spots at (1, 1) and (1, 3) -> centre (1, 2). Frame 2 would move it: it must not.
      const source = cold<FrameEvent>("s-----a-----b-----c-----e|", { s: startOf(meta), a: item("a", spot(0, 1, 1)), b: item("b", spot(1, 1, 3)), c: item("c", spot(2, 3, 3)), e: endOf(meta) });
      const out = source.pipe(
        centre({ frames: 2, thresholdFraction: 0.5 }),
        tap((event) => event.kind === "item" && event.item.ack()),
        map(summarize),
      );
      expectObservable(out).toBe("s-----------(mab)-c-----e|", { s: "start 4x4", m: "meta 4x4 c=(1,2)", a: "item 0", b: "item 1", c: "item 2", e: "end stop" });
    });
    // The stage held frames a and b (unacked) until the centre was found at frame 12.
    expect(log.acks).toEqual(["a@12", "b@12", "c@18"]);
  });

  it("found: a scan shorter than the centre's frames is centred on what it had, before its end", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<FrameEvent>("s-----a-----e-----t-----x|", {
        s: startOf(meta),
        a: { kind: "item", item: new AckLog().wrap("a", spot(0, 2, 1)) },
        e: endOf(meta),
        t: startOf(meta),
        x: { kind: "item", item: new AckLog().wrap("x", spot(5, 0, 0)) },
      });
      // The next scan finds its own centre; the source completing releases what was held.
      expectObservable(source.pipe(centre({ frames: 8, thresholdFraction: 0.5 }), map(summarize))).toBe("s-----------(mae)-t------(ny|)", {
        s: "start 4x4",
        m: "meta 4x4 c=(2,1)",
        a: "item 0",
        e: "end stop",
        t: "start 4x4",
        n: "meta 4x4 c=(0,0)",
        y: "item 5",
      });
    });
  });

  it("declares what it holds", () => {
    expect(centreHold({ frames: 8 }, 2).maxHeldFrames).toBe(16);
    expect(centreHold({ yx: [1, 1] }, 2).maxHeldFrames).toBe(0);
  });
});

describe("centre (stream), a scan that never ends", () => {
  it("releases what it held before the next start, so no credit is lost", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [4, 4] });
      const source = cold<FrameEvent>("s-a-t-----|", { s: startOf(meta), a: { kind: "item", item: log.wrap("a", spot(0, 1, 2)) }, t: startOf(meta) });
      const out = source.pipe(
        centre({ frames: 4, thresholdFraction: 0.5 }),
        tap((event) => event.kind === "item" && event.item.ack()),
        map(summarize),
      );
      expectObservable(out).toBe("s---(mat)-|", { s: "start 4x4", m: "meta 4x4 c=(1,2)", a: "item 0", t: "start 4x4" });
    });
    expect(log.acks).toEqual(["a@4"]);
  });
});
