import { map } from "rxjs";
import { darks } from "../../src/operators/darks";
import { ScanEvent } from "../../src/model/events";
import { DarkOf, ImageExposure, PointOf } from "../../src/preprocess/types";
import { AckLog, endOf, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

const image = (value: number): ImageExposure => ({ rows: 4, cols: 6, data: new Float32Array(24).fill(value), saturated: new Uint8Array(24) });
type In = ScanEvent<PointOf<ImageExposure>, DarkOf<ImageExposure>>;

describe("darks (stream)", () => {
  it("folds darks (acking each as it is folded) and attaches mean and variance per exposure time to points", () => {
    const scheduler = testScheduler();
    const log = new AckLog(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const meta = testMeta();
      const dark = (exposure: number, darkIndex: number, value: number) => ({ kind: "dark" as const, dark: log.wrap(`d${exposure}.${darkIndex}`, { exposure, darkIndex, frame: image(value) }) });
      const point = (index: number) => ({ kind: "item" as const, item: log.wrap(`p${index}`, { index, positionM: { x: 0, y: 0 }, exposures: [image(5), image(50)] }) });
      const source = cold<In>("s-a-b-c-d-p-q-e|", { s: startOf(meta), a: dark(0, 0, 1), b: dark(0, 1, 3), c: dark(1, 0, 10), d: dark(1, 1, 14), p: point(0), q: point(1), e: endOf(meta) });
      const out = source.pipe(
        darks(),
        map((event) =>
          event.kind === "item"
            ? `${summarize(event)} ${event.item.value.darks.map((s) => `${s.count}:${s.mean[0]}/${s.variance[0]}`).join(" ")}`
            : summarize(event),
        ),
      );
      expectObservable(out).toBe("s---------p-q-e|", { s: "start 4x6", p: "item 0 2:2/2 2:12/8", q: "item 1 2:2/2 2:12/8", e: "end stop" });
    });
    // Darks are acked when folded in; points are not acked by the stage (it passes their ack on).
    expect(log.acks).toEqual(["d0.0@2", "d0.1@4", "d1.0@6", "d1.1@8"]);
  });

  it("gives exposure times without darks mean 0 and the declared read noise", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ darksPerExposure: 0, readNoiseAdu: 3 });
      const p = { kind: "item" as const, item: new AckLog().wrap("p", { index: 0, positionM: { x: 0, y: 0 }, exposures: [image(5), image(50)] }) };
      const out = cold<In>("s-p|", { s: startOf(meta), p }).pipe(
        darks(),
        map((event) => (event.kind === "item" ? event.item.value.darks.map((s) => `${s.count}:${s.mean[0]}/${s.std[0]}`).join(" ") : event.kind)),
      );
      expectObservable(out).toBe("s-p|", { s: "start", p: "0:0/3 0:0/3" });
    });
  });

  it("errors on a dark of an exposure time the scan does not have", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const d = { kind: "dark" as const, dark: new AckLog().wrap("d", { exposure: 2, darkIndex: 0, frame: image(1) }) };
      expectObservable(cold<In>("s-d|", { s: startOf(testMeta()), d }).pipe(darks(), map(summarize))).toBe(
        "s-#",
        { s: "start 4x6" },
        expect.objectContaining({ message: "darks: dark of exposure 2, the scan has 2 exposure times" }),
      );
    });
  });
});
