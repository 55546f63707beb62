/** `preprocessWithEngine`: the configuration picks the engine; all three give the same chunks; bad names are decode errors. */
import { from, lastValueFrom, toArray } from "rxjs";
import { preprocessEngineHolds, preprocessFramesWithEngine, preprocessWithEngine } from "../../src/operators/preprocess-engine";
import { PreprocessEngineConfig } from "../../src/kernel/config";
import { collectSimulatedEvents, eventBits, patternCentre, smallSimulation } from "../kernel/sim-events";

describe("preprocessWithEngine", () => {
  const sim = smallSimulation({ numPoints: 3 });
  const base = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 }, chunk: { size: 2 } };

  it("gives the same chunks with engine reference, fused and workers", async () => {
    const events = await collectSimulatedEvents(sim);
    const outputs = [];
    for (const engine of ["reference", "fused", "workers"] as const) {
      const config: PreprocessEngineConfig = { ...base, engine, workers: { threads: 1 } };
      outputs.push((await lastValueFrom(from(events).pipe(preprocessWithEngine(config), toArray()))).map(eventBits));
    }
    expect(outputs[0].length).toBe(4);
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
  });

  it("rejects an unknown engine or a bad workers option with the path to it", () => {
    expect(() => preprocessWithEngine({ ...base, engine: "gpu" } as unknown as PreprocessEngineConfig)).toThrow(/engine.*reference, fused or workers/);
    expect(() => preprocessFramesWithEngine({ ...base, engine: "workers", workers: { threads: 0 } })).toThrow(/threads.*positive integer/);
  });

  it("counts the workers' points in flight in the credit budget", () => {
    const fused = preprocessEngineHolds({ ...base, engine: "fused" }, 2);
    const workers = preprocessEngineHolds({ ...base, engine: "workers", workers: { threads: 2, inFlightPerThread: 3 } }, 2);
    expect(workers.length).toBe(fused.length + 1);
    expect(workers[workers.length - 1]).toMatchObject({ stage: "preprocess-workers", maxHeldFrames: 12 });
  });
});
