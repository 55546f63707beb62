/**
 * `preprocessRemote`: the fused kernel in worker processes (pipelines/worker.ts over ZeroMQ on loopback) gives
 * preprocessFused's events bit for bit, in input order, every ack delivered; a worker killed mid-scan is reported
 * and its points are re-sent, so the scan still completes with every point exactly once.
 */
import { from, lastValueFrom, tap, toArray } from "rxjs";
import { Fault } from "../../src/model/fault";
import { preprocessFusedFrames } from "../../src/operators/preprocess-fused";
import { RemoteKernelPool } from "../../src/distributed/coordinator";
import { preprocessRemote, preprocessRemoteFrames } from "../../src/distributed/preprocess-remote";
import { collectSimulatedEvents, eventBits, patternCentre, smallSimulation } from "../kernel/sim-events";
import { itKeepsTheKernelEngineContract } from "../kernel/engine-contract";

jest.setTimeout(60_000);

describe("preprocessRemote", () => {
  let pool: RemoteKernelPool;
  beforeAll(async () => {
    pool = await RemoteKernelPool.start({ bind: "tcp://127.0.0.1:27010", spawn: 2, inFlightPerWorker: 2 });
    await pool.whenWorkers(2);
  });
  afterAll(() => pool.terminate());

  const sim = smallSimulation({ numPoints: 12 });
  itKeepsTheKernelEngineContract(sim, {
    frames: (config) => preprocessRemoteFrames(config, { pool }),
    chunks: (config) => preprocessRemote(config, { pool }),
  });

  it("spreads points over both workers, each point processed once", async () => {
    const before = pool.statistics.processedBy;
    const config = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };
    const out = await lastValueFrom(from(await collectSimulatedEvents(sim)).pipe(preprocessRemoteFrames(config, { pool }), toArray()));
    expect(out.filter((e) => e.kind === "item")).toHaveLength(12);
    const after = pool.statistics.processedBy;
    const share = Object.keys(after).map((worker) => after[worker] - (before[worker] ?? 0));
    expect(share.reduce((a, b) => a + b, 0)).toBe(12);
    expect(share.filter((n) => n > 0).length).toBe(2);
  });

  it("a worker killed mid-scan: a worker-died fault, its points re-sent, every point exactly once and identical", async () => {
    const long = smallSimulation({ numPoints: 60, seed: 5 });
    const config = { centre: { yx: patternCentre(long) }, crop: { size: 64 }, bin: { factor: 2 } };
    const faults: Fault[] = [];
    const dying = await RemoteKernelPool.start({ bind: "tcp://127.0.0.1:27011", spawn: 2, inFlightPerWorker: 3, onFault: (f) => faults.push(f) });
    try {
      await dying.whenWorkers(2);
      const [victim] = dying.localPids;
      const events = await collectSimulatedEvents(long);
      const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(config), toArray()));
      let seen = 0;
      const remote = await lastValueFrom(
        from(events).pipe(
          preprocessRemoteFrames(config, { pool: dying }),
          // Killed while points are in both workers: the first frames are out, most of the scan is still to come.
          tap((event) => event.kind === "item" && ++seen === 5 && process.kill(victim, "SIGKILL")),
          toArray(),
        ),
      );
      expect(remote.map(eventBits)).toEqual(fused.map(eventBits));
      const indices = remote.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []));
      expect(indices).toEqual(Array.from({ length: 60 }, (_, i) => i));
      expect(faults.map((f) => f.reason)).toEqual(["worker-died"]);
      expect(faults[0].message).toMatch(/killed \(SIGKILL\)/);
      const stats = dying.statistics;
      expect(stats).toMatchObject({ workersLive: 1, workersDied: 1 });
      // Every point was completed by exactly one worker (late answers from the dead one would be ignored).
      const total = Object.values(stats.processedBy).reduce((a, b) => a + b, 0);
      expect(total).toBe(60);
    } finally {
      await dying.terminate();
    }
  });

  it("a frozen worker is declared dead after deadAfterMs, its points re-sent; its late answers are ignored", async () => {
    const long = smallSimulation({ numPoints: 30, seed: 6 });
    const config = { centre: { yx: patternCentre(long) }, crop: { size: 64 }, bin: { factor: 2 } };
    const faults: Fault[] = [];
    const frozen = await RemoteKernelPool.start({ bind: "tcp://127.0.0.1:27012", spawn: 2, inFlightPerWorker: 3, deadAfterMs: 1000, onFault: (f) => faults.push(f) });
    const [victim] = frozen.localPids;
    try {
      await frozen.whenWorkers(2);
      const events = await collectSimulatedEvents(long);
      const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(config), toArray()));
      // Stopped before the scan: it takes its share of points and never answers (nor says it is alive).
      process.kill(victim, "SIGSTOP");
      const remote = await lastValueFrom(from(events).pipe(preprocessRemoteFrames(config, { pool: frozen }), toArray()));
      expect(remote.map(eventBits)).toEqual(fused.map(eventBits));
      expect(faults).toHaveLength(1);
      expect(faults[0]).toMatchObject({ reason: "worker-died" });
      expect(faults[0].message).toMatch(/was silent for \d+ ms; 3 points in flight re-sent to the 1 others/);
      expect(frozen.statistics).toMatchObject({ resent: 3, workersDied: 1 });
      // Woken up, it answers jobs that are long done: ignored, and it joins again as a live worker.
      process.kill(victim, "SIGCONT");
      await frozen.whenWorkers(2, 10_000);
      for (let waited = 0; frozen.statistics.duplicatesIgnored < 3 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(frozen.statistics.duplicatesIgnored).toBe(3);
    } finally {
      process.kill(victim, "SIGCONT");
      await frozen.terminate();
    }
  });
});
