/**
 * The PUB side shared by the cosmicstreams publishers (`publishCosmicstreams`, `publishReconstructions`): one
 * bound socket, an ordered send queue, the slow-joiner remedies, and counts.
 *
 * PUB drops whatever it sends before a subscriber's subscription has reached it ("slow joiner"). Two remedies,
 * applied once per socket before its first message:
 * - `waitForSubscribers: n`: the socket is an XPUB, which receives each subscription as a message `[1, topic]`;
 *   we count subscriptions whose prefix covers `readyTopic` (e.g. `start`: a SUB subscribed to `""`, `"s"` or
 *   `"start"`) and send once n have arrived. This is exact, unlike counting TCP `accept` events: when XPUB hands
 *   us a subscription, libzmq has already entered it in the PUB's filter, so the next message reaches that peer.
 *   XPUB's verbose mode passes duplicates up, so two subscribers to the same topic count as two. A subscriber
 *   that subscribes twice to prefixes covering the topic counts twice.
 * - `startDelayMs`: a plain wait, for receivers that connect at a known time but cannot be counted.
 * Subscriptions that came earlier wait in the XPUB's queue and are counted then; the timeout runs from the first
 * message. If the subscribers do not come within `waitTimeoutMs`, publishing goes ahead (PUB semantics: lossy)
 * and the shortfall is reported (`SubscriberWait.ready = false`), never silently.
 *
 * Work is queued (`enqueue`) and runs one task at a time in order (zeromq v6 allows one pending send per socket);
 * a PUB send never blocks, so the queue drains as fast as messages can be handed to ZeroMQ.
 */
import * as zmq from "zeromq";

export interface PublisherSocketOptions {
  address: string;
  /** ZeroMQ send high-water mark, in messages (cosmicstreams' reference publisher: 10000). */
  sendHighWaterMark: number;
  /** Subscriptions covering `readyTopic` to wait for before the first message (0: do not wait). */
  waitForSubscribers?: number;
  /** The topic whose subscriptions are counted. */
  readyTopic: string;
  /** Most time to wait for the subscribers; then publishing goes ahead and `ready` is false. */
  waitTimeoutMs?: number;
  /** A plain pause before the first message (after any subscriber wait). */
  startDelayMs?: number;
  /** How long closing lets queued messages leave. */
  lingerMs?: number;
}

export const PUBLISHER_DEFAULTS = { waitTimeoutMs: 30000, lingerMs: 1000 };

export interface SubscriberWait {
  /** Subscriptions covering the ready topic seen before the first message. */
  subscribers: number;
  /** False when fewer than `waitForSubscribers` came within the timeout. */
  ready: boolean;
  waitedMs: number;
}

export interface PublisherCounts {
  messages: number;
  /** Bytes of every part of every message sent, topics and headers included. */
  bytes: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function partBytes(part: string | Uint8Array): number {
  return typeof part === "string" ? Buffer.byteLength(part, "utf8") : part.byteLength;
}

/** Counts subscriptions covering `topic` that reach an XPUB socket, until `count` or the deadline. */
export async function awaitSubscriptions(socket: zmq.XPublisher, count: number, topic: string, timeoutMs: number): Promise<number> {
  let seen = 0;
  const deadline = Date.now() + timeoutMs;
  while (seen < count && !socket.closed) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    socket.receiveTimeout = remaining;
    let message: Buffer;
    try {
      [message] = (await socket.receive()) as Buffer[];
    } catch (error) {
      if (socket.closed || (error as { code?: string }).code === "EAGAIN") break;
      throw error;
    }
    if (message[0] === 1 && topic.startsWith(message.subarray(1).toString("utf8"))) seen += 1;
  }
  return seen;
}

export class PublisherSocket {
  readonly counts: PublisherCounts = { messages: 0, bytes: 0 };
  /** Resolves once bound (subscribers may connect); rejects, naming the address, if binding fails. */
  readonly bound: Promise<void>;
  private readonly socket: zmq.XPublisher;
  private tail: Promise<unknown>;
  private prepared = false;
  private waitResult: SubscriberWait | undefined;
  private failure: unknown;

  /** Binds at once; tasks may be queued straight away and run once the socket is bound. */
  constructor(private readonly options: PublisherSocketOptions) {
    this.socket = new zmq.XPublisher({
      sendHighWaterMark: options.sendHighWaterMark,
      linger: options.lingerMs ?? PUBLISHER_DEFAULTS.lingerMs,
    });
    if ((options.waitForSubscribers ?? 0) > 0) this.socket.verbosity = "allSubs";
    this.bound = this.socket.bind(options.address).catch((error: unknown) => {
      this.socket.close();
      throw new Error(`cannot bind a publisher to ${options.address}: ${error instanceof Error ? error.message : String(error)}`);
    });
    // Tasks still run after a failed bind (their sends do nothing), so whatever they hold is released.
    this.tail = this.bound.catch(() => undefined);
  }

  /** The slow-joiner outcome, once the first message could go (undefined before). */
  get subscriberWait(): SubscriberWait | undefined {
    return this.waitResult;
  }

  /** Runs `task` after everything queued before it; a failing task does not stop the ones after it. */
  enqueue(task: () => Promise<void> | void): Promise<void> {
    if (!this.prepared) {
      // The wait starts with the first message, so its timeout measures how long that message is held back.
      this.prepared = true;
      this.tail = this.tail.then(() => this.prepare());
    }
    const run = this.tail.then(task);
    this.tail = run.catch((error: unknown) => {
      this.failure ??= error;
    });
    return run;
  }

  /**
   * Sends at once and returns the bytes sent, or 0 when the socket is closed (bind failed or unsubscribed).
   * Call only from inside a queued task, so the order holds.
   */
  async sendNow(parts: Array<string | Uint8Array>): Promise<number> {
    if (this.socket.closed) return 0;
    await this.socket.send(parts);
    const bytes = parts.reduce((sum, part) => sum + partBytes(part), 0);
    this.counts.messages += 1;
    this.counts.bytes += bytes;
    return bytes;
  }

  /** Resolves when every queued message has been handed to ZeroMQ. */
  async drained(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }

  /** The first failure of a queued task, if any. */
  get firstFailure(): unknown {
    return this.failure;
  }

  /** Lets the queue drain, then closes (queued messages linger up to `lingerMs`). */
  async close(): Promise<void> {
    await this.drained();
    if (!this.socket.closed) this.socket.close();
  }

  /** Closes at once, dropping what is queued (unsubscription). */
  closeNow(): void {
    if (!this.socket.closed) this.socket.close();
  }

  private async prepare(): Promise<void> {
    const wanted = this.options.waitForSubscribers ?? 0;
    const started = Date.now();
    let subscribers = 0;
    try {
      if (wanted > 0) subscribers = await awaitSubscriptions(this.socket, wanted, this.options.readyTopic, this.options.waitTimeoutMs ?? PUBLISHER_DEFAULTS.waitTimeoutMs);
    } catch (error) {
      this.failure ??= error; // reported as not ready; publishing goes ahead
    }
    if ((this.options.startDelayMs ?? 0) > 0 && !this.socket.closed) await sleep(this.options.startDelayMs!);
    this.waitResult = { subscribers, ready: subscribers >= wanted, waitedMs: Date.now() - started };
  }
}
