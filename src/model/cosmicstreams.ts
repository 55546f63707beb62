/**
 * The cosmicstreams protocol (DESIGN section 3): topics `start`, `frame`, `stop`, `abort` on one PUB socket and
 * `rec` on another. Array messages carry a JSON header naming shape, dtype, byte order and memory order.
 *
 * Units on this wire are PtyPy's, not ours: `energy` in joules, and `geometry.psize` / `geometry.distance`
 * pre-divided by 1e6 and 1e3, because PtyPy's loader multiplies them back. The converters below are the only
 * place those factors live.
 */
import * as t from "io-ts";
import { Dtype, ByteOrder } from "./dtype";
import { FiniteNumber, NonNegativeInteger, PositiveInteger } from "./codec";

export const COSMIC_FRAME_PORT = 37013;
export const COSMIC_REC_PORT = 37016;
export const TOPICS = ["start", "frame", "stop", "abort", "rec"] as const;
export type Topic = (typeof TOPICS)[number];

export const JOULES_PER_EV = 1.602176634e-19;
export const energyToWire = (energyEv: number): number => energyEv * JOULES_PER_EV;
export const energyFromWire = (energyJ: number): number => energyJ / JOULES_PER_EV;
/** PtyPy computes psize[m] = geometry.psize x 1e6. */
export const psizeToWire = (pixelSizeM: number): number => pixelSizeM * 1e-6;
export const psizeFromWire = (wire: number): number => wire * 1e6;
/** PtyPy computes distance[m] = geometry.distance x 1e3. */
export const distanceToWire = (distanceM: number): number => distanceM * 1e-3;
export const distanceFromWire = (wire: number): number => wire * 1e3;

const ArrayHeaderFields = {
  shape_y: PositiveInteger,
  shape_x: PositiveInteger,
  dtype: Dtype,
  byteorder: ByteOrder,
  order: t.keyof({ C: null, F: null }, "order (C or F)"),
};

export const CosmicFrameHeader = t.type(
  {
    ...ArrayHeaderFields,
    identifier: t.string,
    index: NonNegativeInteger,
    posy: FiniteNumber,
    posx: FiniteNumber,
  },
  "cosmicstreams frame",
);
export type CosmicFrameHeader = t.TypeOf<typeof CosmicFrameHeader>;

export const CosmicRecHeader = t.intersection(
  [
    t.type({ ...ArrayHeaderFields, obj_pixelsize_y: FiniteNumber, obj_pixelsize_x: FiniteNumber }),
    t.partial({ identifier: t.string, iteration: NonNegativeInteger, error: t.union([FiniteNumber, t.null]) }),
  ],
  "cosmicstreams rec",
);
export type CosmicRecHeader = t.TypeOf<typeof CosmicRecHeader>;

export const CosmicEnd = t.type({ identifier: t.string }, "cosmicstreams stop/abort");
export type CosmicEnd = t.TypeOf<typeof CosmicEnd>;

const Matrix = t.array(t.array(t.number));

/**
 * A `start` as PtyPy's streaming loader validates it: every key it reads or requires. Reading accepts any
 * start that has these; publishing builds exactly these (plus nothing PtyPy would reject).
 */
export const CosmicStart = t.intersection(
  [
    t.type({
      identifier: t.string,
      energy: FiniteNumber,
      geometry: t.intersection([
        t.type({ psize: FiniteNumber, distance: FiniteNumber }),
        t.partial({
          shape: t.unknown,
          resolution: t.unknown,
          rebin: t.unknown,
          basis_vectors: t.unknown,
        }),
      ]),
      exp_num_x: NonNegativeInteger,
      exp_num_y: NonNegativeInteger,
      exp_num_total: NonNegativeInteger,
      double_exposure: t.union([t.boolean, t.number]),
      output_frame_width: PositiveInteger,
      dtype: t.string,
    }),
    t.partial({
      illumination_real: Matrix,
      illumination_imag: Matrix,
      illumination_mask: Matrix,
      translations: Matrix,
      detector_distance: t.number,
      x_pixel_size: t.number,
      y_pixel_size: t.number,
      header: t.unknown,
      lastScan: t.unknown,
    }),
  ],
  "cosmicstreams start",
);
export type CosmicStart = t.TypeOf<typeof CosmicStart>;

/** The extra keys PtyPy's loader requires on top of what we read; a published start must carry all of them. */
export const PTYPY_REQUIRED_START_KEYS = [
  "identifier",
  "energy",
  "geometry",
  "exp_num_x",
  "exp_num_y",
  "exp_num_total",
  "double_exposure",
  "output_frame_width",
  "dtype",
  "illumination_real",
  "illumination_imag",
  "illumination_mask",
  "translations",
  "detector_distance",
  "x_pixel_size",
  "y_pixel_size",
  "header",
  "lastScan",
] as const;
export const PTYPY_REQUIRED_GEOMETRY_KEYS = ["psize", "distance", "shape", "resolution", "rebin", "basis_vectors"] as const;
export const PTYPY_REQUIRED_LASTSCAN_KEYS = ["Image", "Ptychography Image", "Focus", "Line Spectrum"] as const;

/** Frames per scan as PtyPy computes it: exp_num_total // (double_exposure + 1). */
export function cosmicFrameCount(start: CosmicStart): number {
  return Math.floor(start.exp_num_total / (Number(start.double_exposure) + 1));
}
