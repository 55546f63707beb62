/**
 * `preprocessWorkers`: the fused kernel in worker threads gives the same events as `preprocessFused` (and so as
 * the reference), frames in input order, every ack delivered, and never more points in the workers than the
 * pool's bound, with a credit-limited source that a smaller limit than the scan cannot deadlock. The same holds
 * when the calling thread helps (takes waiting points itself), and failures end the stream with an error.
 */
import { from, lastValueFrom, map, Observable, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { ScanEvent } from "../../src/model/events";
import { DarkFrame, Frame, Point, RawFrame } from "../../src/model/scan";
import { SourceMessage } from "../../src/model/source";
import { grab } from "../../src/operators/grab";
import { preprocessWorkers, preprocessWorkersFrames } from "../../src/operators/preprocess-workers";
import { KernelPoolOptions, KernelWorkerPool } from "../../src/kernel/pool";
import { CreditGate, fromIterableWithCredits } from "../../src/runtime/credits";
import { preprocessFusedFrames } from "../../src/operators/preprocess-fused";
import { collectSimulatedEvents, eventBits, patternCentre, simulatedMessages, smallSimulation } from "../kernel/sim-events";
import { itKeepsTheKernelEngineContract } from "../kernel/engine-contract";

const sim = smallSimulation({ numPoints: 12 });
const given = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };

/**
 * One pool for the enclosing describe's cases (worker start-up under ts-node takes a second or two), checked
 * against the engine contract; the cases get it from the returned function.
 */
function poolKeepingTheContract(options: KernelPoolOptions): () => KernelWorkerPool {
  let pool: KernelWorkerPool;
  beforeAll(() => {
    pool = new KernelWorkerPool(options);
  });
  afterAll(() => pool.terminate());
  itKeepsTheKernelEngineContract(sim, {
    frames: (config) => preprocessWorkersFrames(config, { pool }),
    chunks: (config) => preprocessWorkers(config, { pool }),
  });
  return () => pool;
}

describe("preprocessWorkers", () => {
  // Bound 2 x 2 points in flight; the calling thread does not help, so every steady point goes through a worker.
  const current = poolKeepingTheContract({ threads: 2, inFlightPerThread: 2, callingThreadHelps: false });

  it("keeps at most the pool's bound in flight, and runs to the end on fewer credits than the scan has frames", async () => {
    const pool = current();
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
    expect(pool.pointsRunHere).toBe(0);
  });

  it("grows the slots' shared memory for a larger crop after smaller ones, frames still bit-identical", async () => {
    const pool = current();
    const events = await collectSimulatedEvents(sim);
    for (const size of [32, 96]) {
      const config = { ...given, crop: { size } };
      const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(config), toArray()));
      const out = await lastValueFrom(from(events).pipe(preprocessWorkersFrames(config, { pool }), toArray()));
      expect(out.map(eventBits)).toEqual(fused.map(eventBits));
      expect(out.flatMap((e) => (e.kind === "item" ? [e.item.value.rows] : []))).toEqual(Array(12).fill(size / 2));
    }
  });

  it("starts and terminates its own pool when none is given", async () => {
    const events: ScanEvent<Point, DarkFrame>[] = await collectSimulatedEvents(smallSimulation({ numPoints: 2 }));
    const out = await lastValueFrom(from(events).pipe(preprocessWorkersFrames(given, { threads: 1 }), toArray()));
    expect(out.filter((e) => e.kind === "item")).toHaveLength(2);
  });
});

describe("preprocessWorkers with the calling thread helping", () => {
  // One worker with room for one point: a burst of points keeps it full, so this thread takes the others.
  const current = poolKeepingTheContract({ threads: 1, inFlightPerThread: 1 });

  it("takes waiting points in this thread while the worker is busy, frames in input order", async () => {
    // A new pool's worker is still starting (ts-node, a second or more): the first point waits in its slot and
    // this thread takes every other point of the burst.
    const fresh = new KernelWorkerPool({ threads: 1, inFlightPerThread: 1 });
    try {
      const events = await collectSimulatedEvents(sim);
      const out = await lastValueFrom(from(events).pipe(preprocessWorkersFrames(given, { pool: fresh }), toArray()));
      const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(given), toArray()));
      expect(out.map(eventBits)).toEqual(fused.map(eventBits));
      expect(out.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []))).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(fresh.pointsSent).toBeGreaterThan(0);
      expect(fresh.pointsRunHere).toBeGreaterThan(0);
      expect(fresh.pointsRunHere + fresh.pointsSent).toBe(12);
      expect(fresh.highWaterMark).toBe(1);
    } finally {
      await fresh.terminate();
    }
  });

  it("errors the stream on a point that mixes dtypes, whoever would have run it", async () => {
    const events = await collectSimulatedEvents(sim);
    const mixed = events.map((event): ScanEvent<Point, DarkFrame> => {
      if (event.kind !== "item" || event.item.value.index !== 4) return event;
      const [first, second] = event.item.value.exposures;
      const asFloat: RawFrame = { ...second, dtype: "float32", data: Float32Array.from(second.data) };
      return { kind: "item", item: envelope({ ...event.item.value, exposures: [first, asFloat] }) };
    });
    await expect(lastValueFrom(from(mixed).pipe(preprocessWorkersFrames(given, { pool: current() }), toArray()))).rejects.toThrow(/point 4 mixes dtypes uint16 and float32/);
  });

  it("errors the stream when its pool is terminated mid-scan, and the pool refuses later points", async () => {
    const own = new KernelWorkerPool({ threads: 1, inFlightPerThread: 1 });
    const events = await collectSimulatedEvents(sim);
    const frames: number[] = [];
    const run = new Promise<void>((resolve, reject) => {
      from(events)
        .pipe(preprocessWorkersFrames(given, { pool: own }))
        .subscribe({ next: (event) => event.kind === "item" && frames.push(event.item.value.index), error: reject, complete: resolve });
      // The burst is in: one point in the worker, the rest waiting for it or for this thread's next turn.
      void own.terminate();
    });
    await expect(run).rejects.toThrow(/kernel pool terminated/);
    expect(frames).toEqual([]);
    await expect(lastValueFrom(from(events).pipe(preprocessWorkersFrames(given, { pool: own }), toArray()))).rejects.toThrow(/kernel pool terminated/);
  });
});
