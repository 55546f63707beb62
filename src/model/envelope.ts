/**
 * A value travelling with its acknowledgement. A stage calls `ack()` once it no longer holds the value, which
 * returns the credit to the source (DESIGN section 7). Acks are idempotent so a value handed to several
 * branches can be acknowledged safely by whichever is last to let go (see `shareAck`).
 */
export interface Envelope<T> {
  readonly value: T;
  ack(): void;
}

export function envelope<T>(value: T, onAck: () => void = () => undefined): Envelope<T> {
  let acked = false;
  return {
    value,
    ack() {
      if (acked) return;
      acked = true;
      onAck();
    },
  };
}

/** A new value that carries the same acknowledgement (a stage transformed the value but still holds the frame). */
export function mapEnvelope<T, U>(source: Envelope<T>, project: (value: T) => U): Envelope<U> {
  return envelope(project(source.value), () => source.ack());
}

/** One envelope standing for several (e.g. the exposures of a point): acking it acks them all. */
export function joinEnvelopes<T>(value: T, parts: readonly Envelope<unknown>[]): Envelope<T> {
  return envelope(value, () => parts.forEach((part) => part.ack()));
}

/**
 * Splits one acknowledgement among `holders` branches: the original is acked when every branch has acked
 * its copy. Used where a chunk goes to storage and to reconstruction at once.
 */
export function shareAck<T>(source: Envelope<T>, holders: number): Envelope<T>[] {
  let remaining = holders;
  if (holders <= 0) {
    source.ack();
    return [];
  }
  return Array.from({ length: holders }, () =>
    envelope(source.value, () => {
      remaining -= 1;
      if (remaining === 0) source.ack();
    }),
  );
}
