/**
 * A run to show in the viewer, from the simulator (src/sim): raw FCCD frames in the raw layout, processed frames
 * (the truth's far-field intensities at their positions), snapshots of a reconstruction converging on the
 * truth (the object and probe relax from a seeded random start towards the true ones; their error to the truth
 * and their Fourier error against the truth's intensities are computed, not made up), and stage metrics.
 */
import { ViewerFeed } from "../../src/viewer/feed";
import { ComplexImage, Snapshot } from "../../src/model/scan";
import { PipelineMetrics } from "../../src/runtime/metrics";
import { mulberry32 } from "../../src/sim/random";
import { farFieldIntensities } from "../../src/sim/physics";
import { SimulatedScan, simulateScan } from "../../src/sim/scan";
import { relativeDifference } from "../numerics/compare";

export const RUN_SIM = { frameSize: 64, numPoints: 100, darksPerExposure: 2, seed: 3 };

/** The truth plus `weight` x a fixed random field: weight 1 is the start, 0 the truth. */
function relaxed(truth: ComplexImage, start: Float32Array, weight: number): ComplexImage {
  const data = Float32Array.from(truth.data, (v, k) => (1 - weight) * v + weight * start[k]);
  return { rows: truth.rows, cols: truth.cols, data };
}

export class SimulatedRun {
  readonly sim: SimulatedScan;
  readonly metrics = new PipelineMetrics();
  readonly counts: Record<string, number> = { received: 0, processed: 0, stored: 0, skipped: 0, dropped: 0, "bad:gap": 0 };
  private frameIndex = 0;
  private point = 0;
  private iteration = 0;
  private readonly objectStart: Float32Array;
  private readonly probeStart: Float32Array;
  private readonly checkedViews: Int32Array;

  constructor(private readonly feed: ViewerFeed) {
    this.sim = simulateScan(RUN_SIM);
    const uniform = mulberry32(7);
    const { object, probe } = this.sim.truth;
    const probeScale = Math.max(...Array.from(probe.data, Math.abs));
    this.objectStart = Float32Array.from(object.data, () => 2 * uniform() - 1);
    this.probeStart = Float32Array.from(probe.data, () => probeScale * (2 * uniform() - 1));
    this.checkedViews = this.sim.truth.positionsPx.subarray(0, 2 * 4);
    // The positions are known from the start (they come in `start`); the measured ones fill in as frames arrive.
    feed.scan({ scanId: this.sim.start.scanId, layout: this.sim.start.layout, positionsM: this.sim.start.positionsM });
  }

  /** One raw frame, one processed frame (with its position) and the stage figures. */
  frame(): void {
    const { sim, metrics } = this;
    const raw = sim.frame(this.frameIndex % sim.totalFrames);
    this.frameIndex += 1;
    metrics.stage("grab").entered();
    metrics.stage("grab").emitted();
    metrics.stage("grab").released(1);
    this.feed.rawFrame(raw);
    this.counts.received += 1;
    if (this.frameIndex % 7 === 0) this.counts["bad:gap"] += 1;
    if (this.frameIndex % 5 === 0) this.counts.skipped += 1;

    const n = sim.truth.frameSize;
    const point = this.point % sim.truth.positionsM.length;
    this.point += 1;
    const data = sim.truth.intensities.subarray(point * n * n, (point + 1) * n * n);
    metrics.stage("preprocess").entered();
    metrics.stage("preprocess").emitted();
    metrics.stage("preprocess").released(1);
    metrics.stage("chunk").entered();
    if (this.point % 4 === 0) {
      metrics.stage("chunk").emitted(4);
      metrics.stage("chunk").released(4);
      this.counts.stored += 4;
    }
    this.feed.processedFrame({ index: point, positionM: sim.truth.positionsM[point], rows: n, cols: n, data, weights: new Uint8Array(n * n).fill(1) });
    this.counts.processed += 1;
    this.feed.health({ stages: metrics.figures(), counts: { ...this.counts } });
  }

  /** The next snapshot: object and probe a step closer to the truth. */
  snapshot(final = false): Snapshot {
    const { truth } = this.sim;
    this.iteration += 5;
    const weight = Math.exp(-this.iteration / 40);
    const object = relaxed(truth.object, this.objectStart, weight);
    const probe = relaxed(truth.probe, this.probeStart, weight);
    const n = truth.frameSize;
    const modelled = farFieldIntensities(object, probe, this.checkedViews, n);
    const measured = truth.intensities.subarray(0, modelled.length);
    const snapshot: Snapshot = {
      iteration: this.iteration,
      framesUsed: Math.min(this.point, truth.positionsM.length),
      error: relativeDifference(measured.map(Math.sqrt), modelled.map(Math.sqrt)),
      object,
      probe,
      objectPixelSizeM: [truth.objectPixelSizeM, truth.objectPixelSizeM],
      errorToTruth: relativeDifference(truth.object.data, object.data),
      final,
    };
    this.feed.snapshot(snapshot);
    this.metrics.stage("reconstruct").entered();
    this.metrics.stage("reconstruct").emitted();
    this.metrics.stage("reconstruct").released(1);
    return snapshot;
  }
}
