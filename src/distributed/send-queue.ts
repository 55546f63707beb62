/**
 * zeromq v6 allows one `send()` in progress per socket: messages from independent callers (heartbeats, results,
 * jobs) go through this queue, in call order. A failed send is reported to `onError` and the queue goes on.
 */
import * as zmq from "zeromq";

export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly socket: zmq.Writable & { closed: boolean },
    private readonly onError: (error: Error, parts: Buffer[]) => void,
  ) {}

  /** Messages queued and not yet handed to ZeroMQ. */
  get length(): number {
    return this.pending;
  }

  send(parts: Buffer[]): Promise<void> {
    this.pending += 1;
    const sent = this.tail.then(async () => {
      try {
        if (!this.socket.closed) await this.socket.send(parts);
      } catch (error) {
        if (!this.socket.closed) this.onError(error as Error, parts);
      } finally {
        this.pending -= 1;
      }
    });
    this.tail = sent;
    return sent;
  }
}
