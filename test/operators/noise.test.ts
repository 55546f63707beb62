import { map } from "rxjs";
import { noise } from "../../src/operators/noise";
import { CorrectedPoint, ItemEvent } from "../../src/preprocess/types";
import { AckLog, endOf, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("noise (stream)", () => {
  it("zeroes pixels below k x dark std in every exposure, default k = 3", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [1, 3] });
      const exposure = (values: number[]) => ({ rows: 1, cols: 3, data: Float32Array.from(values), saturated: new Uint8Array(3), darkStd: Float32Array.from([1, 2, 1]) });
      const point: CorrectedPoint = { index: 0, positionM: { x: 0, y: 0 }, exposures: [exposure([2.9, 6, -4]), exposure([3, 5.9, 100])] };
      const source = cold<ItemEvent<CorrectedPoint>>("s-p-e|", { s: startOf(meta), p: { kind: "item", item: new AckLog().wrap("p", point) }, e: endOf(meta) });
      const show = map((event: ItemEvent<CorrectedPoint>) => (event.kind === "item" ? event.item.value.exposures.map((x) => Array.from(x.data).join(",")).join(" ") : summarize(event)));
      expectObservable(source.pipe(noise(), show)).toBe("s-p-e|", { s: "start 1x3", p: "0,6,0 3,0,100", e: "end stop" });
      expectObservable(source.pipe(noise({ k: 1 }), show)).toBe("s-p-e|", { s: "start 1x3", p: "2.9000000953674316,6,0 3,5.900000095367432,100", e: "end stop" });
    });
  });
});
