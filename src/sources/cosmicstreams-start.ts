/**
 * Serving a simulated scan in the cosmicstreams protocol: its frames are the photons the simulator actually drew
 * (what preprocessing recovers), its positions the simulated ones, and its `start` the one the publish sink builds
 * (every key PtyPy's streaming loader validates), with the simulator's true probe as the illumination guess.
 */
import { scanMetaFromStart } from "../model/scan";
import { SimulatedScan } from "../sim/scan";
import { cosmicStartWithProbe } from "../sinks/cosmic-start";
import { CosmicScanSource } from "./frameserver-server";

/** A simulated scan as a cosmicstreams publisher serves it: drawn photon counts (N x N float32) with positions. */
export function cosmicScanFromSimulation(sim: SimulatedScan): CosmicScanSource {
  const n = sim.truth.frameSize;
  const meta = {
    ...scanMetaFromStart(sim.start),
    pixelSizeM: sim.start.pixelSizeM * sim.truth.binning,
    frameShape: [n, n] as [number, number],
    positionsM: sim.truth.positionsM,
  };
  return {
    start: cosmicStartWithProbe(meta, sim.truth.probe, 1),
    totalFrames: sim.start.numPoints,
    frame: (index) => {
      const position = sim.truth.positionsM[index];
      return { index, rows: n, cols: n, data: sim.truth.drawnCounts.subarray(index * n * n, (index + 1) * n * n), posyM: position.y, posxM: position.x };
    },
  };
}
