import { map } from "rxjs";
import { bin } from "../../src/operators/bin";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("bin (stream)", () => {
  it("sums blocks, masks blocks with an invalid source, and scales pixel size and centre in the metadata", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [4, 4], centreYX: [2, 2], pixelSizeM: 1e-5 });
      const values = Array.from({ length: 16 }, (_, i) => i + 1);
      const weights = values.map((v) => (v === 1 ? 0 : 1));
      const source = cold<FrameEvent>("s-f-e|", { s: startOf(meta), f: { kind: "item", item: log.wrap("f", frame(0, 4, 4, values, weights)) }, e: endOf(meta) });
      const out = source.pipe(
        bin({ factor: 2 }),
        map((event) => {
          if (event.kind === "start") return `${summarize(event)} ${event.meta.pixelSizeM}`;
          if (event.kind !== "item") return summarize(event);
          event.item.ack();
          return `${Array.from(event.item.value.data)}|${Array.from(event.item.value.weights)}`;
        }),
      );
      expectObservable(out).toBe("s-f-e|", { s: "start 2x2 c=(0.75,0.75) 0.00002", f: "14,22,46,54|0,1,1,1", e: "end stop" });
    });
    expect(log.acks).toEqual(["f@2"]);
  });

  it("errors on a frame that the factor does not divide", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [3, 3] });
      expectObservable(cold<FrameEvent>("s-f|", { s: startOf(meta), f: { kind: "item", item: new AckLog().wrap("f", frame(0, 3, 3, new Array(9).fill(1))) } }).pipe(bin({ factor: 2 }), map(summarize))).toBe(
        "s-#",
        { s: "start 1.5x1.5" },
        expect.objectContaining({ message: "bin: a 3x3 frame does not divide by 2" }),
      );
    });
  });
});
