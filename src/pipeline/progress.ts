/**
 * Progress while a scan runs: on a terminal a bar redrawn in place, otherwise (logs, CI) a plain line every few
 * seconds. Reads the context only, so it never slows the dataflow.
 */
import { PipelineContext } from "./context";

export interface ProgressOptions {
  interactive: boolean;
  /** Redraw interval on a terminal (ms, default 250) and plain-line interval otherwise (default 5000). */
  intervalMs?: number;
  write?: (text: string) => void;
}

export class ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private readonly write: (text: string) => void;

  constructor(
    private readonly context: PipelineContext,
    private readonly options: ProgressOptions,
  ) {
    this.write = options.write ?? ((text) => process.stderr.write(text));
  }

  start(): void {
    const interval = this.options.intervalMs ?? (this.options.interactive ? 250 : 5000);
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.interactive) this.write("\r\x1b[K");
  }

  line(): string {
    const { counters, faults } = this.context;
    const seconds = Math.max(1e-3, (Date.now() - this.context.startedAtMs) / 1000);
    const total = this.context.currentScan?.numPoints;
    const done = counters.points;
    const width = 24;
    const filled = total ? Math.min(width, Math.round((width * done) / total)) : 0;
    const bar = total ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} points` : `${done} points`;
    const snapshot = this.context.lastSnapshot;
    const recon = snapshot ? ` | recon it ${snapshot.iteration} err ${snapshot.error.toPrecision(3)}` : "";
    const bad = faults.total() > 0 ? ` | faults ${faults.total()}` : "";
    return `${bar} | ${counters.received} frames (${(counters.received / seconds).toFixed(0)}/s) | ${counters.processed} processed${recon}${bad}`;
  }

  private draw(): void {
    this.write(this.options.interactive ? `\r\x1b[K${this.line()}` : `${this.line()}\n`);
  }
}
