/**
 * The reference operators (issue 5, written for clarity) on the simulator's raw 960 x 1152 double exposures,
 * true centre, crop b x N, bin b (the simulator's defaults, N = 128): the figure the fused kernel
 * (`preprocess`, issue 6) is measured against.
 * Every raw frame counts, darks included (they go through equalize and descramble too).
 */
import { from, lastValueFrom, toArray } from "rxjs";
import { Bench } from "./harness";
import { envelope } from "../src/model/envelope";
import { ScanEvent } from "../src/model/events";
import { DarkFrame, Point, RawFrame, frameRole, scanMetaFromStart } from "../src/model/scan";
import { preprocessFrames } from "../src/operators/preprocess";
import { simulateScan, SimulatedScan } from "../src/sim/scan";

const POINTS = 8;
let sim: SimulatedScan;
let events: ScanEvent<Point, DarkFrame>[] = [];

/** The scan as `grab` would emit it, built straight from the acquisition order. */
function scanEvents(scan: SimulatedScan): ScanEvent<Point, DarkFrame>[] {
  const meta = scanMetaFromStart(scan.start);
  const out: ScanEvent<Point, DarkFrame>[] = [{ kind: "start", meta }];
  let exposures: RawFrame[] = [];
  for (const frame of scan.frames()) {
    const role = frameRole(meta, frame.index);
    if (role.kind === "dark") out.push({ kind: "dark", dark: envelope({ exposure: role.exposure, darkIndex: role.darkIndex, frame }) });
    if (role.kind !== "exposure") continue;
    exposures.push(frame);
    if (exposures.length === meta.exposureTimesS.length) {
      out.push({ kind: "item", item: envelope({ index: role.point, positionM: meta.positionsM![role.point], exposures }) });
      exposures = [];
    }
  }
  out.push({ kind: "end", meta, reason: "stop" });
  return out;
}

export const benches: Bench[] = [
  {
    name: "preprocess-reference",
    unit: "raw frames/s",
    higherIsBetter: true,
    runs: 3,
    setup: () => {
      sim = simulateScan({ numPoints: POINTS, darksPerExposure: 2 });
      events = scanEvents(sim);
    },
    measure: async () => {
      const { truth } = sim;
      // The pattern's centre is the middle of the simulator's zero-frequency block (see preprocess.sim.test.ts).
      const middle = (truth.binning - 1) / 2;
      const centreYX: [number, number] = [truth.centreYX[0] + middle, truth.centreYX[1] + middle];
      const config = { centre: { yx: centreYX }, crop: { size: truth.binning * truth.frameSize }, bin: { factor: truth.binning } };
      const started = process.hrtime.bigint();
      const out = await lastValueFrom(from(events).pipe(preprocessFrames(config), toArray()));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rawFrames = sim.totalFrames;
      return { value: rawFrames / seconds, detail: { rawFrames, frames: out.filter((e) => e.kind === "item").length, seconds: +seconds.toFixed(3) } };
    },
  },
];
