import { map } from "rxjs";
import { resample } from "../../src/operators/resample";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("resample (stream)", () => {
  it("resamples to the nearest power of two by default, conserving counts, and updates the pixel size", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [3, 3], pixelSizeM: 3 });
      const source = cold<FrameEvent>("s-f-e|", { s: startOf(meta), f: { kind: "item", item: new AckLog().wrap("f", frame(0, 3, 3, new Array(9).fill(1))) }, e: endOf(meta) });
      const show = map((event: FrameEvent) =>
        event.kind === "item" ? Array.from(event.item.value.data).join(",") : event.kind === "start" ? `${summarize(event)} ${event.meta.pixelSizeM}` : summarize(event),
      );
      // 3 is nearer 4 than 2: 4 x 4 pixels of 9/16 = 0.5625, pixel size 3 x 3/4.
      expectObservable(source.pipe(resample(), show)).toBe("s-f-e|", { s: "start 4x4 2.25", f: new Array(16).fill(0.5625).join(","), e: "end stop" });
      expectObservable(source.pipe(resample({ size: 2 }), show)).toBe("s-f-e|", { s: "start 2x2 4.5", f: "2.25,2.25,2.25,2.25", e: "end stop" });
    });
  });
});
