import { FCCD_LAYOUT, DetectorLayout, layoutMaps, rawShape } from "../../src/model/layout";
import { decodeMonitorMessage } from "../../src/sources/frameserver-server";
import { viridis } from "../../src/sinks/png";
import { blockSizeFor, downsampleComplex, downsampleMean, frameDisplay, framePanel, objectDisplays, quantise, scaledPosition } from "../../src/viewer/image";
import { imageMessage, slotMessages } from "../../src/viewer/messages";
import { newViewerStats } from "../../src/viewer/server";
import { ErrorCurve, ViewerState, descrambleMapFor } from "../../src/viewer/state";

const SMALL_LAYOUT: DetectorLayout = { halves: 2, rowsPerHalf: 6, channels: 3, dataColumns: 4, overscanColumns: 2, flip: "rot180" };

describe("downsampling for display", () => {
  it("picks the smallest block that fits the longer side", () => {
    expect(blockSizeFor(256, 100, 256)).toBe(1);
    expect(blockSizeFor(257, 100, 256)).toBe(2);
    expect(blockSizeFor(960, 960, 256)).toBe(4);
    expect(blockSizeFor(10, 1152, 256)).toBe(5);
  });

  it("averages b x b blocks, edge blocks over what they cover, non-finite values as 0", () => {
    // 5 x 3, maxPx 2 -> b = 3: blocks rows [0,3) [3,5), cols [0,3).
    const values = Float32Array.from({ length: 15 }, (_, i) => i);
    values[14] = NaN;
    const small = downsampleMean(values, 5, 3, 2);
    expect(small.rows).toBe(2);
    expect(small.cols).toBe(1);
    expect(small.data[0]).toBeCloseTo((0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8) / 9);
    expect(small.data[1]).toBeCloseTo((9 + 10 + 11 + 12 + 13 + 0) / 6);
  });

  it("descrambles a raw frame through the layout's map while it reduces it", () => {
    const maps = layoutMaps(SMALL_LAYOUT);
    const [rawRows, rawCols] = rawShape(SMALL_LAYOUT);
    const [rows, cols] = maps.image;
    // The raw frame holds, at each image pixel's raw position, that image pixel's flat index.
    const raw = new Uint16Array(rawRows * rawCols).fill(60000);
    maps.imageToRaw.forEach((rawIndex, imageIndex) => (raw[rawIndex] = imageIndex));
    const map = descrambleMapFor({ rows: rawRows, cols: rawCols }, SMALL_LAYOUT);
    expect([map.rows, map.cols]).toEqual([rows, cols]);
    const full = downsampleMean(raw, map.rows, map.cols, Math.max(rows, cols), map.imageToRaw);
    expect(Array.from(full.data)).toEqual(Array.from({ length: rows * cols }, (_, i) => i));
    // Frames of another shape are shown as they are.
    expect(descrambleMapFor({ rows: 12, cols: 12 }, SMALL_LAYOUT).imageToRaw).toBeUndefined();
    expect(descrambleMapFor({ rows: rawRows, cols: rawCols }, undefined).imageToRaw).toBeUndefined();
  });

  it("averages complex images in re and im, keeping phase", () => {
    const image = { rows: 2, cols: 2, data: Float32Array.of(1, 1, 3, 3, 1, 1, 3, 3) };
    const small = downsampleComplex(image, 1);
    expect(Array.from(small.data)).toEqual([2, 2]);
  });
});

describe("8-bit quantisation", () => {
  it("maps low to 0 and high to 255, linear or log, clamping outside", () => {
    const image = { rows: 1, cols: 5, data: Float32Array.of(-5, 0, 9, 99, 200) };
    const linear = quantise(image, "linear", "viridis", [0, 99]);
    expect(Array.from(linear.pixels)).toEqual([0, 0, Math.round((255 * 9) / 99), 255, 255]);
    const log = quantise(image, "log", "viridis", [0, 99]);
    // log1p(9) / log1p(99) = log(10) / log(100) = 1/2.
    expect(Array.from(log.pixels)).toEqual([0, 0, 128, 255, 255]);
    expect(scaledPosition(NaN, 0, 1, "log")).toBe(0);
    expect(scaledPosition(5, 3, 3, "linear")).toBe(0);
  });

  it("takes the finite range by default and shows a detector frame on a log scale", () => {
    const values = Float32Array.of(1, 10, 100, 1000, Infinity, 1);
    const display = frameDisplay(values, 2, 3, 256);
    // Infinity counts as 0, so the range is [0, 1000]; 1 sits at log(2) / log(1001) of the way.
    expect([display.low, display.high, display.scale, display.colourMap]).toEqual([0, 1000, "log", "viridis"]);
    expect(display.pixels[0]).toBe(Math.round((255 * Math.log(2)) / Math.log(1001)));
    expect(display.pixels[3]).toBe(255);
    expect(display.pixels[4]).toBe(0);
  });

  it("shows the object's phase referred to its bright part, on [-pi, pi]", () => {
    // Amplitude 1 with phase 1 rad everywhere but a dim patch: after referring, the bright part sits at phase 0.
    const rows = 8;
    const cols = 8;
    const data = new Float32Array(2 * rows * cols);
    for (let i = 0; i < rows * cols; i++) {
      const amplitude = i < 8 ? 0.1 : 1;
      data[2 * i] = amplitude * Math.cos(1);
      data[2 * i + 1] = amplitude * Math.sin(1);
    }
    const { amplitude, phase } = objectDisplays({ rows, cols, data }, 256);
    expect([phase.low, phase.high, phase.colourMap]).toEqual([-Math.PI, Math.PI, "cyclic"]);
    expect(phase.pixels[20]).toBe(128);
    expect(amplitude.pixels[20]).toBe(255);
    expect(amplitude.pixels[0]).toBe(0);
  });
});

describe("viewer messages", () => {
  it("frames an image as [uint32 header length, JSON header, pixels]", () => {
    const image = quantise({ rows: 2, cols: 3, data: Float32Array.of(0, 1, 2, 3, 4, 5) }, "linear", "viridis");
    const { header, bytes } = decodeMonitorMessage(imageMessage("processed", image, { index: 7 }));
    expect(header).toEqual({ type: "image", panel: "processed", width: 3, height: 2, low: 0, high: 5, scale: "linear", colourMap: "viridis", index: 7 });
    expect(Array.from(bytes)).toEqual(Array.from(image.pixels));
  });

  it("makes a raw FCCD frame a descrambled picture of at most 256 px", () => {
    const [rows, cols] = rawShape(FCCD_LAYOUT);
    const state = new ViewerState(FCCD_LAYOUT);
    state.setRaw({ index: 3, rows, cols, dtype: "uint16", data: Uint16Array.from({ length: rows * cols }, (_, i) => i % 4096) });
    const [message] = slotMessages("raw", state, 256, newViewerStats());
    const { header, bytes } = decodeMonitorMessage(message as Buffer);
    expect(header).toMatchObject({ panel: "raw", index: 3, width: 240, height: 240, rows: 960, cols: 960, descrambled: true });
    expect(bytes.length).toBe(240 * 240);
  });

  it("sends the error curve and positions as JSON, and nothing for an empty slot", () => {
    const state = new ViewerState(undefined);
    expect(slotMessages("reconstruction", state, 256, newViewerStats())).toEqual([]);
    state.addPosition({ x: 1e-6, y: 2e-6 });
    state.setProcessed({ index: 0, positionM: { x: 1e-6, y: 2e-6 }, rows: 1, cols: 1, data: Float32Array.of(1), weights: Uint8Array.of(1) });
    const positions = JSON.parse(slotMessages("positions", state, 256, newViewerStats())[0] as string);
    expect(positions).toEqual({ type: "positions", known: { xM: [1e-6], yM: [2e-6] }, visited: { xM: [1e-6], yM: [2e-6] }, current: { x: 1e-6, y: 2e-6 } });
    const probe = { rows: 1, cols: 1, data: Float32Array.of(1, 0) };
    state.setSnapshot({ iteration: 4, framesUsed: 1, error: NaN, object: probe, probe, objectPixelSizeM: [1, 1], final: false });
    const errors = JSON.parse(slotMessages("errors", state, 256, newViewerStats())[0] as string);
    expect(errors).toEqual({ type: "errors", iteration: [4], error: [null], errorToTruth: [null] });
  });
});

describe("error curve", () => {
  it("keeps at most its capacity by halving its resolution, newest point kept; a repeated iteration replaces", () => {
    const curve = new ErrorCurve(8);
    for (let i = 1; i <= 100; i++) curve.add({ iteration: i, error: 1 / i, framesUsed: i });
    curve.add({ iteration: 100, error: 0.5, framesUsed: 100 });
    const points = curve.all();
    expect(points.length).toBeLessThanOrEqual(8);
    expect(points[points.length - 1]).toEqual({ iteration: 100, error: 0.5, framesUsed: 100 });
    const iterations = points.map((p) => p.iteration);
    expect(iterations).toEqual([...iterations].sort((a, b) => a - b));
    expect(iterations[0]).toBe(1);
  });
});

describe("PNG export", () => {
  it("draws a frame on a log scale with viridis and a colour bar", () => {
    const values = Float32Array.from({ length: 20 * 30 }, (_, i) => (i === 0 ? 1000 : 0));
    const image = framePanel(values, 20, 30);
    expect(image.width).toBe(30);
    expect(image.height).toBeGreaterThan(20 + 12);
    const at = (x: number, y: number) => Array.from(image.data.subarray(4 * (y * image.width + x), 4 * (y * image.width + x) + 3));
    expect(at(0, 0)).toEqual(viridis(1));
    expect(at(5, 5)).toEqual(viridis(0));
  });
});
