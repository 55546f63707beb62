/**
 * DM and RAAR (PtyPy's projectional engines). An iteration is
 *   1. the Fourier step on every frame (the shared exit-wave algebra, engines/fourier.ts), then
 *   2. the overlap step: O = (c_O O + sum P* psi) / (c_O + sum |P|^2) and, from `probeUpdateStart` on,
 *      P = (c_P P + sum O* psi) / (c_P + sum |O|^2), alternated until the probe settles (PtyPy's inner loop).
 *
 * The frame work is split from the combination so threads can share it: a `ProjectionPartition` holds a fixed
 * set of frames and their exit waves and computes its error sum and its partial numerator/denominator sums;
 * a `PartitionRunner` runs every partition (here in this thread, in issue 9 one per worker) and returns the
 * partials in partition order, and the engine reduces them in that fixed order and updates object and probe.
 */
import { ComplexImage } from "../model/scan";
import { EngineBase, EngineSetup } from "./engine";
import { ExitWaveCoefficients, FourierProjector, dmCoefficients, raarCoefficients } from "./fourier";
import { FrameBatch, FrameStore, batchCount } from "./frames";
import { EngineOptions } from "./options";
import { applySupport } from "./probe";

/** Partial sums of one partition for an object or a probe update. */
export interface PartialSums {
  /** Interleaved complex, float64: sum of conj(other) x psi over the partition's views. */
  numerator: Float64Array;
  /** Sum of |other|^2. */
  denominator: Float64Array;
}

export function partialSums(pixels: number): PartialSums {
  return { numerator: new Float64Array(2 * pixels), denominator: new Float64Array(pixels) };
}

/** A fixed set of frames with their exit waves; everything it computes depends only on its own frames. */
export class ProjectionPartition {
  private readonly projector: FourierProjector;
  /**
   * Frames whose exit wave has been started as P x O_view. Public because a partition may be run by different
   * worker threads from one iteration to the next: its owner keeps the count and hands it over.
   */
  started = 0;

  constructor(
    readonly frameSize: number,
    readonly objectCols: number,
    readonly store: FrameStore,
  ) {
    this.projector = new FourierProjector(frameSize);
  }

  add(batch: FrameBatch, from: number, to: number): void {
    this.store.add(batch, from, to);
  }

  /** The Fourier step on every frame; returns the sum of the frames' Fourier errors. */
  fourierStep(object: Float32Array, probe: Float32Array, coefficients: ExitWaveCoefficients, powerBound: number): number {
    const { store, projector, objectCols } = this;
    const area = store.frameArea;
    const exits = store.exitWaves;
    let errorSum = 0;
    for (let f = 0; f < store.count; f++) {
      projector.loadProduct(object, objectCols, probe, store.views[2 * f], store.views[2 * f + 1]);
      const offset = 2 * f * area;
      if (f >= this.started) {
        // PtyPy starts each exit wave as P x O_view when its frame arrives.
        exits.set(projector.product, offset);
        this.started = f + 1;
      }
      errorSum += projector.update(exits, offset, store.moduli, store.masks, f * area, store.validCounts[f], coefficients, powerBound);
    }
    return errorSum;
  }

  /** into <- sum over frames of conj(P) psi and |P|^2, placed at each view on the object grid. */
  accumulateObject(probe: Float32Array, into: PartialSums): void {
    this.accumulate(probe, false, into);
  }

  /** into <- sum over frames of conj(O_view) psi and |O_view|^2, on the probe grid. */
  accumulateProbe(object: Float32Array, into: PartialSums): void {
    this.accumulate(object, true, into);
  }

  /**
   * into <- sum over frames of conj(factor) psi and |factor|^2. The factor (probe or object) and the target
   * (object or probe grid) swap roles between the two updates; `factorOnObject` says which grid the factor is on.
   * The two cases are separate loops so the hot loop has no per-pixel branch.
   */
  private accumulate(factor: Float32Array, factorOnObject: boolean, into: PartialSums): void {
    const { store, objectCols } = this;
    const n = this.frameSize;
    const { numerator, denominator } = into;
    numerator.fill(0);
    denominator.fill(0);
    const exits = store.exitWaves;
    for (let f = 0; f < store.count; f++) {
      const row = store.views[2 * f];
      const col = store.views[2 * f + 1];
      const frameOffset = 2 * f * n * n;
      for (let r = 0; r < n; r++) {
        const objectStart = (row + r) * objectCols + col;
        const probeStart = r * n;
        if (factorOnObject) accumulateLine(factor, objectStart, exits, frameOffset + 2 * probeStart, numerator, denominator, probeStart, n);
        else accumulateLine(factor, probeStart, exits, frameOffset + 2 * probeStart, numerator, denominator, objectStart, n);
      }
    }
  }
}

/** For `length` pixels: numerator[to] += conj(factor[from]) exit[at], denominator[to] += |factor[from]|^2. */
function accumulateLine(
  factor: Float32Array,
  from: number,
  exits: Float32Array,
  at: number,
  numerator: Float64Array,
  denominator: Float64Array,
  to: number,
  length: number,
): void {
  for (let i = 0; i < length; i++, from++, to++, at += 2) {
    const fr = factor[2 * from];
    const fi = factor[2 * from + 1];
    const er = exits[at];
    const ei = exits[at + 1];
    numerator[2 * to] += fr * er + fi * ei;
    numerator[2 * to + 1] += fr * ei - fi * er;
    denominator[to] += fr * fr + fi * fi;
  }
}

/** Runs the partitions' work and hands back results in partition order. */
export interface PartitionRunner {
  readonly partitions: number;
  /** Places frames on the partitions by a fixed rule. */
  addFrames(batch: FrameBatch): void;
  /** Fourier step everywhere; the per-partition error sums, in partition order. */
  fourierStep(coefficients: ExitWaveCoefficients, powerBound: number): Promise<number[]>;
  objectPartials(): Promise<PartialSums[]>;
  probePartials(): Promise<PartialSums[]>;
}

/**
 * Frames of each batch go to the partitions in contiguous blocks, block p to partition p, so every partition
 * grows alike and the split depends only on the order of the batches.
 */
export function partitionBlocks(count: number, partitions: number): Array<[number, number]> {
  const blocks: Array<[number, number]> = [];
  for (let p = 0; p < partitions; p++) blocks.push([Math.floor((p * count) / partitions), Math.floor(((p + 1) * count) / partitions)]);
  return blocks;
}

/**
 * Frames a partition reserves room for when the scan brings `expectedFrames`: twice its even share, since of a
 * batch of c >= partitions frames it takes at most c / partitions + 1 (`partitionBlocks`). Smaller batches can
 * exceed it; the store then grows.
 */
export function partitionReserve(expectedFrames: number, partitions: number): number {
  return Math.min(expectedFrames, 2 * Math.ceil(expectedFrames / partitions));
}

/** One store per partition (with exit waves), each reserving `partitionReserve` frames. */
export function partitionStores(frameSize: number, partitions: number, expectedFrames: number, shared: boolean): FrameStore[] {
  const reserve = partitionReserve(expectedFrames, partitions);
  return Array.from({ length: partitions }, () => new FrameStore(frameSize, true, shared, reserve));
}

/** All partitions in this thread, one after another. */
export class LocalPartitionRunner implements PartitionRunner {
  private readonly parts: ProjectionPartition[];
  private readonly objectSums: PartialSums[];
  private readonly probeSums: PartialSums[];

  constructor(
    readonly partitions: number,
    private readonly object: ComplexImage,
    private readonly probe: ComplexImage,
    expectedFrames = 0,
  ) {
    const n = probe.rows;
    this.parts = partitionStores(n, partitions, expectedFrames, false).map((store) => new ProjectionPartition(n, object.cols, store));
    this.objectSums = this.parts.map(() => partialSums(object.rows * object.cols));
    this.probeSums = this.parts.map(() => partialSums(n * n));
  }

  addFrames(batch: FrameBatch): void {
    const blocks = partitionBlocks(batchCount(batch, this.probe.rows), this.partitions);
    blocks.forEach(([from, to], p) => this.parts[p].add(batch, from, to));
  }

  async fourierStep(coefficients: ExitWaveCoefficients, powerBound: number): Promise<number[]> {
    return this.parts.map((part) => part.fourierStep(this.object.data, this.probe.data, coefficients, powerBound));
  }

  async objectPartials(): Promise<PartialSums[]> {
    this.parts.forEach((part, p) => part.accumulateObject(this.probe.data, this.objectSums[p]));
    return this.objectSums;
  }

  async probePartials(): Promise<PartialSums[]> {
    this.parts.forEach((part, p) => part.accumulateProbe(this.object.data, this.probeSums[p]));
    return this.probeSums;
  }
}

/**
 * target = (inertia x target + sum_p numerator_p) / (inertia + sum_p denominator_p), the partials summed in
 * partition order. Where nothing contributes and the inertia is 0, the target is left as it was.
 */
export function combinePartials(target: Float32Array, partials: readonly PartialSums[], inertia: number): void {
  const pixels = target.length / 2;
  const first = partials[0];
  for (let k = 0; k < pixels; k++) {
    let re = inertia * target[2 * k] + first.numerator[2 * k];
    let im = inertia * target[2 * k + 1] + first.numerator[2 * k + 1];
    let norm = inertia + first.denominator[k];
    for (let p = 1; p < partials.length; p++) {
      re += partials[p].numerator[2 * k];
      im += partials[p].numerator[2 * k + 1];
      norm += partials[p].denominator[k];
    }
    if (norm > 0) {
      target[2 * k] = re / norm;
      target[2 * k + 1] = im / norm;
    }
  }
}

export class ProjectionEngine extends EngineBase {
  readonly coefficients: ExitWaveCoefficients;
  private readonly runner: PartitionRunner;
  /** The probe after the previous probe update, for PtyPy's relative-change test (zero before the first). */
  private readonly previousProbe: Float32Array;
  /** The power bound's relax factor in force: the options' unless `setFourierRelaxFactor` changed it. */
  private relaxFactor: number;

  constructor(options: EngineOptions, setup: EngineSetup, runner?: (object: ComplexImage, probe: ComplexImage) => PartitionRunner) {
    super(options, setup);
    if (options.algorithm === "epie") throw new Error("ProjectionEngine runs DM or RAAR; use EpieEngine for ePIE");
    this.coefficients = options.algorithm === "dm" ? dmCoefficients(options.alpha) : raarCoefficients(options.beta);
    this.runner = runner ? runner(this.object, this.probe) : new LocalPartitionRunner(options.partitions, this.object, this.probe, setup.expectedFrames);
    this.previousProbe = new Float32Array(this.probe.data.length);
    this.relaxFactor = options.fourierRelaxFactor;
  }

  get fourierRelaxFactor(): number {
    return this.relaxFactor;
  }

  /**
   * The power bound's relax factor from the next iteration on. The streaming operator tightens it while a scan is
   * live and restores the options' factor after the end (operators/reconstruct.ts `liveFourierRelaxFactor` says why).
   */
  setFourierRelaxFactor(factor: number): void {
    if (!(factor >= 0)) throw new Error(`fourier relax factor must be >= 0, got ${factor}`);
    this.relaxFactor = factor;
  }

  protected storeFrames(batch: FrameBatch): void {
    this.runner.addFrames(batch);
  }

  protected async iterateOnce(): Promise<number> {
    const errorSums = await this.runner.fourierStep(this.coefficients, this.summary.powerBound(this.relaxFactor));
    let errorSum = 0;
    for (const sum of errorSums) errorSum += sum;

    const { overlapMaxIterations, overlapConvergeFactor, objectInertia, probeInertia } = this.options;
    const objectWeight = objectInertia * this.summary.meanPower();
    const probeWeight = probeInertia * this.summary.frames;
    for (let inner = 0; inner < overlapMaxIterations; inner++) {
      combinePartials(this.object.data, await this.runner.objectPartials(), objectWeight);
      if (!this.probeUpdates) break;
      combinePartials(this.probe.data, await this.runner.probePartials(), probeWeight);
      applySupport(this.probe.data, this.support);
      if (this.probeChange() < overlapConvergeFactor) break;
    }
    return errorSum / this.summary.frames;
  }

  /** sqrt(||P - P_previous||^2 / ||P||^2), then remembers P. */
  private probeChange(): number {
    const change = relativeChange(this.previousProbe, this.probe.data);
    this.previousProbe.set(this.probe.data);
    return change;
  }
}

/** sqrt(||now - before||^2 / ||now||^2), 0 when `now` is 0: how far an iteration moved an image. */
export function relativeChange(before: Float32Array, now: Float32Array): number {
  let difference = 0;
  let power = 0;
  for (let k = 0; k < now.length; k++) {
    const d = now[k] - before[k];
    difference += d * d;
    power += now[k] * now[k];
  }
  return power > 0 ? Math.sqrt(difference / power) : 0;
}
