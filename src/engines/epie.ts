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
    this.store = new FrameStore(setup.frameSize, false, false, setup.expectedFrames);
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
    // max |P|^2, kept up to date by the probe step itself (it rewrites every probe pixel), so the probe is read
    // once per iteration rather than once per frame; likewise the object step returns max |O_view|^2.
    let probePower = maxPower(this.probe.data);
    let errorSum = 0;
    for (let i = 0; i < order.length; i++) {
      const f = order[i];
      const row = store.views[2 * f];
      const col = store.views[2 * f + 1];
      projector.loadProduct(this.object.data, this.object.cols, this.probe.data, row, col);
      // The plain projection (a = 0, b = 1, c = 1) overwrites `revised` with psi' (within a power bound with
      // revised + (P x O - revised), P x O up to rounding), so it need not be loaded with P x O first.
      errorSum += projector.update(revised, 0, store.moduli, store.masks, f * area, store.validCounts[f], PROJECTION_COEFFICIENTS, powerBound);
      if (probePower === 0) continue;
      const viewPower = this.updateObjectView(row, col, this.options.beta / probePower);
      if (updateProbe && viewPower > 0) probePower = this.updateProbe(row, col, this.options.alpha / viewPower);
    }
    return errorSum / order.length;
  }

  /** O_view += scale conj(P) (psi' - psi); returns max |O_view|^2 after the step. */
  private updateObjectView(row: number, col: number, scale: number): number {
    return this.stepView(this.object.data, true, this.probe.data, row, col, scale);
  }

  /** P += scale conj(O_view) (psi' - psi), with the object just updated; returns max |P|^2 after the step. */
  private updateProbe(row: number, col: number, scale: number): number {
    return this.stepView(this.probe.data, false, this.object.data, row, col, scale);
  }

  /** The object step and the probe step are one update with target and factor swapped, line by line. */
  private stepView(target: Float32Array, targetOnObject: boolean, factor: Float32Array, row: number, col: number, scale: number): number {
    const n = this.frameSize;
    const cols = this.object.cols;
    const { revised } = this;
    const product = this.projector.product;
    let power = 0;
    for (let r = 0; r < n; r++) {
      const objectAt = (row + r) * cols + col;
      const probeAt = r * n;
      const linePower = targetOnObject
        ? stepLine(target, objectAt, factor, probeAt, revised, product, probeAt, n, scale)
        : stepLine(target, probeAt, factor, objectAt, revised, product, probeAt, n, scale);
      power = max(power, linePower);
    }
    return power;
  }
}

/**
 * For `length` pixels: target[t] += scale conj(factor[f]) (revised[p] - product[p]), t, f, p counting up from
 * their starts (complex indices); returns max |target|^2 of the stored (float32) results.
 */
function stepLine(
  target: Float32Array,
  t: number,
  factor: Float32Array,
  f: number,
  revised: Float32Array,
  product: Float64Array,
  p: number,
  length: number,
  scale: number,
): number {
  let power = 0;
  for (let i = 0; i < length; i++, t++, f++, p++) {
    const dr = revised[2 * p] - product[2 * p];
    const di = revised[2 * p + 1] - product[2 * p + 1];
    const fr = factor[2 * f];
    const fi = factor[2 * f + 1];
    target[2 * t] += scale * (fr * dr + fi * di);
    target[2 * t + 1] += scale * (fr * di - fi * dr);
    const re = target[2 * t];
    const im = target[2 * t + 1];
    power = max(power, re * re + im * im);
  }
  return power;
}

/** max |z|^2 over interleaved complex values. */
function maxPower(data: Float32Array): number {
  let power = 0;
  for (let k = 0; k < data.length; k += 2) power = max(power, data[k] * data[k] + data[k + 1] * data[k + 1]);
  return power;
}
