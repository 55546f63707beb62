/**
 * Faults are counted, typed reasons: nothing is dropped or skipped silently (DESIGN sections 7 and 10).
 * A `FaultCounter` keeps counts by reason and the last few messages for the summary.
 */

export const FAULT_REASONS = [
  "malformed-json",
  "bad-header",
  "byte-length",
  "unknown-dtype",
  "no-start",
  "invalid-start",
  "invalid-message",
  "duplicate-index",
  "out-of-order",
  "missing-frames",
  "missing-position",
  "beyond-scan",
  "gap",
  "abort",
  "source-idle",
  "source-died",
  "skipped-storage",
  "write-error",
  "disk-full",
  "worker-died",
] as const;
export type FaultReason = (typeof FAULT_REASONS)[number];

export interface Fault {
  reason: FaultReason;
  /** Which source, stage or sink saw it. */
  where: string;
  message: string;
  /** The frame or point index concerned, when there is one. */
  index?: number;
  /** How many frames this one fault stands for (a gap of 5 frames counts 5). */
  count?: number;
}

export function fault(reason: FaultReason, where: string, message: string, extra: { index?: number; count?: number } = {}): Fault {
  return { reason, where, message, ...extra };
}

export class FaultCounter {
  private readonly counts = new Map<FaultReason, number>();
  private readonly recent: Fault[] = [];

  constructor(private readonly keepRecent = 20) {}

  record(f: Fault): void {
    this.counts.set(f.reason, (this.counts.get(f.reason) ?? 0) + (f.count ?? 1));
    this.recent.push(f);
    if (this.recent.length > this.keepRecent) this.recent.shift();
  }

  count(reason: FaultReason): number {
    return this.counts.get(reason) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** Counts by reason, for the `--json` summary (`bad`). */
  byReason(): Partial<Record<FaultReason, number>> {
    return Object.fromEntries(this.counts) as Partial<Record<FaultReason, number>>;
  }

  lastFaults(): readonly Fault[] {
    return this.recent;
  }
}
