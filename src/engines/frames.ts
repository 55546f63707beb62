/**
 * What an engine keeps per frame: the measured Fourier moduli sqrt(I) (unshifted, zero frequency at (0, 0), in
 * the layout of the FFT's spectrum: see numerics/pffft `toSpectrumLayout`), the validity mask, the view's top-left on the object grid and, for DM/RAAR, the exit
 * wave. Storage reserves room for the frames a scan announced at its first frame (pages never written cost no
 * memory), and grows by doubling beyond, so adding frames between iterations costs amortised O(1).
 */
import { Chunk } from "../model/scan";
import { fftshift } from "../numerics/fft2d";
import { viewsTopLeft } from "../numerics/geometry";
import { toSpectrumLayout } from "../numerics/pffft";

// Module-level aliases: under jest's vm context every global lookup (Math) in a hot loop goes through an interceptor.
const { sqrt, max, min, floor } = Math;

/** Frames as they come to an engine. */
export interface FrameBatch {
  /** (count, N, N) measured intensities in photons, zero frequency at (N/2, N/2), as preprocessing delivers them. */
  intensities: Float32Array;
  /** (count, N, N) 1 where the pixel is valid, 0 where masked; omitted means every pixel is valid. */
  weights?: Uint8Array;
  /** (count, 2) top-left (row, col) of each view on the object grid (`viewsTopLeft` in numerics/geometry). */
  viewsTopLeft: Int32Array;
}

export function batchCount(batch: FrameBatch, frameSize: number): number {
  const size = frameSize * frameSize;
  const count = batch.intensities.length / size;
  if (!Number.isInteger(count)) throw new Error(`intensities hold ${batch.intensities.length} values, not a whole number of ${frameSize}x${frameSize} frames`);
  if (batch.viewsTopLeft.length !== 2 * count) throw new Error(`${count} frames but ${batch.viewsTopLeft.length / 2} positions`);
  if (batch.weights && batch.weights.length !== batch.intensities.length) throw new Error(`weights hold ${batch.weights.length} values, intensities ${batch.intensities.length}`);
  return count;
}

/**
 * What the engine learns from all frames so far, wherever the frames themselves are kept: PtyPy's photon
 * statistics (for the power bound and the object inertia) and the mean diffraction pattern (for the probe guess).
 */
export class DataSummary {
  frames = 0;
  /** Largest total (valid) photon count of a single frame. */
  maxFramePhotons = 0;
  totalPhotons = 0;
  /** Per pixel (centred layout): sum of valid intensities and number of frames where the pixel was valid. */
  private readonly patternSum: Float64Array;
  private readonly patternCount: Float64Array;

  constructor(readonly frameSize: number) {
    this.patternSum = new Float64Array(frameSize * frameSize);
    this.patternCount = new Float64Array(frameSize * frameSize);
  }

  add(batch: FrameBatch): void {
    const size = this.frameSize * this.frameSize;
    const count = batchCount(batch, this.frameSize);
    const { intensities, weights } = batch;
    for (let f = 0; f < count; f++) {
      let photons = 0;
      for (let k = 0, at = f * size; k < size; k++, at++) {
        if (weights && !weights[at]) continue;
        const value = max(0, intensities[at]);
        photons += value;
        this.patternSum[k] += value;
        this.patternCount[k] += 1;
      }
      this.maxFramePhotons = max(this.maxFramePhotons, photons);
      this.totalPhotons += photons;
    }
    this.frames += count;
  }

  /** PtyPy's Fourier power bound: 0.25 x relax^2 x (max photons of a frame) / N^2. */
  powerBound(relaxFactor: number): number {
    return (0.25 * relaxFactor * relaxFactor * this.maxFramePhotons) / (this.frameSize * this.frameSize);
  }

  /** Mean photons per detector pixel, which scales PtyPy's object inertia. */
  meanPower(): number {
    return this.frames === 0 ? 0 : this.totalPhotons / (this.frames * this.frameSize * this.frameSize);
  }

  /** Mean valid intensity per pixel (centred layout); pixels never valid are 0. */
  meanPattern(): Float64Array {
    return this.patternSum.map((sum, k) => (this.patternCount[k] > 0 ? sum / this.patternCount[k] : 0));
  }
}

/** A store's arrays, as sent to worker threads (on SharedArrayBuffers, so they are shared, not copied). */
export interface FrameStoreArrays {
  count: number;
  moduli: Float32Array;
  masks: Uint8Array;
  validCounts: Int32Array;
  views: Int32Array;
  exitWaves: Float32Array;
}

/**
 * Most bytes a store reserves up front for the frames it expects: beyond, it grows by doubling as frames come, so a
 * wildly large announcement cannot ask for an allocation the machine refuses.
 */
export const MAX_RESERVED_BYTES = 2 ** 30;

export class FrameStore {
  private capacity = 0;
  count = 0;
  /** (capacity, N, N) sqrt of the measured intensities, unshifted. */
  moduli: Float32Array<ArrayBufferLike> = new Float32Array(0);
  /** (capacity, N, N) 1 valid, 0 masked. */
  masks: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  /** Valid pixels per frame. */
  validCounts: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** (capacity, 2) top-left (row, col) of each view. */
  views: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** (capacity, N, N) interleaved complex exit waves, when the engine keeps them. */
  exitWaves: Float32Array<ArrayBufferLike> = new Float32Array(0);

  constructor(
    readonly frameSize: number,
    readonly keepsExitWaves: boolean,
    /** On SharedArrayBuffers, so worker threads work on the frames and exit waves in place. */
    readonly shared = false,
    /**
     * Frames it may have to hold (a scan's announced points), reserved at the first frame. Without it a store
     * grows through generations of copies, and the old generations of shared buffers stay until every thread that
     * saw them collects garbage (test/faults/soak.test.ts: 2 500 more frames, a 32 MB store, raised the DM pipeline's
     * peak by 85-134 MB; with the reservation 37-85).
     */
    readonly expectedFrames = 0,
  ) {}

  arrays(): FrameStoreArrays {
    const { count, moduli, masks, validCounts, views, exitWaves } = this;
    return { count, moduli, masks, validCounts, views, exitWaves };
  }

  /** Takes over another thread's store arrays (a worker's view of a shared store; it never adds frames). */
  adopt(arrays: FrameStoreArrays): void {
    ({ count: this.count, moduli: this.moduli, masks: this.masks, validCounts: this.validCounts, views: this.views, exitWaves: this.exitWaves } = arrays);
    this.capacity = arrays.count;
  }

  get frameArea(): number {
    return this.frameSize * this.frameSize;
  }

  /** Appends frames [from, to) of `batch`; returns the index of the first one added. */
  add(batch: FrameBatch, from = 0, to = batchCount(batch, this.frameSize)): number {
    const size = this.frameArea;
    const first = this.count;
    this.reserve(this.count + (to - from));
    for (let f = from; f < to; f++) {
      const at = this.count * size;
      let valid = 0;
      for (let k = 0; k < size; k++) {
        const source = f * size + k;
        const ok = batch.weights ? (batch.weights[source] ? 1 : 0) : 1;
        this.masks[at + k] = ok;
        this.moduli[at + k] = sqrt(max(0, batch.intensities[source]));
        valid += ok;
      }
      // Frames arrive centred (zero frequency at N/2); the FFT puts it at 0. fftshift is its own inverse for even N.
      fftshift(this.moduli.subarray(at, at + size), this.frameSize, this.frameSize, 1);
      fftshift(this.masks.subarray(at, at + size), this.frameSize, this.frameSize, 1);
      // ... and into the layout of the FFT's spectrum (transposed for PFFFT), so the Fourier step reads them in order.
      toSpectrumLayout(this.moduli.subarray(at, at + size), this.frameSize);
      toSpectrumLayout(this.masks.subarray(at, at + size), this.frameSize);
      this.validCounts[this.count] = valid;
      this.views[2 * this.count] = batch.viewsTopLeft[2 * f];
      this.views[2 * this.count + 1] = batch.viewsTopLeft[2 * f + 1];
      this.count++;
    }
    return first;
  }

  /** Bytes a frame takes in the store. */
  get bytesPerFrame(): number {
    return (4 + 1 + (this.keepsExitWaves ? 8 : 0)) * this.frameArea + 4 + 8;
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    const expected = this.capacity === 0 ? min(this.expectedFrames, floor(MAX_RESERVED_BYTES / this.bytesPerFrame)) : 0;
    const capacity = max(needed, 2 * this.capacity, expected, 8);
    const size = this.frameArea;
    const buffer = (bytes: number) => (this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    const grow = <T extends Float32Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T, perFrame: number): T => {
      const fresh = make(capacity * perFrame);
      fresh.set(old.subarray(0, this.count * perFrame));
      return fresh;
    };
    this.moduli = grow(this.moduli, (n) => new Float32Array(buffer(4 * n)), size);
    this.masks = grow(this.masks, (n) => new Uint8Array(buffer(n)), size);
    this.validCounts = grow(this.validCounts, (n) => new Int32Array(buffer(4 * n)), 1);
    this.views = grow(this.views, (n) => new Int32Array(buffer(4 * n)), 2);
    if (this.keepsExitWaves) this.exitWaves = grow(this.exitWaves, (n) => new Float32Array(buffer(4 * n)), 2 * size);
    this.capacity = capacity;
  }
}

/**
 * A preprocessed chunk as an engine batch: positions (y, x) in metres become view top-lefts on the object grid
 * (numerics/geometry), data and weights are used as they are (no copy).
 */
export function batchFromChunk(chunk: Chunk, objectShape: [number, number], objectPixelSizeM: number): FrameBatch {
  if (chunk.rows !== chunk.cols) throw new Error(`engines need square frames, the chunk has ${chunk.rows}x${chunk.cols}`);
  const positionsM = Array.from({ length: chunk.count }, (_, i) => ({ y: chunk.positionsYX[2 * i], x: chunk.positionsYX[2 * i + 1] }));
  return {
    intensities: chunk.data,
    weights: chunk.weights,
    viewsTopLeft: viewsTopLeft(positionsM, objectShape[0], objectShape[1], objectPixelSizeM, chunk.rows),
  };
}
