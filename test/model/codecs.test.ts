import * as t from "io-ts";
import {
  decodeEither,
  decodeOrThrow,
  DecodeError,
  RawFrameHeader,
  StartMessage,
  ScanControlMessage,
  scanControlCodecFor,
  CosmicFrameHeader,
  CosmicStart,
  CosmicRecHeader,
  CosmicEnd,
  parseLenientJson,
  stringifyStrictJson,
  energyToWire,
  energyFromWire,
  psizeToWire,
  psizeFromWire,
  distanceToWire,
  distanceFromWire,
  cosmicFrameCount,
} from "../../src/model";

const validStart = {
  type: "start",
  scanId: "scan-1",
  energyEv: 800,
  distanceM: 0.121,
  pixelSizeM: 30e-6,
  exposureTimesS: [0.002, 0.02],
  darksPerExposure: 10,
  numPoints: 2,
  gainAduPerEv: 0.004,
  saturationAdu: 14000,
  positionsM: [
    { x: 0, y: 0 },
    { x: 1e-7, y: -1e-7 },
  ],
};

function problemsOf(codec: t.Decoder<unknown, unknown>, input: unknown): string[] {
  const result = decodeEither(codec, input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return result.problems;
}

describe("raw frameserver header", () => {
  it("accepts a valid header", () => {
    expect(decodeOrThrow(RawFrameHeader, { index: 3, shape: [960, 1152], dtype: "uint16", byteorder: "<" })).toEqual({
      index: 3,
      shape: [960, 1152],
      dtype: "uint16",
      byteorder: "<",
    });
  });

  it.each([
    [{ index: -1, shape: [2, 2], dtype: "uint16", byteorder: "<" }, "index: expected non-negative integer, got -1"],
    [{ index: 1.5, shape: [2, 2], dtype: "uint16", byteorder: "<" }, "index: expected non-negative integer, got 1.5"],
    [{ index: 0, shape: [2], dtype: "uint16", byteorder: "<" }, "shape.1: expected positive integer, got nothing"],
    [{ index: 0, shape: [2, 0], dtype: "uint16", byteorder: "<" }, "shape.1: expected positive integer, got 0"],
    [{ index: 0, shape: [2, 2], dtype: "uint12", byteorder: "<" }, 'dtype: expected dtype (uint8, uint16, uint32, int8, int16, int32, float32, float64, complex64), got "uint12"'],
    [{ index: 0, shape: [2, 2], dtype: "uint16", byteorder: "big" }, 'byteorder: expected byteorder (<, > or |), got "big"'],
    [{ shape: [2, 2], dtype: "uint16", byteorder: "<" }, "index: expected non-negative integer, got nothing"],
  ])("rejects %j with a readable message", (input, message) => {
    expect(problemsOf(RawFrameHeader, input)).toContain(message);
  });
});

describe("scan control", () => {
  it("accepts a start with positions and one with positions to follow", () => {
    expect(decodeOrThrow(StartMessage, validStart).numPoints).toBe(2);
    const { positionsM: _omitted, ...withoutPositions } = validStart;
    expect(decodeOrThrow(StartMessage, { ...withoutPositions, positionsFollow: true }).positionsFollow).toBe(true);
  });

  it.each([
    [{ energyEv: "800" }, 'energyEv: expected positive number, got "800"'],
    [{ energyEv: -5 }, "energyEv: expected positive number, got -5"],
    [{ exposureTimesS: [] }, "start.exposureTimesS: expected at least one exposure time, got []"],
    [{ exposureTimesS: [0.1, 0] }, "exposureTimesS.1: expected positive number, got 0"],
    [{ numPoints: 3 }, "start.positionsM: expected 3 positions (numPoints), got 2"],
    [{ positionsM: undefined }, "start.positionsM: expected positions, or positionsFollow: true with point messages"],
    [{ positionsM: [{ x: 0 }, { x: 1, y: 2 }] }, "positionsM.0.y: expected finite number, got nothing"],
    [{ darksPerExposure: 2.5 }, "darksPerExposure: expected non-negative integer, got 2.5"],
    [{ layout: { halves: 3 } }, "layout.halves: expected 1 or 2, got 3"],
  ])("rejects a start with %j", (patch, message) => {
    expect(problemsOf(StartMessage, { ...validStart, ...patch })).toContain(message);
  });

  it("reports an invalid start as a start, naming the field", () => {
    const input = { ...validStart, distanceM: null };
    const codec = scanControlCodecFor(input);
    expect(problemsOf(codec, input)).toEqual(["distanceM: expected positive number, got null"]);
  });

  it("decodes point, stop and abort through the union", () => {
    expect(decodeOrThrow(ScanControlMessage, { type: "point", index: 4, x: 1e-6, y: 2e-6 })).toEqual({ type: "point", index: 4, x: 1e-6, y: 2e-6 });
    expect(decodeOrThrow(ScanControlMessage, { type: "stop" })).toEqual({ type: "stop" });
    expect(decodeOrThrow(ScanControlMessage, { type: "abort", reason: "beam lost" })).toEqual({ type: "abort", reason: "beam lost" });
    expect(problemsOf(scanControlCodecFor({ type: "point", index: 1, x: "a", y: 0 }), { type: "point", index: 1, x: "a", y: 0 })).toEqual([
      'x: expected finite number, got "a"',
    ]);
  });

  it("decodeOrThrow throws a DecodeError listing every problem", () => {
    try {
      decodeOrThrow(StartMessage, { ...validStart, energyEv: 0, distanceM: "far" }, "scan start");
      throw new Error("not thrown");
    } catch (error) {
      expect(error).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).message).toBe(
        'invalid scan start:\n  energyEv: expected positive number, got 0\n  distanceM: expected positive number, got "far"',
      );
    }
  });
});

describe("cosmicstreams", () => {
  const frame = { shape_y: 128, shape_x: 128, dtype: "float32", byteorder: "<", order: "C", identifier: "s1", index: 0, posy: 1e-6, posx: -1e-6 };

  it("accepts a frame header and rejects bad ones readably", () => {
    expect(decodeOrThrow(CosmicFrameHeader, frame).shape_x).toBe(128);
    expect(problemsOf(CosmicFrameHeader, { ...frame, order: "K" })).toEqual(['order: expected order (C or F), got "K"']);
    expect(problemsOf(CosmicFrameHeader, { ...frame, posx: null })).toEqual(["posx: expected finite number, got null"]);
    expect(problemsOf(CosmicFrameHeader, { ...frame, identifier: 7 })).toEqual(["identifier: expected string, got 7"]);
  });

  it("accepts a rec header, and stop/abort with an identifier", () => {
    const rec = { shape_y: 64, shape_x: 80, dtype: "complex64", byteorder: "<", order: "C", obj_pixelsize_y: 1e-8, obj_pixelsize_x: 1e-8 };
    expect(decodeOrThrow(CosmicRecHeader, rec).dtype).toBe("complex64");
    expect(problemsOf(CosmicRecHeader, { ...rec, obj_pixelsize_x: "x" })).toEqual(['obj_pixelsize_x: expected finite number, got "x"']);
    expect(decodeOrThrow(CosmicEnd, { identifier: "s1" })).toEqual({ identifier: "s1" });
    expect(problemsOf(CosmicEnd, {})).toEqual(["identifier: expected string, got nothing"]);
  });

  it("reads a Python start with bare NaN tokens and converts PtyPy's units", () => {
    const text =
      '{"identifier": "s1", "energy": 1.2817e-16, "geometry": {"psize": 3e-11, "distance": 0.000121, "resolution": NaN}, ' +
      '"exp_num_x": 20, "exp_num_y": 20, "exp_num_total": 800, "double_exposure": true, "output_frame_width": 128, ' +
      '"dtype": "float32", "note": "NaN stays a string", "bounds": [-Infinity, Infinity]}';
    const start = decodeOrThrow(CosmicStart, parseLenientJson(text));
    expect(start.geometry.resolution).toBeNaN();
    expect((parseLenientJson(text) as { note: string }).note).toBe("NaN stays a string");
    expect((parseLenientJson(text) as { bounds: number[] }).bounds).toEqual([-Infinity, Infinity]);
    expect(cosmicFrameCount(start)).toBe(400);
    expect(energyFromWire(start.energy)).toBeCloseTo(800, 1);
    expect(psizeFromWire(start.geometry.psize)).toBeCloseTo(30e-6, 12);
    expect(distanceFromWire(start.geometry.distance)).toBeCloseTo(0.121, 9);
    expect(energyFromWire(energyToWire(712.5))).toBeCloseTo(712.5, 9);
    expect(psizeFromWire(psizeToWire(15e-6))).toBeCloseTo(15e-6, 15);
    expect(distanceFromWire(distanceToWire(0.3))).toBeCloseTo(0.3, 12);
  });

  it("lists what is missing from a start", () => {
    expect(problemsOf(CosmicStart, { identifier: "s", energy: 1, geometry: { psize: 1 } })).toEqual(
      expect.arrayContaining(["geometry.distance: expected finite number, got nothing", "exp_num_total: expected non-negative integer, got nothing", "double_exposure: expected boolean or number, got nothing"]),
    );
  });
});

describe("JSON at the edges", () => {
  it("rejects malformed JSON with the parser's message", () => {
    expect(() => parseLenientJson('{"index": 1,')).toThrow(SyntaxError);
    expect(() => parseLenientJson("NaNa")).toThrow(SyntaxError);
  });

  it("keeps escaped quotes inside strings intact", () => {
    expect(parseLenientJson('{"a": "say \\"NaN\\"", "b": NaN}')).toEqual({ a: 'say "NaN"', b: NaN });
    expect(parseLenientJson('{"a": "Infinity and NaN, only in a string"}')).toEqual({ a: "Infinity and NaN, only in a string" });
    expect(parseLenientJson('[NaN,"NaN",-Infinity]')).toEqual([NaN, "NaN", -Infinity]);
  });

  it("never writes NaN or Infinity", () => {
    expect(() => stringifyStrictJson({ error: NaN })).toThrow(/non-finite number NaN at key "error"/);
    expect(stringifyStrictJson({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });
});
