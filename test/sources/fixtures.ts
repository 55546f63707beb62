/**
 * Small hand-made scans for source and grab tests: a tiny detector layout so frames are a few hundred bytes,
 * deterministic pixel values so bytes can be checked on arrival, and envelopes that count their acks.
 */
import { Observable, lastValueFrom, map, timeout, toArray } from "rxjs";
import { ScanEvent } from "../../src/model/events";
import { Envelope, envelope } from "../../src/model/envelope";
import { StartMessage } from "../../src/model/frameserver";
import { DetectorLayout, rawShape } from "../../src/model/layout";
import { RawFrame } from "../../src/model/scan";
import { SourceMessage } from "../../src/model/source";
import { Fault } from "../../src/model/fault";

export const TINY_LAYOUT: DetectorLayout = { halves: 2, rowsPerHalf: 4, channels: 2, dataColumns: 3, overscanColumns: 1, flip: "rot180" };

export function tinyStart(options: {
  numPoints: number;
  exposures?: number;
  darks?: number;
  positionsFollow?: boolean;
  scanId?: string;
  layout?: DetectorLayout;
}): StartMessage {
  const exposures = options.exposures ?? 2;
  const positions = Array.from({ length: options.numPoints }, (_, i) => positionOf(i));
  return {
    type: "start",
    scanId: options.scanId ?? "tiny",
    energyEv: 800,
    distanceM: 0.121,
    pixelSizeM: 30e-6,
    exposureTimesS: Array.from({ length: exposures }, (_, e) => 0.001 * 10 ** e),
    darksPerExposure: options.darks ?? 1,
    numPoints: options.numPoints,
    gainAduPerEv: 0.004,
    saturationAdu: 60000,
    layout: options.layout ?? TINY_LAYOUT,
    ...(options.positionsFollow ? { positionsFollow: true } : { positionsM: positions }),
  };
}

/** A spiral-ish deterministic position per point, in metres. */
export function positionOf(point: number): { x: number; y: number } {
  return { x: 1e-7 * point * Math.cos(point), y: 1e-7 * point * Math.sin(point) };
}

/** Pixel values that depend on the frame index, so a mixed-up frame is noticed. */
export function tinyFrame(index: number, layout: DetectorLayout = TINY_LAYOUT): RawFrame {
  const [rows, cols] = rawShape(layout);
  const data = new Uint16Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (index * 131 + i * 7) & 0xffff;
  return { index, rows, cols, dtype: "uint16", data };
}

export class AckCounter {
  readonly acked: number[] = [];
  wrap(frame: RawFrame): Envelope<RawFrame> {
    return envelope(frame, () => this.acked.push(frame.index));
  }
  frameMessage(index: number): SourceMessage {
    return { kind: "frame", frame: this.wrap(tinyFrame(index)) };
  }
}

export class FaultLog {
  readonly faults: Fault[] = [];
  readonly onFault = (f: Fault): void => {
    this.faults.push(f);
  };
  count(reason: Fault["reason"]): number {
    return this.faults.filter((f) => f.reason === reason).reduce((sum, f) => sum + (f.count ?? 1), 0);
  }
  reasons(): string[] {
    return this.faults.map((f) => f.reason);
  }
}

export const endpoint = (port: number): string => `tcp://127.0.0.1:${port}`;

/** Every event until the source completes; a stuck source fails the test (and is unsubscribed) instead of hanging. */
export function collect<T>(source: Observable<T>, eachMs = 10000): Promise<T[]> {
  return lastValueFrom(source.pipe(timeout({ each: eachMs }), toArray()));
}

/**
 * Acknowledges every dark and item as it passes (a downstream that keeps up), passing on a copy of its value: the
 * frameserver source frees a frame's pixels at its ack, so a test that looks at them afterwards keeps a copy, as
 * a stage would.
 */
export function ackAll<T, D>() {
  return map<ScanEvent<T, D>, ScanEvent<T, D>>((e) => {
    if (e.kind === "item") return { kind: "item", item: keptAfterAck(e.item) };
    if (e.kind === "dark") return { kind: "dark", dark: keptAfterAck(e.dark) };
    return e;
  });
}

function keptAfterAck<T>(item: Envelope<T>): Envelope<T> {
  const copy = deepCopy(item.value);
  item.ack();
  return envelope(copy);
}

/** Plain data with its typed arrays copied, each keeping its own class (structuredClone's come from another realm under jest). */
function deepCopy<T>(value: T): T {
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): T }).slice();
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, deepCopy(inner)])) as T;
  }
  return value;
}

/** Byte-for-byte equality of two typed arrays (jest's deep equality walks a 1M-pixel frame element by element). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.constructor === b.constructor && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
