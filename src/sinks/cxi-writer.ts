/**
 * CXI (cxidb.org, version 1.4 layout), as PtyPy, ptychodus and SHARP read it:
 *
 *   cxi_version                                   int32 140
 *   entry_1/start_time                            ISO 8601 string
 *   entry_1/instrument_1/source_1/energy          float64 [J]
 *   entry_1/instrument_1/detector_1/data          (frames, N, N) float32, resizable, appended per chunk
 *                                  /distance      float64 [m]
 *                                  /x_pixel_size, y_pixel_size   float64 [m] (effective, after crop/bin/resample)
 *                                  /translation   -> soft link to sample_1/geometry_1/translation
 *   entry_1/sample_1/geometry_1/translation       (frames, 3) float64 (x, y, z) [m], resizable
 *   entry_1/data_1/data, translation              soft links to the two above
 *   entry_1/instrument_1/detector_2/data          raw frames (frames, rows, cols) uint16, resizable (optional)
 *                                  /data_dark     raw dark frames, resizable (optional)
 *   entry_1/image_<k>/data, probe                 complex64 (compound r, i: h5py reads complex64), from
 *                                                 `writeImage`, with x_pixel_size, y_pixel_size [m]
 *
 * The frame datasets are created with the first chunk (their HDF5 chunks hold one pipeline chunk of frames, so
 * each append is one whole-chunk write); before it, the data_1 links point at nothing yet.
 *
 * Translations are the scan-control positions, (y, x) in the stream -> (x, y, 0) here, same sign (the stage
 * motion as the scan control states it); `.ptyd` positions are the same numbers as (y, x).
 */
import { Chunk, ComplexImage, ScanMeta } from "../model/scan";
import type { H5, H5File, H5Group } from "../runtime/h5wasm";
import { loadH5wasm } from "../runtime/h5wasm";
import { ChunkWriter, JOULES_PER_EV } from "./chunk-writer";
import { AppendableDataset, Compression, DTYPE, H5Module, NO_COMPRESSION, createLaidOutFile, h5Module, payloadBytes, writeComplex } from "./h5-layout";

export interface CxiWriterOptions {
  path: string;
  compression?: Compression;
  /** Shape of raw frames (rows, cols) when they are stored too (uint16, e.g. 960 x 1152). */
  rawFrameShape?: [number, number];
}

export const CXI_VERSION = 140;

/** What `writeImage` stores: a reconstruction's object and probe. */
export interface CxiImage {
  object: ComplexImage;
  probe: ComplexImage;
  /** Object pixel size (y, x) [m]. */
  objectPixelSizeM: [number, number];
  iteration?: number;
  error?: number;
}

const DETECTOR = "/entry_1/instrument_1/detector_1";
const SAMPLE_TRANSLATION = "/entry_1/sample_1/geometry_1/translation";

export class CxiWriter implements ChunkWriter {
  readonly path: string;
  private readonly file: H5File;
  private readonly entry: H5Group;
  private readonly frames: AppendableDataset;
  private readonly translations: AppendableDataset;
  private readonly rawFrames?: AppendableDataset;
  private readonly rawDarks?: AppendableDataset;
  private bytes = 0;
  private closed = false;

  static async open(options: CxiWriterOptions, meta: ScanMeta): Promise<CxiWriter> {
    const h5 = await loadH5wasm();
    return new CxiWriter(h5, await h5Module(h5), options, meta);
  }

  constructor(h5: H5, module: H5Module, options: CxiWriterOptions, meta: ScanMeta) {
    const compression = options.compression ?? NO_COMPRESSION;
    const { file, parts } = createLaidOutFile(h5, options.path, (created) => {
      created.create_dataset({ name: "cxi_version", data: CXI_VERSION, shape: [], dtype: DTYPE.int32 });
      const entry = created.create_group("entry_1");
      entry.create_dataset({ name: "start_time", data: new Date().toISOString() });
      const instrument = entry.create_group("instrument_1");
      instrument.create_group("source_1").create_dataset({ name: "energy", data: meta.energyEv * JOULES_PER_EV, shape: [], dtype: DTYPE.float64 });
      const detector = instrument.create_group("detector_1");
      const [rows, cols] = meta.frameShape;
      const frames = new AppendableDataset(module, detector, "data", [rows, cols], DTYPE.float32, compression);
      detector.create_dataset({ name: "distance", data: meta.distanceM, shape: [], dtype: DTYPE.float64 });
      for (const axis of ["x", "y"]) detector.create_dataset({ name: `${axis}_pixel_size`, data: meta.pixelSizeM, shape: [], dtype: DTYPE.float64 });
      const geometry = entry.create_group("sample_1").create_group("geometry_1");
      // HDF5 chunks of one append's rows too: h5wasm closes the dataset after each call, which drops HDF5's chunk
      // cache, so a partly filled chunk would be read back from disk on every append.
      const translations = new AppendableDataset(module, geometry, "translation", [3], DTYPE.float64);
      detector.create_soft_link(SAMPLE_TRANSLATION, "translation");
      const data = entry.create_group("data_1");
      data.create_soft_link(`${DETECTOR}/data`, "data");
      data.create_soft_link(SAMPLE_TRANSLATION, "translation");
      if (!options.rawFrameShape) return { entry, frames, translations };
      const raw = instrument.create_group("detector_2");
      const rawFrames = new AppendableDataset(module, raw, "data", options.rawFrameShape, DTYPE.uint16, compression);
      const rawDarks = new AppendableDataset(module, raw, "data_dark", options.rawFrameShape, DTYPE.uint16, compression);
      return { entry, frames, translations, rawFrames, rawDarks };
    });
    this.file = file;
    this.path = file.filename;
    this.entry = parts.entry;
    this.frames = parts.frames;
    this.translations = parts.translations;
    this.rawFrames = parts.rawFrames;
    this.rawDarks = parts.rawDarks;
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  get framesWritten(): number {
    return this.frames.frames;
  }

  append(chunk: Chunk): void {
    this.assertOpen();
    const translation = new Float64Array(chunk.count * 3);
    for (let i = 0; i < chunk.count; i++) {
      translation[3 * i] = chunk.positionsYX[2 * i + 1];
      translation[3 * i + 1] = chunk.positionsYX[2 * i];
    }
    this.frames.append(chunk.data, chunk.count);
    this.translations.append(translation, chunk.count);
    this.file.flush();
    this.bytes += payloadBytes(chunk.data, translation);
  }

  /** Raw detector frames (uint16, rows x cols each), a whole batch per call. */
  appendRaw(frames: Uint16Array, count: number): void {
    this.assertOpen();
    if (!this.rawFrames) throw new Error(`${this.path}: raw frames were not enabled (rawFrameShape)`);
    this.rawFrames.append(frames, count);
    this.file.flush();
    this.bytes += frames.byteLength;
  }

  appendDarks(frames: Uint16Array, count: number): void {
    this.assertOpen();
    if (!this.rawDarks) throw new Error(`${this.path}: raw frames were not enabled (rawFrameShape)`);
    this.rawDarks.append(frames, count);
    this.file.flush();
    this.bytes += frames.byteLength;
  }

  /**
   * Before the first frame the effective pixel size may still change (crop/bin/resample); the file keeps the one
   * its frames have. h5wasm cannot rewrite 0-d datasets, so only the first value is stored.
   */
  updateMeta(_meta: ScanMeta): void {}

  /** Adds `entry_1/image_<k>` (k = 1, 2 ...) while the file is open; see `appendCxiImage` once it is closed. */
  writeImage(image: CxiImage): string {
    this.assertOpen();
    const written = writeCxiImage(this.entry, image);
    this.file.flush();
    return written;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const dataset of [this.frames, this.translations, this.rawFrames, this.rawDarks]) dataset?.release();
    this.file.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
  }
}

/** Writes `entry_1/image_<k>` with the next free k: object and probe complex64, object pixel size. */
function writeCxiImage(entry: H5Group, image: CxiImage): string {
  const existing = new Set(entry.keys());
  let k = 1;
  while (existing.has(`image_${k}`)) k += 1;
  const group = entry.create_group(`image_${k}`);
  writeComplex(group, "data", image.object.data, [image.object.rows, image.object.cols]);
  writeComplex(group, "probe", image.probe.data, [image.probe.rows, image.probe.cols]);
  group.create_dataset({ name: "y_pixel_size", data: image.objectPixelSizeM[0], shape: [], dtype: DTYPE.float64 });
  group.create_dataset({ name: "x_pixel_size", data: image.objectPixelSizeM[1], shape: [], dtype: DTYPE.float64 });
  group.create_dataset({ name: "data_type", data: "object" });
  group.create_dataset({ name: "data_space", data: "real" });
  if (image.iteration !== undefined) group.create_dataset({ name: "iteration", data: image.iteration, shape: [], dtype: DTYPE.int32 });
  if (image.error !== undefined) group.create_dataset({ name: "error", data: image.error, shape: [], dtype: DTYPE.float64 });
  return group.path;
}

/**
 * Adds a reconstruction to a CXI file the storage sink has already closed (the final snapshot comes after the
 * scan's `end`): opens it for appending, writes `entry_1/image_<k>`, closes it. Returns the group's path.
 */
export async function appendCxiImage(filePath: string, image: CxiImage): Promise<string> {
  const h5 = await loadH5wasm();
  const file = new h5.File(filePath, "a");
  if (file.file_id < 0n) throw new Error(`cannot open ${filePath} to add an image`);
  try {
    const entry = file.get("entry_1");
    if (!(entry instanceof h5.Group)) throw new Error(`${filePath} has no entry_1: not a CXI file from this writer`);
    return writeCxiImage(entry, image);
  } finally {
    file.close();
  }
}
