import { map } from "rxjs";
import { hdr } from "../../src/operators/hdr";
import { CorrectedPoint, ItemEvent } from "../../src/preprocess/types";
import { AckLog, endOf, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

const exposure = (values: number[], saturated: number[]) => ({
  rows: 1,
  cols: 3,
  data: Float32Array.from(values),
  saturated: Uint8Array.from(saturated),
  darkStd: new Float32Array(3),
});

describe("hdr (stream)", () => {
  const meta = testMeta({ frameShape: [1, 3], exposureTimesS: [0.01, 0.1] });
  // Pixel 1 saturates in the long exposure (raw mask) and has a corrected value of 2500; pixel 2 saturates in both.
  const point: CorrectedPoint = { index: 2, positionM: { x: 1, y: 2 }, exposures: [exposure([4, 30, 900], [0, 0, 1]), exposure([40, 2500, 1500], [0, 1, 1])] };
  const show = map((event: ItemEvent<{ index: number; data: Float32Array; weights: Uint8Array }>) =>
    event.kind === "item" ? `${Array.from(event.item.value.data)}|${Array.from(event.item.value.weights)}` : summarize(event),
  );

  it("merges the exposures of each point into one frame, per the raw mask by default", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<ItemEvent<CorrectedPoint>>("s-p-e|", { s: startOf(meta), p: { kind: "item", item: new AckLog().wrap("p", point) }, e: endOf(meta) });
      expectObservable(source.pipe(hdr(), show)).toBe("s-p-e|", { s: "start 1x3", p: "40,300,9000|1,1,0", e: "end stop" });
      // On corrected values against 2000 ADU: pixel 2 (1500) counts as unsaturated in the long exposure.
      expectObservable(source.pipe(hdr({ on: "corrected", thresholdAdu: 2000 }), show)).toBe("s-p-e|", { s: "start 1x3", p: "40,300,1500|1,1,1", e: "end stop" });
    });
  });

  it("refuses corrected saturation without a threshold, and errors on a point with too few exposures", () => {
    expect(() => hdr({ on: "corrected" })).toThrow("hdr: saturation on corrected values needs thresholdAdu");
    testScheduler().run(({ cold, expectObservable }) => {
      const short: CorrectedPoint = { ...point, exposures: [point.exposures[0]] };
      expectObservable(cold<ItemEvent<CorrectedPoint>>("s-p|", { s: startOf(meta), p: { kind: "item", item: new AckLog().wrap("p", short) } }).pipe(hdr(), map(summarize))).toBe(
        "s-#",
        { s: "start 1x3" },
        expect.objectContaining({ message: "hdr: point 2 has 1 exposures, the scan declares 2" }),
      );
    });
  });
});
