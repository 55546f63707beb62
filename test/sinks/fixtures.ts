/** Synthetic scans for the storage sink tests, and the independent reader (python3-h5py). */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Observable, concat, map, of } from "rxjs";
import { EndReason, ScanEvent, endEvent, itemEvent, startEvent } from "../../src/model/events";
import { FCCD_LAYOUT } from "../../src/model/layout";
import { Chunk, ScanMeta } from "../../src/model/scan";
import { CreditGate, fromIterableWithCredits } from "../../src/runtime/credits";
import { ChunkWriter } from "../../src/sinks/chunk-writer";

export const PYTHON = "/usr/bin/python3";
const DUMP_SCRIPT = path.join(__dirname, "h5-dump.py");

export function scanMeta(overrides: Partial<ScanMeta> = {}): ScanMeta {
  return {
    scanId: "scan-007",
    energyEv: 800,
    distanceM: 0.121,
    pixelSizeM: 30e-6,
    exposureTimesS: [0.001, 0.01],
    darksPerExposure: 2,
    numPoints: 10,
    gainAduPerEv: 0.004,
    saturationAdu: 60000,
    layout: FCCD_LAYOUT,
    frameShape: [8, 8],
    centreYX: [480.5, 512.25],
    ...overrides,
  };
}

/** A chunk whose every value says where it came from, so a mix-up anywhere shows in the comparison. */
export function syntheticChunk(chunkIndex: number, firstFrame: number, count: number, meta: ScanMeta): Chunk {
  const [rows, cols] = meta.frameShape;
  const size = rows * cols;
  const chunk: Chunk = {
    chunkIndex,
    count,
    rows,
    cols,
    indices: new Int32Array(count),
    positionsYX: new Float64Array(count * 2),
    data: new Float32Array(count * size),
    weights: new Uint8Array(count * size),
    meta,
  };
  for (let i = 0; i < count; i++) {
    const frame = firstFrame + i;
    chunk.indices[i] = frame;
    chunk.positionsYX[2 * i] = -1.5e-6 * frame + 1e-9; // y [m]
    chunk.positionsYX[2 * i + 1] = 2.25e-6 * frame - 3e-9; // x [m]
    for (let p = 0; p < size; p++) {
      chunk.data[i * size + p] = frame * 1000 + p + 0.25;
      chunk.weights[i * size + p] = (p + frame) % 7 === 0 ? 0 : 1;
    }
  }
  return chunk;
}

/** Chunks of `sizes` frames each, frames numbered on from 0. */
export function syntheticChunks(sizes: number[], meta: ScanMeta): Chunk[] {
  let first = 0;
  return sizes.map((count, chunkIndex) => {
    const chunk = syntheticChunk(chunkIndex, first, count, meta);
    first += count;
    return chunk;
  });
}

/** start, the chunks (read only while credits are free), end. */
export function scanEvents(chunks: Chunk[], meta: ScanMeta, gate: CreditGate, reason: EndReason = "stop"): Observable<ScanEvent<Chunk>> {
  return concat(
    of(startEvent(meta) as ScanEvent<Chunk>),
    fromIterableWithCredits(chunks, gate).pipe(map((item) => itemEvent(item) as ScanEvent<Chunk>)),
    of(endEvent(meta, reason) as ScanEvent<Chunk>),
  );
}

export interface DumpedNode {
  kind: "group" | "dataset" | "softlink";
  target?: string;
  dtype?: string;
  shape?: number[];
  maxshape?: number[];
  compression?: string | null;
  value?: unknown;
  attrs?: Record<string, { value: unknown; dtype: string }>;
}

/** Every group, dataset, attribute and link of an HDF5 file, as h5py reads it. */
export function dumpH5(file: string): Record<string, DumpedNode> {
  return JSON.parse(execFileSync(PYTHON, [DUMP_SCRIPT, file], { maxBuffer: 256 * 1024 * 1024 }).toString());
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Nested lists of an n-d array, as h5py's tolist() gives them. */
export function nested(flat: ArrayLike<number>, shape: number[]): unknown {
  if (shape.length <= 1) return Array.from(flat);
  const step = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nested(Array.prototype.slice.call(flat, i * step, (i + 1) * step), shape.slice(1)));
}

/** Wraps a writer so each append takes at least `delayMs` more (a slow disk), or runs a hook after it. */
export function slowed(writer: ChunkWriter, delayMs: number, afterAppend?: (writer: ChunkWriter) => void): ChunkWriter {
  return {
    get path() {
      return writer.path;
    },
    get bytesWritten() {
      return writer.bytesWritten;
    },
    async append(chunk) {
      await writer.append(chunk);
      afterAppend?.(writer);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    },
    updateMeta: (meta) => writer.updateMeta(meta),
    close: () => writer.close(),
  };
}
