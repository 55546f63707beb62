/**
 * A 2-D complex FFT on fft.js (radix-4, powers of two). Arrays are interleaved (re, im), row-major,
 * `rows x cols`. Plans and scratch buffers are made once per size and reused: no allocation per call.
 * Forward is unnormalised; inverse divides by rows x cols (numpy's convention), so inverse(forward(x)) = x.
 */
import FFT from "fft.js";

export type ComplexArray = Float64Array | Float32Array;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

export class FFT2D {
  private readonly rowPlan: FFT;
  private readonly colPlan: FFT;
  private readonly lineIn: Float64Array;
  private readonly lineOut: Float64Array;
  /** The row pass writes here, row by row, so rows need no copying in and out of a line buffer. */
  private readonly spare: Float64Array;
  private readonly spareRows: Float64Array[];
  /** Row views of the array transformed last: callers reuse their buffers, so the views are made once. */
  private viewedData: ComplexArray | null = null;
  private viewedRows: ComplexArray[] = [];

  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    if (!isPowerOfTwo(rows) || !isPowerOfTwo(cols)) {
      throw new Error(`FFT2D needs power-of-two sizes, got ${rows} x ${cols}`);
    }
    this.rowPlan = new FFT(cols);
    this.colPlan = new FFT(rows);
    this.lineIn = new Float64Array(2 * rows);
    this.lineOut = new Float64Array(2 * rows);
    this.spare = new Float64Array(2 * rows * cols);
    this.spareRows = Array.from({ length: rows }, (_, r) => this.spare.subarray(2 * r * cols, 2 * (r + 1) * cols));
  }

  /** In-place forward transform of `data` (length 2 x rows x cols). */
  forward(data: ComplexArray): void {
    this.transform(data, false);
  }

  /** In-place inverse transform, normalised by 1 / (rows x cols). */
  inverse(data: ComplexArray): void {
    this.transform(data, true);
  }

  private rowViews(data: ComplexArray): ComplexArray[] {
    if (data !== this.viewedData) {
      const rowLen = 2 * this.cols;
      this.viewedRows = Array.from({ length: this.rows }, (_, r) => data.subarray(r * rowLen, (r + 1) * rowLen));
      this.viewedData = data;
    }
    return this.viewedRows;
  }

  private transform(data: ComplexArray, inverse: boolean): void {
    const { rows, cols, lineIn, lineOut, spare, spareRows } = this;
    if (data.length !== 2 * rows * cols) throw new Error(`expected ${2 * rows * cols} values, got ${data.length}`);
    const dataRows = this.rowViews(data);
    for (let r = 0; r < rows; r++) {
      if (inverse) this.rowPlan.inverseTransform(spareRows[r], dataRows[r]);
      else this.rowPlan.transform(spareRows[r], dataRows[r]);
    }
    // fft.js's inverseTransform already divides by its length, so the two passes give 1 / (rows x cols).
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) {
        const k = 2 * (r * cols + c);
        lineIn[2 * r] = spare[k];
        lineIn[2 * r + 1] = spare[k + 1];
      }
      if (inverse) this.colPlan.inverseTransform(lineOut, lineIn);
      else this.colPlan.transform(lineOut, lineIn);
      for (let r = 0; r < rows; r++) {
        const k = 2 * (r * cols + c);
        data[k] = lineOut[2 * r];
        data[k + 1] = lineOut[2 * r + 1];
      }
    }
  }
}

/**
 * Swaps quadrants so the zero frequency moves to the centre (`rows/2, cols/2`), in place, for even sizes;
 * `components` is 2 for interleaved complex, 1 for real images. For even sizes it is its own inverse.
 */
export function fftshift(data: Float64Array | Float32Array | Uint8Array, rows: number, cols: number, components = 2): void {
  const halfR = rows >> 1;
  const halfC = cols >> 1;
  if (rows % 2 !== 0 || cols % 2 !== 0) throw new Error(`fftshift in place needs even sizes, got ${rows} x ${cols}`);
  for (let r = 0; r < halfR; r++) {
    for (let c = 0; c < cols; c++) {
      const a = (r * cols + c) * components;
      const b = ((r + halfR) * cols + ((c + halfC) % cols)) * components;
      for (let k = 0; k < components; k++) {
        const tmp = data[a + k];
        data[a + k] = data[b + k];
        data[b + k] = tmp;
      }
    }
  }
}
