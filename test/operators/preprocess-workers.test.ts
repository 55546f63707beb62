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
import { preprocessFused, preprocessFusedFrames } from "../../src/operators/preprocess-fused";
import { preprocessWorkers, preprocessWorkersFrames } from "../../src/operators/preprocess-workers";
import { KernelWorkerPool } from "../../src/kernel/pool";
import { CreditGate, fromIterableWithCredits } from "../../src/runtime/credits";
import { collectSimulatedEvents, eventBits, patternCentre, simulatedMessages, smallSimulation, withLateDark } from "../kernel/sim-events";

describe("preprocessWorkers", () => {
  // One pool for the file (worker start-up under ts-node takes a second or two); bound 2 x 2 points in flight.
  let pool: KernelWorkerPool;
  beforeAll(() => {
    pool = new KernelWorkerPool({ threads: 2, inFlightPerThread: 2 });
  });
  afterAll(() => pool.terminate());

  const sim = smallSimulation({ numPoints: 12 });
  const given = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };

  it.each([
    ["given centre", given],
    ["centre found from 3 points, orientation 6, corrected saturation", { centre: { frames: 3 }, crop: { size: 64 }, bin: { factor: 2 }, orient: { orientation: 6 }, saturation: { on: "corrected" as const, thresholdAdu: 8000 } }],
    ["resample", { ...given, crop: { size: 48 }, resample: { size: 16 } }],
  ])("gives preprocessFused's events bit for bit, frames in input order (%s)", async (_name, config) => {
    const events = await collectSimulatedEvents(sim);
    const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(config), toArray()));
    const workers = await lastValueFrom(from(events).pipe(preprocessWorkersFrames(config, { pool }), toArray()));
    expect(workers.map(eventBits)).toEqual(fused.map(eventBits));
    const indices = workers.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []));
    expect(indices).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it("a dark after point 5 while later points wait for a slot: each point keeps the plan of its moment", async () => {
    const events = withLateDark(await collectSimulatedEvents(sim), 5);
    const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(given), toArray()));
    const workers = await lastValueFrom(from(events).pipe(preprocessWorkersFrames(given, { pool }), toArray()));
    expect(workers.map(eventBits)).toEqual(fused.map(eventBits));
  });

  it("chunks as preprocessFused does, and every raw frame's ack arrives once the chunks are let go", async () => {
    const acked = { count: 0 };
    const config = { ...given, chunk: { size: 5 } };
    const fused = await lastValueFrom(from(simulatedMessages(sim)).pipe(grab(), preprocessFused(config), toArray()));
    const workers = await lastValueFrom(from(simulatedMessages(sim, acked)).pipe(grab(), preprocessWorkers(config, { pool }), toArray()));
    expect(workers.map(eventBits)).toEqual(fused.map(eventBits));
    const darks = sim.config.darksPerExposure * sim.config.exposureTimesS.length;
    expect(acked.count).toBe(darks);
    workers.forEach((e) => e.kind === "item" && e.item.ack());
    expect(acked.count).toBe(sim.totalFrames);
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
