/**
 * The FCCD readout layout as configuration. The raw frame is read out by ADC channels: each half of the
 * sensor has `channels` channels of `dataColumns` image columns followed by `overscanColumns` overscan
 * columns; the bottom half is read from the far side, so it arrives flipped (`rot180` at COSMIC, or `ud`).
 * Both the simulator (scramble) and the descramble stage use the same index maps, built here once.
 */
import * as t from "io-ts";
import { PositiveInteger } from "./codec";

export const DetectorLayout = t.type(
  {
    halves: t.union([t.literal(1), t.literal(2)]),
    rowsPerHalf: PositiveInteger,
    channels: PositiveInteger,
    dataColumns: PositiveInteger,
    overscanColumns: t.number,
    flip: t.keyof({ rot180: null, ud: null, none: null }, "flip (rot180, ud or none)"),
  },
  "DetectorLayout",
);
export type DetectorLayout = t.TypeOf<typeof DetectorLayout>;

/** COSMIC's FCCD: 960 x 1152 raw, 960 x 960 image, bottom half rotated by 180 degrees. */
export const FCCD_LAYOUT: DetectorLayout = {
  halves: 2,
  rowsPerHalf: 480,
  channels: 96,
  dataColumns: 10,
  overscanColumns: 2,
  flip: "rot180",
};

/**
 * A small layout for long scans in tests (192 x 192 raw, 72 KB a frame): the simulator's default 32 x 32 frames
 * (binning 2, a 64 x 64 region off-centre as on the FCCD) fit its 192 x 160 image.
 */
export const SMALL_LAYOUT: DetectorLayout = {
  halves: 2,
  rowsPerHalf: 96,
  channels: 16,
  dataColumns: 10,
  overscanColumns: 2,
  flip: "rot180",
};

export function rawShape(layout: DetectorLayout): [number, number] {
  return [layout.halves * layout.rowsPerHalf, layout.channels * (layout.dataColumns + layout.overscanColumns)];
}

export function imageShape(layout: DetectorLayout): [number, number] {
  return [layout.halves * layout.rowsPerHalf, layout.channels * layout.dataColumns];
}

export interface LayoutMaps {
  layout: DetectorLayout;
  raw: [number, number];
  image: [number, number];
  /** For each image pixel (row-major), the flat index of the raw pixel it was read from. */
  imageToRaw: Int32Array;
  /**
   * For each (raw row, channel), the flat raw indices of that channel's overscan pixels, as a flat array
   * `overscan[(row * channels + channel) * overscanColumns + k]`.
   */
  overscan: Int32Array;
  /** For each (raw row, channel), the flat raw index of its first data pixel (the rest follow contiguously). */
  dataStart: Int32Array;
}

const cache = new Map<string, LayoutMaps>();

export function layoutMaps(layout: DetectorLayout): LayoutMaps {
  const key = JSON.stringify(layout);
  const cached = cache.get(key);
  if (cached) return cached;
  const raw = rawShape(layout);
  const image = imageShape(layout);
  const stride = layout.dataColumns + layout.overscanColumns;
  const imageToRaw = new Int32Array(image[0] * image[1]);
  for (let y = 0; y < image[0]; y++) {
    const half = Math.floor(y / layout.rowsPerHalf);
    const yInHalf = y % layout.rowsPerHalf;
    const flipped = half === 1 && layout.flip !== "none";
    const rawRow = half * layout.rowsPerHalf + (flipped ? layout.rowsPerHalf - 1 - yInHalf : yInHalf);
    for (let x = 0; x < image[1]; x++) {
      const xRead = half === 1 && layout.flip === "rot180" ? image[1] - 1 - x : x;
      const channel = Math.floor(xRead / layout.dataColumns);
      const column = channel * stride + (xRead % layout.dataColumns);
      imageToRaw[y * image[1] + x] = rawRow * raw[1] + column;
    }
  }
  const overscan = new Int32Array(raw[0] * layout.channels * layout.overscanColumns);
  const dataStart = new Int32Array(raw[0] * layout.channels);
  for (let row = 0; row < raw[0]; row++) {
    for (let channel = 0; channel < layout.channels; channel++) {
      const base = row * raw[1] + channel * stride;
      dataStart[row * layout.channels + channel] = base;
      for (let k = 0; k < layout.overscanColumns; k++) {
        overscan[(row * layout.channels + channel) * layout.overscanColumns + k] = base + layout.dataColumns + k;
      }
    }
  }
  const maps = { layout, raw, image, imageToRaw, overscan, dataStart };
  cache.set(key, maps);
  return maps;
}
