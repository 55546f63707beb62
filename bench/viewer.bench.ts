/**
 * The live viewer's costs (issue 12): what a feed call costs the pipeline (it only keeps the latest value), and
 * what the viewer's timer spends per picture: a raw FCCD frame (960 x 1152 uint16) descrambled, reduced to
 * 240 x 240 and quantised on a log scale; the reconstruction's three pictures (amplitude, phase, probe) of the
 * default simulated object. Baseline of the raw picture: the obvious way, descrambling into a full 960 x 960 copy
 * first, then reducing it.
 */
import { Bench } from "./harness";
import { FCCD_LAYOUT, layoutMaps } from "../src/model/layout";
import { RawFrame } from "../src/model/scan";
import { simulateScan } from "../src/sim/scan";
import { MAX_DISPLAY_PX, frameDisplay, objectDisplays, probeDisplay } from "../src/viewer/image";
import { ViewerFeed, startViewer } from "../src/viewer/feed";

const sim = simulateScan({ numPoints: 20, darksPerExposure: 1 });
const raw: RawFrame = sim.frame(5);
const maps = layoutMaps(FCCD_LAYOUT);
const [rows, cols] = maps.image;
const REPEATS = 20;
const FEED_CALLS = 1_000_000;
let viewer: ViewerFeed | undefined;

const perPictureMs = (picture: () => unknown) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REPEATS; i++) picture();
  return Number(process.hrtime.bigint() - t0) / 1e6 / REPEATS;
};

export const benches: Bench[] = [
  {
    name: "viewer: feed call (latest wins)",
    unit: "ns/call",
    higherIsBetter: false,
    setup: async () => {
      viewer = await startViewer({ port: 0, rawLayout: FCCD_LAYOUT });
    },
    measure: () => {
      const feed = viewer as ViewerFeed;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < FEED_CALLS; i++) feed.rawFrame(raw);
      return Number(process.hrtime.bigint() - t0) / FEED_CALLS;
    },
    teardown: () => viewer?.close(),
  },
  {
    name: "viewer: raw FCCD frame to picture",
    unit: "ms/frame",
    higherIsBetter: false,
    measure: () => perPictureMs(() => frameDisplay(raw.data, rows, cols, MAX_DISPLAY_PX, maps.imageToRaw)),
    baseline: {
      name: "descrambled copy, then reduced",
      measure: () =>
        perPictureMs(() => {
          const image = new Float32Array(rows * cols);
          for (let i = 0; i < image.length; i++) image[i] = raw.data[maps.imageToRaw[i]];
          return frameDisplay(image, rows, cols, MAX_DISPLAY_PX);
        }),
    },
  },
  {
    name: "viewer: reconstruction pictures",
    unit: "ms/snapshot",
    higherIsBetter: false,
    measure: () => ({
      value: perPictureMs(() => [objectDisplays(sim.truth.object, MAX_DISPLAY_PX), probeDisplay(sim.truth.probe, MAX_DISPLAY_PX)]),
      detail: { object: `${sim.truth.object.rows}x${sim.truth.object.cols}`, probe: `${sim.truth.probe.rows}x${sim.truth.probe.cols}` },
    }),
  },
];
