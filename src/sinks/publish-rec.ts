/**
 * `publishReconstructions`: reconstruction snapshots published as cosmicstreams `rec` messages on their own PUB
 * socket (default tcp://127.0.0.1:37016), as a pass-through operator on `Snapshot`s: every snapshot goes on
 * downstream at once; the sends run in an ordered queue off the stream's path.
 *
 * The object: `[b"rec", json{shape_y, shape_x, dtype: "complex64", byteorder: "<", order: "C", obj_pixelsize_y,
 * obj_pixelsize_x, identifier, iteration, error, content: "object", frames_used, final}, interleaved float32
 * (re, im)]`, pixel sizes in metres, `error` the Fourier error of the last iteration (null when not finite).
 *
 * The probe (`probe: true`): the same message on the topic `probe` with `content: "probe"`, sampled on the object
 * grid (same pixel sizes). It gets a topic of its own rather than a key in `rec` because subscribers filter by
 * prefix: a viewer subscribed to `rec` (cosmicstreams' RecSocketSub) never receives a probe it would mistake for
 * the object, and one that wants both subscribes to both.
 *
 * Slow joiner, binding and closing as for `publishCosmicstreams` (publisher-socket.ts): `waitForSubscribers`
 * counts subscriptions covering `rec`. A viewer usually wants the latest picture, not every one: set
 * `sendHighWaterMark` low if a slow viewer should lose old snapshots rather than queue them.
 */
import { Observable, MonoTypeOperatorFunction } from "rxjs";
import { COSMIC_REC_PORT, CosmicRecHeader } from "../model/cosmicstreams";
import { encodeArrayLE } from "../model/dtype";
import { stringifyStrictJson } from "../model/json";
import { ComplexImage, Snapshot } from "../model/scan";
import { PublisherSocket } from "./publisher-socket";

export interface PublishRecOptions {
  /** Bind endpoint (default tcp://127.0.0.1:37016). */
  address?: string;
  /** The scan's identifier on the wire: fixed, or per snapshot. */
  identifier?: string | ((snapshot: Snapshot) => string | undefined);
  /** Also publish the probe on the `probe` topic (default false). */
  probe?: boolean;
  waitForSubscribers?: number;
  waitTimeoutMs?: number;
  startDelayMs?: number;
  /** Default 1000 messages. */
  sendHighWaterMark?: number;
  lingerMs?: number;
  /** Called once the socket is closed. */
  onSummary?: (summary: PublishRecSummary) => void;
}

export const PUBLISH_REC_DEFAULTS = { address: `tcp://127.0.0.1:${COSMIC_REC_PORT}`, sendHighWaterMark: 1000 };

export interface PublishRecSummary {
  address: string;
  snapshotsPublished: number;
  probesPublished: number;
  /** Bytes of every message (topic, header and pixels). */
  bytesPublished: number;
  messages: number;
  /** Subscribers seen before the first message, and whether as many as awaited came. */
  subscribers?: { subscribers: number; ready: boolean; waitedMs: number };
  closedBy: "complete" | "error" | "unsubscribed";
  /** The first send that failed, if one did (the rest are still tried). */
  failure?: string;
}

/** The `rec` header of one complex image of a snapshot (extra keys say what it is; readers ignore them). */
export function recHeader(
  image: ComplexImage,
  snapshot: Snapshot,
  content: "object" | "probe",
  identifier: string | undefined,
): CosmicRecHeader & { content: string; frames_used: number; final: boolean } {
  return {
    shape_y: image.rows,
    shape_x: image.cols,
    dtype: "complex64",
    byteorder: "<",
    order: "C",
    obj_pixelsize_y: snapshot.objectPixelSizeM[0],
    obj_pixelsize_x: snapshot.objectPixelSizeM[1],
    ...(identifier === undefined ? {} : { identifier }),
    iteration: snapshot.iteration,
    error: Number.isFinite(snapshot.error) ? snapshot.error : null,
    content,
    frames_used: snapshot.framesUsed,
    final: snapshot.final,
  };
}

export function publishReconstructions(options: PublishRecOptions = {}): MonoTypeOperatorFunction<Snapshot> {
  const address = options.address ?? PUBLISH_REC_DEFAULTS.address;
  return (source) =>
    new Observable<Snapshot>((subscriber) => {
      const socket = new PublisherSocket({
        address,
        sendHighWaterMark: options.sendHighWaterMark ?? PUBLISH_REC_DEFAULTS.sendHighWaterMark,
        waitForSubscribers: options.waitForSubscribers,
        readyTopic: "rec",
        waitTimeoutMs: options.waitTimeoutMs,
        startDelayMs: options.startDelayMs,
        lingerMs: options.lingerMs,
      });
      socket.bound.catch((error: unknown) => subscriber.error(error));
      let snapshotsPublished = 0;
      let probesPublished = 0;
      let closed = false;
      const report = (closedBy: PublishRecSummary["closedBy"]) => {
        if (closed) return;
        closed = true;
        options.onSummary?.({
          address,
          snapshotsPublished,
          probesPublished,
          bytesPublished: socket.counts.bytes,
          messages: socket.counts.messages,
          subscribers: socket.subscriberWait,
          closedBy,
          ...(socket.firstFailure === undefined ? {} : { failure: String(socket.firstFailure) }),
        });
      };
      const publish = (snapshot: Snapshot) =>
        socket.enqueue(async () => {
          const identifier = typeof options.identifier === "function" ? options.identifier(snapshot) : options.identifier;
          const send = (topic: string, image: ComplexImage, content: "object" | "probe") =>
            socket.sendNow([topic, stringifyStrictJson(recHeader(image, snapshot, content, identifier)), encodeArrayLE(image.data)]);
          if ((await send("rec", snapshot.object, "object")) > 0) snapshotsPublished += 1;
          if (options.probe && (await send("probe", snapshot.probe, "probe")) > 0) probesPublished += 1;
        });
      const finish = (closedBy: "complete" | "error") => socket.close().then(() => report(closedBy));
      const subscription = source.subscribe({
        next(snapshot) {
          if (subscriber.closed) return;
          void publish(snapshot);
          subscriber.next(snapshot);
        },
        error(error) {
          void finish("error").finally(() => subscriber.error(error));
        },
        complete() {
          finish("complete").then(() => socket.bound).then(
            () => subscriber.complete(),
            (failure: unknown) => subscriber.error(failure),
          );
        },
      });
      return () => {
        subscription.unsubscribe();
        socket.closeNow();
        report("unsubscribed");
      };
    });
}
