import { decodeArray, ArrayDecodeError, encodeArrayLE, expectedByteLength } from "../../src/model/dtype";

describe("decodeArray", () => {
  it("decodes little- and big-endian uint16", () => {
    const le = new Uint8Array([1, 0, 0, 1]);
    expect(Array.from(decodeArray(le, [1, 2], "uint16", "<"))).toEqual([1, 256]);
    expect(Array.from(decodeArray(le, [1, 2], "uint16", ">"))).toEqual([256, 1]);
  });

  it("copies into aligned memory even when the message buffer is at an odd offset", () => {
    const backing = new Uint8Array(9);
    backing.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    const out = decodeArray(backing.subarray(1), [2], "float32");
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual([1.5, -2]);
  });

  it("rejects a wrong byte length, naming both lengths", () => {
    expect(() => decodeArray(new Uint8Array(7), [2, 2], "uint16")).toThrow("expected 8 bytes for shape [2, 2] of uint16, got 7");
    try {
      decodeArray(new Uint8Array(7), [2, 2], "uint16");
    } catch (error) {
      expect((error as ArrayDecodeError).reason).toBe("byte-length");
    }
  });

  it("rejects an unknown dtype", () => {
    expect(() => decodeArray(new Uint8Array(4), [2], "bfloat16")).toThrow('unknown dtype "bfloat16"');
  });

  it("turns Fortran order into C order and keeps complex64 interleaved", () => {
    // F-order 2x3 of [[1,2,3],[4,5,6]] is stored column by column: 1 4 2 5 3 6.
    const f = new Uint8Array(new Int32Array([1, 4, 2, 5, 3, 6]).buffer);
    expect(Array.from(decodeArray(f, [2, 3], "int32", "<", "F"))).toEqual([1, 2, 3, 4, 5, 6]);
    const c = new Uint8Array(new Float32Array([1, -1, 2, -2]).buffer);
    expect(expectedByteLength([1, 2], "complex64")).toBe(16);
    expect(Array.from(decodeArray(c, [1, 2], "complex64"))).toEqual([1, -1, 2, -2]);
  });

  it("encodes to little-endian bytes that decode back", () => {
    const data = new Uint16Array([7, 65535, 300]);
    expect(Array.from(decodeArray(encodeArrayLE(data), [3], "uint16", "<"))).toEqual([7, 65535, 300]);
  });
});
