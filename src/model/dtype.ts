/**
 * Array dtypes as they travel on the wire (numpy names) and their typed-array forms inside. `decodeArray`
 * is the one place where raw bytes become pixels: it checks the byte length against shape and dtype,
 * swaps big-endian data and copies into an aligned typed array that owns its memory.
 */
import * as t from "io-ts";

export const Dtype = t.keyof(
  {
    uint8: null,
    uint16: null,
    uint32: null,
    int8: null,
    int16: null,
    int32: null,
    float32: null,
    float64: null,
    complex64: null,
  },
  "dtype (uint8, uint16, uint32, int8, int16, int32, float32, float64, complex64)",
);
export type Dtype = t.TypeOf<typeof Dtype>;

export const ByteOrder = t.keyof({ "<": null, ">": null, "|": null, "=": null }, "byteorder (<, > or |)");
export type ByteOrder = t.TypeOf<typeof ByteOrder>;

export type PixelArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

interface DtypeInfo {
  /** Bytes of one stored element (a complex64 element is two float32). */
  bytes: number;
  /** Typed array per scalar component. */
  make: (length: number) => PixelArray;
  /** Scalar components per element: 2 for complex. */
  components: number;
}

export const DTYPES: Record<Dtype, DtypeInfo> = {
  uint8: { bytes: 1, components: 1, make: (n) => new Uint8Array(n) },
  uint16: { bytes: 2, components: 1, make: (n) => new Uint16Array(n) },
  uint32: { bytes: 4, components: 1, make: (n) => new Uint32Array(n) },
  int8: { bytes: 1, components: 1, make: (n) => new Int8Array(n) },
  int16: { bytes: 2, components: 1, make: (n) => new Int16Array(n) },
  int32: { bytes: 4, components: 1, make: (n) => new Int32Array(n) },
  float32: { bytes: 4, components: 1, make: (n) => new Float32Array(n) },
  float64: { bytes: 8, components: 1, make: (n) => new Float64Array(n) },
  complex64: { bytes: 8, components: 2, make: (n) => new Float32Array(n) },
};

export function isDtype(name: unknown): name is Dtype {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

export function expectedByteLength(shape: readonly number[], dtype: Dtype): number {
  return shape.reduce((a, b) => a * b, 1) * DTYPES[dtype].bytes;
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ArrayDecodeError extends Error {
  constructor(
    readonly reason: "byte-length" | "unknown-dtype",
    message: string,
  ) {
    super(message);
    this.name = "ArrayDecodeError";
  }
}

/**
 * Copies `bytes` into a fresh typed array of `dtype` (host order). For complex64 the result is interleaved
 * (re, im) float32. Fortran-ordered 2-D arrays are transposed into C order so the inside is always C order.
 */
export function decodeArray(
  bytes: Uint8Array,
  shape: readonly number[],
  dtype: string,
  byteorder: string = "<",
  order: "C" | "F" = "C",
): PixelArray {
  if (!isDtype(dtype)) throw new ArrayDecodeError("unknown-dtype", `unknown dtype "${dtype}"`);
  const info = DTYPES[dtype];
  const expected = expectedByteLength(shape, dtype);
  if (bytes.byteLength !== expected) {
    throw new ArrayDecodeError(
      "byte-length",
      `expected ${expected} bytes for shape [${shape.join(", ")}] of ${dtype}, got ${bytes.byteLength}`,
    );
  }
  const elements = shape.reduce((a, b) => a * b, 1);
  const out = info.make(elements * info.components);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  outBytes.set(bytes);
  const width = info.bytes / info.components;
  const swap = width > 1 && ((byteorder === ">" && hostIsLittleEndian) || (byteorder === "<" && !hostIsLittleEndian));
  if (swap) swapBytesInPlace(outBytes, width);
  if (order === "F" && shape.length === 2) return transposeToC(out, shape[0], shape[1], info.components);
  return out;
}

function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const tmp = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = tmp;
    }
  }
}

function transposeToC(fortran: PixelArray, rows: number, cols: number, components: number): PixelArray {
  const out = fortran.slice() as PixelArray;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let k = 0; k < components; k++) {
        out[(r * cols + c) * components + k] = fortran[(c * rows + r) * components + k];
      }
    }
  }
  return out;
}

/** The bytes of a typed array as a little-endian buffer for the wire (no copy on little-endian hosts). */
export function encodeArrayLE(data: PixelArray): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (hostIsLittleEndian || data.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytesInPlace(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

export function dtypeOf(data: PixelArray): Dtype {
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Float32Array) return "float32";
  return "float64";
}
