/** A SUB client for the publisher tests: collects multipart messages until a condition holds or time runs out. */
import * as zmq from "zeromq";

export const endpoint = (port: number): string => `tcp://127.0.0.1:${port}`;

export class Listener {
  readonly messages: Buffer[][] = [];
  private readonly socket: zmq.Subscriber;

  constructor(address: string, topics: string[] = [""]) {
    this.socket = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100000 });
    topics.forEach((topic) => this.socket.subscribe(topic));
    this.socket.connect(address);
  }

  /** Receives until `done(messages)` or until nothing arrives for `quietMs` (then resolves with what came). */
  async until(done: (messages: Buffer[][]) => boolean, quietMs = 5000): Promise<Buffer[][]> {
    this.socket.receiveTimeout = quietMs;
    while (!done(this.messages)) {
      try {
        this.messages.push((await this.socket.receive()) as Buffer[]);
      } catch (error) {
        if ((error as { code?: string }).code === "EAGAIN") break;
        throw error;
      }
    }
    return this.messages;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}

export const topicOf = (message: Buffer[]): string => message[0].toString("utf8");
export const jsonOf = (message: Buffer[]): Record<string, unknown> => JSON.parse(message[1].toString("utf8")) as Record<string, unknown>;
/** Copies the raw part into an aligned Float32Array (little-endian host). */
export const float32Of = (part: Buffer): Float32Array => new Float32Array(Uint8Array.from(part).buffer);
export const endsScan = (messages: Buffer[][]): boolean => messages.some((m) => ["stop", "abort"].includes(topicOf(m)));
