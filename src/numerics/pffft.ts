/**
 * A 2-D complex FFT on PFFFT compiled to WebAssembly with SIMD (`@echogarden/pffft-wasm`), about 2-3x faster
 * than fft.js at the engines' frame sizes. The package is ESM-only and its loader is asynchronous, so the .wasm
 * is instantiated here directly and synchronously (its three imports are trivial), which works the same under
 * ts-node, jest and worker threads. `createFFT2D` picks it when it loads and the size suits PFFFT (complex
 * transforms of a multiple of 16 points), and falls back to fft.js (`FFT2D`) otherwise.
 *
 * PFFFT works in float32; the engines keep their waves in float32 anyway (as PtyPy's complex64), so this costs no
 * accuracy that matters. Layout and normalisation are FFT2D's: interleaved, forward unnormalised, inverse / (rows x cols).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ComplexArray, FFT2D } from "./fft2d";

/** What the engines need of a 2-D FFT. */
export interface Transform2D {
  readonly rows: number;
  readonly cols: number;
  forward(data: ComplexArray): void;
  inverse(data: ComplexArray): void;
}

/** The little of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface PffftExports {
  memory: WasmMemory;
  newSetup(n: number, complex: number): number;
  malloc(bytes: number): number;
  transformOrdered(setup: number, input: number, output: number, work: number, backward: number): void;
}

const PFFFT_COMPLEX = 1;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;
const WASM_PAGE = 65536;

let loaded: PffftExports | null | undefined;

/** The SIMD .wasm of the package, found by walking up to node_modules (its "exports" map hides the file from require.resolve). */
function wasmFile(): string | null {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "node_modules", "@echogarden", "pffft-wasm", "dist", "simd", "pffft.wasm");
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The PFFFT module, instantiated once per thread; null when it cannot load (no package, no wasm SIMD). */
export function loadPffft(): PffftExports | null {
  if (loaded !== undefined) return loaded;
  try {
    const file = wasmFile();
    if (file === null) return (loaded = null);
    const module = new wasm.Module(fs.readFileSync(file));
    let memory: WasmMemory | undefined;
    // The emscripten imports, by their minified names (pffft.js: a = assert_fail, b = resize_heap, c = memcpy).
    const imports = {
      a: {
        a: () => {
          throw new Error("PFFFT assertion failed");
        },
        b: (requested: number) => {
          const mem = memory as WasmMemory;
          const missing = (requested >>> 0) - mem.buffer.byteLength;
          if (missing > 0) mem.grow(Math.ceil(missing / WASM_PAGE));
          return 1;
        },
        c: (dest: number, src: number, count: number) => {
          const heap = new Uint8Array((memory as WasmMemory).buffer);
          heap.copyWithin(dest, src, src + count);
        },
      },
    };
    const instance = new wasm.Instance(module, imports);
    const e = instance.exports as Record<string, unknown>;
    memory = e.d as WasmMemory;
    (e.e as () => void)();
    loaded = {
      memory,
      malloc: e.f as (bytes: number) => number,
      newSetup: e.k as (n: number, complex: number) => number,
      transformOrdered: e.p as PffftExports["transformOrdered"],
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

/**
 * A wave and its far field worked on in place, for the engines' Fourier step: write the wave into `spatial`,
 * `toSpectrum()`, work on `spectrum`, `toSpatial()`, read `spatial` times `inverseScale`. The spectrum's layout is
 * the FFT's own: zero frequency at (0, 0), and transposed when `spectrumTransposed` (PFFFT saves two of its four
 * transposes that way); per-pixel data compared with it (measured moduli, masks) must be stored alike
 * (`toSpectrumLayout`).
 */
export interface FarField {
  readonly spatial: ComplexArray;
  readonly spectrum: ComplexArray;
  readonly spectrumTransposed: boolean;
  /** What `toSpatial()` leaves out of the inverse's 1 / (rows x cols). */
  readonly inverseScale: number;
  toSpectrum(): void;
  toSpatial(): void;
}

/**
 * Rows then columns, each pass as PFFFT 1-D transforms over contiguous lines in wasm memory: the row pass works
 * on the image in place, the column pass on its transpose, so PFFFT always sees contiguous data.
 */
export class PffftFFT2D implements Transform2D, FarField {
  readonly spectrumTransposed = true;
  readonly inverseScale: number;
  private readonly pffft: PffftExports;
  private readonly rowSetup: number;
  private readonly colSetup: number;
  /** Byte offsets in wasm memory: the image, its transpose, PFFFT's work line. */
  private readonly imageAt: number;
  private readonly transposedAt: number;
  private readonly workAt: number;
  private heapBuffer: ArrayBuffer | null = null;
  private image = new Float32Array(0);
  private transposed = new Float32Array(0);
  /** The same two buffers seen as one float64 per complex value, so a transpose moves each pair in one access. */
  private imagePairs = new Float64Array(0);
  private transposedPairs = new Float64Array(0);

  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    const pffft = loadPffft();
    if (pffft === null) throw new Error("PFFFT is not available");
    if (!pffftSuits(rows) || !pffftSuits(cols)) throw new Error(`PFFFT needs sizes that are multiples of 16, got ${rows} x ${cols}`);
    this.pffft = pffft;
    this.inverseScale = 1 / (rows * cols);
    this.rowSetup = pffft.newSetup(cols, PFFFT_COMPLEX);
    this.colSetup = rows === cols ? this.rowSetup : pffft.newSetup(rows, PFFFT_COMPLEX);
    const bytes = 8 * rows * cols;
    this.imageAt = pffft.malloc(bytes);
    this.transposedAt = pffft.malloc(bytes);
    this.workAt = pffft.malloc(8 * Math.max(rows, cols));
    if (!this.rowSetup || !this.colSetup || !this.imageAt || !this.transposedAt || !this.workAt) throw new Error("PFFFT could not allocate");
  }

  /** The image in wasm memory (rows x cols). */
  get spatial(): Float32Array {
    this.views();
    return this.image;
  }

  /** Its transform, transposed (cols x rows). */
  get spectrum(): Float32Array {
    this.views();
    return this.transposed;
  }

  /** spatial -> spectrum (transposed, unnormalised). */
  toSpectrum(): void {
    this.views();
    this.lines(this.imageAt, this.rows, this.cols, this.rowSetup, PFFFT_FORWARD);
    transposePairs(this.imagePairs, this.transposedPairs, this.rows, this.cols);
    this.lines(this.transposedAt, this.cols, this.rows, this.colSetup, PFFFT_FORWARD);
  }

  /** spectrum -> spatial, without the 1 / (rows x cols). */
  toSpatial(): void {
    this.views();
    this.lines(this.transposedAt, this.cols, this.rows, this.colSetup, PFFFT_BACKWARD);
    transposePairs(this.transposedPairs, this.imagePairs, this.cols, this.rows);
    this.lines(this.imageAt, this.rows, this.cols, this.rowSetup, PFFFT_BACKWARD);
  }

  forward(data: ComplexArray): void {
    this.check(data);
    this.spatial.set(data);
    this.toSpectrum();
    transposePairs(this.transposedPairs, this.imagePairs, this.cols, this.rows);
    data.set(this.image);
  }

  inverse(data: ComplexArray): void {
    this.check(data);
    this.spatial.set(data);
    transposePairs(this.imagePairs, this.transposedPairs, this.rows, this.cols);
    this.toSpatial();
    const { image, inverseScale } = this;
    for (let k = 0; k < data.length; k++) data[k] = image[k] * inverseScale;
  }

  private check(data: ComplexArray): void {
    if (data.length !== 2 * this.rows * this.cols) throw new Error(`expected ${2 * this.rows * this.cols} values, got ${data.length}`);
  }

  /** In-place 1-D transforms of `count` contiguous lines of `length` complex values from byte offset `at`. */
  private lines(at: number, count: number, length: number, setup: number, direction: number): void {
    const { pffft, workAt } = this;
    const bytes = 8 * length;
    for (let line = 0; line < count; line++, at += bytes) pffft.transformOrdered(setup, at, at, workAt, direction);
  }

  /** Views of wasm memory, remade when another plan's allocation grew (and so detached) the heap. */
  private views(): void {
    const buffer = this.pffft.memory.buffer;
    if (buffer === this.heapBuffer) return;
    this.heapBuffer = buffer;
    const length = 2 * this.rows * this.cols;
    this.image = new Float32Array(buffer, this.imageAt, length);
    this.transposed = new Float32Array(buffer, this.transposedAt, length);
    this.imagePairs = new Float64Array(buffer, this.imageAt, length / 2);
    this.transposedPairs = new Float64Array(buffer, this.transposedAt, length / 2);
  }
}

/** fft.js behind the FarField interface: one float64 buffer, transformed in place, standard layout. */
class FftJsFarField implements FarField {
  readonly spectrumTransposed = false;
  readonly inverseScale = 1;
  readonly spatial: Float64Array;
  private readonly fft: FFT2D;

  constructor(rows: number, cols: number) {
    this.fft = new FFT2D(rows, cols);
    this.spatial = new Float64Array(2 * rows * cols);
  }

  get spectrum(): Float64Array {
    return this.spatial;
  }

  toSpectrum(): void {
    this.fft.forward(this.spatial);
  }

  toSpatial(): void {
    this.fft.inverse(this.spatial);
  }
}

/** to[c, r] = from[r, c] for a rows x cols image of complex float32 values, each seen as one float64. */
function transposePairs(from: Float64Array, to: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0, a = r * cols; c < cols; c++, a++) to[c * rows + r] = from[a];
  }
}

/** PFFFT's complex transforms need a multiple of 16 points (4 SIMD lanes x 4) built of factors 2, 3, 5. */
function pffftSuits(n: number): boolean {
  if (n % 16 !== 0) return false;
  let m = n;
  for (const f of [2, 3, 5]) while (m % f === 0) m /= f;
  return m === 1;
}

function usesPffft(rows: number, cols: number): boolean {
  return pffftSuits(rows) && pffftSuits(cols) && loadPffft() !== null;
}

/** The fastest 2-D FFT available for this size: PFFFT (wasm SIMD) where it applies, else fft.js. */
export function createFFT2D(rows: number, cols: number): Transform2D {
  return usesPffft(rows, cols) ? new PffftFFT2D(rows, cols) : new FFT2D(rows, cols);
}

/** The in-place far-field workspace for N x N frames: PFFFT where it applies, else fft.js. */
export function createFarField(frameSize: number): FarField {
  return usesPffft(frameSize, frameSize) ? new PffftFFT2D(frameSize, frameSize) : new FftJsFarField(frameSize, frameSize);
}

/**
 * Puts an N x N per-pixel array (zero frequency at (0, 0)) into the layout of `createFarField(N)`'s spectrum:
 * transposed in place when that spectrum is. Every thread decides alike (same package, same size).
 */
export function toSpectrumLayout(data: Float32Array | Uint8Array, frameSize: number): void {
  if (!usesPffft(frameSize, frameSize)) return;
  const n = frameSize;
  for (let r = 0; r < n; r++) {
    for (let c = r + 1; c < n; c++) {
      const a = r * n + c;
      const b = c * n + r;
      const swap = data[a];
      data[a] = data[b];
      data[b] = swap;
    }
  }
}
