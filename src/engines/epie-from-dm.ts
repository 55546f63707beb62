/**
 * ePIE started the way PtyPy users chain engines: `warmUpDmIterations` of DM from the mean-pattern probe guess,
 * then ePIE from DM's probe and a fresh object (the recipe test/engines/epie.test.ts checks). ePIE takes in the
 * frames from the start, so the hand-over needs nothing kept aside; DM (and its exit waves, 8 N^2 bytes a
 * frame) is let go at the hand-over. Iterations and errors count across both engines.
 */
import { ComplexImage, Snapshot } from "../model/scan";
import { EngineSetup, ReconstructionEngine } from "./engine";
import { EpieEngine } from "./epie";
import { FrameBatch } from "./frames";
import { EngineOptions, engineOptions } from "./options";

/** A DM engine as the caller runs it (in this thread, or on worker threads). */
export type DmEngine = ReconstructionEngine & {
  setThreads?(threads: number): void;
  setNiceness?(niceness: number): Promise<number[]>;
  setFourierRelaxFactor?(factor: number): void;
  dispose?(): void;
};

export class EpieFromDm implements ReconstructionEngine {
  private dm: DmEngine | undefined;
  private readonly epie: EpieEngine;
  private readonly dmErrors: number[] = [];
  private dmIterations = 0;

  constructor(
    readonly options: EngineOptions,
    setup: EngineSetup,
    makeDm: (options: EngineOptions, setup: EngineSetup) => DmEngine,
  ) {
    if (options.algorithm !== "epie") throw new Error(`EpieFromDm runs ePIE, not ${options.algorithm}`);
    this.epie = new EpieEngine(options, setup);
    if (options.warmUpDmIterations > 0 && !setup.initialProbe) {
      // PtyPy's DM defaults, from the same probe guess ePIE would have made.
      this.dm = makeDm(engineOptions({ algorithm: "dm", probeDefocusM: options.probeDefocusM, probeSupport: options.probeSupport }), setup);
    }
  }

  get frameSize(): number {
    return this.epie.frameSize;
  }

  get iteration(): number {
    return this.dmIterations + this.epie.iteration;
  }

  get framesUsed(): number {
    return this.epie.framesUsed;
  }

  get errors(): readonly number[] {
    return [...this.dmErrors, ...this.epie.errors];
  }

  get object(): ComplexImage {
    return this.dm ? this.dm.object : this.epie.object;
  }

  get probe(): ComplexImage {
    return this.dm ? this.dm.probe : this.epie.probe;
  }

  addFrames(batch: FrameBatch): void {
    this.epie.addFrames(batch);
    this.dm?.addFrames(batch);
  }

  async iterate(count = 1): Promise<number> {
    let error = NaN;
    for (let i = 0; i < count; i++) {
      const dm = this.dm;
      if (dm) {
        error = await dm.iterate(1);
        this.dmErrors.push(error);
        this.dmIterations += 1;
        if (this.dmIterations >= this.options.warmUpDmIterations) this.handOver(dm);
      } else {
        error = await this.epie.iterate(1);
      }
    }
    return error;
  }

  snapshot(final = false): Snapshot {
    const snapshot = (this.dm ?? this.epie).snapshot(final);
    return { ...snapshot, iteration: this.iteration, error: this.errors.length > 0 ? this.errors[this.errors.length - 1] : NaN };
  }

  setThreads(threads: number): void {
    this.dm?.setThreads?.(threads);
  }

  dispose(): void {
    this.dm?.dispose?.();
    this.dm = undefined;
  }

  private handOver(dm: DmEngine): void {
    this.epie.startFromProbe(dm.probe);
    dm.dispose?.();
    this.dm = undefined;
  }
}
