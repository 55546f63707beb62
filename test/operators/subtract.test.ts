import { map } from "rxjs";
import { subtract } from "../../src/operators/subtract";
import { DarkStatistics, ItemEvent, PointWithDarks } from "../../src/preprocess/types";
import { AckLog, endOf, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

const stats = (exposure: number, mean: number, std: number): DarkStatistics => ({
  exposure,
  count: 2,
  mean: new Float32Array(2).fill(mean),
  variance: new Float32Array(2).fill(std * std),
  std: new Float32Array(2).fill(std),
});
const exposure = (values: number[]) => ({ rows: 1, cols: 2, data: Float32Array.from(values), saturated: new Uint8Array(2) });

describe("subtract (stream)", () => {
  it("subtracts the dark of each exposure time, carries its noise on and passes the ack on", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [1, 2] });
      const point: PointWithDarks = { index: 4, positionM: { x: 0, y: 0 }, exposures: [exposure([5, 6]), exposure([50, 60])], darks: [stats(0, 1, 2), stats(1, 10, 3)] };
      const source = cold<ItemEvent<PointWithDarks>>("s-p-e|", { s: startOf(meta), p: { kind: "item", item: log.wrap("p4", point) }, e: endOf(meta) });
      const out = source.pipe(
        subtract(),
        map((event) => {
          if (event.kind !== "item") return summarize(event);
          event.item.ack();
          return event.item.value.exposures.map((x) => `${Array.from(x.data)}/${x.darkStd[0]}`).join(" ");
        }),
      );
      expectObservable(out).toBe("s-p-e|", { s: "start 1x2", p: "4,5/2 40,50/3", e: "end stop" });
    });
    expect(log.acks).toEqual(["p4@2"]);
  });

  it("errors when a dark does not match the exposure", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const point: PointWithDarks = { index: 0, positionM: { x: 0, y: 0 }, exposures: [exposure([5, 6])], darks: [{ ...stats(0, 1, 1), mean: new Float32Array(3) }] };
      expectObservable(cold<ItemEvent<PointWithDarks>>("s-p|", { s: startOf(testMeta()), p: { kind: "item", item: new AckLog().wrap("p", point) } }).pipe(subtract(), map(summarize))).toBe(
        "s-#",
        { s: "start 4x6" },
        expect.objectContaining({ message: "subtract: dark of 3 pixels for an exposure of 2" }),
      );
    });
  });
});
