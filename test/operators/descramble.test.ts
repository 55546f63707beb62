import { map, pipe } from "rxjs";
import { descramble } from "../../src/operators/descramble";
import { equalize } from "../../src/operators/equalize";
import { ScanEvent } from "../../src/model/events";
import { DarkFrame, Point } from "../../src/model/scan";
import { AckLog, endOf, rawDark, rawFrame, rawPoint, SMALL_LAYOUT, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("descramble (stream)", () => {
  it("turns darks and points into image layout with the raw saturation mask", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ saturationAdu: 1000 });
      // Exposure 1 of the point: raw pixel 0 (image row 0, col 0) reads 1000 = the level, the rest 10.
      const hot = rawFrame(1, 4, 8, [1000, ...new Array(31).fill(10)]);
      const point = { ...rawPoint(0, [10]), exposures: [rawPoint(0, [10]).exposures[0], hot] };
      const source = cold<ScanEvent<Point, DarkFrame>>("s-d-p-e|", {
        s: startOf(meta),
        d: { kind: "dark", dark: new AckLog().wrap("d", rawDark(1, 0, 10)) },
        p: { kind: "item", item: new AckLog().wrap("p", point) },
        e: endOf(meta),
      });
      const out = source.pipe(
        equalize(),
        descramble(),
        map((event) => {
          if (event.kind === "item") return event.item.value.exposures.map((x) => `${x.rows}x${x.cols}:${x.saturated.reduce((a, b) => a + b, 0)}@${x.saturated.indexOf(1)}`).join(" ");
          if (event.kind === "dark") return `dark ${event.dark.value.frame.rows}x${event.dark.value.frame.cols}`;
          return summarize(event);
        }),
      );
      expectObservable(out).toBe("s-d-p-e|", { s: "start 4x6", d: "dark 4x6", p: "4x6:0@-1 4x6:1@0", e: "end stop" });
    });
  });

  it("takes the layout from configuration and tells downstream the image shape", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // The source declares the 960 x 960 FCCD; the configuration says the detector is read as SMALL_LAYOUT.
      const meta = testMeta({ layout: { ...SMALL_LAYOUT, channels: 96 }, frameShape: [960, 960] });
      const source = cold<ScanEvent<Point, DarkFrame>>("s-p|", { s: startOf(meta), p: { kind: "item", item: new AckLog().wrap("p", rawPoint(0, [5])) } });
      const out = source.pipe(
        pipe(equalize({ layout: SMALL_LAYOUT }), descramble({ layout: SMALL_LAYOUT })),
        map((event) => (event.kind === "start" ? `${summarize(event)} ${event.meta.layout.channels}` : summarize(event))),
      );
      expectObservable(out).toBe("s-p|", { s: "start 4x6 2", p: "item 0" });
    });
  });
});
