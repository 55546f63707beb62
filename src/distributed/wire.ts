/**
 * Typed-array structures (the kernel plan, a frame) as ZeroMQ multipart messages: one JSON part describing the
 * structure, in which each typed array is replaced by a reference to a later binary part, then those parts.
 * Binary parts travel as they are (no base64), and are copied into fresh, aligned buffers on arrival (a received
 * Buffer may sit at any offset of a shared pool, which Float64Array cannot view).
 */

type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const TYPED = { Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array } as const;
type TypedName = keyof typeof TYPED;

interface PartReference {
  $typed: TypedName;
  $part: number;
}

const isPartReference = (value: unknown): value is PartReference =>
  typeof value === "object" && value !== null && typeof (value as PartReference).$typed === "string" && typeof (value as PartReference).$part === "number";

/** A byte view of `array` without copying. */
export function bytesOf(array: ArrayBufferView): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** `value` as [JSON description, ...binary parts]. Undefined fields are left out (JSON has no undefined). */
export function encodeStructure(value: unknown): Buffer[] {
  const parts: Buffer[] = [];
  const describe = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = v.constructor.name as TypedName;
      if (!(name in TYPED)) throw new Error(`wire: cannot encode a ${name}`);
      parts.push(bytesOf(v));
      return { $typed: name, $part: parts.length - 1 } satisfies PartReference;
    }
    if (Array.isArray(v)) return v.map(describe);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]));
    return v;
  };
  const description = describe(value);
  return [Buffer.from(JSON.stringify(description)), ...parts];
}

/** The structure `encodeStructure` gave (typed arrays in their own, aligned memory). */
export function decodeStructure<T>(parts: readonly Buffer[]): T {
  if (parts.length === 0) throw new Error("wire: empty structure");
  const binary = parts.slice(1);
  const rebuild = (v: unknown): unknown => {
    if (isPartReference(v)) {
      const bytes = binary[v.$part];
      const View = TYPED[v.$typed];
      if (bytes === undefined || View === undefined) throw new Error(`wire: bad reference to part ${v.$part} as ${v.$typed}`);
      if (bytes.byteLength % View.BYTES_PER_ELEMENT !== 0) throw new Error(`wire: part ${v.$part} is ${bytes.byteLength} bytes, not a whole ${v.$typed}`);
      return new View(copyToArrayBuffer(bytes));
    }
    if (Array.isArray(v)) return v.map(rebuild);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rebuild(x)]));
    return v;
  };
  return rebuild(JSON.parse(parts[0].toString("utf8"))) as T;
}

/**
 * `bytes` as a Float32Array/Uint8Array... of `View`: a view of the received memory when its offset allows one (no
 * copy: the message's memory lives as long as the view), a copy otherwise.
 */
export function viewOf<T extends TypedArray>(View: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number }, bytes: Buffer): T {
  const width = View.BYTES_PER_ELEMENT;
  if (bytes.byteLength % width !== 0) throw new Error(`wire: ${bytes.byteLength} bytes are not a whole array of ${width}-byte values`);
  const length = bytes.byteLength / width;
  return bytes.byteOffset % width === 0 ? new View(bytes.buffer as ArrayBuffer, bytes.byteOffset, length) : new View(copyToArrayBuffer(bytes), 0, length);
}

export function copyToArrayBuffer(bytes: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

export type { TypedArray };
