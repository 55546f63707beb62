/**
 * The checks every incoming ZeroMQ message goes through, each failure a typed fault naming what was wrong and
 * where (DESIGN section 10): lenient JSON (Python writes bare NaN), a known dtype, the header codec, and the
 * byte length of the array part.
 */
import * as t from "io-ts";
import { decodeEither } from "../model/codec";
import { ArrayDecodeError, DTYPES, PixelArray, decodeArray, expectedByteLength, isDtype } from "../model/dtype";
import { Fault, fault } from "../model/fault";
import { parseLenientJson } from "../model/json";

export type Checked<A> = { ok: true; value: A } | { ok: false; fault: Fault };

const preview = (bytes: Buffer): string => {
  const text = bytes.subarray(0, 60).toString("utf8");
  return bytes.length > 60 ? `${text}...` : text;
};

export function parseJsonPart(part: Buffer | undefined, where: string, what: string): Checked<unknown> {
  if (part === undefined) return { ok: false, fault: fault("bad-header", where, `${what}: missing part`) };
  try {
    return { ok: true, value: parseLenientJson(part.toString("utf8")) };
  } catch (error) {
    return { ok: false, fault: fault("malformed-json", where, `${what}: ${(error as Error).message} in ${JSON.stringify(preview(part))}`) };
  }
}

/** Decodes an array header: an unknown dtype gets its own reason, other problems are `bad-header`. */
export function decodeArrayHeader<A>(codec: t.Type<A, unknown, unknown>, json: unknown, where: string, what: string): Checked<A> {
  // The guard allocates nothing; the full decode (contexts, error lists) only runs to explain a bad header.
  if (codec.is(json)) return { ok: true, value: json };
  const dtype = typeof json === "object" && json !== null ? (json as { dtype?: unknown }).dtype : undefined;
  const index = typeof json === "object" && json !== null ? (json as { index?: unknown }).index : undefined;
  const at = typeof index === "number" ? { index } : {};
  if (dtype !== undefined && !isDtype(dtype)) {
    return { ok: false, fault: fault("unknown-dtype", where, `${what}: unknown dtype ${JSON.stringify(dtype)}`, at) };
  }
  const decoded = decodeEither(codec, json);
  if (!decoded.ok) return { ok: false, fault: fault("bad-header", where, `${what}: ${decoded.problems.join("; ")}`, at) };
  return { ok: true, value: decoded.value };
}

const hostOrder = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "<" : ">";

/**
 * The pixels of a received message part without a copy, when that is safe: C order, host byte order, and the
 * part is exactly its own ArrayBuffer (zeromq.js hands each received part over in its own buffer), so the typed
 * array owns its memory as a copy would. Anything else goes through `decodeArray`, which copies.
 */
function viewWholeBuffer(bytes: Buffer, header: { shape: readonly number[]; dtype: string; byteorder: string; order?: "C" | "F" }): PixelArray | undefined {
  if (!isDtype(header.dtype) || (header.order ?? "C") !== "C") return undefined;
  const info = DTYPES[header.dtype];
  const width = info.bytes / info.components;
  if (width > 1 && header.byteorder !== hostOrder && header.byteorder !== "=") return undefined;
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return undefined;
  if (bytes.byteLength !== expectedByteLength(header.shape, header.dtype)) return undefined;
  const sample = info.make(0);
  const Make = sample.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => PixelArray;
  return new Make(bytes.buffer, 0, bytes.byteLength / sample.BYTES_PER_ELEMENT);
}

export function decodeArrayPart(
  bytes: Buffer | undefined,
  header: { shape: readonly number[]; dtype: string; byteorder: string; order?: "C" | "F"; index?: number },
  where: string,
  what: string,
): Checked<PixelArray> {
  const at = header.index === undefined ? {} : { index: header.index };
  if (bytes === undefined) return { ok: false, fault: fault("byte-length", where, `${what}: the array part is missing`, at) };
  const view = viewWholeBuffer(bytes, header);
  if (view !== undefined) return { ok: true, value: view };
  try {
    return { ok: true, value: decodeArray(bytes, header.shape, header.dtype, header.byteorder, header.order ?? "C") };
  } catch (error) {
    if (error instanceof ArrayDecodeError) return { ok: false, fault: fault(error.reason, where, `${what}: ${error.message}`, at) };
    throw error;
  }
}
