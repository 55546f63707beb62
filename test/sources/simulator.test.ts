import { asyncScheduler, lastValueFrom, map, tap, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { simulatorSource } from "../../src/sources/simulator";
import { simulateScan } from "../../src/sim/scan";
import { CreditGate } from "../../src/runtime/credits";
import { SourceMessage } from "../../src/model/source";

// 1 dark per exposure, 2 points, 2 exposures: 6 frames.
const scan = simulateScan({ frameSize: 16, numPoints: 2, stepPx: 2, darksPerExposure: 1, photonsPerFrame: 1e5 });

const label = (message: SourceMessage): string =>
  message.kind === "control" ? (message.message.type === "start" ? "S" : message.message.type === "stop" ? "E" : "?") : String(message.frame.value.index);

describe("simulatorSource", () => {
  it("sends start, then frames only while credits are free, then stop (marbles)", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ expectObservable }) => {
      // Downstream holds each frame 5 ms, with 2 credits: frames come in pairs as the acks return.
      const source = simulatorSource(scan, { credits: 2 }).pipe(
        tap((message) => {
          if (message.kind === "frame") asyncScheduler.schedule(() => message.frame.ack(), 5);
        }),
        map(label),
      );
      expectObservable(source).toBe("(S01) (23) 1ms (45) 1ms (E|)");
    });
  });

  it("serves the scan's own frames and start, resumes from an index, and never exceeds its credits", async () => {
    const gate = new CreditGate(3);
    const messages = await lastValueFrom(
      simulatorSource(scan, { credits: gate, fromIndex: 2 }).pipe(
        tap((message) => message.kind === "frame" && message.frame.ack()),
        toArray(),
      ),
    );
    expect(messages.map(label)).toEqual(["S", "2", "3", "4", "5", "E"]);
    expect(messages[0]).toEqual({ kind: "control", message: scan.start });
    expect(messages[messages.length - 1]).toEqual({ kind: "control", message: { type: "stop", scanId: scan.start.scanId } });
    const frame = messages[3];
    if (frame.kind !== "frame") throw new Error("expected a frame");
    expect(Buffer.from(frame.frame.value.data.buffer).equals(Buffer.from(scan.frame(4).data.buffer))).toBe(true);
    expect(gate.highWaterMark).toBeLessThanOrEqual(3);
    expect(gate.outstanding).toBe(0);
  });

  it("replays the scan for each subscriber", async () => {
    const source = simulatorSource(scan, { credits: 4 }).pipe(
      tap((message) => message.kind === "frame" && message.frame.ack()),
      map(label),
      toArray(),
    );
    const first = await lastValueFrom(source);
    const second = await lastValueFrom(source);
    expect(first).toEqual(["S", "0", "1", "2", "3", "4", "5", "E"]);
    expect(second).toEqual(first);
  });
});
