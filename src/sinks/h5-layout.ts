/**
 * HDF5 building blocks shared by the `.ptyd` and CXI writers, over h5wasm:
 * - values typed the way PtyPy's `io/h5rw.py` writes them (an HDF5 attribute `type` on every group and dataset:
 *   'dict', 'array', 'arraylist', 'list', 'scalar', 'string', 'None'), so PtyPy's `h5read` reads them back;
 * - resizable datasets appended a whole chunk per HDF5 call;
 * - complex arrays as the compound {r, i} that h5py (and so PtyPy) reads as complex64;
 * - opening a file for writing with a clear error naming the path (h5wasm itself does not throw on failure).
 *
 * h5wasm reads dtype strings as Python struct codes and ignores size digits: "<d" is a double, "<f8" is NOT.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { H5, H5File, H5Group, H5Dataset } from "../runtime/h5wasm";

export const DTYPE = {
  float64: "<d",
  float32: "<f",
  int64: "<q",
  int32: "<i",
  uint16: "<H",
  uint8: "<B",
} as const;
export type H5Dtype = (typeof DTYPE)[keyof typeof DTYPE];

type NumericArray = Float64Array | Float32Array | Int32Array | Uint16Array | Uint8Array | BigInt64Array;

const EMPTY: Record<H5Dtype, () => NumericArray> = {
  "<d": () => new Float64Array(0),
  "<f": () => new Float32Array(0),
  "<q": () => new BigInt64Array(0),
  "<i": () => new Int32Array(0),
  "<H": () => new Uint16Array(0),
  "<B": () => new Uint8Array(0),
};

/** Storage filter for bulk datasets. gzip needs chunked layout; chunks are one frame. */
export type Compression = { kind: "none" } | { kind: "gzip"; level: number };
export const NO_COMPRESSION: Compression = { kind: "none" };

function compressionArgs(compression: Compression): { compression?: "gzip"; compression_opts?: number } {
  return compression.kind === "gzip" ? { compression: "gzip", compression_opts: compression.level } : {};
}

// ---------------------------------------------------------------------------------------------------------------
// Values as PtyPy's h5rw writes them

/** Marks a group or dataset with h5rw's `type` attribute (a variable-length UTF-8 string, as h5py writes `str`). */
export function tagH5rw(node: H5Group | H5Dataset, type: string): void {
  node.create_attribute("type", type);
}

export function writeDictGroup(parent: H5Group, name: string): H5Group {
  const group = parent.create_group(name);
  tagH5rw(group, "dict");
  return group;
}

/** A 0-d dataset typed 'scalar' (PtyPy fails on a 1-element array where it expects a scalar). */
export function writeScalar(group: H5Group, name: string, value: number, dtype: H5Dtype = DTYPE.float64): H5Dataset {
  const data = dtype === DTYPE.int64 ? [value] : value;
  const dataset = group.create_dataset({ name, data: data as number, shape: [], dtype });
  tagH5rw(dataset, "scalar");
  return dataset;
}

/** A 0-d variable-length string dataset typed 'string' (h5rw's `_store_string`). */
export function writeString(group: H5Group, name: string, value: string): H5Dataset {
  const dataset = group.create_dataset({ name, data: value });
  tagH5rw(dataset, "string");
  return dataset;
}

/** An n-d numeric dataset typed 'array' (or 'arraylist' for what was a list in the source object). */
export function writeArray(
  group: H5Group,
  name: string,
  data: NumericArray | number[],
  shape: number[],
  dtype: H5Dtype,
  options: { compression?: Compression; frameShape?: number[]; h5rwType?: "array" | "arraylist" } = {},
): H5Dataset {
  const compression = options.compression ?? NO_COMPRESSION;
  const chunked = compression.kind !== "none" && shape.length > 0 && shape[0] > 0;
  const dataset = group.create_dataset({
    name,
    data: data as NumericArray,
    shape,
    dtype,
    ...(chunked ? { chunks: [1, ...shape.slice(1)], ...compressionArgs(compression) } : {}),
  });
  tagH5rw(dataset, options.h5rwType ?? "array");
  return dataset;
}

/** h5rw's `_store_None`: a (1,) float64 zero typed 'None'. */
export function writeNone(group: H5Group, name: string): H5Dataset {
  const dataset = group.create_dataset({ name, data: new Float64Array(1), shape: [1], dtype: DTYPE.float64 });
  tagH5rw(dataset, "None");
  return dataset;
}

function rectangularNumbers(value: unknown[]): { flat: number[]; shape: number[] } | undefined {
  if (value.length === 0) return undefined;
  if (value.every((v) => typeof v === "number")) return { flat: value as number[], shape: [value.length] };
  if (!value.every(Array.isArray)) return undefined;
  const rows = (value as unknown[][]).map(rectangularNumbers);
  if (rows.some((r) => r === undefined)) return undefined;
  const first = rows[0]!.shape;
  if (!rows.every((r) => r!.shape.length === first.length && r!.shape.every((d, i) => d === first[i]))) return undefined;
  return { flat: rows.flatMap((r) => r!.flat), shape: [rows.length, ...first] };
}

/**
 * Writes a JSON-able value as h5rw would write the equivalent Python value: objects as 'dict' groups, strings as
 * 'string', numbers as 'scalar' (integers int64, others float64, as numpy does for Python int and float), booleans
 * as int8 'scalar' (h5py's bool enum is not writable here; PtyPy reads 0/1), null as 'None', rectangular number
 * lists as 'arraylist', other lists as 'list' groups of '%05d' members. Keys containing '/' are escaped as h5rw does.
 */
export function writeH5rwValue(group: H5Group, name: string, value: unknown): void {
  const escaped = name.includes("/");
  const key = escaped ? name.split("/").join("_SLASH_") : name;
  const node = writeH5rwNode(group, key, value);
  if (escaped && node) node.create_attribute("escaped", "1");
}

function writeH5rwNode(group: H5Group, name: string, value: unknown): H5Group | H5Dataset | undefined {
  if (value === undefined) return undefined;
  if (value === null) return writeNone(group, name);
  if (typeof value === "string") return writeString(group, name, value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return writeScalar(group, name, value, DTYPE.float64);
    return writeScalar(group, name, value, Number.isInteger(value) ? DTYPE.int64 : DTYPE.float64);
  }
  if (typeof value === "boolean") {
    const dataset = group.create_dataset({ name, data: [value ? 1 : 0], shape: [], dtype: "<b" });
    tagH5rw(dataset, "scalar");
    return dataset;
  }
  if (Array.isArray(value)) {
    const numeric = rectangularNumbers(value);
    if (numeric) {
      const integer = numeric.flat.every(Number.isInteger);
      return writeArray(group, name, numeric.flat, numeric.shape, integer ? DTYPE.int64 : DTYPE.float64, { h5rwType: "arraylist" });
    }
    const list = group.create_group(name);
    tagH5rw(list, "list");
    value.forEach((item, i) => writeH5rwNode(list, String(i).padStart(5, "0"), item));
    return list;
  }
  if (typeof value === "object") {
    const dict = writeDictGroup(group, name);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) writeH5rwValue(dict, k, v);
    return dict;
  }
  throw new Error(`cannot store a ${typeof value} in HDF5 (${name})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Appending whole chunks

/** HDF5 chunks of whole frames, at most this big (h5py's default chunk cache is 1 MiB; one write per chunk). */
export const MAX_H5_CHUNK_BYTES = 4 * 1024 * 1024;

/** The Emscripten module under h5wasm (what `h5.ready` resolves to): HDF5's entry points and the wasm heap. */
export type H5Module = Awaited<H5["ready"]>;

export async function h5Module(h5: H5): Promise<H5Module> {
  return h5.ready;
}

/**
 * A resizable dataset (0, ...frameShape) -> (n, ...frameShape), extended by whole chunks of frames.
 *
 * The dataset is created on the first append so its HDF5 chunks hold exactly the frames one append brings (the
 * pipeline's chunk size, capped at MAX_H5_CHUNK_BYTES): each write fills whole HDF5 chunks and goes straight to
 * disk. Appends call h5wasm's own entry points (`resize_dataset`, `set_dataset_data`) with a staging buffer kept in
 * the wasm heap: `Dataset.write_slice` re-reads the dataset's metadata after every resize and allocates per call,
 * which measured 2-4x slower than h5py for 128 x 128 chunks here.
 */
export class AppendableDataset {
  private length = 0;
  private datasetPath: string | undefined;
  private chunkFrames = 0;
  private staging = 0;
  private stagingBytes = 0;
  private readonly frameSize: number;

  constructor(
    private readonly module: H5Module,
    private readonly group: H5Group,
    private readonly name: string,
    private readonly frameShape: number[],
    private readonly dtype: H5Dtype,
    private readonly compression: Compression = NO_COMPRESSION,
    /** Frames per HDF5 chunk; by default those of the first append. */
    private readonly fixedChunkFrames?: number,
  ) {
    this.frameSize = frameShape.reduce((a, b) => a * b, 1);
  }

  get frames(): number {
    return this.length;
  }

  append(data: NumericArray, count: number): void {
    if (count === 0) return;
    if (data.length !== count * this.frameSize) {
      throw new Error(`${this.group.path}/${this.name}: ${count} frames of ${this.frameShape.join("x")} need ${count * this.frameSize} values, got ${data.length}`);
    }
    const datasetPath = this.datasetPath ?? this.create(count, data.BYTES_PER_ELEMENT);
    const fileId = this.group.file_id;
    const start = this.length;
    const tail = this.frameShape.map(BigInt);
    check(this.module.resize_dataset(fileId, datasetPath, [BigInt(start + count), ...tail]), `resize ${datasetPath}`);
    // One write per run of whole HDF5 chunks (a large batch of raw frames goes chunk by chunk: a smaller buffer).
    for (let first = 0; first < count; first += this.chunkFrames) {
      const n = Math.min(this.chunkFrames, count - first);
      const part = data.subarray(first * this.frameSize, (first + n) * this.frameSize);
      const pointer = this.stage(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
      const offset = [BigInt(start + first), ...tail.map(() => 0n)];
      const extent = [BigInt(n), ...tail];
      const strides = extent.map(() => 1n);
      check(this.module.set_dataset_data(fileId, datasetPath, extent, offset, strides, BigInt(pointer)), `write ${datasetPath}`);
    }
    this.length = start + count;
  }

  /** Frees the staging buffer (the dataset itself stays in the file). */
  release(): void {
    if (this.staging !== 0) this.module._free(this.staging);
    this.staging = 0;
    this.stagingBytes = 0;
  }

  private stage(bytes: Uint8Array): number {
    if (bytes.byteLength > this.stagingBytes) {
      this.release();
      this.staging = this.module._malloc(bytes.byteLength);
      if (this.staging === 0) throw new Error(`${this.group.path}/${this.name}: cannot allocate ${bytes.byteLength} bytes in the wasm heap`);
      this.stagingBytes = bytes.byteLength;
    }
    this.module.HEAPU8.set(bytes, this.staging); // HEAPU8 is read after malloc: the heap may have grown
    return this.staging;
  }

  private create(firstCount: number, bytesPerValue: number): string {
    const fitting = Math.max(1, Math.floor(MAX_H5_CHUNK_BYTES / (this.frameSize * bytesPerValue)));
    this.chunkFrames = Math.max(1, Math.min(this.fixedChunkFrames ?? firstCount, fitting));
    const dataset = this.group.create_dataset({
      name: this.name,
      data: EMPTY[this.dtype](),
      shape: [0, ...this.frameShape],
      maxshape: [null, ...this.frameShape],
      chunks: [this.chunkFrames, ...this.frameShape],
      dtype: this.dtype,
      ...compressionArgs(this.compression),
    });
    this.datasetPath = dataset.path;
    return dataset.path;
  }
}

/**
 * Rewrites a 0-d numeric dataset in place (h5wasm's `write_slice` cannot select in a scalar dataspace; HDF5's
 * whole-dataset write can).
 */
export function overwriteScalar(module: H5Module, dataset: H5Dataset, value: number, dtype: typeof DTYPE.int64 | typeof DTYPE.float64): void {
  const bytes = new Uint8Array(dtype === DTYPE.int64 ? BigInt64Array.of(BigInt(value)).buffer : Float64Array.of(value).buffer);
  const pointer = module._malloc(bytes.byteLength);
  try {
    module.HEAPU8.set(bytes, pointer);
    check(module.set_dataset_data(dataset.file_id, dataset.path, null, null, null, BigInt(pointer)), `rewrite ${dataset.path}`);
  } finally {
    module._free(pointer);
  }
}

function check(status: number, what: string): void {
  if (status < 0) throw new Error(`HDF5 failed to ${what} (status ${status})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Complex arrays

/** numpy/h5py's complex64: a compound of float32 `r` and `i`; h5py reads it back as complex64. */
export const COMPLEX64_DTYPE: [string, string][] = [
  ["r", DTYPE.float32],
  ["i", DTYPE.float32],
];

/** Interleaved (re, im) float32 -> the column map h5wasm writes as a compound. */
export function complexColumns(interleaved: Float32Array): Map<string, Float32Array> {
  const n = interleaved.length / 2;
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    re[k] = interleaved[2 * k];
    im[k] = interleaved[2 * k + 1];
  }
  return new Map([
    ["r", re],
    ["i", im],
  ]);
}

export function writeComplex(group: H5Group, name: string, interleaved: Float32Array, shape: number[]): H5Dataset {
  return group.create_dataset({ name, data: complexColumns(interleaved), shape, dtype: COMPLEX64_DTYPE });
}

// ---------------------------------------------------------------------------------------------------------------
// Opening

/**
 * Creates `filePath` (and its directory) for writing. h5wasm returns a dead handle instead of throwing when the
 * file cannot be created, so the location is checked with the file system first: the error names the path and
 * the operating system's reason.
 *
 * HDF5 should create the file itself: ext4 (auto_da_alloc) writes a truncated-then-rewritten file back
 * synchronously when it is closed, 7-60 ms per 130 MB file here (bench `store-raw`). So the probe file is removed
 * again, and an existing writable regular file is replaced (a reader holding it keeps the old one; the new file has
 * the process's default mode). A read-only file is refused as before; a symlink, or a file in a directory that
 * does not let us replace it, is truncated and written through as before.
 */
export function createH5File(h5: H5, filePath: string): H5File {
  const absolute = path.resolve(filePath);
  try {
    fs.mkdirSync(path.dirname(absolute), { recursive: true });
    const existing = fs.lstatSync(absolute, { throwIfNoEntry: false });
    if (existing?.isFile()) fs.accessSync(absolute, fs.constants.W_OK);
    if (existing === undefined || (existing.isFile() && unlinked(absolute))) {
      fs.closeSync(fs.openSync(absolute, "wx"));
      fs.unlinkSync(absolute);
    } else {
      fs.closeSync(fs.openSync(absolute, "w"));
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot write ${absolute}: ${reason}`);
  }
  const file = new h5.File(absolute, "w");
  if (file.file_id < 0n) throw new Error(`cannot write ${absolute}: HDF5 could not create the file`);
  return file;
}

function unlinked(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a file and lays out its fixed part with `layout`, flushed so a reader sees it at once; if the layout
 * fails, the file is closed (valid) before the error goes on.
 */
export function createLaidOutFile<T>(h5: H5, filePath: string, layout: (file: H5File) => T): { file: H5File; parts: T } {
  const file = createH5File(h5, filePath);
  try {
    const parts = layout(file);
    file.flush();
    return { file, parts };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Bytes of the payload arrays, for the sink summary. */
export function payloadBytes(...arrays: ArrayBufferView[]): number {
  return arrays.reduce((sum, a) => sum + a.byteLength, 0);
}
