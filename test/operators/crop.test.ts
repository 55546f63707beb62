import { map } from "rxjs";
import { crop, cropSize } from "../../src/operators/crop";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("crop (stream)", () => {
  const frameOf = (index: number) => ({ kind: "item" as const, item: new AckLog().wrap("f", frame(index, 4, 4, Array.from({ length: 16 }, (_, i) => i + 1))) });
  const show = map((event: FrameEvent) => (event.kind === "item" ? `${Array.from(event.item.value.data)}|${Array.from(event.item.value.weights)}` : summarize(event)));

  it("crops around the centre the metadata carries and tells downstream the new shape and centre", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [4, 4], centreYX: [2, 2] });
      const source = cold<FrameEvent>("s-f-m-g-e|", { s: startOf(meta), f: frameOf(0), m: { kind: "meta", meta: { ...meta, centreYX: [0, 3] } }, g: frameOf(1), e: endOf(meta) });
      expectObservable(source.pipe(crop({ size: 2 }), show)).toBe("s-f-m-g-e|", {
        s: "start 2x2 c=(1,1)",
        f: "6,7,10,11|1,1,1,1",
        m: "meta 2x2 c=(1,1)",
        // origin (-1, 2): the top row is off the detector.
        g: "0,0,3,4|0,0,1,1",
        e: "end stop",
      });
    });
  });

  it("defaults to the detector's shorter side, and errors without a centre", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [4, 6] });
      expectObservable(cold<FrameEvent>("s-f|", { s: startOf(meta), f: frameOf(0) }).pipe(crop(), map(summarize))).toBe(
        "s-#",
        { s: "start 4x4" },
        expect.objectContaining({ message: "crop: no centre known: put centre() before crop()" }),
      );
    });
  });
});

describe("crop size", () => {
  it("defaults to the shorter side in whole bins", () => {
    expect(cropSize({}, testMeta({ frameShape: [960, 1000] }))).toBe(960);
    expect(cropSize({ binFactor: 7 }, testMeta({ frameShape: [960, 1000] }))).toBe(959);
    expect(cropSize({ size: 512, binFactor: 4 }, testMeta({ frameShape: [960, 960] }))).toBe(512);
  });
});
