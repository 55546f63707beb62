/**
 * Which raw pixels a set of image pixels reads, with their digitizer offsets: the part of `equalize` and
 * `descramble` the fused kernel needs. Only the (raw row, ADC channel) pairs that feed the set are equalized,
 * each from its own overscan pixels, with the reference's arithmetic (offset = mean of the overscan values in
 * float64; equalized value rounded to float32, see equalizeRaw in src/preprocess/detector.ts).
 */
import { LayoutMaps } from "../model/layout";

export interface RawGather {
  /** Per entry, the flat raw index it reads; -1 where the entry lies outside the detector. */
  rawIndex: Int32Array;
  /** Per entry, its (raw row, channel) pair as an index into `overscan` (0 for entries outside the detector). */
  pair: Int32Array;
  /** Flat raw indices of the overscan pixels of each pair: `overscan[pair * overscanColumns + k]`. */
  overscan: Int32Array;
  overscanColumns: number;
  pairCount: number;
}

/** The gather for image pixels `imagePixels` (flat image indices, -1 for a pixel outside the detector). */
export function rawGather(maps: LayoutMaps, imagePixels: Int32Array): RawGather {
  const { channels, dataColumns, overscanColumns } = maps.layout;
  const rawCols = maps.raw[1];
  const stride = dataColumns + overscanColumns;
  const pairOfRowChannel = new Int32Array(maps.raw[0] * channels).fill(-1);
  const rowChannels: number[] = [];
  const rawIndex = new Int32Array(imagePixels.length);
  const pair = new Int32Array(imagePixels.length);
  for (let s = 0; s < imagePixels.length; s++) {
    const pixel = imagePixels[s];
    if (pixel < 0) {
      rawIndex[s] = -1;
      continue;
    }
    const raw = maps.imageToRaw[pixel];
    const rowChannel = Math.floor(raw / rawCols) * channels + Math.floor((raw % rawCols) / stride);
    if (pairOfRowChannel[rowChannel] < 0) {
      pairOfRowChannel[rowChannel] = rowChannels.length;
      rowChannels.push(rowChannel);
    }
    rawIndex[s] = raw;
    pair[s] = pairOfRowChannel[rowChannel];
  }
  const overscan = new Int32Array(rowChannels.length * overscanColumns);
  rowChannels.forEach((rowChannel, p) => {
    for (let k = 0; k < overscanColumns; k++) overscan[p * overscanColumns + k] = maps.overscan[rowChannel * overscanColumns + k];
  });
  return { rawIndex, pair, overscan, overscanColumns, pairCount: rowChannels.length };
}

/** Every image pixel, in image order: the gather darks use while the crop window is not yet known. */
export function fullImagePixels(maps: LayoutMaps): Int32Array {
  return new Int32Array(maps.image[0] * maps.image[1]).map((_, i) => i);
}

/**
 * Each pair's offset (mean of its overscan values, summed in float64 in column order as equalizeRaw does) into
 * `offsets[into + pair]`. Without overscan columns the offset is 0, which leaves the values as they are.
 */
export function pairOffsets(raw: ArrayLike<number>, gather: RawGather, offsets: Float64Array, into = 0): void {
  const columns = gather.overscanColumns;
  const overscan = gather.overscan;
  for (let p = 0; p < gather.pairCount; p++) {
    let sum = 0;
    for (let k = 0; k < columns; k++) sum += raw[overscan[p * columns + k]];
    offsets[into + p] = columns > 0 ? sum / columns : 0;
  }
}

/** The equalized values of the gather's entries (0 outside the detector), as equalize + descramble give them. */
export function gatherEqualized(raw: ArrayLike<number>, gather: RawGather, offsets: Float64Array, out: Float32Array): Float32Array {
  pairOffsets(raw, gather, offsets);
  const { rawIndex, pair } = gather;
  for (let s = 0; s < rawIndex.length; s++) {
    const r = rawIndex[s];
    out[s] = r < 0 ? 0 : raw[r] - offsets[pair[s]];
  }
  return out;
}
