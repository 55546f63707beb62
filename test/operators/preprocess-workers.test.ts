/**
 * `preprocessWorkers`: the fused kernel in worker threads gives the same events as `preprocessFused` (and so as
 * the reference), frames in input order, every ack delivered, and never more points in the workers than the
 * pool's bound, with a credit-limited source that a smaller limit than the scan cannot deadlock.
 */
import { from, lastValueFrom, map, Observable, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { ScanEvent } from "../../src/model/events";
import { DarkFrame, Frame, Point } from "../../src/model/scan";
import { SourceMessage } from "../../src/model/source";
import { grab } from "../../src/operators/grab";
import { preprocessWorkers, preprocessWorkersFrames } from "../../src/operators/preprocess-workers";
import { KernelWorkerPool } from "../../src/kernel/pool";
import { CreditGate, fromIterableWithCredits } from "../../src/runtime/credits";
import { collectSimulatedEvents, patternCentre, simulatedMessages, smallSimulation } from "../kernel/sim-events";
import { itKeepsTheKernelEngineContract } from "../kernel/engine-contract";

describe("preprocessWorkers", () => {
  // One pool for the file (worker start-up under ts-node takes a second or two); bound 2 x 2 points in flight.
  let pool: KernelWorkerPool;
  beforeAll(() => {
    pool = new KernelWorkerPool({ threads: 2, inFlightPerThread: 2 });
  });
  afterAll(() => pool.terminate());

  const sim = smallSimulation({ numPoints: 12 });
  const given = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };

  itKeepsTheKernelEngineContract(sim, {
    frames: (config) => preprocessWorkersFrames(config, { pool }),
    chunks: (config) => preprocessWorkers(config, { pool }),
  });

  it("keeps at most the pool's bound in flight, and runs to the end on fewer credits than the scan has frames", async () => {
    const long = smallSimulation({ numPoints: 40, seed: 9 });
    const limit = 12;
    const gate = new CreditGate(limit);
    const inFlight: number[] = [];
    const messages = fromIterableWithCredits(simulatedMessages(long), gate).pipe(
      // The simulated frames carry their own envelopes; the credit gate's ack returns the credit.
      map((credit): SourceMessage => (credit.value.kind === "frame" ? { kind: "frame", frame: envelope(credit.value.frame.value, () => credit.ack()) } : (credit.ack(), credit.value))),
    );
    const frames = await lastValueFrom(
      new Observable<Frame>((subscriber) =>
        messages.pipe(grab(), preprocessWorkersFrames({ centre: { yx: patternCentre(long) }, crop: { size: 64 }, bin: { factor: 2 } }, { pool })).subscribe({
          next: (event) => {
            inFlight.push(pool.inFlight);
            if (event.kind !== "item") return;
            subscriber.next(event.item.value);
            // A consumer that lets go of each frame after a moment, so points pile up behind the workers.
            setTimeout(() => event.item.ack(), 1);
          },
          error: (error) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      ).pipe(toArray()),
    );
    expect(frames.map((f) => f.index)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(gate.highWaterMark).toBeLessThanOrEqual(limit);
    expect(pool.bound).toBe(4);
    expect(pool.highWaterMark).toBeLessThanOrEqual(pool.bound);
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(pool.bound);
    expect(pool.highWaterMark).toBeGreaterThan(1);
  });

  it("starts and terminates its own pool when none is given", async () => {
    const events: ScanEvent<Point, DarkFrame>[] = await collectSimulatedEvents(smallSimulation({ numPoints: 2 }));
    const out = await lastValueFrom(from(events).pipe(preprocessWorkersFrames(given, { threads: 1 }), toArray()));
    expect(out.filter((e) => e.kind === "item")).toHaveLength(2);
  });
});
