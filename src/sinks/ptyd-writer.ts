/**
 * PtyPy prepared data (`.ptyd`), the layout PtyPy's `PtydScan` reads through `io.h5read` (ptypy/core/data.py,
 * ptypy/io/h5rw.py):
 *
 *   /                 attrs h5rw_version '0.1', ctime, mtime (as h5rw writes them)
 *   meta/   'dict'    version 0.1, num_frames, label, shape (2,) int64, energy [keV], distance [m], center (2,)
 *                     float64 (y, x) in frame pixels, psize [m], propagation 'farfield'
 *   info/   'dict'    the preprocessing parameters, as h5rw stores a Python dict
 *   chunks/ 'dict'    0/, 1/ ... 'dict': data (M,N,N) float32, indices (M) int32, positions (M,2) float64 (y, x) [m],
 *                     weights (M,N,N) uint8 — each 'array'
 *
 * Chunk groups are numbered by what was written (0, 1, 2 ...), not by the stream's chunk index: PtydScan requires
 * `chunks/0` and reads frames chunk after chunk, so a chunk skipped under `bypass` leaves no hole.
 * `meta/center` is the centre in the stored frames: preprocessing crops around the beam centre, so it is
 * (rows/2, cols/2) unless told otherwise; the centre found on the detector image belongs in `info/`.
 * `num_frames` is the scan's number of points while the scan runs (what PtyPy expects to come) and is rewritten at
 * close to the frames actually in the file: after an abort or skipped chunks, a larger promise would make PtyPy
 * wait for frames that never come.
 */
import { Chunk, ScanMeta } from "../model/scan";
import type { H5, H5Dataset, H5File, H5Group } from "../runtime/h5wasm";
import { loadH5wasm } from "../runtime/h5wasm";
import { ChunkWriter } from "./chunk-writer";
import {
  Compression,
  DTYPE,
  NO_COMPRESSION,
  H5Module,
  createLaidOutFile,
  h5Module,
  overwriteScalar,
  payloadBytes,
  writeArray,
  writeDictGroup,
  writeH5rwValue,
  writeScalar,
  writeString,
} from "./h5-layout";

export interface PtydWriterOptions {
  path: string;
  /** The preprocessing parameters (JSON-able), stored under `info/`. */
  info?: Record<string, unknown>;
  compression?: Compression;
  /** Centre of the diffraction pattern in the stored frames (y, x); default (rows/2, cols/2). */
  centreInFrameYX?: [number, number];
}

export const PTYD_VERSION = 0.1;

export class PtydWriter implements ChunkWriter {
  readonly path: string;
  private readonly file: H5File;
  private readonly chunksGroup: H5Group;
  private readonly numFrames: H5Dataset;
  private readonly compression: Compression;
  private chunksWritten = 0;
  private framesWritten = 0;
  private bytes = 0;
  private closed = false;

  static async open(options: PtydWriterOptions, meta: ScanMeta): Promise<PtydWriter> {
    const h5 = await loadH5wasm();
    return new PtydWriter(h5, await h5Module(h5), options, meta);
  }

  constructor(
    h5: H5,
    private readonly module: H5Module,
    options: PtydWriterOptions,
    meta: ScanMeta,
  ) {
    this.compression = options.compression ?? NO_COMPRESSION;
    const { file, parts } = createLaidOutFile(h5, options.path, (created) => {
      const now = new Date().toString();
      created.create_attribute("h5rw_version", "0.1");
      created.create_attribute("ctime", now);
      created.create_attribute("mtime", now);
      const numFrames = writePtydMeta(writeDictGroup(created, "meta"), meta, options.centreInFrameYX);
      writeH5rwValue(created, "info", options.info ?? {});
      return { numFrames, chunksGroup: writeDictGroup(created, "chunks") };
    });
    this.file = file;
    this.path = file.filename;
    this.numFrames = parts.numFrames;
    this.chunksGroup = parts.chunksGroup;
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  get frames(): number {
    return this.framesWritten;
  }

  append(chunk: Chunk): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
    const { count, rows, cols } = chunk;
    const group = writeDictGroup(this.chunksGroup, String(this.chunksWritten));
    writeArray(group, "data", chunk.data, [count, rows, cols], DTYPE.float32, { compression: this.compression });
    writeArray(group, "indices", chunk.indices, [count], DTYPE.int32);
    writeArray(group, "positions", chunk.positionsYX, [count, 2], DTYPE.float64);
    writeArray(group, "weights", chunk.weights, [count, rows, cols], DTYPE.uint8, { compression: this.compression });
    this.file.flush();
    this.chunksWritten += 1;
    this.framesWritten += count;
    this.bytes += payloadBytes(chunk.data, chunk.indices, chunk.positionsYX, chunk.weights);
  }

  /** The `.ptyd` meta is fixed once frames are written (PtyPy reads it once); later changes are not applied. */
  updateMeta(_meta: ScanMeta): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      overwriteScalar(this.module, this.numFrames, this.framesWritten, DTYPE.int64);
    } finally {
      this.file.close();
    }
  }
}

/** Writes meta/; returns its num_frames dataset (rewritten at close). */
function writePtydMeta(group: H5Group, meta: ScanMeta, centreInFrameYX?: [number, number]): H5Dataset {
  const [rows, cols] = meta.frameShape;
  const centre = centreInFrameYX ?? [rows / 2, cols / 2];
  writeScalar(group, "version", PTYD_VERSION);
  const numFrames = writeScalar(group, "num_frames", meta.numPoints, DTYPE.int64);
  writeString(group, "label", meta.scanId);
  writeArray(group, "shape", [rows, cols], [2], DTYPE.int64);
  writeScalar(group, "energy", meta.energyEv / 1000); // PtyPy: keV
  writeScalar(group, "distance", meta.distanceM);
  writeArray(group, "center", new Float64Array(centre), [2], DTYPE.float64);
  writeScalar(group, "psize", meta.pixelSizeM);
  writeString(group, "propagation", "farfield");
  return numFrames;
}
