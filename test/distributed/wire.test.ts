/** Typed-array structures through ZeroMQ parts: every array back with its type and bits, in aligned memory. */
import { decodeStructure, encodeStructure } from "../../src/distributed/wire";

describe("wire structures", () => {
  it("round-trips nested typed arrays, numbers and booleans; undefined fields are left out", () => {
    const value = {
      rows: 3,
      flag: true,
      nested: { index: Int32Array.from([-1, 2, 3]), mean: Float32Array.from([0.5, -0, NaN]) },
      scales: Float64Array.from([1, 1 / 3]),
      weights: Uint8Array.from([0, 255]),
      missing: undefined,
    };
    const parts = encodeStructure(value);
    expect(parts).toHaveLength(5);
    // Received parts may start at any offset: decoding copies them into aligned memory.
    const shifted = parts.map((part, i) => (i === 0 ? part : Buffer.concat([Buffer.alloc(1), part]).subarray(1)));
    const back = decodeStructure<typeof value>(shifted);
    expect(back.scales).toBeInstanceOf(Float64Array);
    expect(Buffer.from(back.nested.mean.buffer)).toEqual(Buffer.from(value.nested.mean.buffer));
    expect(back).toEqual({ ...value, missing: undefined });
    expect("missing" in back).toBe(false);
  });

  it("refuses a part that is not a whole number of elements", () => {
    const parts = encodeStructure({ a: Float64Array.from([1]) });
    expect(() => decodeStructure([parts[0], parts[1].subarray(0, 7)])).toThrow(/not a whole Float64Array/);
  });
});
