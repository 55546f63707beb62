import { map } from "rxjs";
import { orient } from "../../src/operators/orient";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("orient (stream)", () => {
  it("transposes then flips as PtyPy's orientation 6 does, moving shape and centre in the metadata", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [2, 3], centreYX: [0, 2] });
      const source = cold<FrameEvent>("s-f-e|", { s: startOf(meta), f: { kind: "item", item: new AckLog().wrap("f", frame(0, 2, 3, [1, 2, 3, 4, 5, 6])) }, e: endOf(meta) });
      const show = map((event: FrameEvent) => (event.kind === "item" ? `${event.item.value.rows}x${event.item.value.cols} ${Array.from(event.item.value.data)}` : summarize(event)));
      // Value 3 sits at the centre (0, 2); after transpose + flipud it is at (0, 0).
      expectObservable(source.pipe(orient({ orientation: 6 }), show)).toBe("s-f-e|", { s: "start 3x2 c=(0,0)", f: "3x2 3,6,2,5,1,4", e: "end stop" });
    });
  });

  it("refuses an orientation outside 0-7 when built", () => {
    expect(() => orient({ orientation: 9 })).toThrow("orient: orientation must be an integer 0-7, got 9");
  });
});
