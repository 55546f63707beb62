import { FCCD_LAYOUT, layoutMaps, rawShape, imageShape, DetectorLayout } from "../../src/model/layout";

describe("detector layout", () => {
  it("gives COSMIC's FCCD shapes", () => {
    expect(rawShape(FCCD_LAYOUT)).toEqual([960, 1152]);
    expect(imageShape(FCCD_LAYOUT)).toEqual([960, 960]);
  });

  it("maps every image pixel to a distinct data (not overscan) raw pixel", () => {
    const maps = layoutMaps(FCCD_LAYOUT);
    const seen = new Uint8Array(maps.raw[0] * maps.raw[1]);
    for (const r of maps.imageToRaw) seen[r] += 1;
    for (const o of maps.overscan) seen[o] += 10;
    expect(seen.reduce((a, b) => Math.max(a, b), 0)).toBe(10);
    expect(seen.filter((v) => v === 1).length).toBe(960 * 960);
    expect(seen.filter((v) => v === 10).length).toBe(960 * 96 * 2);
  });

  it("reads the bottom half rotated by 180 degrees (rot180) or flipped up-down (ud)", () => {
    const small: DetectorLayout = { halves: 2, rowsPerHalf: 2, channels: 2, dataColumns: 2, overscanColumns: 1, flip: "rot180" };
    // raw is 4 x 6: per row [d d o d d o]; image is 4 x 4.
    const rot = layoutMaps(small).imageToRaw;
    expect(Array.from(rot.subarray(0, 4))).toEqual([0, 1, 3, 4]); // top row as read
    // Image row 2 (first of the bottom half) comes from raw row 3, columns reversed.
    expect(Array.from(rot.subarray(8, 12))).toEqual([22, 21, 19, 18]);
    const ud = layoutMaps({ ...small, flip: "ud" }).imageToRaw;
    expect(Array.from(ud.subarray(8, 12))).toEqual([18, 19, 21, 22]);
    const overscanOfRow3Channel1 = layoutMaps(small).overscan[(3 * 2 + 1) * 1];
    expect(overscanOfRow3Channel1).toBe(23);
  });
});
