/**
 * `publishCosmicstreams`: the scan, as it is processed, published in the cosmicstreams protocol (DESIGN section 3)
 * for PtyPy's streaming loader or any other subscriber, as a pass-through chunk sink like `storeChunks`
 * (chunk-sink.ts): every event goes on downstream unchanged and at once, and each chunk is also handed to the
 * publisher with its own share of the chunk's acknowledgement, released once the chunk's frames are sent.
 *
 *   chunks$.pipe(storeChunks(ptyd, ...), publishCosmicstreams({ waitForSubscribers: 1 }), reconstruct(...))
 *
 * On ONE PUB socket (high-water mark 10000, default tcp://127.0.0.1:37013), in order, per scan:
 * - `[b"start", json]` when the scan's first chunk arrives: only then is the processed frame width known (the
 *   scan's own `start` still has the detector's shape before crop/bin), and the first chunk's frames give the
 *   probe guess. See cosmic-start.ts for every key and unit; the start is checked against PtyPy's loader model
 *   before it goes out.
 * - `[b"frame", json{shape_y, shape_x, dtype: "float32", byteorder: "<", order: "C", identifier, index, posy,
 *   posx}, raw float32]` per frame, positions in metres. cosmicstreams has no weights, and PtyPy's loader takes
 *   every pixel as valid, so masked pixels (weight 0) go out as 0 photons.
 * - `[b"stop", json{identifier}]` when the scan ends with `stop`; `[b"abort", ...]` when it ends any other way
 *   (abort, idle, source closed, interrupted, a new scan before the end, completion or error mid-scan), since
 *   the receiver did not get the whole scan. A scan that produced no chunk publishes nothing.
 *
 * Frames PtyPy's loader would reject are skipped and counted as faults, never sent: an index outside
 * [0, exp_num_x x exp_num_y) (`beyond-scan`; the loader raises and stops receiving), a frame of another width than
 * the start announced, or a position that is not finite (`invalid-message`).
 *
 * Slow joiner: `waitForSubscribers: n` holds the first message until n subscriptions covering `start` reached the
 * socket (up to `waitTimeoutMs`, then it publishes anyway and says so in the summary); `startDelayMs` is a plain
 * pause. Chunks queued meanwhile keep their credits, so a lossless source waits with them.
 *
 * The socket binds when the operator is subscribed (a bind failure errors the stream, naming the address) and
 * closes on completion and error (after the queue has drained and the open scan got its `abort`: whoever waits for
 * the stream knows everything was handed to ZeroMQ) and at once on unsubscription (nothing more is sent).
 */
import { MonoTypeOperatorFunction } from "rxjs";
import { COSMIC_FRAME_PORT, CosmicFrameHeader } from "../model/cosmicstreams";
import { encodeArrayLE } from "../model/dtype";
import { Envelope } from "../model/envelope";
import { EndReason, ScanEvent } from "../model/events";
import { Fault, fault } from "../model/fault";
import { stringifyStrictJson } from "../model/json";
import { Chunk, DarkFrame, ScanMeta } from "../model/scan";
import { ChunkSink, SinkFinishCause, chunkSinkOperator } from "./chunk-sink";
import { CosmicStartOptions, buildCosmicStart } from "./cosmic-start";
import { PublisherSocket, SubscriberWait } from "./publisher-socket";

export interface PublishCosmicOptions {
  /** Bind endpoint (default tcp://127.0.0.1:37013). */
  address?: string;
  /** Subscriptions covering `start` to wait for before the first message (default 0). */
  waitForSubscribers?: number;
  waitTimeoutMs?: number;
  /** A plain pause before the first message. */
  startDelayMs?: number;
  /** Default 10000, as cosmicstreams' reference publisher. */
  sendHighWaterMark?: number;
  lingerMs?: number;
  /** How the start is built (identifier, probe guess, extra keys). */
  start?: Omit<CosmicStartOptions, "address">;
  /** The sink's name in faults and summaries (default "publish:cosmicstreams"). */
  where?: string;
  onFault?: (fault: Fault) => void;
  /** Called when a scan's publication ends. */
  onSummary?: (summary: PublishSummary) => void;
}

export const PUBLISH_COSMIC_DEFAULTS = {
  address: `tcp://127.0.0.1:${COSMIC_FRAME_PORT}`,
  sendHighWaterMark: 10000,
  where: "publish:cosmicstreams",
};

export type PublishEndCause = EndReason | SinkFinishCause | "next-scan";

export interface PublishSummary {
  sink: string;
  address: string;
  scanId: string;
  /** The identifier on the wire, once the start went out. */
  identifier?: string;
  startSent: boolean;
  framesPublished: number;
  framesSkipped: number;
  /** Bytes of every message of the scan (topic, header and pixels). */
  bytesPublished: number;
  messages: number;
  /** The topic that closed the scan on the wire (`none` when nothing was published). */
  endTopic: "stop" | "abort" | "none";
  endedBy: PublishEndCause;
  /** Subscribers seen before the socket's first message, and whether as many as awaited came. */
  subscribers?: SubscriberWait;
  faults: Fault[];
}

interface ScanPublication {
  meta: ScanMeta;
  /** The start sent, once it is: its identifier, width and frame capacity. */
  wire?: { identifier: string; width: number; capacity: number };
  /** Set when the start could not be built: the scan's frames are skipped. */
  refused?: string;
  ended: boolean;
  summary: PublishSummary;
}

class CosmicPublisher implements ChunkSink {
  readonly socket: PublisherSocket;
  private current: ScanPublication | undefined;
  private readonly address: string;
  private readonly where: string;

  constructor(private readonly options: PublishCosmicOptions) {
    this.address = options.address ?? PUBLISH_COSMIC_DEFAULTS.address;
    this.where = options.where ?? PUBLISH_COSMIC_DEFAULTS.where;
    this.socket = new PublisherSocket({
      address: this.address,
      sendHighWaterMark: options.sendHighWaterMark ?? PUBLISH_COSMIC_DEFAULTS.sendHighWaterMark,
      waitForSubscribers: options.waitForSubscribers,
      readyTopic: "start",
      waitTimeoutMs: options.waitTimeoutMs,
      startDelayMs: options.startDelayMs,
      lingerMs: options.lingerMs,
    });
  }

  startScan(meta: ScanMeta): void {
    if (this.current) this.endScan("next-scan");
    this.current = this.newScan(meta);
  }

  updateMeta(meta: ScanMeta): void {
    this.scanFor(meta).meta = meta;
  }

  /** Takes the publisher's share of a chunk; it is acknowledged once its frames are sent (or skipped). */
  offer(item: Envelope<Chunk>): void {
    const scan = this.scanFor(item.value.meta);
    void this.socket.enqueue(async () => {
      const chunk = item.value;
      const before = scan.summary.framesPublished + scan.summary.framesSkipped;
      try {
        await this.publishChunk(scan, chunk);
      } catch (error) {
        const unsent = chunk.count - (scan.summary.framesPublished + scan.summary.framesSkipped - before);
        this.skip(scan, fault("write-error", this.where, `chunk ${chunk.chunkIndex}: ${unsent} frames not published: ${describe(error)}`, { index: chunk.chunkIndex, count: unsent }), unsent);
      } finally {
        item.ack();
      }
    });
  }

  endScan(cause: PublishEndCause): void {
    const scan = this.current;
    this.current = undefined;
    if (!scan || scan.ended) return;
    scan.ended = true;
    void this.socket.enqueue(async () => {
      if (scan.wire) {
        const topic = cause === "stop" ? "stop" : "abort";
        try {
          const bytes = await this.socket.sendNow([topic, stringifyStrictJson({ identifier: scan.wire.identifier })]);
          this.count(scan, bytes);
          if (bytes > 0) scan.summary.endTopic = topic;
        } catch (error) {
          this.skip(scan, fault("write-error", this.where, `${topic} not published: ${describe(error)}`), 0);
        }
      }
      scan.summary.endedBy = cause;
      scan.summary.subscribers = this.socket.subscriberWait;
      this.options.onSummary?.({ ...scan.summary, faults: [...scan.summary.faults] });
    });
  }

  /**
   * Ends the open scan, lets every queued message go and closes the socket; rejects if the socket never bound,
   * so the stream fails rather than completing as if everything went out.
   */
  async finish(cause: SinkFinishCause): Promise<void> {
    this.endScan(cause);
    await this.socket.close();
    await this.socket.bound;
  }

  /** Unsubscribed: closes the socket at once (nothing more is sent); the open scan's summary says what went out. */
  abandon(): void {
    this.socket.closeNow();
    this.endScan("unsubscribed");
  }

  private newScan(meta: ScanMeta): ScanPublication {
    return {
      meta,
      ended: false,
      summary: {
        sink: this.where,
        address: this.address,
        scanId: meta.scanId,
        startSent: false,
        framesPublished: 0,
        framesSkipped: 0,
        bytesPublished: 0,
        messages: 0,
        endTopic: "none",
        endedBy: "complete",
        faults: [],
      },
    };
  }

  /** Items may come without a `start` (a replay joining late): the chunk's own metadata opens the scan. */
  private scanFor(meta: ScanMeta): ScanPublication {
    this.current ??= this.newScan(meta);
    return this.current;
  }

  private count(scan: ScanPublication, bytes: number): void {
    if (bytes === 0) return;
    scan.summary.messages += 1;
    scan.summary.bytesPublished += bytes;
  }

  private skip(scan: ScanPublication, f: Fault, frames: number): void {
    scan.summary.framesSkipped += frames;
    scan.summary.faults.push(f);
    this.options.onFault?.(f);
  }

  private async publishChunk(scan: ScanPublication, chunk: Chunk): Promise<void> {
    if (!scan.wire && scan.refused === undefined) await this.sendStart(scan, chunk);
    if (!scan.wire) {
      this.skip(scan, fault("invalid-start", this.where, `chunk ${chunk.chunkIndex} (${chunk.count} frames) not published: ${scan.refused}`, { index: chunk.chunkIndex, count: chunk.count }), chunk.count);
      return;
    }
    const { identifier, width, capacity } = scan.wire;
    if (chunk.rows !== width || chunk.cols !== width) {
      const message = `chunk ${chunk.chunkIndex} has ${chunk.rows} x ${chunk.cols} frames, the start announced ${width} x ${width}; not published`;
      this.skip(scan, fault("invalid-message", this.where, message, { index: chunk.chunkIndex, count: chunk.count }), chunk.count);
      return;
    }
    const size = width * width;
    for (let i = 0; i < chunk.count; i++) {
      const index = chunk.indices[i];
      if (index < 0 || index >= capacity) {
        this.skip(scan, fault("beyond-scan", this.where, `frame ${index} lies outside the ${capacity} frames the start announced; not published`, { index }), 1);
        continue;
      }
      const header: CosmicFrameHeader = {
        shape_y: width,
        shape_x: width,
        dtype: "float32",
        byteorder: "<",
        order: "C",
        identifier,
        index,
        posy: chunk.positionsYX[2 * i],
        posx: chunk.positionsYX[2 * i + 1],
      };
      if (!Number.isFinite(header.posy) || !Number.isFinite(header.posx)) {
        this.skip(scan, fault("invalid-message", this.where, `frame ${index} has position (${header.posy}, ${header.posx}); not published`, { index }), 1);
        continue;
      }
      const pixels = zeroMasked(chunk.data.subarray(i * size, (i + 1) * size), chunk.weights.subarray(i * size, (i + 1) * size));
      const bytes = await this.socket.sendNow(["frame", stringifyStrictJson(header), encodeArrayLE(pixels)]);
      this.count(scan, bytes);
      if (bytes > 0) scan.summary.framesPublished += 1;
    }
  }

  private async sendStart(scan: ScanPublication, chunk: Chunk): Promise<void> {
    let start: ReturnType<typeof buildCosmicStart>;
    try {
      // The chunk's metadata is the processed scan's: width and effective pixel size after crop/bin/resample.
      start = buildCosmicStart(chunk.meta, chunk, { ...this.options.start, address: this.address });
    } catch (error) {
      scan.refused = error instanceof Error ? error.message : String(error);
      return;
    }
    this.count(scan, await this.socket.sendNow(["start", stringifyStrictJson(start)]));
    scan.wire = { identifier: start.identifier, width: start.output_frame_width, capacity: start.exp_num_x * start.exp_num_y };
    scan.summary.identifier = start.identifier;
    scan.summary.startSent = true;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The frame's pixels with masked ones set to 0; the chunk's own array when nothing needs changing. */
function zeroMasked(pixels: Float32Array, weights: Uint8Array): Float32Array {
  let copy: Float32Array | undefined;
  for (let k = 0; k < pixels.length; k++) {
    if (weights[k] === 0 && pixels[k] !== 0) {
      copy ??= pixels.slice();
      copy[k] = 0;
    }
  }
  return copy ?? pixels;
}

/**
 * Publishes the chunks of a scan-event stream in the cosmicstreams protocol and passes every event on. See the
 * file comment for the messages, the slow-joiner options and the socket's lifetime.
 */
export function publishCosmicstreams<D = DarkFrame>(options: PublishCosmicOptions = {}): MonoTypeOperatorFunction<ScanEvent<Chunk, D>> {
  return chunkSinkOperator<D>((fail) => {
    const publisher = new CosmicPublisher(options);
    publisher.socket.bound.catch(fail);
    return publisher;
  });
}
