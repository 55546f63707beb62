/**
 * Credits: a source reads its socket only while fewer than `limit` frames are unacknowledged downstream, so
 * backpressure reaches the sender (a ZeroMQ PUSH then blocks) and memory stays bounded (DESIGN section 7).
 */
import { Observable } from "rxjs";
import * as t from "io-ts";
import { Envelope, envelope } from "../model/envelope";

export class CreditGate {
  private outstandingCount = 0;
  private issuedCount = 0;
  private highWater = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly releaseListeners = new Set<() => void>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`credit limit must be a positive integer, got ${limit}`);
  }

  get outstanding(): number {
    return this.outstandingCount;
  }

  get available(): number {
    return this.limit - this.outstandingCount;
  }

  get issued(): number {
    return this.issuedCount;
  }

  /** The most frames that were ever unacknowledged at once. */
  get highWaterMark(): number {
    return this.highWater;
  }

  /** Resolves as soon as a credit is free (at once if one is). */
  whenAvailable(): Promise<void> {
    if (this.available > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Spends a credit on `value`; the envelope's ack gives it back, after `onAck` (e.g. freeing the value's memory,
   * so the next read does not hold both). Throws when no credit is free.
   */
  issue<T>(value: T, onAck?: (value: T) => void): Envelope<T> {
    if (this.available <= 0) throw new Error(`no credit free: ${this.outstandingCount} of ${this.limit} outstanding`);
    this.outstandingCount += 1;
    this.issuedCount += 1;
    this.highWater = Math.max(this.highWater, this.outstandingCount);
    return envelope(value, () => {
      onAck?.(value);
      this.release();
    });
  }

  /** Called after every release, for pull sources that read synchronously. */
  onRelease(listener: () => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  private release(): void {
    this.outstandingCount -= 1;
    const waiter = this.waiters.shift();
    if (waiter) waiter();
    this.releaseListeners.forEach((listener) => listener());
  }
}

/**
 * An Observable of enveloped values pulled from `source` only while credits are free. Pulling is synchronous,
 * so under a `TestScheduler` the emission times show exactly when acknowledgements let the source read on.
 * The in-process simulator and file replay read through this; sockets use `CreditGate.whenAvailable`.
 */
export function fromIterableWithCredits<T>(source: Iterable<T>, gate: CreditGate | number): Observable<Envelope<T>> {
  return new Observable<Envelope<T>>((subscriber) => {
    const credits = typeof gate === "number" ? new CreditGate(gate) : gate;
    const iterator = source[Symbol.iterator]();
    let pulling = false;
    let pullAgain = false;
    let done = false;
    const pull = () => {
      // A release inside `next` (a synchronous downstream ack) must not recurse: note it and loop instead.
      if (pulling) {
        pullAgain = true;
        return;
      }
      pulling = true;
      try {
        do {
          pullAgain = false;
          while (!done && !subscriber.closed && credits.available > 0) {
            const step = iterator.next();
            if (step.done) {
              done = true;
              subscriber.complete();
              break;
            }
            subscriber.next(credits.issue(step.value));
          }
        } while (pullAgain && !done && !subscriber.closed);
      } catch (error) {
        subscriber.error(error);
      } finally {
        pulling = false;
      }
    };
    const stopListening = credits.onRelease(pull);
    pull();
    return () => {
      stopListening();
      iterator.return?.();
    };
  });
}

/** How many frames a stage may hold unacknowledged at once, and why. */
export interface StageHold {
  stage: string;
  maxHeldFrames: number;
  why: string;
}

export const DEFAULT_CREDIT_SLACK = 4;

export function requiredCredits(holds: readonly StageHold[], slack = DEFAULT_CREDIT_SLACK): number {
  return holds.reduce((sum, hold) => sum + hold.maxHeldFrames, 0) + slack;
}

/** Empty when `credits` covers every stage's holdings; otherwise one readable line saying what is short. */
export function creditBudgetProblem(credits: number, holds: readonly StageHold[], slack = DEFAULT_CREDIT_SLACK): string | undefined {
  const needed = requiredCredits(holds, slack);
  if (credits >= needed) return undefined;
  const parts = holds.filter((h) => h.maxHeldFrames > 0).map((h) => `${h.stage} holds up to ${h.maxHeldFrames} (${h.why})`);
  return `credits: expected at least ${needed} (${[...parts, `slack ${slack}`].join(", ")}), got ${credits}: the pipeline would deadlock`;
}

/**
 * Refines a configuration codec so decoding fails, with a readable line, when its `credits` cannot cover what
 * its stages may hold at once. A small credit limit is then a configuration error, not a deadlock at run time.
 */
export function withCreditBudget<C extends t.Mixed>(
  codec: C,
  credits: (config: t.TypeOf<C>) => number,
  holds: (config: t.TypeOf<C>) => StageHold[],
  slack = DEFAULT_CREDIT_SLACK,
): t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> {
  return new t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown>(
    codec.name,
    (u): u is t.TypeOf<C> => codec.is(u) && creditBudgetProblem(credits(u), holds(u), slack) === undefined,
    (u, c) => {
      const base = codec.validate(u, c);
      if (base._tag === "Left") return base;
      const problem = creditBudgetProblem(credits(base.right), holds(base.right), slack);
      return problem === undefined ? base : t.failure(u, c, problem);
    },
    codec.encode,
  );
}
