import { TestScheduler } from "rxjs/testing";
import { map } from "rxjs";
import { untilInterrupted } from "../../src/operators/until-interrupted";
import { ScanEvent, endEvent, startEvent, itemEvent } from "../../src/model/events";
import { envelope } from "../../src/model/envelope";
import { ScanMeta } from "../../src/model/scan";
import { FCCD_LAYOUT } from "../../src/model/layout";

const meta: ScanMeta = {
  scanId: "s1",
  energyEv: 800,
  distanceM: 0.1,
  pixelSizeM: 30e-6,
  exposureTimesS: [0.01],
  darksPerExposure: 0,
  numPoints: 10,
  gainAduPerEv: 0.004,
  saturationAdu: 15000,
  layout: FCCD_LAYOUT,
  frameShape: [960, 960],
};

const describeEvent = (event: ScanEvent<number, never>): string =>
  event.kind === "item" ? `i${event.item.value}` : event.kind === "end" ? `end:${event.reason}` : event.kind;

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe("untilInterrupted", () => {
  const values = {
    s: startEvent(meta) as ScanEvent<number, never>,
    a: itemEvent(envelope(1)) as ScanEvent<number, never>,
    b: itemEvent(envelope(2)) as ScanEvent<number, never>,
    e: endEvent(meta, "stop") as ScanEvent<number, never>,
  };

  it("closes the open scan with an interrupted end, completes and unsubscribes from the source", () => {
    newScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot<ScanEvent<number, never>>("s-a-b-a-e", values);
      const stop = cold("-----x");
      const out = source.pipe(untilInterrupted(stop), map(describeEvent));
      expectObservable(out).toBe("s-a-b(x|)", { s: "start", a: "i1", b: "i2", x: "end:interrupted" });
      expectSubscriptions(source.subscriptions).toBe("^----!");
    });
  });

  it("completes without an extra end between scans", () => {
    newScheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot<ScanEvent<number, never>>("s-a-e---s", values);
      const out = source.pipe(untilInterrupted(cold("------x")), map(describeEvent));
      expectObservable(out).toBe("s-a-e-|", { s: "start", a: "i1", e: "end:stop" });
    });
  });

  it("passes everything through when never stopped", () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold<ScanEvent<number, never>>("s-a-e|", values);
      const out = source.pipe(untilInterrupted(cold("")), map(describeEvent));
      expectObservable(out).toBe("s-a-e|", { s: "start", a: "i1", e: "end:stop" });
    });
  });
});
