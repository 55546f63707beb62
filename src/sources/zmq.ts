/**
 * ZeroMQ plumbing shared by the sources and the frameserver: socket construction for the two patterns, a
 * credit-paced read loop, a change signal for loops that wait on state, and quiet closing.
 *
 * zeromq v6 allows one pending `receive()` per socket and reads only when asked, so a loop that asks only while
 * credits are free is what carries backpressure to a PUSH sender (DESIGN section 7, TOOLCHAIN.md).
 */
import * as zmq from "zeromq";
import { Fault } from "../model/fault";

/** `pull`: lossless, the sender blocks when we stop reading. `sub`: lossy, the publisher drops what we miss. */
export type IngestPattern = "pull" | "sub";

export interface ReaderSocketOptions {
  pattern: IngestPattern;
  /** ZeroMQ receive high-water mark (messages). Small for `pull` so backpressure reaches the sender quickly. */
  receiveHighWaterMark?: number;
  /** SUB topic prefixes (default: everything). */
  topics?: string[];
}

export function connectReader(address: string, options: ReaderSocketOptions): zmq.Pull | zmq.Subscriber {
  const hwm = options.receiveHighWaterMark ?? (options.pattern === "pull" ? 4 : 1000);
  const socket =
    options.pattern === "pull" ? new zmq.Pull({ receiveHighWaterMark: hwm, linger: 0 }) : new zmq.Subscriber({ receiveHighWaterMark: hwm, linger: 0 });
  if (socket instanceof zmq.Subscriber) {
    const topics = options.topics ?? [""];
    topics.forEach((topic) => socket.subscribe(topic));
  }
  socket.connect(address);
  return socket;
}

export function closeQuietly(...sockets: Array<{ close(): void; closed: boolean } | undefined>): void {
  for (const socket of sockets) {
    if (socket !== undefined && !socket.closed) socket.close();
  }
}

/** A latch that loops await until some state changed (`notify`). */
export class ChangeSignal {
  private waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }
}

/** Prints faults to stderr when the caller gave no sink: nothing is lost silently. */
export const faultsToStderr = (f: Fault): void => {
  process.stderr.write(`[${f.where}] ${f.reason}${f.index === undefined ? "" : ` #${f.index}`}: ${f.message}\n`);
};

/** Reads a socket message by message until `isStopped()`, asking for the next only when `mayRead` resolves. */
export async function readLoop(
  socket: zmq.Readable & { closed: boolean },
  handlers: {
    isStopped: () => boolean;
    /** Resolves when the loop may ask for the next message (e.g. when a credit is free). */
    mayRead?: () => Promise<void> | undefined;
    /** Called when a `receive()` starts waiting and when it returns, for idle detection. */
    onWaiting?: (waiting: boolean) => void;
    onMessage: (parts: Buffer[]) => void;
  },
): Promise<void> {
  while (!handlers.isStopped()) {
    const gate = handlers.mayRead?.();
    if (gate !== undefined) {
      await gate;
      continue;
    }
    let parts: Buffer[];
    handlers.onWaiting?.(true);
    try {
      parts = (await socket.receive()) as Buffer[];
    } catch (error) {
      // Closing the socket (unsubscribe) rejects the pending receive: that is the normal way out.
      if (handlers.isStopped() || socket.closed) return;
      throw error;
    } finally {
      handlers.onWaiting?.(false);
    }
    if (handlers.isStopped()) return;
    handlers.onMessage(parts);
  }
}

/**
 * Reads `socket` into `onMessage` for as long as `subscriber` is subscribed: a read error closes the socket and errors
 * the stream; the returned teardown closes the socket. For plain lossy readers (viewers) that need no credits.
 */
export function readWhileSubscribed(
  socket: zmq.Readable & { closed: boolean; close(): void },
  subscriber: { error(error: unknown): void },
  onMessage: (parts: Buffer[]) => void,
): () => void {
  let stopped = false;
  readLoop(socket, { isStopped: () => stopped, onMessage }).catch((error) => {
    if (stopped) return;
    stopped = true;
    closeQuietly(socket);
    subscriber.error(error);
  });
  return () => {
    stopped = true;
    closeQuietly(socket);
  };
}

/** How long a `receive()` has been waiting with nothing arriving, for idle and drain timeouts. */
export class WaitClock {
  private since: number | undefined;
  set(waiting: boolean): void {
    this.since = waiting ? Date.now() : undefined;
  }
  waitedMs(): number {
    return this.since === undefined ? 0 : Date.now() - this.since;
  }
  /** A wait in progress counts from now (the time before was not the socket's silence). */
  restart(): void {
    if (this.since !== undefined) this.since = Date.now();
  }
}

/** A tick this much later than its period means the thread was busy rather than the socket silent. */
const STALL_MS = 100;

/**
 * What a socket source owns while subscribed: its sockets, a timer for its timeouts, and a listener on its credit
 * gate that wakes the read loop (not `gate.whenAvailable()`: a waiter left behind by a loop woken otherwise would
 * swallow a release). `stop()` releases all of it, once.
 */
export class SocketSourceLifetime {
  stopped = false;
  readonly changed = new ChangeSignal();
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly stopListening: () => void;

  constructor(
    private readonly sockets: Array<{ close(): void; closed: boolean }>,
    gate: { onRelease(listener: () => void): () => void },
    tick: { every: number; run: () => void; waits?: WaitClock[] },
    private readonly onStop: () => void = () => undefined,
  ) {
    const period = Math.max(5, Math.min(50, tick.every));
    let lastTickMs = Date.now();
    this.ticker = setInterval(() => {
      // A late tick: this thread was busy (a long synchronous task, such as compiling WebAssembly) and could not
      // read, so the waits restart rather than count that time as silence; else the timeouts below would take a
      // stalled reader for a quiet socket and pass a scan's end before its last frames, reporting them lost.
      const now = Date.now();
      if (now - lastTickMs > period + STALL_MS) tick.waits?.forEach((wait) => wait.restart());
      lastTickMs = now;
      tick.run();
    }, period);
    this.stopListening = gate.onRelease(() => this.changed.notify());
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    this.stopListening();
    closeQuietly(...this.sockets);
    this.onStop();
    this.changed.notify();
  }

  /** Ends the source with an error from a read loop, unless it was stopped on purpose. */
  fail(subscriber: { error(error: unknown): void }, error: unknown): void {
    if (this.stopped) return;
    this.stop();
    subscriber.error(error);
  }
}
