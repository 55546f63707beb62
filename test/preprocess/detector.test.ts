import { layoutMaps, DetectorLayout } from "../../src/model/layout";
import {
  DarkAccumulator,
  descrambleFrame,
  equalizeRaw,
  mergeExposures,
  saturationMask,
  scrambleImage,
  subtractDark,
  suppressNoise,
  toPhotons,
} from "../../src/preprocess/detector";
import { CorrectedExposure } from "../../src/preprocess/types";
import { frame, rawFrame, SMALL_LAYOUT } from "./fixtures";

const image = Array.from({ length: 24 }, (_, i) => 100 + i); // 4 x 6

/** The raw frame a detector with per-(row, channel) ADC offsets would send for `image`. */
function rawWithOffsets(layout: DetectorLayout, offset: (row: number, channel: number) => number, overscanSpread = 0) {
  const maps = layoutMaps(layout);
  const raw = scrambleImage(image, maps, new Uint16Array(maps.raw[0] * maps.raw[1]));
  const width = layout.dataColumns + layout.overscanColumns;
  for (let row = 0; row < maps.raw[0]; row++) {
    for (let channel = 0; channel < layout.channels; channel++) {
      const base = row * maps.raw[1] + channel * width;
      for (let k = 0; k < layout.dataColumns; k++) raw[base + k] += offset(row, channel);
      // Overscan reads the offset alone; with a spread, +-spread around it (their mean is still the offset).
      for (let k = 0; k < layout.overscanColumns; k++) {
        raw[base + layout.dataColumns + k] = offset(row, channel) + (k % 2 === 0 ? -overscanSpread : overscanSpread);
      }
    }
  }
  return rawFrame(7, maps.raw[0], maps.raw[1], raw);
}

describe("layout", () => {
  it("reads the bottom half rotated by 180 degrees (rot180) or flipped up-down (ud)", () => {
    // Image (2, 0) is the bottom half's first row, first column. rot180: last raw row, read from the far
    // side: x = 5 is channel 1, column 2 -> raw column 1 * 4 + 2 = 6.
    expect(layoutMaps(SMALL_LAYOUT).imageToRaw[2 * 6 + 0]).toBe(3 * 8 + 6);
    // ud: last raw row, same column order: x = 0 is channel 0, column 0.
    expect(layoutMaps({ ...SMALL_LAYOUT, flip: "ud" }).imageToRaw[2 * 6 + 0]).toBe(3 * 8 + 0);
    // The top half is read as is: image (1, 4) is raw row 1, channel 1, column 1 -> 1 * 8 + 5.
    expect(layoutMaps(SMALL_LAYOUT).imageToRaw[1 * 6 + 4]).toBe(1 * 8 + 5);
  });

  it.each(["rot180", "ud", "none"] as const)("round-trips image -> raw -> equalize -> descramble (flip %s)", (flip) => {
    const layout = { ...SMALL_LAYOUT, flip };
    const maps = layoutMaps(layout);
    const raw = rawWithOffsets(layout, () => 0);
    const out = descrambleFrame(equalizeRaw(raw, maps), maps, 60000);
    expect(Array.from(out.data)).toEqual(image);
    expect(out.rows).toBe(4);
    expect(out.cols).toBe(6);
  });
});

describe("equalize", () => {
  it("removes a per (row, channel) offset measured by the overscan", () => {
    const maps = layoutMaps(SMALL_LAYOUT);
    const raw = rawWithOffsets(SMALL_LAYOUT, (row, channel) => 10 * row + 3 * channel + 5);
    const out = descrambleFrame(equalizeRaw(raw, maps), maps, 60000);
    expect(Array.from(out.data)).toEqual(image);
  });

  it("uses the mean of several overscan columns", () => {
    const layout: DetectorLayout = { ...SMALL_LAYOUT, overscanColumns: 2 };
    const maps = layoutMaps(layout);
    const raw = rawWithOffsets(layout, (row) => 20 + row, 4);
    const equalized = equalizeRaw(raw, maps);
    expect(Array.from(descrambleFrame(equalized, maps, 60000).data)).toEqual(image);
    // The overscan pixels themselves become -4 and +4 (their offset removed).
    expect(equalized.data[3]).toBe(-4);
    expect(equalized.data[4]).toBe(4);
  });

  it("refuses a frame that does not match the layout", () => {
    expect(() => equalizeRaw(rawFrame(1, 4, 6, new Array(24).fill(0)), layoutMaps(SMALL_LAYOUT))).toThrow(/4x6.*4x8/);
  });
});

describe("descramble saturation mask", () => {
  it("marks pixels whose raw value reaches the level, though equalize moved them", () => {
    const maps = layoutMaps(SMALL_LAYOUT);
    const raw = rawWithOffsets(SMALL_LAYOUT, () => 50);
    // image 100 + i plus offset 50: raw 150 + i; level 170 catches image pixels 20..23.
    const out = descrambleFrame(equalizeRaw(raw, maps), maps, 170);
    expect(Array.from(out.saturated)).toEqual(image.map((v) => (v + 50 >= 170 ? 1 : 0)));
  });
});

describe("darks (Welford)", () => {
  it("gives the mean and the sample variance", () => {
    const acc = new DarkAccumulator(1, 2);
    [1, 2, 3, 4].forEach((v) => acc.add([v, 10]));
    const stats = acc.statistics();
    expect(stats.count).toBe(4);
    expect(Array.from(stats.mean)).toEqual([2.5, 10]);
    expect(stats.variance[0]).toBeCloseTo(5 / 3, 6);
    expect(stats.variance[1]).toBe(0);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(5 / 3), 6);
  });

  it("falls back to the declared read noise with fewer than two darks", () => {
    const acc = new DarkAccumulator(0, 3);
    expect(Array.from(acc.statistics(2).variance)).toEqual([4, 4, 4]);
    expect(Array.from(acc.statistics(2).mean)).toEqual([0, 0, 0]);
  });
});

function exposure(data: number[], saturated: number[], darkStd: number[] = data.map(() => 1)): CorrectedExposure {
  return { rows: 1, cols: data.length, data: Float32Array.from(data), saturated: Uint8Array.from(saturated), darkStd: Float32Array.from(darkStd) };
}

describe("subtract and noise", () => {
  it("subtracts the mean dark and zeroes what is below k x dark std", () => {
    const dark = { exposure: 0, count: 2, mean: Float32Array.from([1, 2, 3, 4]), variance: Float32Array.from([1, 1, 4, 4]), std: Float32Array.from([1, 1, 2, 2]) };
    const corrected = subtractDark({ rows: 1, cols: 4, data: Float32Array.from([2.9, 4, 13, 1]), saturated: new Uint8Array(4) }, dark);
    expect(Array.from(corrected.data).map((v) => +v.toFixed(4))).toEqual([1.9, 2, 10, -3]);
    // k = 2: thresholds 2, 2, 4, 4.
    expect(Array.from(suppressNoise(corrected, 2).data).map((v) => +v.toFixed(4))).toEqual([0, 2, 10, 0]);
    // k = 0 still zeroes what is below 0: the formula, no special case.
    expect(Array.from(suppressNoise(corrected, 0).data).map((v) => +v.toFixed(4))).toEqual([1.9, 2, 10, 0]);
  });
});

describe("hdr", () => {
  const point = {
    index: 3,
    positionM: { x: 1e-6, y: 2e-6 },
    // short (0.01 s) then long (0.1 s)
    exposures: [exposure([5, 30, 900, 0], [0, 0, 1, 0]), exposure([50, 2500, 2600, 0], [0, 1, 1, 0])],
  };

  it("takes saturated pixels from the short exposure, scaled by t_long / t_short, and weights 0 where all saturate", () => {
    const merged = mergeExposures(point, [0.01, 0.1], point.exposures.map((e) => saturationMask(e, "raw", 0)));
    expect(Array.from(merged.data)).toEqual([50, 300, 9000, 0]);
    expect(Array.from(merged.weights)).toEqual([1, 1, 0, 1]);
    expect(merged.index).toBe(3);
    expect(merged.positionM).toEqual({ x: 1e-6, y: 2e-6 });
  });

  it("on corrected values compares the dark-subtracted value with the threshold", () => {
    const masks = point.exposures.map((e) => saturationMask(e, "corrected", 2000));
    expect(masks.map((m) => Array.from(m))).toEqual([[0, 0, 0, 0], [0, 1, 1, 0]]);
    const merged = mergeExposures(point, [0.01, 0.1], masks);
    expect(Array.from(merged.data)).toEqual([50, 300, 9000, 0]);
    expect(Array.from(merged.weights)).toEqual([1, 1, 1, 1]);
  });

  it("orders by exposure time, not acquisition order", () => {
    const reversed = { ...point, exposures: [point.exposures[1], point.exposures[0]] };
    const merged = mergeExposures(reversed, [0.1, 0.01], reversed.exposures.map((e) => saturationMask(e, "raw", 0)));
    expect(Array.from(merged.data)).toEqual([50, 300, 9000, 0]);
  });

  it("refuses a point whose exposures do not match the scan", () => {
    expect(() => mergeExposures(point, [0.1], [])).toThrow(/2 exposures.*declares 1/);
  });
});

describe("photons", () => {
  it("divides by ADU per photon", () => {
    expect(Array.from(toPhotons(frame(0, 1, 3, [3.2, 32, 0]), 3.2).data).map((v) => +v.toFixed(5))).toEqual([1, 10, 0]);
  });
});
