import { map } from "rxjs";
import { floor } from "../../src/operators/floor";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("floor (stream)", () => {
  it("subtracts 0.5 photon by default and clips at 0, weights unchanged", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [1, 3] });
      const source = cold<FrameEvent>("s-f-e|", { s: startOf(meta), f: { kind: "item", item: new AckLog().wrap("f", frame(0, 1, 3, [0.25, 2, 7], [1, 0, 1])) }, e: endOf(meta) });
      const show = map((event: FrameEvent) => (event.kind === "item" ? `${Array.from(event.item.value.data)}|${Array.from(event.item.value.weights)}` : summarize(event)));
      expectObservable(source.pipe(floor(), show)).toBe("s-f-e|", { s: "start 1x3", f: "0,1.5,6.5|1,0,1", e: "end stop" });
      expectObservable(source.pipe(floor({ photons: 2 }), show)).toBe("s-f-e|", { s: "start 1x3", f: "0,0,5|1,0,1", e: "end stop" });
    });
  });
});
