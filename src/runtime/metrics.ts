/**
 * Per-stage metrics for the runtime summary and the viewer: items in and out, rates, queue depth (taken in but
 * not yet handed on) and busy time. Busy time is exclusive: while a stage hands a value downstream its clock is
 * paused, so in a synchronous push chain each stage is charged only for its own work.
 */

export interface StageFigures {
  stage: string;
  itemsIn: number;
  itemsOut: number;
  /** Taken in and not yet handed on (a chunk being filled, a point waiting for its exposures...). */
  queueDepth: number;
  maxQueueDepth: number;
  busySeconds: number;
  /** Seconds since the first item came in. */
  elapsedSeconds: number;
  /** Items out per second from the first item in to the last item out (the stage's active window). */
  rateOut: number;
  /** Fraction of the elapsed time the stage was busy. */
  busyFraction: number;
}

const nowSeconds = (): number => Number(process.hrtime.bigint()) / 1e9;

export class StageMetrics {
  itemsIn = 0;
  itemsOut = 0;
  maxQueueDepth = 0;
  private busy = 0;
  private runningSince: number | undefined;
  private depth = 0;
  private firstIn: number | undefined;
  private lastOut: number | undefined;

  constructor(
    readonly stage: string,
    private readonly clock: () => number = nowSeconds,
  ) {}

  /** An item enters the stage; its clock runs until `paused` or `left`. */
  entered(): void {
    const now = this.clock();
    this.firstIn ??= now;
    this.itemsIn += 1;
    this.depth += 1;
    this.maxQueueDepth = Math.max(this.maxQueueDepth, this.depth);
  }

  /** The stage emits `count` items (a chunk of frames counts as its frames when the caller says so). */
  emitted(count = 1): void {
    this.itemsOut += count;
    this.lastOut = this.clock();
  }

  /** Items the stage let go without emitting them one for one (folded into a chunk, merged into a point, dropped). */
  released(count: number): void {
    this.depth = Math.max(0, this.depth - count);
  }

  startClock(): void {
    if (this.runningSince === undefined) this.runningSince = this.clock();
  }

  stopClock(): void {
    if (this.runningSince !== undefined) {
      this.busy += this.clock() - this.runningSince;
      this.runningSince = undefined;
    }
  }

  figures(): StageFigures {
    const now = this.clock();
    const running = this.runningSince === undefined ? 0 : now - this.runningSince;
    const elapsed = this.firstIn === undefined ? 0 : now - this.firstIn;
    const busySeconds = this.busy + running;
    return {
      stage: this.stage,
      itemsIn: this.itemsIn,
      itemsOut: this.itemsOut,
      queueDepth: this.depth,
      maxQueueDepth: this.maxQueueDepth,
      busySeconds,
      elapsedSeconds: elapsed,
      rateOut: this.firstIn !== undefined && this.lastOut !== undefined && this.lastOut > this.firstIn ? this.itemsOut / (this.lastOut - this.firstIn) : 0,
      busyFraction: elapsed > 0 ? Math.min(1, busySeconds / elapsed) : 0,
    };
  }
}

export class PipelineMetrics {
  private readonly stages = new Map<string, StageMetrics>();

  constructor(private readonly clock: () => number = nowSeconds) {}

  stage(name: string): StageMetrics {
    let metrics = this.stages.get(name);
    if (!metrics) {
      metrics = new StageMetrics(name, this.clock);
      this.stages.set(name, metrics);
    }
    return metrics;
  }

  figures(): StageFigures[] {
    return [...this.stages.values()].map((s) => s.figures());
  }
}
