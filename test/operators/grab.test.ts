import { TestScheduler } from "rxjs/testing";
import { map, tap } from "rxjs";
import { grab } from "../../src/operators/grab";
import { ScanEvent } from "../../src/model/events";
import { Point } from "../../src/model/scan";
import { SourceMessage } from "../../src/model/source";
import { ScanControlMessage } from "../../src/model/frameserver";
import { AckCounter, FaultLog, positionOf, tinyStart } from "../sources/fixtures";

/** A readable token per event, so marbles compare plain strings (envelopes carry closures). */
function token(event: ScanEvent<Point>): string {
  switch (event.kind) {
    case "start":
      return `start:${event.meta.scanId}`;
    case "meta":
      return "meta";
    case "dark":
      return `dark:${event.dark.value.exposure}/${event.dark.value.darkIndex}@${event.dark.value.frame.index}`;
    case "item": {
      const p = event.item.value;
      const { x, y } = positionOf(p.index);
      const positioned = p.positionM.x === x && p.positionM.y === y ? "ok" : "WRONG";
      return `point:${p.index}[${p.exposures.map((f) => f.index).join(",")}]${positioned}`;
    }
    case "end":
      return `end:${event.reason}`;
  }
}

const control = (message: ScanControlMessage): SourceMessage => ({ kind: "control", message });
const pointMessage = (index: number): SourceMessage => control({ type: "point", index, ...positionOf(index) });

function run(
  marbles: string,
  values: Record<string, SourceMessage>,
  expected: string,
  expectedValues: Record<string, string>,
  options: Parameters<typeof grab>[0] = {},
): void {
  new TestScheduler((actual, wanted) => expect(actual).toEqual(wanted)).run(({ cold, expectObservable }) => {
    const output = cold(marbles, values).pipe(
      grab(options),
      // Downstream acknowledges every dark and point once it has seen it.
      tap((event) => (event.kind === "item" ? event.item.ack() : event.kind === "dark" ? event.dark.ack() : undefined)),
      map(token),
    );
    expectObservable(output).toBe(expected, expectedValues);
  });
}

// Scan of 3 points, 2 exposures, 1 dark per exposure: frames 0,1 darks; 2-3 point 0; 4-5 point 1; 6-7 point 2.
describe("grab", () => {
  it("emits start, darks, points with positions in order, then end on stop", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const f = (i: number) => acks.frameMessage(i);
    run(
      "sabcdefghz|",
      { s: control(tinyStart({ numPoints: 3 })), a: f(0), b: f(1), c: f(2), d: f(3), e: f(4), f: f(5), g: f(6), h: f(7), z: control({ type: "stop" }) },
      "SAB-C-D-EZ|",
      { S: "start:tiny", A: "dark:0/0@0", B: "dark:1/0@1", C: "point:0[2,3]ok", D: "point:1[4,5]ok", E: "point:2[6,7]ok", Z: "end:stop" },
      { onFault: faults.onFault },
    );
    expect(faults.faults).toEqual([]);
    expect([...acks.acked].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("holds complete points until their positions arrive, and uses positions that came first", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const f = (i: number) => acks.frameMessage(i);
    run(
      "sabcd-ef-0-1-2gh-z|",
      {
        s: control(tinyStart({ numPoints: 3, positionsFollow: true })),
        a: f(0), b: f(1), c: f(2), d: f(3), e: f(4), f: f(5), g: f(6), h: f(7),
        0: pointMessage(0), 1: pointMessage(1), 2: pointMessage(2),
        z: control({ type: "stop" }),
      },
      "SAB------C-D---E-Z|",
      { S: "start:tiny", A: "dark:0/0@0", B: "dark:1/0@1", C: "point:0[2,3]ok", D: "point:1[4,5]ok", E: "point:2[6,7]ok", Z: "end:stop" },
      { onFault: faults.onFault },
    );
    expect(faults.faults).toEqual([]);
    expect(acks.acked.length).toBe(8);
  });

  it("gives up a point without a position once the waiting buffer is full, and acks its frames", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const f = (i: number) => acks.frameMessage(i);
    run(
      "sabcdef1z|",
      { s: control(tinyStart({ numPoints: 3, positionsFollow: true })), a: f(0), b: f(1), c: f(2), d: f(3), e: f(4), f: f(5), 1: pointMessage(1), z: control({ type: "stop" }) },
      "SAB----DZ|",
      { S: "start:tiny", A: "dark:0/0@0", B: "dark:1/0@1", D: "point:1[4,5]ok", Z: "end:stop" },
      { onFault: faults.onFault, maxAwaitingPosition: 1 },
    );
    expect(faults.faults.filter((x) => x.reason === "missing-position").map((x) => x.index)).toEqual([0]);
    // Point 2 never came: both its frames are reported missing at stop.
    expect(faults.faults.filter((x) => x.reason === "missing-frames").map((x) => [x.index, x.count])).toEqual([[2, 2]]);
    expect([...acks.acked].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("reports a point with a missing exposure once later points arrive, and counts every missing frame", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const f = (i: number) => acks.frameMessage(i);
    // Frame 1 (dark of exposure 1) and frame 5 (point 1, exposure 1) are lost.
    run(
      "sacdeghz|",
      { s: control(tinyStart({ numPoints: 3 })), a: f(0), c: f(2), d: f(3), e: f(4), g: f(6), h: f(7), z: control({ type: "stop" }) },
      "SA-C--EZ|",
      { S: "start:tiny", A: "dark:0/0@0", C: "point:0[2,3]ok", E: "point:2[6,7]ok", Z: "end:stop" },
      { onFault: faults.onFault, reorderWindowPoints: 0 },
    );
    const missing = faults.faults.filter((x) => x.reason === "missing-frames");
    expect(missing.map((x) => [x.index, x.count])).toEqual([
      [1, 1],
      [undefined, 1],
    ]);
    expect(missing[0].message).toContain("exposure(s) 1 missing");
    expect(faults.count("missing-frames")).toBe(2);
    // Point 1 was given up when point 2's first frame came (window 0), before stop.
    expect(acks.acked.indexOf(4)).toBeLessThan(acks.acked.indexOf(7));
    expect([...acks.acked].sort((a, b) => a - b)).toEqual([0, 2, 3, 4, 6, 7]);
  });

  it("counts duplicates, out-of-order and beyond-scan frames, keeping the first copy and the late frame", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const f = (i: number) => acks.frameMessage(i);
    run(
      "sabcdkfeghxz|",
      { s: control(tinyStart({ numPoints: 3 })), a: f(0), b: f(1), c: f(2), d: f(3), k: f(2), e: f(4), f: f(5), g: f(6), h: f(7), x: f(8), z: control({ type: "stop" }) },
      "SAB-C--D-E-Z|",
      { S: "start:tiny", A: "dark:0/0@0", B: "dark:1/0@1", C: "point:0[2,3]ok", D: "point:1[4,5]ok", E: "point:2[6,7]ok", Z: "end:stop" },
      { onFault: faults.onFault },
    );
    expect(faults.faults.map((x) => [x.reason, x.index])).toEqual([
      ["duplicate-index", 2],
      ["out-of-order", 4],
      ["beyond-scan", 8],
    ]);
    expect(acks.acked.length).toBe(10);
  });

  it("ends with abort, releases held frames, and reports frames after the abort as outside a scan", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const f = (i: number) => acks.frameMessage(i);
    run(
      "sabcdexf|",
      { s: control(tinyStart({ numPoints: 3 })), a: f(0), b: f(1), c: f(2), d: f(3), e: f(4), x: control({ type: "abort", reason: "beam lost" }), f: f(5) },
      "SAB-C-X-|",
      { S: "start:tiny", A: "dark:0/0@0", B: "dark:1/0@1", C: "point:0[2,3]ok", X: "end:abort" },
      { onFault: faults.onFault },
    );
    expect(faults.reasons()).toEqual(["abort", "missing-frames", "no-start"]);
    expect(faults.faults[0].message).toContain("beam lost");
    expect([...acks.acked].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("maps an idle abort to the typed end reason `idle` and a source that completes to `source-closed`", () => {
    const faults = new FaultLog();
    const acks = new AckCounter();
    run(
      "sax|",
      { s: control(tinyStart({ numPoints: 3 })), a: acks.frameMessage(0), x: control({ type: "abort", reason: "idle" }) },
      "SAX|",
      { S: "start:tiny", A: "dark:0/0@0", X: "end:idle" },
      { onFault: faults.onFault },
    );
    expect(faults.faults).toEqual([]);
    run("sa|", { s: control(tinyStart({ numPoints: 3 })), a: acks.frameMessage(0) }, "SA(X|)", { S: "start:tiny", A: "dark:0/0@0", X: "end:source-closed" });
  });

  it("ends an open scan as interrupted when a new start comes, and a point's envelope acks all its exposures", () => {
    const acks = new AckCounter();
    const faults = new FaultLog();
    const events: ScanEvent<Point>[] = [];
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable }) => {
      const source = cold("sabcdt----|", {
        s: control(tinyStart({ numPoints: 2 })),
        a: acks.frameMessage(0), b: acks.frameMessage(1), c: acks.frameMessage(2), d: acks.frameMessage(3),
        t: control(tinyStart({ numPoints: 2, scanId: "next" })),
      });
      const output = source.pipe(grab({ onFault: faults.onFault }), tap((e) => events.push(e)), map(token));
      expectObservable(output).toBe("SAB-C(XT)-(Y|)", { S: "start:tiny", A: "dark:0/0@0", B: "dark:1/0@1", C: "point:0[2,3]ok", X: "end:interrupted", T: "start:next", Y: "end:source-closed" });
    });
    expect(acks.acked).toEqual([]);
    const point = events.find((e) => e.kind === "item");
    if (point?.kind !== "item") throw new Error("no point");
    point.item.ack();
    expect(acks.acked).toEqual([2, 3]);
    point.item.ack();
    expect(acks.acked).toEqual([2, 3]);
  });
});
