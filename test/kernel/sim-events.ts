/**
 * A simulated scan as the scan events `grab` makes of it (the approach of test/operators/preprocess.sim.test.ts),
 * with every raw frame's ack counted, and the helpers to compare two preprocessing outputs bit for bit.
 */
import { from, lastValueFrom, Observable, toArray } from "rxjs";
import { envelope } from "../../src/model/envelope";
import { ScanEvent } from "../../src/model/events";
import { DarkFrame, Point, ScanMeta } from "../../src/model/scan";
import { SourceMessage } from "../../src/model/source";
import { grab } from "../../src/operators/grab";
import { simulateScan, SimulatedScan, SimulatorConfig } from "../../src/sim/scan";

export interface AckCount {
  count: number;
}

export function simulatedMessages(sim: SimulatedScan, acked: AckCount = { count: 0 }): SourceMessage[] {
  return [
    { kind: "control", message: sim.start },
    ...Array.from(sim.frames(), (frame): SourceMessage => ({ kind: "frame", frame: envelope(frame, () => (acked.count += 1)) })),
    { kind: "control", message: { type: "stop" } },
  ];
}

/** The scan events of `sim` (start, darks, points, end), each frame's ack counted in `acked`. */
export function simulatedEvents(sim: SimulatedScan, acked: AckCount = { count: 0 }): Observable<ScanEvent<Point, DarkFrame>> {
  return from(simulatedMessages(sim, acked)).pipe(grab());
}

export async function collectSimulatedEvents(sim: SimulatedScan, acked?: AckCount): Promise<ScanEvent<Point, DarkFrame>[]> {
  return lastValueFrom(simulatedEvents(sim, acked).pipe(toArray()));
}

/** The pattern's centre: the middle of the simulator's zero-frequency b x b block (see preprocess.sim.test.ts). */
export function patternCentre(sim: SimulatedScan): [number, number] {
  const middle = (sim.truth.binning - 1) / 2;
  return [sim.truth.centreYX[0] + middle, sim.truth.centreYX[1] + middle];
}

/** An event as plain data: typed arrays as their bytes (so -0, NaN payloads and every bit count), metadata as is. */
export function eventBits(event: ScanEvent<unknown, unknown>): unknown {
  if (event.kind === "start" || event.kind === "meta" || event.kind === "end") return { ...event, meta: metaBits(event.meta) };
  if (event.kind === "dark") return { kind: "dark" };
  const value = event.item.value as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    plain[key] = ArrayBuffer.isView(field) ? Buffer.from(field.buffer, field.byteOffset, field.byteLength).toString("base64") : key === "meta" ? metaBits(field as ScanMeta) : field;
  }
  return { kind: "item", value: plain };
}

function metaBits(meta: ScanMeta): unknown {
  return JSON.parse(JSON.stringify(meta));
}

/**
 * A small FCCD-like layout (2 halves of 48 rows, 8 channels of 12 + 2 columns: raw 96 x 112, image 96 x 96) and
 * 32-pixel frames binned 2: the simulator's full model (offsets, drift, darks, read noise, saturating long
 * exposure), fast enough to run many configurations.
 */
export function smallSimulation(overrides: Partial<SimulatorConfig> = {}): SimulatedScan {
  return simulateScan({
    numPoints: 5,
    darksPerExposure: 3,
    seed: 3,
    frameSize: 32,
    layout: { halves: 2, rowsPerHalf: 48, channels: 8, dataColumns: 12, overscanColumns: 2, flip: "rot180" },
    centreOffsetYX: [5, -7],
    ...overrides,
  });
}

/** The same events with the last dark moved after point `afterPoint`: the dark statistics change mid-scan. */
export function withLateDark(events: ScanEvent<Point, DarkFrame>[], afterPoint: number): ScanEvent<Point, DarkFrame>[] {
  const lastDark = events.map((e) => e.kind).lastIndexOf("dark");
  const dark = events[lastDark];
  const rest = events.filter((_, i) => i !== lastDark);
  const at = rest.findIndex((e) => e.kind === "item" && e.item.value.index === afterPoint);
  return [...rest.slice(0, at + 1), dark, ...rest.slice(at + 1)];
}
