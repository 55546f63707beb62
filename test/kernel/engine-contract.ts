/**
 * The contract every kernel engine that runs elsewhere (worker threads, worker processes) keeps, as jest cases:
 * preprocessFused's events bit for bit, frames in input order, a dark mid-scan handled as the reference would
 * (each point keeps the plan of its moment), the same chunks, every raw frame's ack delivered, and each frame's
 * pixels freed at its own ack.
 */
import { from, lastValueFrom, OperatorFunction, toArray } from "rxjs";
import { ScanEvent } from "../../src/model/events";
import { Chunk, DarkFrame, Frame, Point } from "../../src/model/scan";
import { grab } from "../../src/operators/grab";
import { preprocessFused, preprocessFusedFrames } from "../../src/operators/preprocess-fused";
import { PreprocessConfig } from "../../src/preprocess/config";
import { ItemEvent } from "../../src/preprocess/types";
import { SimulatedScan } from "../../src/sim/scan";
import { collectSimulatedEvents, eventBits, patternCentre, simulatedMessages, withLateDark } from "./sim-events";

type Input = ScanEvent<Point, DarkFrame>;

export interface KernelEngine {
  frames(config: PreprocessConfig): OperatorFunction<Input, ItemEvent<Frame>>;
  chunks(config: PreprocessConfig): OperatorFunction<Input, ItemEvent<Chunk>>;
}

/** Configurations each engine is checked on, as [name, config]. */
export function kernelEngineCases(sim: SimulatedScan): Array<[string, PreprocessConfig]> {
  const given = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };
  return [
    ["given centre", given],
    ["centre found from 3 points, orientation 6, corrected saturation", { centre: { frames: 3 }, crop: { size: 64 }, bin: { factor: 2 }, orient: { orientation: 6 }, saturation: { on: "corrected", thresholdAdu: 8000 } }],
    ["resample", { ...given, crop: { size: 48 }, resample: { size: 16 } }],
  ];
}

/**
 * A kernel frame's pixels are whole until its ack and freed at it (`data` and `weights` empty after), one frame at a
 * time: acking one leaves the next intact.
 */
export function itFreesEachFrameAtItsAck(sim: SimulatedScan, frames: (config: PreprocessConfig) => OperatorFunction<Input, ItemEvent<Frame>>): void {
  it("keeps each frame's pixels whole until its ack and frees them at the ack", async () => {
    const config = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };
    const events = await collectSimulatedEvents(sim);
    const expected = await lastValueFrom(from(events).pipe(preprocessFusedFrames(config), toArray()));
    const items = (await lastValueFrom(from(events).pipe(frames(config), toArray()))).flatMap((e) => (e.kind === "item" ? [e.item] : []));
    expect(items).toHaveLength(sim.config.numPoints);
    const bits = expected.filter((e) => e.kind === "item").map(eventBits);
    items.forEach((item, i) => {
      expect(eventBits({ kind: "item", item })).toEqual(bits[i]);
      item.ack();
      expect([item.value.data.length, item.value.weights.length]).toEqual([0, 0]);
    });
  });
}

/** Registers the contract's cases for `engine` on `sim` (the engine's pool is read when each case runs). */
export function itKeepsTheKernelEngineContract(sim: SimulatedScan, engine: KernelEngine): void {
  const given = { centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } };
  const points = sim.config.numPoints;

  it.each(kernelEngineCases(sim))("gives preprocessFused's events bit for bit, frames in input order (%s)", async (_name, config) => {
    const events = await collectSimulatedEvents(sim);
    const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(config), toArray()));
    const out = await lastValueFrom(from(events).pipe(engine.frames(config), toArray()));
    expect(out.map(eventBits)).toEqual(fused.map(eventBits));
    const indices = out.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []));
    expect(indices).toEqual(Array.from({ length: points }, (_, i) => i));
  });

  it("a dark after point 5 while later points wait for a place: each point keeps the plan of its moment", async () => {
    const events = withLateDark(await collectSimulatedEvents(sim), 5);
    const fused = await lastValueFrom(from(events).pipe(preprocessFusedFrames(given), toArray()));
    const out = await lastValueFrom(from(events).pipe(engine.frames(given), toArray()));
    expect(out.map(eventBits)).toEqual(fused.map(eventBits));
  });

  it("chunks as preprocessFused does, and every raw frame's ack arrives once the chunks are let go", async () => {
    const acked = { count: 0 };
    const config = { ...given, chunk: { size: 5 } };
    const fused = await lastValueFrom(from(simulatedMessages(sim)).pipe(grab(), preprocessFused(config), toArray()));
    const out = await lastValueFrom(from(simulatedMessages(sim, acked)).pipe(grab(), engine.chunks(config), toArray()));
    expect(out.map(eventBits)).toEqual(fused.map(eventBits));
    const darks = sim.config.darksPerExposure * sim.config.exposureTimesS.length;
    expect(acked.count).toBe(darks);
    out.forEach((e) => e.kind === "item" && e.item.ack());
    expect(acked.count).toBe(sim.totalFrames);
  });

  itFreesEachFrameAtItsAck(sim, engine.frames);
}
