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

interface PffftExports {
  memory: WebAssembly.Memory;
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
    const module = new WebAssembly.Module(fs.readFileSync(file));
    let memory: WebAssembly.Memory | undefined;
    // The emscripten imports, by their minified names (pffft.js: a = assert_fail, b = resize_heap, c = memcpy).
    const imports = {
      a: {
        a: () => {
          throw new Error("PFFFT assertion failed");
        },
        b: (requested: number) => {
          const mem = memory as WebAssembly.Memory;
          const missing = (requested >>> 0) - mem.buffer.byteLength;
          if (missing > 0) mem.grow(Math.ceil(missing / WASM_PAGE));
          return 1;
        },
        c: (dest: number, src: number, count: number) => {
          const heap = new Uint8Array((memory as WebAssembly.Memory).buffer);
          heap.copyWithin(dest, src, src + count);
        },
      },
    };
    const instance = new WebAssembly.Instance(module, imports);
    const e = instance.exports as Record<string, unknown>;
    memory = e.d as WebAssembly.Memory;
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
 * Rows then columns, each pass as PFFFT 1-D transforms over contiguous lines: the row pass transforms each row in
 * place in wasm memory and the column pass works on a transposed copy, so PFFFT always sees contiguous data.
 */
export class PffftFFT2D implements Transform2D {
  private readonly pffft: PffftExports;
  private readonly rowSetup: number;
  private readonly colSetup: number;
  /** Byte offsets in wasm memory: the image, its transpose, PFFFT's work line. */
  private readonly imageAt: number;
  private readonly transposedAt: number;
  private readonly workAt: number;
  private heapBuffer: ArrayBuffer | null = null;
  private image = new Float32Array(0);
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
    this.rowSetup = pffft.newSetup(cols, PFFFT_COMPLEX);
    this.colSetup = rows === cols ? this.rowSetup : pffft.newSetup(rows, PFFFT_COMPLEX);
    const bytes = 8 * rows * cols;
    this.imageAt = pffft.malloc(bytes);
    this.transposedAt = pffft.malloc(bytes);
    this.workAt = pffft.malloc(8 * Math.max(rows, cols));
    if (!this.rowSetup || !this.colSetup || !this.imageAt || !this.transposedAt || !this.workAt) throw new Error("PFFFT could not allocate");
  }

  forward(data: ComplexArray): void {
    this.transform(data, PFFFT_FORWARD);
  }

  inverse(data: ComplexArray): void {
    this.transform(data, PFFFT_BACKWARD);
    const scale = 1 / (this.rows * this.cols);
    for (let k = 0; k < data.length; k++) data[k] *= scale;
  }

  /** Views of wasm memory, remade when another plan's allocation grew (and so detached) the heap. */
  private views(): void {
    const buffer = this.pffft.memory.buffer;
    if (buffer === this.heapBuffer) return;
    this.heapBuffer = buffer;
    const length = 2 * this.rows * this.cols;
    this.image = new Float32Array(buffer, this.imageAt, length);
    this.imagePairs = new Float64Array(buffer, this.imageAt, length / 2);
    this.transposedPairs = new Float64Array(buffer, this.transposedAt, length / 2);
  }

  private transform(data: ComplexArray, direction: number): void {
    const { rows, cols, pffft, workAt } = this;
    if (data.length !== 2 * rows * cols) throw new Error(`expected ${2 * rows * cols} values, got ${data.length}`);
    this.views();
    const { image, imagePairs, transposedPairs } = this;
    image.set(data);
    const rowBytes = 8 * cols;
    for (let r = 0; r < rows; r++) {
      const at = this.imageAt + r * rowBytes;
      pffft.transformOrdered(this.rowSetup, at, at, workAt, direction);
    }
    transposePairs(imagePairs, transposedPairs, rows, cols);
    const colBytes = 8 * rows;
    for (let c = 0; c < cols; c++) {
      const at = this.transposedAt + c * colBytes;
      pffft.transformOrdered(this.colSetup, at, at, workAt, direction);
    }
    transposePairs(transposedPairs, imagePairs, cols, rows);
    data.set(image);
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

/** The fastest 2-D FFT available for this size: PFFFT (wasm SIMD) where it applies, else fft.js. */
export function createFFT2D(rows: number, cols: number, prefer: "auto" | "fftjs" = "auto"): Transform2D {
  if (prefer === "auto" && pffftSuits(rows) && pffftSuits(cols) && loadPffft() !== null) return new PffftFFT2D(rows, cols);
  return new FFT2D(rows, cols);
}
