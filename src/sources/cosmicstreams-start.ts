/**
 * Building a cosmicstreams `start` that PtyPy's streaming loader accepts (every key of PTYPY_REQUIRED_START_KEYS),
 * from our SI scan metadata, and serving a simulated scan in that protocol: its frames are the photons the
 * simulator actually drew (what preprocessing recovers), its positions the simulated ones.
 */
import {
  CosmicStart,
  distanceToWire,
  energyToWire,
  psizeToWire,
} from "../model/cosmicstreams";
import { ComplexImage } from "../model/scan";
import { SimulatedScan } from "../sim/scan";
import { CosmicScanSource } from "./frameserver-server";

export interface CosmicStartInput {
  identifier: string;
  energyEv: number;
  distanceM: number;
  /** Pixel size of the frames as sent (after crop/bin), metres. */
  pixelSizeM: number;
  /** Frames are width x width. */
  width: number;
  numPoints: number;
  /** Positions (x, y) in metres, for `translations`. */
  positionsM: ReadonlyArray<{ x: number; y: number }>;
  /** The probe guess (width x width); zeros are sent when absent. */
  probe?: ComplexImage;
  /** Object pixel size in metres, for `geometry.resolution`. */
  objectPixelSizeM?: number;
}

function planes(probe: ComplexImage | undefined, width: number): { real: number[][]; imag: number[][]; mask: number[][] } {
  const real: number[][] = [];
  const imag: number[][] = [];
  const mask: number[][] = [];
  for (let r = 0; r < width; r++) {
    real.push(Array.from({ length: width }, (_, c) => (probe ? probe.data[2 * (r * width + c)] : 0)));
    imag.push(Array.from({ length: width }, (_, c) => (probe ? probe.data[2 * (r * width + c) + 1] : 0)));
    mask.push(new Array<number>(width).fill(1));
  }
  return { real, imag, mask };
}

/** Units at this edge: energy in joules, geometry.psize x 1e-6 and geometry.distance x 1e-3 (PtyPy scales back). */
export function cosmicStartFor(input: CosmicStartInput): CosmicStart {
  const probe = input.probe !== undefined && input.probe.rows === input.width && input.probe.cols === input.width ? input.probe : undefined;
  const { real, imag, mask } = planes(probe, input.width);
  return {
    identifier: input.identifier,
    energy: energyToWire(input.energyEv),
    geometry: {
      psize: psizeToWire(input.pixelSizeM),
      distance: distanceToWire(input.distanceM),
      shape: input.width,
      resolution: input.objectPixelSizeM ?? 0,
      rebin: 1,
      // Present because the loader requires the key; not yet checked against a running PtyPy.
      basis_vectors: [
        [0, -1, 0],
        [-1, 0, 0],
        [0, 0, 0],
      ],
    },
    exp_num_x: input.numPoints,
    exp_num_y: 1,
    exp_num_total: input.numPoints,
    double_exposure: false,
    output_frame_width: input.width,
    dtype: "float32",
    illumination_real: real,
    illumination_imag: imag,
    illumination_mask: mask,
    translations: input.positionsM.map((p) => [p.y, p.x]),
    detector_distance: input.distanceM,
    x_pixel_size: input.pixelSizeM,
    y_pixel_size: input.pixelSizeM,
    header: {},
    lastScan: { Image: null, "Ptychography Image": null, Focus: null, "Line Spectrum": null },
  };
}

/** A simulated scan as a cosmicstreams publisher serves it: drawn photon counts (N x N float32) with positions. */
export function cosmicScanFromSimulation(sim: SimulatedScan): CosmicScanSource {
  const n = sim.truth.frameSize;
  const start = cosmicStartFor({
    identifier: sim.start.scanId,
    energyEv: sim.start.energyEv,
    distanceM: sim.start.distanceM,
    pixelSizeM: sim.start.pixelSizeM * sim.truth.binning,
    width: n,
    numPoints: sim.start.numPoints,
    positionsM: sim.truth.positionsM,
    probe: sim.truth.probe,
    objectPixelSizeM: sim.truth.objectPixelSizeM,
  });
  return {
    start,
    totalFrames: sim.start.numPoints,
    frame: (index) => {
      const position = sim.truth.positionsM[index];
      return { index, rows: n, cols: n, data: sim.truth.drawnCounts.subarray(index * n * n, (index + 1) * n * n), posyM: position.y, posxM: position.x };
    },
  };
}
