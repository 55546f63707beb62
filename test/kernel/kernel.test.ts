/**
 * The kernel's parts against the reference functions on a simulated scan: the gather equalizes exactly as
 * equalize + descramble; the plan reads only the raw rows and channels that feed the crop; a packed window (what
 * a worker gets) gives the same frame as the whole raw frames; the kernel writes from an offset; the fused chain
 * frees a frame at its ack even when the ack comes before the frame (from a worker).
 */
import { from, lastValueFrom, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { layoutMaps } from "../../src/model/layout";
import { Frame, frameIndexOf, scanMetaFromStart } from "../../src/model/scan";
import { resolvePreprocessConfig } from "../../src/operators/preprocess";
import { DarkAccumulator, descrambleFrame, equalizeRaw } from "../../src/preprocess/detector";
import { fullImagePixels, gatherEqualized, rawGather } from "../../src/kernel/gather";
import { fusedChain } from "../../src/kernel/engine";
import { kernelOutputLength, kernelScratch, runKernel } from "../../src/kernel/fused";
import { ceilFloat32, cropGeometry, kernelPlan } from "../../src/kernel/plan";
import { chainSettings } from "../../src/kernel/settings";
import { packedForm, packWindow, rawWindow } from "../../src/kernel/window";
import { mulberry32 } from "../../src/sim/random";
import { collectSimulatedEvents, patternCentre, smallSimulation } from "./sim-events";

const sim = smallSimulation();
const maps = layoutMaps(sim.config.layout);
const meta = scanMetaFromStart(sim.start);
const settings = chainSettings(resolvePreprocessConfig({ centre: { yx: patternCentre(sim) }, crop: { size: 32 }, bin: { factor: 2 } }), meta);

describe("the fused kernel's parts", () => {
  it("gathers equalized values exactly as equalize + descramble give them", () => {
    const raw = sim.frame(7);
    const pixels = fullImagePixels(maps);
    const gather = rawGather(maps, pixels);
    const values = gatherEqualized(raw.data, gather, new Float64Array(gather.pairCount), new Float32Array(pixels.length));
    expect(Buffer.from(values.buffer)).toEqual(Buffer.from(descrambleFrame(equalizeRaw(raw, maps), maps, 1e9).data.buffer));
  });

  it("plans only the (raw row, channel) pairs that feed the crop", () => {
    const geometry = cropGeometry(settings, settings.centreYX!);
    // A 32 x 32 crop spans 32 image rows and 3 or 4 channels of 12 columns (it starts mid-channel).
    expect(geometry.gather.pairCount).toBeGreaterThanOrEqual(32 * 3);
    expect(geometry.gather.pairCount).toBeLessThanOrEqual(32 * 4);
    // of the 96 x 8 pairs of the frame.
    expect(maps.raw[0] * maps.layout.channels).toBe(768);
  });

  it("gives the same frame from a packed raw window (a worker's input) as from the whole frames, and writes from an offset", () => {
    const geometry = cropGeometry(settings, settings.centreYX!);
    const darks = settings.exposureTimesS.map((_, e) => new DarkAccumulator(e, geometry.imagePixels.length).statistics(2.5));
    const plan = kernelPlan(settings, geometry, darks, Int32Array.from(geometry.imagePixels, (_, s) => s));
    const raws = [0, 1].map((exposure) => sim.frame(frameIndexOf(meta, { point: 2, exposure })).data as Uint16Array);
    const n = kernelOutputLength(plan);
    const whole = { data: new Float32Array(n), weights: new Uint8Array(n) };
    runKernel(plan, raws, kernelScratch(plan), whole.data, whole.weights);

    const { window, plan: plan2 } = packedForm(plan);
    expect(window.length).toBeLessThan(raws[0].length / 2);
    const packedBytes = Buffer.alloc(2 * window.length * 2);
    raws.forEach((raw, e) => packWindow(raw, window, packedBytes, e * window.length));
    const packed = new Uint16Array(packedBytes.buffer, packedBytes.byteOffset, 2 * window.length);
    const fromWindow = { data: new Float32Array(n + 3), weights: new Uint8Array(n + 3) };
    runKernel(plan2, [packed.subarray(0, window.length), packed.subarray(window.length)], kernelScratch(plan2), fromWindow.data, fromWindow.weights, 3);
    expect(Buffer.from(fromWindow.data.buffer, 12)).toEqual(Buffer.from(whole.data.buffer));
    expect(Array.from(fromWindow.weights.subarray(3))).toEqual(Array.from(whole.weights));
    expect(whole.data.some((v) => v > 0)).toBe(true);
  });

  it("builds a crop's geometry and packed window once for the scans that crop alike, keeping a few", () => {
    const geometry = cropGeometry(settings, settings.centreYX!);
    expect(cropGeometry({ ...settings }, [settings.centreYX![0], settings.centreYX![1]])).toBe(geometry);
    const darks = (readNoise: number) => settings.exposureTimesS.map((_, e) => new DarkAccumulator(e, geometry.imagePixels.length).statistics(readNoise));
    const slots = Int32Array.from(geometry.imagePixels, (_, s) => s);
    const [planA, planB] = [2.5, 3].map((readNoise) => kernelPlan(settings, geometry, darks(readNoise), slots));
    // Each scan's plan (its own darks) reads the same packed window through the same packed indices.
    expect(packedForm(planA)).toBe(packedForm(planA));
    expect(packedForm(planB).window).toBe(packedForm(planA).window);
    expect(packedForm(planB).plan.gather.rawIndex).toBe(packedForm(planA).plan.gather.rawIndex);
    expect(packedForm(planB).plan.noiseThreshold).toBe(planB.noiseThreshold);
    expect(packedForm(planA).window).toEqual(rawWindow(planA));
    // Four other crops later the first is built anew (and alike).
    for (let shift = 1; shift <= 4; shift++) cropGeometry(settings, [settings.centreYX![0] + 2 * shift, settings.centreYX![1]]);
    const rebuilt = cropGeometry(settings, settings.centreYX!);
    expect(rebuilt).not.toBe(geometry);
    expect(rebuilt).toEqual(geometry);
  });

  it("packs the same values copying whole words as copying byte runs (a target at an odd byte offset)", () => {
    const geometry = cropGeometry(settings, settings.centreYX!);
    const darks = settings.exposureTimesS.map((_, e) => new DarkAccumulator(e, geometry.imagePixels.length).statistics(2.5));
    const plan = kernelPlan(settings, geometry, darks, Int32Array.from(geometry.imagePixels, (_, s) => s));
    const raw = sim.frame(frameIndexOf(meta, { point: 1, exposure: 0 })).data as Uint16Array;
    const window = rawWindow(plan);
    const words = Buffer.alloc(2 * window.length);
    packWindow(raw, window, words, 0);
    const oddOffset = Buffer.alloc(2 * window.length + 1).subarray(1);
    packWindow(raw, window, oddOffset, 0);
    expect(oddOffset).toEqual(words);
    // Every run's values are the raw frame's, in order.
    const packed = new Uint16Array(words.buffer, words.byteOffset, window.length);
    for (let i = 0; i < window.runs.length; i += 3) {
      const [from, length, to] = [window.runs[i], window.runs[i + 1], window.runs[i + 2]];
      expect(Array.from(packed.subarray(to, to + length))).toEqual(Array.from(raw.subarray(from, from + length)));
    }
  });
});

describe("packWindow", () => {
  // Runs of unequal lengths in rows of their own, 11 of them (one group of eight, then three alone), as another
  // detector's layout could give: every run's values must land where the window says, whatever the dtype.
  const cols = 72;
  const lengths = [64, 8, 40, 72, 4, 16, 68, 24, 36, 12, 52];
  const starts = [0, 8, 32, 0, 68, 4, 4, 48, 20, 60, 12];
  const runs: number[] = [];
  let length = 0;
  lengths.forEach((runLength, row) => {
    runs.push(row * cols + starts[row], runLength, length);
    length += runLength;
  });
  const window = { runs: Int32Array.from(runs), length };
  const random = mulberry32(99);

  it.each([
    ["uint8", (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))],
    ["uint16", (n: number) => Uint16Array.from({ length: n }, () => Math.floor(random() * 65536))],
    ["float32", (n: number) => Float32Array.from({ length: n }, () => random() * 1e4)],
  ] as const)("copies runs of unequal lengths, eight rows at a time and one by one alike (%s)", (_, make) => {
    const raw = make(lengths.length * cols);
    const bytes = raw.BYTES_PER_ELEMENT;
    const atOffset = 8;
    const words = Buffer.alloc((atOffset + length) * bytes);
    packWindow(raw, window, words, atOffset);
    // At an odd byte offset no run lies on word boundaries: run by run.
    const oddOffset = Buffer.alloc((atOffset + length) * bytes + 1).subarray(1);
    packWindow(raw, window, oddOffset, atOffset);
    expect(oddOffset).toEqual(words);
    const packed = new (raw.constructor as Uint8ArrayConstructor)(words.buffer, words.byteOffset, atOffset + length);
    expect(Array.from(packed.subarray(0, atOffset)).every((v) => v === 0)).toBe(true);
    for (let i = 0; i < runs.length; i += 3) {
      const [from, runLength, to] = [runs[i], runs[i + 1], runs[i + 2]];
      expect(Array.from(packed.subarray(atOffset + to, atOffset + to + runLength))).toEqual(Array.from(raw.subarray(from, from + runLength)));
    }
  });
});

describe("ceilFloat32", () => {
  it("keeps every comparison of a float32 with a float64 threshold", () => {
    const random = mulberry32(12345);
    for (let trial = 0; trial < 4000; trial++) {
      const x = (random() - 0.3) * 10 ** Math.floor(random() * 8 - 3);
      const ceiling = ceilFloat32(x);
      expect(ceiling).toBe(Math.fround(ceiling));
      expect(ceiling).toBeGreaterThanOrEqual(x);
      // The float32 values around x, including the one just below the ceiling.
      for (const v of [Math.fround(x), ceiling, prevFloat32(ceiling), Math.fround(x * (1 + 1e-7)), Math.fround(x * (1 - 1e-7))]) {
        expect(v < ceiling).toBe(v < x);
      }
    }
    expect(ceilFloat32(0)).toBe(0);
    expect(ceilFloat32(1e-50)).toBeGreaterThan(0);
    expect(ceilFloat32(-1e-50)).toBe(-0);
  });
});

function prevFloat32(v: number): number {
  const f = new Float32Array([v]);
  const i = new Int32Array(f.buffer);
  if (v === 0) i[0] = -2147483647;
  else i[0] += v > 0 ? -1 : 1;
  return f[0];
}

describe("fusedChain's frames", () => {
  it("frees a frame acked while still in a worker once it arrives, and a point's ack goes upstream at once", async () => {
    const events = await collectSimulatedEvents(sim);
    const arrivals: Array<(frame: Frame) => void> = [];
    const chain = fusedChain<Promise<Frame>>("test", { centre: { yx: patternCentre(sim) }, crop: { size: 32 }, bin: { factor: 2 } }, {
      steady: () => new Promise<Frame>((resolve) => arrivals.push(resolve)),
    });
    const acked: number[] = [];
    const traced = events.map((event) => (event.kind === "item" ? { ...event, item: envelope(event.item.value, () => acked.push(event.item.value.index)) } : event));
    const items = (await lastValueFrom(from(traced).pipe(chain, toArray()))).flatMap((e) => (e.kind === "item" ? [e.item] : []));
    expect(items).toHaveLength(sim.config.numPoints);
    const frame = (index: number): Frame => ({ index, positionM: { x: 0, y: 0 }, rows: 2, cols: 2, data: new Float32Array(4), weights: new Uint8Array(4) });
    const [early, late] = [frame(0), frame(1)];
    items[0].ack();
    expect(acked).toEqual([0]);
    arrivals[0](early);
    arrivals[1](late);
    await Promise.resolve(items[1].value);
    // Acked before it arrived: freed on arrival. Not acked yet: whole.
    expect([early.data.length, early.weights.length]).toEqual([0, 0]);
    expect([late.data.length, late.weights.length]).toEqual([4, 4]);
    items[1].ack();
    expect([late.data.length, late.weights.length, acked]).toEqual([0, 0, [0, 1]]);
  });
});
