/**
 * The one engine interface (DM, RAAR, ePIE) and what all engines share: the geometry they are built for, the
 * data summary, the probe guess, the iteration count, Fourier errors and snapshots. Frames may be added
 * between any two iterations, which is how the streaming operator feeds an engine while the scan runs.
 */
import { ComplexImage, Snapshot } from "../model/scan";
import { cloneComplexImage, complexImage, fillComplex } from "../numerics/complex";
import { DataSummary, FrameBatch, batchCount } from "./frames";
import { EngineOptions } from "./options";
import { ProbeDefocus, applySupport, probeFromMeanPattern, probeSupportMask } from "./probe";

export interface EngineSetup {
  /** N: frames are N x N (a power of two). */
  frameSize: number;
  /** Object grid [rows, cols]; every view must fit (numerics/geometry `objectShapeFor`). */
  objectShape: [number, number];
  objectPixelSizeM: number;
  /** A probe to start from (N x N); otherwise it comes from the mean diffraction pattern at the first iteration. */
  initialProbe?: ComplexImage;
  /** Needed by the optics-based probe guess (options `probeDefocusM`). */
  wavelengthM?: number;
  /** Frames the scan may bring (its announced points): the frame stores reserve room for them at once. */
  expectedFrames?: number;
}

export interface ReconstructionEngine {
  readonly options: EngineOptions;
  readonly frameSize: number;
  /** Iterations done. */
  readonly iteration: number;
  /** Frames taken in so far. */
  readonly framesUsed: number;
  /** Fourier error of each iteration: mean over frames of the mean squared modulus deviation (photons). */
  readonly errors: readonly number[];
  /** The live object and probe (not copies); `snapshot` copies them. */
  readonly object: ComplexImage;
  readonly probe: ComplexImage;
  addFrames(batch: FrameBatch): void;
  /** Runs `count` iterations over the frames so far; resolves to the last Fourier error. */
  iterate(count?: number): Promise<number>;
  snapshot(final?: boolean): Snapshot;
}

/** Checks a batch against the setup (frame size, views inside the object); returns its frame count. */
export function checkBatch(batch: FrameBatch, setup: EngineSetup): number {
  const [rows, cols] = setup.objectShape;
  const n = setup.frameSize;
  const count = batchCount(batch, n);
  for (let f = 0; f < count; f++) {
    const row = batch.viewsTopLeft[2 * f];
    const col = batch.viewsTopLeft[2 * f + 1];
    if (row < 0 || col < 0 || row + n > rows || col + n > cols) {
      throw new Error(`view ${f} at (${row}, ${col}) leaves the ${rows}x${cols} object`);
    }
  }
  return count;
}

/** A snapshot (copies of object and probe) of an engine's state. */
export function snapshotOf(engine: Pick<ReconstructionEngine, "iteration" | "framesUsed" | "errors" | "object" | "probe">, setup: EngineSetup, final: boolean): Snapshot {
  return {
    iteration: engine.iteration,
    framesUsed: engine.framesUsed,
    error: engine.errors.length > 0 ? engine.errors[engine.errors.length - 1] : NaN,
    object: cloneComplexImage(engine.object),
    probe: cloneComplexImage(engine.probe),
    objectPixelSizeM: [setup.objectPixelSizeM, setup.objectPixelSizeM],
    final,
  };
}

/**
 * The object (1 everywhere) and a zero probe, on shared buffers so worker threads read and write the same
 * object and probe.
 */
export function startingImages(setup: EngineSetup): { object: ComplexImage; probe: ComplexImage } {
  const object = complexImage(setup.objectShape[0], setup.objectShape[1], true);
  fillComplex(object.data, 1);
  return { object, probe: complexImage(setup.frameSize, setup.frameSize, true) };
}

export abstract class EngineBase implements ReconstructionEngine {
  readonly frameSize: number;
  readonly object: ComplexImage;
  readonly probe: ComplexImage;
  readonly errors: number[] = [];
  iteration = 0;
  protected readonly summary: DataSummary;
  protected readonly support: Uint8Array | null;
  private probeReady: boolean;

  constructor(
    readonly options: EngineOptions,
    readonly setup: EngineSetup,
  ) {
    const n = setup.frameSize;
    this.frameSize = n;
    const [rows, cols] = setup.objectShape;
    if (rows < n || cols < n) throw new Error(`object ${rows}x${cols} is smaller than the ${n}x${n} frames`);
    ({ object: this.object, probe: this.probe } = startingImages(setup));
    this.summary = new DataSummary(n);
    this.support = probeSupportMask(n, options.probeSupport);
    this.probeReady = setup.initialProbe !== undefined;
    if (setup.initialProbe) {
      if (setup.initialProbe.rows !== n || setup.initialProbe.cols !== n) {
        throw new Error(`initial probe is ${setup.initialProbe.rows}x${setup.initialProbe.cols}, frames are ${n}x${n}`);
      }
      this.probe.data.set(setup.initialProbe.data);
    }
  }

  get framesUsed(): number {
    return this.summary.frames;
  }

  addFrames(batch: FrameBatch): void {
    checkBatch(batch, this.setup);
    this.summary.add(batch);
    this.storeFrames(batch);
  }

  async iterate(count = 1): Promise<number> {
    if (this.summary.frames === 0) throw new Error("no frames to iterate on");
    if (!this.probeReady) {
      this.probe.data.set(probeFromMeanPattern(this.summary.meanPattern(), this.frameSize, false, this.probeDefocus()).data);
      applySupport(this.probe.data, this.support);
      this.probeReady = true;
    }
    let error = NaN;
    for (let i = 0; i < count; i++) {
      error = await this.iterateOnce();
      this.errors.push(error);
      this.iteration++;
    }
    return error;
  }

  /** Restarts from `probe` (N x N) instead of the mean-pattern guess: how one engine hands its probe to the next. */
  startFromProbe(probe: ComplexImage): void {
    this.probe.data.set(probe.data);
    this.probeReady = true;
  }

  snapshot(final = false): Snapshot {
    return snapshotOf(this, this.setup, final);
  }

  /** The guess's defocus (options `probeDefocusM`), which needs the wavelength. */
  private probeDefocus(): ProbeDefocus | undefined {
    const defocusM = this.options.probeDefocusM;
    if (defocusM === 0) return undefined;
    const { wavelengthM, objectPixelSizeM } = this.setup;
    if (wavelengthM === undefined) throw new Error("probeDefocusM needs the wavelength in the engine setup");
    return { defocusM, wavelengthM, objectPixelSizeM };
  }

  protected get probeUpdates(): boolean {
    return this.iteration >= this.options.probeUpdateStart;
  }

  /** Takes in frames already checked and summarised. */
  protected abstract storeFrames(batch: FrameBatch): void;
  /** One iteration over all frames; returns its Fourier error. */
  protected abstract iterateOnce(): Promise<number>;
}
