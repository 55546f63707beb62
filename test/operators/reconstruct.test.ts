/**
 * Emission semantics of `reconstruct` with a fake engine (one iteration per virtual millisecond): cadence by
 * iterations and by time, the final snapshot after `end`, completion, service mode, acks, errors, teardown.
 */
import * as os from "node:os";
import { Observable, Subject, lastValueFrom, map, take, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { EngineSetup, FrameBatch } from "../../src/engines";
import { ScanEvent } from "../../src/model/events";
import { Chunk, ScanMeta, Snapshot } from "../../src/model/scan";
import { ReconstructHooks, StreamEngine, reconstruct } from "../../src/operators/reconstruct";
import { AckLog, testMeta, testScheduler } from "../preprocess/fixtures";

const FRAME = 8;

/** Counts iterations; `failAt` throws at that iteration. Records what it was built with and fed. */
class FakeEngine implements StreamEngine {
  iteration = 0;
  framesUsed = 0;
  disposed = 0;
  threads: number[] = [];
  niceness: number[] = [];
  /** Power-bound relax factors set, as "factor@iteration". */
  relaxFactors: string[] = [];
  constructor(
    readonly setup: EngineSetup,
    startThreads: number,
    private readonly failAt = Infinity,
    /** The (one-pixel) object after `iteration` iterations. */
    private readonly objectAt: (iteration: number) => number = () => 0,
  ) {
    this.threads.push(startThreads);
  }
  addFrames(batch: FrameBatch): void {
    this.framesUsed += batch.viewsTopLeft.length / 2;
  }
  iterate(): number {
    if (this.iteration + 1 === this.failAt) throw new Error("engine broke");
    this.iteration += 1;
    return 1 / this.iteration;
  }
  snapshot(final = false): Snapshot {
    const image = { rows: 1, cols: 1, data: Float32Array.of(this.objectAt(this.iteration), 0) };
    return { iteration: this.iteration, framesUsed: this.framesUsed, error: 1 / this.iteration, object: image, probe: image, objectPixelSizeM: [1, 1], final };
  }
  setThreads(threads: number): void {
    this.threads.push(threads);
  }
  async setNiceness(niceness: number): Promise<number[]> {
    this.niceness.push(niceness);
    return [niceness];
  }
  setFourierRelaxFactor(factor: number): void {
    this.relaxFactors.push(`${factor}@${this.iteration}`);
  }
  dispose(): void {
    this.disposed += 1;
  }
}

function scanMeta(scanId: string): ScanMeta {
  return testMeta({ scanId, frameShape: [FRAME, FRAME], positionsM: [{ x: 0, y: 0 }, { x: 1e-7, y: -1e-7 }] });
}

function chunkOf(meta: ScanMeta, index: number, count: number): Chunk {
  const area = FRAME * FRAME;
  return {
    chunkIndex: index,
    count,
    rows: FRAME,
    cols: FRAME,
    indices: Int32Array.from({ length: count }, (_, i) => i),
    positionsYX: new Float64Array(2 * count),
    data: new Float32Array(count * area).fill(1),
    weights: new Uint8Array(count * area).fill(1),
    meta,
  };
}

type Event = ScanEvent<Chunk, unknown>;
const show = map((s: Snapshot) => `${s.final ? "final" : "it"} ${s.iteration} (${s.framesUsed})`);

function setup(options: { failAt?: number; objectAt?: (iteration: number) => number } = {}) {
  const scheduler = testScheduler();
  const engines: FakeEngine[] = [];
  const hooks: ReconstructHooks = {
    scheduler,
    iterationGapMs: 1,
    createEngine: (_options, engineSetup, threads) => {
      const engine = new FakeEngine(engineSetup, threads.threads, options.failAt, options.objectAt);
      engines.push(engine);
      return engine;
    },
  };
  const log = new AckLog(scheduler);
  const meta = scanMeta("a");
  const events = {
    s: { kind: "start", meta } as Event,
    a: { kind: "item", item: log.wrap("a", chunkOf(meta, 0, 3)) } as Event,
    b: { kind: "item", item: log.wrap("b", chunkOf(meta, 1, 2)) } as Event,
    e: { kind: "end", meta, reason: "stop" } as Event,
  };
  return { scheduler, engines, hooks, log, events, meta };
}

describe("reconstruct (stream)", () => {
  it("iterates from the first chunk, snapshots every k iterations, ends with a final snapshot and completes", () => {
    const { scheduler, engines, hooks, log, events } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<Event>("sa--b-e|", events);
      const options = { engine: { algorithm: "dm" as const }, iterations: 6, iterationsAfterEnd: 1, snapshotEveryIterations: 2, cores: 2 };
      // Iterations at 1, 2, ...: the 2nd (t 2) and 4th (t 4) snapshot; at t 6 the end arrives with 5 done, the 6th
      // runs (reaching iterations 6 and one after the end), and the final snapshot goes out at the next step.
      expectObservable(source.pipe(reconstruct(options, hooks), show)).toBe("--x-y--(z|)", { x: "it 2 (3)", y: "it 4 (5)", z: "final 6 (5)" });
    });
    expect(log.acks).toEqual(["a@1", "b@4"]);
    expect(engines).toHaveLength(1);
    // Object from the scan extent: two positions 1e-7 m apart in y and x, plus the default 8-pixel margin.
    const [rows, cols] = engines[0].setup.objectShape;
    expect(rows).toBe(cols);
    expect(rows).toBeGreaterThanOrEqual(FRAME + 16);
    // cores - 1 threads while live, all after the end; the engine is let go after the final snapshot.
    expect(engines[0].threads).toEqual([1, 2]);
    expect(engines[0].disposed).toBe(1);
    // Live, the workers yield to acquisition (the most niceness, 19, on top of this process's); after the end
    // they are back at this process's.
    expect(engines[0].niceness).toEqual([Math.min(19, os.getPriority() + 19), os.getPriority()]);
    // DM's power bound: the live one (0.02) from the start; the scan is done before its iteration after the end is.
    expect(engines[0].relaxFactors).toEqual(["0.02@0"]);
  });

  it("leaves the workers' niceness alone with liveNiceness 0; tells onFinal of the final snapshot", () => {
    const { scheduler, engines, hooks, events } = setup();
    const finals: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const options = { engine: { algorithm: "dm" as const, fourierRelaxFactor: 0.01 }, iterations: 3, iterationsAfterEnd: 1, snapshotEveryIterations: 1, liveNiceness: 0, cores: 2 };
      const onFinal = (snapshot: Snapshot) => finals.push(`${snapshot.final ? "final" : "it"} ${snapshot.iteration} at ${scheduler.now()}`);
      expectObservable(cold<Event>("sa-e|", events).pipe(reconstruct(options, { ...hooks, onFinal }), show)).toBe("-xy-(z|)", { x: "it 1 (3)", y: "it 2 (3)", z: "final 3 (3)" });
    });
    expect(engines[0].niceness).toEqual([]);
    // An engine bound tighter than the live one is kept throughout.
    expect(engines[0].relaxFactors).toEqual(["0.01@0"]);
    expect(finals).toEqual(["final 3 at 4"]);
  });

  it("after the end, with settledObjectChange, stops once an iteration moves the object less than that, not before iterationsAfterEnd", () => {
    // The object after k iterations is 2 - 2^-k: iteration k moves it by 2^-k / (2 - 2^-k), under 0.01 from k = 6.
    const settling = { objectAt: (k: number) => 2 - 2 ** -k };
    const options = { engine: { algorithm: "dm" as const }, iterations: 100, snapshotEveryIterations: 100, settledObjectChange: 0.01, cores: 2 };
    for (const [iterationsAfterEnd, expected, relaxFactors] of [
      [1, "-------(z|)", ["0.02@0", "0.05@3"]],
      // Settled under the live bound at 10, but that does not count: one more iteration under the engine's own.
      [8, "------------(y|)", ["0.02@0", "0.05@10"]],
    ] as const) {
      const { scheduler, hooks, events, engines } = setup(settling);
      scheduler.run(({ cold, expectObservable }) => {
        // The end arrives at t 3 with 2 iterations done; the first after the end has nothing to compare with.
        expectObservable(cold<Event>("sa-e|", events).pipe(reconstruct({ ...options, iterationsAfterEnd }, hooks), show)).toBe(expected, { z: "final 6 (3)", y: "final 11 (3)" });
      });
      // The live power bound until `iterationsAfterEnd` iterations after the end, then the engine's own (0.05).
      expect(engines[0].relaxFactors).toEqual(relaxFactors);
    }
    // Without it, `iterations` in all as before.
    const { scheduler, hooks, events } = setup(settling);
    scheduler.run(({ cold, expectObservable }) => {
      const plain = { ...options, settledObjectChange: undefined, iterations: 12, iterationsAfterEnd: 1 };
      expectObservable(cold<Event>("sa-e|", events).pipe(reconstruct(plain, hooks), show)).toBe("-------------(z|)", { z: "final 12 (3)" });
    });
  });

  it("snapshots every t seconds as well", () => {
    const { scheduler, hooks, events } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<Event>("sa------e|", events);
      const options = { engine: { algorithm: "raar" as const }, iterations: 1, iterationsAfterEnd: 1, snapshotEveryIterations: 100, snapshotEverySeconds: 0.003, cores: 2 };
      // The scan starts at t 0; iterations at 1, 2, 3...: 3 ms have passed at t 3 and again at t 6; the end (t 8)
      // finds 7 done, the 8th runs, the final follows at t 9.
      expectObservable(source.pipe(reconstruct(options, hooks), show)).toBe("---x--y--(z|)", { x: "it 3 (3)", y: "it 6 (3)", z: "final 8 (3)" });
    });
  });

  it("in service mode runs scan after scan, each with its own engine and final snapshot", () => {
    const { scheduler, engines, hooks, events } = setup();
    const second = scanMeta("b");
    scheduler.run(({ cold, expectObservable }) => {
      const more = { ...events, t: { kind: "start", meta: second } as Event, c: { kind: "item", item: new AckLog().wrap("c", chunkOf(second, 0, 4)) } as Event, f: { kind: "end", meta: second, reason: "stop" } as Event };
      const source = cold<Event>("sae-tcf----|", more);
      const options = { engine: { algorithm: "dm" as const }, iterations: 3, iterationsAfterEnd: 1, snapshotEveryIterations: 100, cores: 2 };
      // Scan a: iterations at 1, 2 (the end at t 2 finds 1 done), 3; final at t 4. Scan b's events waited
      // behind; its chunk arrives at t 5: iterations at 5 (end arrives at 6), 6, 7; final at t 8; the source completes at 11.
      const showScan = map((s: Snapshot) => `${s.scanId} ${s.final ? "final" : "it"} ${s.iteration} (${s.framesUsed})`);
      expectObservable(source.pipe(reconstruct(options, hooks), showScan)).toBe("----x---y--|", { x: "a final 3 (3)", y: "b final 3 (4)" });
    });
    expect(engines.map((e) => e.disposed)).toEqual([1, 1]);
  });

  it("acks a live scan's chunks on arrival, but holds the next scan's while an ended scan finishes (credits bound them)", () => {
    const { scheduler, hooks, log, events } = setup();
    const second = scanMeta("b");
    scheduler.run(({ cold, expectObservable }) => {
      const more = { ...events, t: { kind: "start", meta: second } as Event, c: { kind: "item", item: log.wrap("c", chunkOf(second, 0, 4)) } as Event, f: { kind: "end", meta: second, reason: "stop" } as Event };
      const options = { engine: { algorithm: "dm" as const }, iterations: 6, iterationsAfterEnd: 1, snapshotEveryIterations: 100, cores: 2 };
      // Scan a ends at t 2 and iterates until its 6th iteration (final at t 7); scan b's chunk comes at t 4 and is
      // acked only when it is taken in, after a's final snapshot.
      const showScan = map((s: Snapshot) => `${s.scanId} ${s.final ? "final" : "it"} ${s.iteration}`);
      expectObservable(cold<Event>("sae-tcf|", more).pipe(reconstruct(options, hooks), showScan)).toBe("-------x-----(y|)", { x: "a final 6", y: "b final 6" });
    });
    expect(log.acks.slice(0, 1)).toEqual(["a@1"]);
    expect(log.acks.find((ack) => ack.startsWith("c@"))).toBe("c@7");
  });

  it("a source completing mid-scan ends the scan with a final snapshot; a scan without frames emits nothing", () => {
    const { scheduler, hooks, events } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      const options = { engine: { algorithm: "dm" as const }, iterations: 2, iterationsAfterEnd: 0, cores: 1 };
      expectObservable(cold<Event>("sa|", events).pipe(reconstruct(options, hooks), show)).toBe("---(z|)", { z: "final 2 (3)" });
      expectObservable(cold<Event>("s-e|", events).pipe(reconstruct(options, hooks), show)).toBe("---|");
    });
  });

  it("an engine error errors the output and lets the engine go", () => {
    const { scheduler, engines, hooks, events } = setup({ failAt: 3 });
    scheduler.run(({ cold, expectObservable }) => {
      const options = { engine: { algorithm: "dm" as const }, snapshotEveryIterations: 1, cores: 2 };
      expectObservable(cold<Event>("sa-----", events).pipe(reconstruct(options, hooks), show)).toBe("-xy#", { x: "it 1 (3)", y: "it 2 (3)" }, new Error("engine broke"));
    });
    expect(engines[0].disposed).toBe(1);
  });

  it("a source error propagates; a chunk before start is an error; darks are acknowledged and dropped", () => {
    const { scheduler, hooks, events, log } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      const options = { engine: { algorithm: "dm" as const }, cores: 2 };
      expectObservable(cold<Event>("s-#", events).pipe(reconstruct(options, hooks))).toBe("--#");
      expectObservable(cold<Event>("a", events).pipe(reconstruct(options, hooks))).toBe("#", undefined, new Error("reconstruct: a chunk before start"));
      const dark = { kind: "dark", dark: log.wrap("dark", {}) } as Event;
      expectObservable(cold<Event>("sd|", { ...events, d: dark }).pipe(reconstruct(options, hooks))).toBe("--|");
    });
    expect(log.acks).toEqual(["a@0", "dark@1"]);
  });

  it("unsubscribing lets the engine go and acks what was still queued", () => {
    const { scheduler, engines, hooks, events } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      const options = { engine: { algorithm: "dm" as const }, snapshotEveryIterations: 1, cores: 2 };
      expectObservable(cold<Event>("sa----", events).pipe(reconstruct(options, hooks), take(2), show)).toBe("-x(y|)", { x: "it 1 (3)", y: "it 2 (3)" });
    });
    expect(engines[0].disposed).toBe(1);
  });

  it("rejects invalid options at the edge", () => {
    expect(() => reconstruct({ engine: { algorithm: "dm" }, iterations: 0 } as never)).toThrow(/iterations/);
  });
});

/** An engine whose iterations take real (asynchronous) time, like the threaded engines; `running` counts those in flight. */
function slowEngine(onIterationStart: (iteration: number) => void = () => undefined) {
  const fake = new FakeEngine({} as EngineSetup, 1);
  const state = { running: 0, mostAtOnce: 0 };
  const engine: StreamEngine = {
    get iteration() {
      return fake.iteration;
    },
    get framesUsed() {
      return fake.framesUsed;
    },
    addFrames: (batch) => fake.addFrames(batch),
    snapshot: (final) => fake.snapshot(final),
    async iterate() {
      state.running += 1;
      state.mostAtOnce = Math.max(state.mostAtOnce, state.running);
      onIterationStart(fake.iteration);
      await new Promise((resolve) => setTimeout(resolve, 2));
      state.running -= 1;
      return fake.iterate();
    },
  };
  return { engine, state };
}

describe("reconstruct with real asynchronous iterations", () => {
  it("acknowledges a chunk that arrives while an iteration runs at once, and takes its frames in at the next step", async () => {
    const meta = scanMeta("during");
    const source = new Subject<Event>();
    const runningAtAck: number[] = [];
    const { engine, state } = slowEngine((iteration) => {
      if (iteration !== 0) return;
      // Mid-iteration: a second chunk, then the end.
      source.next({ kind: "item", item: envelope(chunkOf(meta, 1, 2), () => runningAtAck.push(state.running)) });
      source.next({ kind: "end", meta, reason: "stop" });
      source.complete();
    });
    const snapshots = lastValueFrom(source.pipe(reconstruct({ engine: { algorithm: "dm" }, iterations: 3, iterationsAfterEnd: 1 }, { createEngine: () => engine }), toArray()));
    source.next({ kind: "start", meta });
    source.next({ kind: "item", item: envelope(chunkOf(meta, 0, 3)) });
    const all = await snapshots;
    // Acked while the first iteration was still running (it used to wait for the next step).
    expect(runningAtAck).toEqual([1]);
    expect(all[all.length - 1]).toMatchObject({ final: true, iteration: 3, framesUsed: 5 });
  });

  it("never runs two iterations at the same time when acking a chunk makes the source emit", async () => {
    const meta = scanMeta("sync");
    const { engine, state } = slowEngine();
    // A file-replay-like source: the next chunk is emitted synchronously inside the previous chunk's ack.
    const source = new Observable<Event>((subscriber) => {
      subscriber.next({ kind: "start", meta });
      let sent = 0;
      const sendNext = () => {
        if (sent === 6) {
          subscriber.next({ kind: "end", meta, reason: "stop" });
          subscriber.complete();
          return;
        }
        const index = sent++;
        subscriber.next({ kind: "item", item: envelope(chunkOf(meta, index, 1), sendNext) });
      };
      sendNext();
    });
    const snapshots = await lastValueFrom(source.pipe(reconstruct({ engine: { algorithm: "dm" }, iterations: 5, iterationsAfterEnd: 2 }, { createEngine: () => engine }), toArray()));
    expect(state.mostAtOnce).toBe(1);
    expect(snapshots[snapshots.length - 1]).toMatchObject({ final: true, framesUsed: 6 });
  });
});
