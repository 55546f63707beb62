/**
 * Small hand-checkable inputs for the preprocessing tests: a 4 x 8 raw layout (image 4 x 6), scan metadata,
 * envelopes that log their acks (with the TestScheduler's clock), and a one-line summary of a scan event so
 * marble expectations read like the stream.
 */
import { TestScheduler } from "rxjs/testing";
import { Envelope, envelope } from "../../src/model/envelope";
import { ScanEvent } from "../../src/model/events";
import { DetectorLayout, imageShape } from "../../src/model/layout";
import { Chunk, Frame, RawFrame, ScanMeta } from "../../src/model/scan";

/** Two halves of 2 rows, 2 channels of 3 data + 1 overscan columns, bottom half rotated: raw 4 x 8, image 4 x 6. */
export const SMALL_LAYOUT: DetectorLayout = { halves: 2, rowsPerHalf: 2, channels: 2, dataColumns: 3, overscanColumns: 1, flip: "rot180" };

export function testMeta(overrides: Partial<ScanMeta> = {}): ScanMeta {
  const layout = overrides.layout ?? SMALL_LAYOUT;
  return {
    scanId: "test",
    energyEv: 800,
    distanceM: 0.1,
    pixelSizeM: 30e-6,
    exposureTimesS: [0.01, 0.1],
    darksPerExposure: 2,
    numPoints: 4,
    gainAduPerEv: 0.004,
    saturationAdu: 1000,
    layout,
    frameShape: imageShape(layout),
    ...overrides,
  };
}

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Envelopes whose acks are logged as `id@time` (time from the scheduler, 0 without one). */
export class AckLog {
  readonly acks: string[] = [];
  constructor(private readonly scheduler?: TestScheduler) {}

  wrap<T>(id: string, value: T): Envelope<T> {
    return envelope(value, () => this.acks.push(this.scheduler ? `${id}@${this.scheduler.now()}` : id));
  }
}

export function rawFrame(index: number, rows: number, cols: number, values: ArrayLike<number>): RawFrame {
  return { index, rows, cols, dtype: "uint16", data: Uint16Array.from(values as ArrayLike<number>) };
}

export function frame(index: number, rows: number, cols: number, data: ArrayLike<number>, weights?: ArrayLike<number>): Frame {
  return {
    index,
    positionM: { x: index * 1e-7, y: -index * 1e-7 },
    rows,
    cols,
    data: Float32Array.from(data),
    weights: weights ? Uint8Array.from(weights) : new Uint8Array(rows * cols).fill(1),
  };
}

/** One short string per event: `start`, `meta 2x2 c=(1,1)`, `item 3`, `dark 0.1`, `end stop`. */
export function summarize(event: ScanEvent<unknown, unknown>): string {
  switch (event.kind) {
    case "start":
    case "meta": {
      const { frameShape, centreYX } = event.meta;
      const centre = centreYX ? ` c=(${centreYX.map((v) => +v.toFixed(3)).join(",")})` : "";
      return `${event.kind} ${frameShape.join("x")}${centre}`;
    }
    case "dark": {
      const dark = event.dark.value as { exposure: number; darkIndex: number };
      return `dark ${dark.exposure}.${dark.darkIndex}`;
    }
    case "item": {
      const value = event.item.value as { index?: number; chunkIndex?: number; indices?: Int32Array };
      if (value.chunkIndex !== undefined) return `chunk ${value.chunkIndex} [${Array.from((value as Chunk).indices).join(",")}]`;
      return `item ${value.index}`;
    }
    case "end":
      return `end ${event.reason}`;
  }
}

export const startOf = (meta: ScanMeta): ScanEvent<never, never> => ({ kind: "start", meta });
export const endOf = (meta: ScanMeta): ScanEvent<never, never> => ({ kind: "end", meta, reason: "stop" });

/** A raw 4 x 8 frame of SMALL_LAYOUT, every pixel `value`. */
export const flatRaw = (index: number, value: number): RawFrame => rawFrame(index, 4, 8, new Array(32).fill(value));

export function rawPoint(index: number, values: number[]) {
  return { index, positionM: { x: index * 1e-7, y: 0 }, exposures: values.map((v, e) => flatRaw(2 * index + e, v)) };
}

export function rawDark(exposure: number, darkIndex: number, value: number) {
  return { exposure, darkIndex, frame: flatRaw(darkIndex, value) };
}
