/**
 * Frame-index bookkeeping for a scan of `total` frames: gaps (indices skipped, e.g. lost on a PUB socket),
 * duplicates and out-of-order arrivals. Gaps are counted once, when a later index shows them, plus the tail
 * that never came before the end of the scan, so the gaps add up to exactly the frames that were lost.
 */
export interface IndexObservation {
  /** Frames skipped just before this one: indices `[from, from + count)`. */
  gap?: { from: number; count: number };
  duplicate: boolean;
  outOfOrder: boolean;
  beyond: boolean;
}

export class IndexTracker {
  private readonly seen: Uint8Array;
  private nextExpected = 0;
  private distinctSeen = 0;

  constructor(readonly total: number) {
    this.seen = new Uint8Array(total);
  }

  observe(index: number): IndexObservation {
    if (index >= this.total) return { duplicate: false, outOfOrder: false, beyond: true };
    const duplicate = this.seen[index] === 1;
    if (!duplicate) this.distinctSeen += 1;
    this.seen[index] = 1;
    const outOfOrder = !duplicate && index < this.nextExpected;
    const gap = index > this.nextExpected ? { from: this.nextExpected, count: index - this.nextExpected } : undefined;
    this.nextExpected = Math.max(this.nextExpected, index + 1);
    return { gap, duplicate, outOfOrder, beyond: false };
  }

  /** True once every frame of the scan has come: no gap is waiting for a late frame. */
  get complete(): boolean {
    return this.distinctSeen >= this.total;
  }

  /** The frames after the last one seen, which never came: `[from, total)`. */
  tailGap(): { from: number; count: number } | undefined {
    return this.nextExpected < this.total ? { from: this.nextExpected, count: this.total - this.nextExpected } : undefined;
  }
}
