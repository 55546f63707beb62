import { map } from "rxjs";
import { equalize } from "../../src/operators/equalize";
import { ScanEvent } from "../../src/model/events";
import { DarkFrame, Point } from "../../src/model/scan";
import { AckLog, endOf, rawDark, rawFrame, rawPoint, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("equalize (stream)", () => {
  it("passes start, darks, items and end in order, each dark and point equalized, then completes", () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const meta = testMeta();
      const source = cold<ScanEvent<Point, DarkFrame>>("s-d-p-e|", {
        s: startOf(meta),
        d: { kind: "dark", dark: new AckLog().wrap("d", rawDark(0, 0, 7)) },
        p: { kind: "item", item: new AckLog().wrap("p", rawPoint(0, [7, 9])) },
        e: endOf(meta),
      });
      const out = source.pipe(
        equalize(),
        map((event) => (event.kind === "item" ? `${summarize(event)} ${event.item.value.exposures.map((x) => x.data[0]).join(",")}` : summarize(event))),
      );
      // A flat frame equals its overscan: equalized to 0 everywhere.
      expectObservable(out).toBe("s-d-p-e|", { s: "start 4x6", d: "dark 0.0", p: "item 0 0,0", e: "end stop" });
    });
  });

  it("passes the ack on: acking the output acks the point", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const meta = testMeta();
      const source = cold<ScanEvent<Point, DarkFrame>>("s-p|", { s: startOf(meta), p: { kind: "item", item: log.wrap("p0", rawPoint(0, [1, 2])) } });
      const out = source.pipe(
        equalize(),
        map((event) => {
          if (event.kind === "item") event.item.ack();
          return event.kind;
        }),
      );
      expectObservable(out).toBe("s-p|", { s: "start", p: "item" });
    });
    expect(log.acks).toEqual(["p0@2"]);
  });

  it("errors, naming the stage, on an item before start or a frame of the wrong shape", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const point = { kind: "item" as const, item: new AckLog().wrap("p", rawPoint(0, [1])) };
      expectObservable(cold<ScanEvent<Point, DarkFrame>>("p|", { p: point }).pipe(equalize())).toBe(
        "#",
        undefined,
        expect.objectContaining({ message: "equalize: an item before start" }),
      );
      const wrong = { kind: "item" as const, item: new AckLog().wrap("p", { index: 0, positionM: { x: 0, y: 0 }, exposures: [rawFrame(0, 2, 2, [1, 2, 3, 4])] }) };
      expectObservable(cold<ScanEvent<Point, DarkFrame>>("s-p|", { s: startOf(testMeta()), p: wrong }).pipe(equalize(), map(summarize))).toBe(
        "s-#",
        { s: "start 4x6" },
        expect.objectContaining({ message: expect.stringMatching(/^equalize: frame 0 is 2x2/) }),
      );
    });
  });
});
