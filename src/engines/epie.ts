/**
 * ePIE (Maiden & Rodenburg 2009) as PtyPy's stochastic engine runs it: frames in a fresh random order each
 * iteration; for each, psi' = P_F(P x O_view) (the shared exit-wave algebra with a = 0, b = 1, c = 1), then
 *   O_view += beta  conj(P)      (psi' - psi) / max |P|^2
 *   P      += alpha conj(O_view) (psi' - psi) / max |O_view|^2   (with the object just updated, as PtyPy does)
 * alpha is the probe step and beta the object step, as in PtyPy's code (see options.ts).
 * Sequential by nature: each frame sees the object and probe its predecessors left.
 */
import { mulberry32 } from "../sim/random";
import { EngineBase, EngineSetup } from "./engine";
import { FourierProjector, PROJECTION_COEFFICIENTS } from "./fourier";
import { FrameBatch, FrameStore } from "./frames";
import { EngineOptions } from "./options";

// Module-level aliases: under jest's vm context every global lookup (Math) in a hot loop goes through an interceptor.
const { max, floor } = Math;

export class EpieEngine extends EngineBase {
  private readonly store: FrameStore;
  private readonly projector: FourierProjector;
  /** psi' of the frame in hand, float32 like the DM exit waves so the Fourier kernel sees one array type. */
  private readonly revised: Float32Array;
  private readonly random: () => number;
  private order = new Int32Array(0);

  constructor(options: EngineOptions, setup: EngineSetup) {
    super(options, setup);
    if (options.algorithm !== "epie") throw new Error(`EpieEngine runs ePIE, not ${options.algorithm}`);
    this.store = new FrameStore(setup.frameSize, false);
    this.projector = new FourierProjector(setup.frameSize);
    this.revised = new Float32Array(2 * setup.frameSize * setup.frameSize);
    this.random = mulberry32(options.seed);
  }

  protected storeFrames(batch: FrameBatch): void {
    this.store.add(batch);
    this.order = Int32Array.from({ length: this.store.count }, (_, i) => i);
  }

  protected async iterateOnce(): Promise<number> {
    const { store, projector, revised, order } = this;
    const area = store.frameArea;
    const powerBound = this.summary.powerBound(this.options.fourierRelaxFactor);
    const updateProbe = this.probeUpdates;
    for (let i = order.length - 1; i > 0; i--) {
      const j = floor(this.random() * (i + 1));
      const swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    let errorSum = 0;
    for (let i = 0; i < order.length; i++) {
      const f = order[i];
      const row = store.views[2 * f];
      const col = store.views[2 * f + 1];
      projector.loadProduct(this.object.data, this.object.cols, this.probe.data, row, col);
      revised.set(projector.product);
      errorSum += projector.update(revised, 0, store.moduli, store.masks, f * area, store.validCounts[f], PROJECTION_COEFFICIENTS, powerBound);
      this.updateObjectView(row, col);
      if (updateProbe) this.updateProbe(row, col);
    }
    return errorSum / order.length;
  }

  private updateObjectView(row: number, col: number): void {
    this.step(this.object.data, true, this.probe.data, this.options.beta, row, col);
  }

  private updateProbe(row: number, col: number): void {
    this.step(this.probe.data, false, this.object.data, this.options.alpha, row, col);
  }

  /**
   * target += rate conj(factor) (psi' - psi) / max |factor|^2 over the view: the object step (target on the
   * object grid, factor the probe) and the probe step (the other way round) are the same update.
   */
  private step(target: Float32Array, targetOnObject: boolean, factor: Float32Array, rate: number, row: number, col: number): void {
    const product = this.projector.product;
    const revised = this.revised;
    const n = this.frameSize;
    const cols = this.object.cols;
    let maxPower = 0;
    for (let r = 0; r < n; r++) {
      let o = 2 * ((row + r) * cols + col);
      for (let p = 2 * r * n; p < 2 * (r + 1) * n; p += 2, o += 2) {
        const k = targetOnObject ? p : o;
        maxPower = max(maxPower, factor[k] * factor[k] + factor[k + 1] * factor[k + 1]);
      }
    }
    if (maxPower === 0) return;
    const scale = rate / maxPower;
    for (let r = 0; r < n; r++) {
      let o = 2 * ((row + r) * cols + col);
      let p = 2 * r * n;
      const end = p + 2 * n;
      for (; p < end; p += 2, o += 2) {
        const t = targetOnObject ? o : p;
        const k = targetOnObject ? p : o;
        const dr = revised[p] - product[p];
        const di = revised[p + 1] - product[p + 1];
        target[t] += scale * (factor[k] * dr + factor[k + 1] * di);
        target[t + 1] += scale * (factor[k] * di - factor[k + 1] * dr);
      }
    }
  }
}
