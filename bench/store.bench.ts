/**
 * Storage throughput: MB/s of frame data appended to a CXI file by `CxiWriter` (whole chunks per HDF5 call, a
 * flush after each chunk so a reader can open the file at any time), against python3-h5py writing the same layout
 * from the same bytes in the same run (bench/store-h5py.py). Target: >= 0.8x h5py uncompressed; gzip is reported.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { Chunk, ScanMeta } from "../src/model/scan";
import { FCCD_LAYOUT, rawShape } from "../src/model/layout";
import { CxiWriter } from "../src/sinks/cxi-writer";
import { PtydWriter } from "../src/sinks/ptyd-writer";
import { Compression } from "../src/sinks/h5-layout";
import { Bench, Measurement } from "./harness";

const PYTHON = "/usr/bin/python3";
const BASELINE_SCRIPT = path.join(__dirname, "store-h5py.py");
const HAVE_H5PY = spawnSync(PYTHON, ["-c", "import h5py"]).status === 0;
const NO_BASELINE_NOTE = `no baseline: ${PYTHON} cannot import h5py (apt-get install python3-h5py)`;

type Mode = "processed" | "raw" | "ptyd";

const WARM_UP_RUNS = 3;

interface Case {
  name: string;
  mode: Mode;
  frames: number;
  rows: number;
  cols: number;
  /** Frames per HDF5 call: a chunk of processed frames, a batch of raw ones. */
  perCall: number;
  compression: Compression;
}

const [RAW_ROWS, RAW_COLS] = rawShape(FCCD_LAYOUT);
const CASES: Case[] = [
  { name: "store-128", mode: "processed", frames: 1000, rows: 128, cols: 128, perCall: 10, compression: { kind: "none" } },
  { name: "store-256", mode: "processed", frames: 400, rows: 256, cols: 256, perCall: 10, compression: { kind: "none" } },
  { name: "store-raw", mode: "raw", frames: 60, rows: RAW_ROWS, cols: RAW_COLS, perCall: 4, compression: { kind: "none" } },
  { name: "store-128-gzip", mode: "processed", frames: 1000, rows: 128, cols: 128, perCall: 10, compression: { kind: "gzip", level: 1 } },
  // The .ptyd layout (a group of four datasets per chunk, weights included); MB/s counts the frame data only.
  { name: "store-ptyd-128", mode: "ptyd", frames: 1000, rows: 128, cols: 128, perCall: 10, compression: { kind: "none" } },
];

function meta(rows: number, cols: number): ScanMeta {
  return {
    scanId: "bench",
    energyEv: 800,
    distanceM: 0.121,
    pixelSizeM: 30e-6,
    exposureTimesS: [0.001],
    darksPerExposure: 0,
    numPoints: 0,
    gainAduPerEv: 0.004,
    saturationAdu: 60000,
    layout: FCCD_LAYOUT,
    frameShape: [rows, cols],
  };
}

/** Processed frames look like photon counts after the noise floor: mostly zeros, some small values. */
function processedFrames(frames: number, rows: number, cols: number): Float32Array {
  const data = new Float32Array(frames * rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 97 < 60 ? 0 : ((i * 40503) % 1000) / 10;
  return data;
}

function rawFrames(frames: number, rows: number, cols: number): Uint16Array {
  const data = new Uint16Array(frames * rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = 1000 + ((i * 40503) % 500);
  return data;
}

function chunksOf(data: Float32Array, c: Case): Chunk[] {
  const size = c.rows * c.cols;
  const m = meta(c.rows, c.cols);
  const chunks: Chunk[] = [];
  for (let first = 0, index = 0; first < c.frames; first += c.perCall, index++) {
    const count = Math.min(c.perCall, c.frames - first);
    chunks.push({
      chunkIndex: index,
      count,
      rows: c.rows,
      cols: c.cols,
      indices: Int32Array.from({ length: count }, (_, i) => first + i),
      positionsYX: Float64Array.from({ length: 2 * count }, (_, i) => i * 1e-7),
      data: data.subarray(first * size, (first + count) * size),
      weights: new Uint8Array(count * size).fill(1),
      meta: m,
    });
  }
  return chunks;
}

function benchFor(c: Case): Bench {
  let dir = "";
  let sourceFile = "";
  let chunks: Chunk[] = [];
  let raw: Uint16Array = new Uint16Array(0);
  const bytes = c.frames * c.rows * c.cols * (c.mode === "raw" ? 2 : 4);
  const target = () => path.join(dir, `${c.name}.${c.mode === "ptyd" ? "ptyd" : "cxi"}`);

  const measure = async (): Promise<Measurement> => {
    const started = performance.now();
    if (c.mode === "ptyd") {
      const ptyd = await PtydWriter.open({ path: target() }, meta(c.rows, c.cols));
      for (const chunk of chunks) ptyd.append(chunk);
      ptyd.close();
      return finish(started);
    }
    const processedShape: [number, number] = c.mode === "raw" ? [8, 8] : [c.rows, c.cols];
    const writer = await CxiWriter.open({ path: target(), compression: c.compression, rawFrameShape: c.mode === "raw" ? [c.rows, c.cols] : undefined }, meta(...processedShape));
    if (c.mode === "raw") {
      const size = c.rows * c.cols;
      for (let first = 0; first < c.frames; first += c.perCall) {
        const count = Math.min(c.perCall, c.frames - first);
        writer.appendRaw(raw.subarray(first * size, (first + count) * size), count);
      }
    } else {
      for (const chunk of chunks) writer.append(chunk);
    }
    writer.close();
    return finish(started);
  };

  const finish = (started: number): Measurement => {
    const seconds = (performance.now() - started) / 1000;
    const fileMb = fs.statSync(target()).size / 1e6;
    fs.rmSync(target());
    return { value: bytes / seconds / 1e6, detail: { frames: c.frames, frameShape: `${c.rows}x${c.cols}`, perCall: c.perCall, dataMb: +(bytes / 1e6).toFixed(1), fileMb: +fileMb.toFixed(1), ...(HAVE_H5PY ? {} : { note: NO_BASELINE_NOTE }) } };
  };

  const baseline = {
    name: "python3-h5py",
    measure: (): number => {
      const args = [BASELINE_SCRIPT, c.mode, target(), sourceFile, c.frames, c.rows, c.cols, c.perCall, c.compression.kind].map(String);
      const result = JSON.parse(execFileSync(PYTHON, args).toString()) as { mbPerS: number };
      fs.rmSync(target());
      return result.mbPerS;
    },
  };

  return {
    name: c.name,
    unit: "MB/s",
    higherIsBetter: true,
    runs: 7,
    setup: async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "store-bench-"));
      sourceFile = path.join(dir, "frames.bin");
      if (c.mode === "raw") {
        raw = rawFrames(c.frames, c.rows, c.cols);
        fs.writeFileSync(sourceFile, raw);
      } else {
        const data = processedFrames(c.frames, c.rows, c.cols);
        chunks = chunksOf(data, c);
        fs.writeFileSync(sourceFile, data);
      }
      // h5wasm's WebAssembly is compiled lazily and tiered up while it runs: warm it up untimed, as h5py's C is.
      for (let i = 0; i < WARM_UP_RUNS; i++) await measure();
    },
    measure,
    ...(HAVE_H5PY ? { baseline } : {}),
    teardown: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export const benches: Bench[] = CASES.map(benchFor);
