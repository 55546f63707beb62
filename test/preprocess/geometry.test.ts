import {
  binFrame,
  binnedMeta,
  centreOfMass,
  cropFrame,
  cropOrigin,
  croppedMeta,
  floorFrame,
  nearestPowerOfTwo,
  orientedMeta,
  orientFrame,
  orientPoint,
  resampledMeta,
  resampleFrame,
} from "../../src/preprocess/geometry";
import { frame, testMeta } from "./fixtures";

const oneTo16 = Array.from({ length: 16 }, (_, i) => i + 1); // 4 x 4, value r * 4 + c + 1

describe("crop", () => {
  it("cuts the square that starts at round(centre) - size // 2", () => {
    expect(cropOrigin([2.4, 1.6], 2)).toEqual([1, 1]);
    // Before binning by 4 a centre in the middle of a block (block starting at 100: centre 101.5) starts the
    // window on that block's edge, so after binning the centre is pixel 8 // 2 = 4: (101.5 - 84 + 0.5) / 4 - 0.5.
    expect(cropOrigin([101.5, 101.5], 32, 4)).toEqual([84, 84]);
    expect((101.5 - 84 + 0.5) / 4 - 0.5).toBe(4);
    expect(binnedMeta(croppedMeta(testMeta({ frameShape: [200, 200], centreYX: [101.5, 101.5] }), 32, 4), 4).centreYX).toEqual([4, 4]);
    const out = cropFrame(frame(0, 4, 4, oneTo16), [1, 1], 2);
    expect(Array.from(out.data)).toEqual([6, 7, 10, 11]);
    expect(Array.from(out.weights)).toEqual([1, 1, 1, 1]);
  });

  it("pads with weight-0 zeros where the square leaves the detector", () => {
    const out = cropFrame(frame(0, 4, 4, oneTo16), [-1, 3], 2);
    // rows -1..0, cols 3..4: only (0, 3) = 4 is on the detector.
    expect(Array.from(out.data)).toEqual([0, 0, 4, 0]);
    expect(Array.from(out.weights)).toEqual([0, 0, 1, 0]);
    const outside = cropFrame(frame(0, 4, 4, oneTo16), [10, 10], 2);
    expect(Array.from(outside.weights)).toEqual([0, 0, 0, 0]);
  });

  it("keeps source weights", () => {
    const weights = oneTo16.map((v) => (v === 6 ? 0 : 1));
    expect(Array.from(cropFrame(frame(0, 4, 4, oneTo16, weights), [1, 1], 2).weights)).toEqual([0, 1, 1, 1]);
  });

  it("moves the centre into the crop's coordinates", () => {
    const meta = croppedMeta(testMeta({ frameShape: [40, 40], centreYX: [10.4, 20.6] }), 8);
    expect(meta.frameShape).toEqual([8, 8]);
    // origin (10 - 4, 21 - 4) = (6, 17)
    expect(meta.centreYX![0]).toBeCloseTo(4.4, 10);
    expect(meta.centreYX![1]).toBeCloseTo(3.6, 10);
  });
});

describe("bin", () => {
  it("sums blocks", () => {
    const out = binFrame(frame(0, 4, 4, oneTo16), 2);
    expect(Array.from(out.data)).toEqual([14, 22, 46, 54]);
    expect([out.rows, out.cols]).toEqual([2, 2]);
  });

  it("is valid only where every source pixel is", () => {
    const weights = oneTo16.map((v) => (v === 16 ? 0 : 1));
    expect(Array.from(binFrame(frame(0, 4, 4, oneTo16, weights), 2).weights)).toEqual([1, 1, 1, 0]);
  });

  it("refuses a size that does not divide", () => {
    expect(() => binFrame(frame(0, 4, 4, oneTo16), 3)).toThrow(/4x4.*3/);
  });

  it("scales the pixel size and moves the centre to (c + 0.5) / b - 0.5", () => {
    const meta = binnedMeta(testMeta({ frameShape: [8, 8], centreYX: [3, 4], pixelSizeM: 30e-6 }), 2);
    expect(meta.frameShape).toEqual([4, 4]);
    expect(meta.pixelSizeM).toBeCloseTo(60e-6, 15);
    expect(meta.centreYX).toEqual([1.25, 1.75]);
  });
});

describe("orient (PtyPy's switch_orientation)", () => {
  // PtyPy: orientation o has binary digits (transpose, flipud, fliplr), applied in that order on the last two axes.
  const reference = (a: number[][], o: number): number[][] => {
    let out = a.map((row) => [...row]);
    if (o & 4) out = out[0].map((_, c) => out.map((row) => row[c]));
    if (o & 2) out = [...out].reverse();
    if (o & 1) out = out.map((row) => [...row].reverse());
    return out;
  };
  const input = [
    [1, 2, 3],
    [4, 5, 6],
  ];
  const asRows = (f: { rows: number; cols: number; data: Float32Array }) =>
    Array.from({ length: f.rows }, (_, r) => Array.from(f.data.subarray(r * f.cols, (r + 1) * f.cols)));

  it("matches hand results for the three bits and a combination", () => {
    const f = frame(0, 2, 3, input.flat());
    expect(asRows(orientFrame(f, 4))).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(asRows(orientFrame(f, 2))).toEqual([[4, 5, 6], [1, 2, 3]]);
    expect(asRows(orientFrame(f, 1))).toEqual([[3, 2, 1], [6, 5, 4]]);
    expect(asRows(orientFrame(f, 6))).toEqual([[3, 6], [2, 5], [1, 4]]);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7])("orientation %i matches the reference, for data, weights and the centre", (o) => {
    const f = frame(0, 2, 3, input.flat(), [1, 1, 1, 1, 0, 1]);
    const out = orientFrame(f, o);
    expect(asRows(out)).toEqual(reference(input, o));
    expect(Array.from(out.weights)).toEqual(reference([[1, 1, 1], [1, 0, 1]], o).flat());
    // The pixel that held 5 (y 1, x 1) is where orientPoint says; the metadata agrees.
    const [y, x] = orientPoint([1, 1], 2, 3, o);
    expect(out.data[y * out.cols + x]).toBe(5);
    const meta = orientedMeta(testMeta({ frameShape: [2, 3], centreYX: [1, 1] }), o);
    expect(meta.centreYX).toEqual([y, x]);
    expect(meta.frameShape).toEqual([out.rows, out.cols]);
  });

  it("refuses an orientation outside 0-7", () => {
    expect(() => orientFrame(frame(0, 1, 1, [1]), 8)).toThrow(/0-7/);
  });
});

describe("resample", () => {
  it("conserves counts", () => {
    const out = resampleFrame(frame(0, 3, 3, new Array(9).fill(1)), 2);
    expect(Array.from(out.data)).toEqual([2.25, 2.25, 2.25, 2.25]);
    const random = Array.from({ length: 36 }, (_, i) => (i * 7919) % 13);
    const up = resampleFrame(frame(0, 6, 6, random), 8);
    const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
    expect(sum(up.data)).toBeCloseTo(sum(random), 3);
  });

  it("halving equals binning by 2", () => {
    const out = resampleFrame(frame(0, 4, 4, oneTo16), 2);
    expect(Array.from(out.data)).toEqual([14, 22, 46, 54]);
  });

  it("marks an output pixel invalid if any pixel that feeds it is", () => {
    // 3 -> 2: output 0 takes rows/cols 0 and 1 (half of it), output 1 takes 1 (half) and 2.
    const weights = [1, 1, 1, 1, 1, 1, 1, 1, 0];
    expect(Array.from(resampleFrame(frame(0, 3, 3, new Array(9).fill(1), weights), 2).weights)).toEqual([1, 1, 1, 0]);
  });

  it("scales pixel size and centre, and picks the nearest power of two", () => {
    const meta = resampledMeta(testMeta({ frameShape: [240, 240], centreYX: [120, 120], pixelSizeM: 60e-6 }), 256);
    expect(meta.frameShape).toEqual([256, 256]);
    expect(meta.pixelSizeM).toBeCloseTo(60e-6 * 240 / 256, 15);
    expect(meta.centreYX![0]).toBeCloseTo(120.5 * 256 / 240 - 0.5, 10);
    expect([nearestPowerOfTwo(240), nearestPowerOfTwo(300), nearestPowerOfTwo(384), nearestPowerOfTwo(128)]).toEqual([256, 256, 512, 128]);
  });
});

describe("floor", () => {
  it("subtracts the floor and clips at 0", () => {
    expect(Array.from(floorFrame(frame(0, 1, 4, [0.2, 0.5, 1.75, -3]), 0.5).data)).toEqual([0, 0, 1.25, 0]);
  });
});

describe("centre of mass", () => {
  it("weighs by intensity on request", () => {
    // Two spots of 100 and 300 at x = 1 and x = 5, both above the threshold.
    const f = frame(0, 1, 8, [0, 100, 0, 0, 0, 300, 0, 0]);
    expect(centreOfMass([f], 0.1, "intensity")[1]).toBe(4);
    expect(centreOfMass([f], 0.1)[1]).toBe(3);
  });

  it("finds the centre of a bright spot and ignores background below the threshold", () => {
    const rows = 8;
    const cols = 10;
    const data = new Array(rows * cols).fill(1); // background: 1 < 0.1 x 100
    // a 2 x 2 spot of 100 at rows 2-3, cols 6-7: centre (2.5, 6.5)
    for (const [r, c] of [[2, 6], [2, 7], [3, 6], [3, 7]]) data[r * cols + c] = 100;
    expect(centreOfMass([frame(0, rows, cols, data)], 0.1)).toEqual([2.5, 6.5]);
    // Without the threshold the background pulls the centre towards the middle.
    const [y] = centreOfMass([frame(0, rows, cols, data)], 0);
    expect(y).toBeGreaterThan(2.5);
  });

  it("averages frames over valid pixels only", () => {
    const a = frame(0, 1, 4, [0, 10, 0, 1000], [1, 1, 1, 0]);
    const b = frame(1, 1, 4, [0, 0, 0, 10], [1, 1, 1, 1]);
    // mean: [0, 5, 0, 10] -> weighted by intensity x = (5 * 1 + 10 * 3) / 15; the binary centroid above 0.4 x 10
    // takes pixels 1 and 3 alike.
    expect(centreOfMass([a, b], 0, "intensity")[1]).toBeCloseTo(35 / 15, 10);
    expect(centreOfMass([a, b], 0.4, "binary")[1]).toBe(2);
  });
});
