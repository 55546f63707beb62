/**
 * `preprocessFused` against the reference operators (`preprocess`, `preprocessFrames`) on simulated scans: the
 * same events, and frames and chunks identical bit for bit, across the options that change the kernel's path
 * (given or found centre, saturation on raw or corrected values, two or three exposures, binning or none, a crop
 * that leaves the detector, orientations, resampling, a scan without darks, the cosmic-fccd profile), on the
 * full-size FCCD with the long exposure saturating in the centre, and in a marble test.
 */
import { from, lastValueFrom, map, OperatorFunction, tap, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { ScanEvent } from "../../src/model/events";
import { DarkFrame, frameIndexOf, Point } from "../../src/model/scan";
import { preprocess, preprocessFrames } from "../../src/operators/preprocess";
import { preprocessFused, preprocessFusedFrames } from "../../src/operators/preprocess-fused";
import { PreprocessConfig } from "../../src/preprocess/config";
import { SimulatedScan, simulateScan } from "../../src/sim/scan";
import { collectSimulatedEvents, eventBits, patternCentre, simulatedEvents, smallSimulation, withLateDark } from "../kernel/sim-events";
import { itFreesEachFrameAtItsAck } from "../kernel/engine-contract";
import { AckLog, rawFrame, SMALL_LAYOUT, testMeta, testScheduler } from "../preprocess/fixtures";

type Chain = (config: PreprocessConfig) => OperatorFunction<ScanEvent<Point, DarkFrame>, ScanEvent<unknown, never>>;

async function run(events: ScanEvent<Point, DarkFrame>[], chain: OperatorFunction<ScanEvent<Point, DarkFrame>, ScanEvent<unknown, never>>) {
  return lastValueFrom(from(events).pipe(chain, toArray()));
}

/** Raw values of the long exposures at or above the saturation level (the HDR merge has work to do). */
function saturatedLongPixels(sim: SimulatedScan): number {
  const times = sim.config.exposureTimesS;
  const longest = times.indexOf(Math.max(...times));
  let count = 0;
  for (let point = 0; point < sim.config.numPoints; point++) {
    const frame = sim.frame(frameIndexOf(sim.start, { point, exposure: longest }));
    frame.data.forEach((value) => (count += value >= sim.config.saturationAdu ? 1 : 0));
  }
  return count;
}

async function expectIdentical(sim: SimulatedScan, config: PreprocessConfig, reference: Chain = preprocessFrames, fused: Chain = preprocessFusedFrames) {
  const events = await collectSimulatedEvents(sim);
  const expected = await run(events, reference(config));
  const actual = await run(events, fused(config));
  expect(actual.map((e) => e.kind)).toEqual(expected.map((e) => e.kind));
  expect(actual.map(eventBits)).toEqual(expected.map(eventBits));
  return expected;
}

describe("preprocessFused gives the reference's output bit for bit", () => {
  const small = smallSimulation();
  const side = 2 * 32;

  it("crosses the saturation level in the long exposure of the test scans", () => {
    expect(saturatedLongPixels(small)).toBeGreaterThan(100);
  });

  const cases: Array<[string, () => SimulatedScan, (sim: SimulatedScan) => PreprocessConfig]> = [
    ["given centre, bin 2", () => small, (sim) => ({ centre: { yx: patternCentre(sim) }, crop: { size: side }, bin: { factor: 2 } })],
    ["centre found from 2 points, orientation 5", () => small, () => ({ centre: { frames: 2 }, crop: { size: side }, bin: { factor: 2 }, orient: { orientation: 5 } })],
    [
      "saturation on corrected values, noise k 1, orientation 3",
      () => small,
      (sim) => ({ centre: { yx: patternCentre(sim) }, crop: { size: side }, bin: { factor: 2 }, saturation: { on: "corrected", thresholdAdu: 8000 }, noise: { k: 1 }, orient: { orientation: 3 } }),
    ],
    ["three exposures", () => smallSimulation({ exposureTimesS: [0.001, 0.004, 0.02] }), (sim) => ({ centre: { yx: patternCentre(sim) }, crop: { size: side }, bin: { factor: 2 } })],
    ["one exposure, noise k 0", () => smallSimulation({ exposureTimesS: [0.003] }), (sim) => ({ centre: { yx: patternCentre(sim) }, crop: { size: side }, bin: { factor: 2 }, noise: { k: 0 } })],
    ["no binning, a crop leaving the detector, orientation 4", () => small, () => ({ centre: { yx: [10, 90] }, crop: { size: 48 }, orient: { orientation: 4 } })],
    ["bin 3, auto crop size", () => small, (sim) => ({ centre: { yx: patternCentre(sim) }, bin: { factor: 3 } })],
    ["resample to 16 after bin 2", () => small, (sim) => ({ centre: { yx: patternCentre(sim) }, crop: { size: 48 }, bin: { factor: 2 }, resample: { size: 16 } })],
    ["a scan without darks (read noise from the start)", () => smallSimulation({ darksPerExposure: 0 }), (sim) => ({ centre: { yx: patternCentre(sim) }, crop: { size: side }, bin: { factor: 2 } })],
    ["the cosmic-fccd profile (its saturation on corrected values at 2000 ADU, gain, bin 2)", () => small, (sim) => ({ profile: "cosmic-fccd", layout: sim.config.layout, centre: { yx: patternCentre(sim) }, crop: { size: side } })],
  ];

  it.each(cases)("%s", async (_name, simulation, configOf) => {
    const sim = simulation();
    const expected = await expectIdentical(sim, configOf(sim));
    expect(expected.filter((e) => e.kind === "item")).toHaveLength(sim.config.numPoints);
  });

  it("a dark arriving after some points: later points use the updated dark statistics, as the reference's", async () => {
    const events = withLateDark(await collectSimulatedEvents(small), 2);
    const config = { centre: { yx: patternCentre(small) }, crop: { size: side }, bin: { factor: 2 } };
    const expected = await run(events, preprocessFrames(config));
    expect((await run(events, preprocessFusedFrames(config))).map(eventBits)).toEqual(expected.map(eventBits));
    // Points before the late dark saw other statistics than with all darks first; points after it, the same.
    const onTime = await run(await collectSimulatedEvents(small), preprocessFrames(config));
    expect(eventBits(expected[1])).not.toEqual(eventBits(onTime[1]));
    expect(eventBits(expected[expected.length - 2])).toEqual(eventBits(onTime[onTime.length - 2]));
  });

  it("chunks as preprocess does (centre found from the first chunk, a partial chunk at the end)", async () => {
    const config = { centre: {}, crop: { size: side }, bin: { factor: 2 }, chunk: { size: 2 } };
    const expected = await expectIdentical(small, config, preprocess, preprocessFused);
    expect(expected.map((e) => e.kind)).toEqual(["start", "meta", "item", "item", "item", "end"]);
  });

  it("on the full-size FCCD (960 x 1152 raw), the long exposure saturating in the centre", async () => {
    const sim = simulateScan({ numPoints: 2, darksPerExposure: 2, seed: 11 });
    expect(saturatedLongPixels(sim)).toBeGreaterThan(100);
    const b = sim.truth.binning;
    const expected = await expectIdentical(sim, { centre: { yx: patternCentre(sim) }, crop: { size: b * sim.truth.frameSize }, bin: { factor: b } });
    const frames = expected.flatMap((e) => (e.kind === "item" ? [e.item.value as { rows: number; weights: Uint8Array }] : []));
    expect(frames.map((f) => f.rows)).toEqual([128, 128]);
  });
});

describe("preprocessFused, the stream", () => {
  itFreesEachFrameAtItsAck(smallSimulation(), preprocessFusedFrames);

  it("acknowledges darks as folded and each point with its frame", async () => {
    const sim = smallSimulation();
    const acked = { count: 0 };
    const out = await lastValueFrom(simulatedEvents(sim, acked).pipe(preprocessFusedFrames({ centre: { yx: patternCentre(sim) }, crop: { size: 64 }, bin: { factor: 2 } }), toArray()));
    const darks = sim.config.darksPerExposure * sim.config.exposureTimesS.length;
    expect(acked.count).toBe(darks);
    out.forEach((e) => e.kind === "item" && e.item.ack());
    expect(acked.count).toBe(sim.totalFrames);
  });

  it("names itself in errors: a point with the wrong number of exposures", async () => {
    const meta = testMeta();
    const point = { index: 0, positionM: { x: 0, y: 0 }, exposures: [rawFrame(0, 4, 8, new Array(32).fill(100))] };
    const events: ScanEvent<Point, DarkFrame>[] = [{ kind: "start", meta }, { kind: "item", item: envelope(point) }];
    await expect(run(events, preprocessFusedFrames({ centre: { yx: [2, 3] }, crop: { size: 2 } }))).rejects.toThrow(
      "preprocess-fused: point 0 has 1 exposures, the scan declares 2",
    );
  });

  it("marbles: the same events at the same times as the reference, acks when the reference gives them", () => {
    // 4 x 8 raw (image 4 x 6), two exposures; darks then points; the long exposure saturates inside the crop.
    const raw = (index: number, base: number, saturate = false) =>
      rawFrame(index, 4, 8, Array.from({ length: 32 }, (_, i) => (saturate && i === 1 ? 1000 : base + ((i * 7) % 5) + (i % 4 === 3 ? 0 : 20))));
    const meta = testMeta({ layout: SMALL_LAYOUT });
    const config = { centre: { yx: [2, 3] as [number, number] }, crop: { size: 4 }, bin: { factor: 2 }, noise: { k: 0.5 } };
    const record = (chain: Chain) => {
      const scheduler = testScheduler();
      const acks = new AckLog(scheduler);
      const values: unknown[] = [];
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold<ScanEvent<Point, DarkFrame>>("s-a-b-c-d-p-q-e|", {
          s: { kind: "start", meta },
          a: { kind: "dark", dark: acks.wrap("a", { exposure: 0, darkIndex: 0, frame: raw(0, 100) }) },
          b: { kind: "dark", dark: acks.wrap("b", { exposure: 0, darkIndex: 1, frame: raw(1, 102) }) },
          c: { kind: "dark", dark: acks.wrap("c", { exposure: 1, darkIndex: 0, frame: raw(2, 110) }) },
          d: { kind: "dark", dark: acks.wrap("d", { exposure: 1, darkIndex: 1, frame: raw(3, 111) }) },
          p: { kind: "item", item: acks.wrap("p", { index: 0, positionM: { x: 0, y: 0 }, exposures: [raw(4, 140), raw(5, 400, true)] }) },
          q: { kind: "item", item: acks.wrap("q", { index: 1, positionM: { x: 1e-7, y: 0 }, exposures: [raw(6, 150), raw(7, 500, true)] }) },
          e: { kind: "end", meta, reason: "stop" },
        });
        const kinds = source.pipe(
          chain(config),
          // Whoever takes a frame acknowledges it, here at once.
          tap((event) => {
            values.push(eventBits(event));
            if (event.kind === "item") event.item.ack();
          }),
          map((event) => event.kind),
        );
        expectObservable(kinds).toBe("s---------i-i-e|", { s: "start", i: "item", e: "end" });
      });
      return { acks: acks.acks, values };
    };
    const reference = record(preprocessFrames);
    const fused = record(preprocessFusedFrames);
    expect(fused.acks).toEqual(["a@2", "b@4", "c@6", "d@8", "p@10", "q@12"]);
    expect(fused.acks).toEqual(reference.acks);
    expect(fused.values).toEqual(reference.values);
    // The saturated pixel made the merge take the short exposure and the binned pixel stays valid.
    const first = fused.values[1] as { value: { rows: number; weights: string } };
    expect(first.value.rows).toBe(2);
  });
});
