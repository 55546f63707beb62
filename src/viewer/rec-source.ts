/**
 * Reconstructions from a cosmicstreams `rec` publisher (src/sinks/publish-rec.ts, default tcp://127.0.0.1:37016),
 * as `Snapshot`s for the viewer: the object comes on the topic `rec`, the probe (when the publisher sends it) on
 * `probe`. A snapshot goes out with each object, carrying the latest probe, and again when that object's probe
 * follows. Before any probe has come the probe is a single zero pixel. The receive high-water mark is small: a
 * viewer wants the newest picture, not a backlog. Bad messages are counted faults; the stream goes on.
 */
import { Observable } from "rxjs";
import * as t from "io-ts";
import * as zmq from "zeromq";
import { CosmicRecHeader } from "../model/cosmicstreams";
import { Fault, fault } from "../model/fault";
import { ComplexImage, Snapshot } from "../model/scan";
import { decodeArrayHeader, decodeArrayPart, parseJsonPart } from "../sources/decode";
import { connectReader, faultsToStderr, readWhileSubscribed } from "../sources/zmq";

export interface RecSourceOptions {
  address: string;
  onFault?: (fault: Fault) => void;
  where?: string;
}

/** The keys publish-rec adds to the cosmicstreams `rec` header (other publishers may leave them out). */
const RecHeader = t.intersection([CosmicRecHeader, t.partial({ content: t.string, frames_used: t.number, final: t.boolean })], "rec header");

const NO_PROBE: ComplexImage = { rows: 1, cols: 1, data: new Float32Array(2) };

export function recSource(options: RecSourceOptions): Observable<Snapshot> {
  return new Observable<Snapshot>((subscriber) => {
    const where = options.where ?? "rec";
    const report = options.onFault ?? faultsToStderr;
    const socket = connectReader(options.address, { pattern: "sub", topics: ["rec", "probe"], receiveHighWaterMark: 4 });
    let probe = NO_PROBE;
    let last: Snapshot | undefined;
    let objects = 0;

    const onMessage = (parts: Buffer[]) => {
      const topic = parts[0]?.toString("utf8");
      if (parts.length !== 3) return report(fault("bad-header", where, `${topic}: expected 3 parts [topic, header, bytes], got ${parts.length}`));
      const json = parseJsonPart(parts[1], where, `${topic} header`);
      if (!json.ok) return report(json.fault);
      const header = decodeArrayHeader(RecHeader, json.value, where, `${topic} header`);
      if (!header.ok) return report(header.fault);
      const h = header.value;
      if (h.dtype !== "complex64") return report(fault("invalid-message", where, `${topic}: expected a complex64 image, got ${h.dtype}`));
      const data = decodeArrayPart(parts[2], { shape: [h.shape_y, h.shape_x], dtype: h.dtype, byteorder: h.byteorder, order: h.order }, where, topic);
      if (!data.ok) return report(data.fault);
      const image: ComplexImage = { rows: h.shape_y, cols: h.shape_x, data: data.value as Float32Array };
      if (topic === "probe") {
        probe = image;
        if (last !== undefined && last.iteration === (h.iteration ?? last.iteration)) subscriber.next((last = { ...last, probe }));
        return;
      }
      objects += 1;
      last = {
        iteration: h.iteration ?? objects,
        framesUsed: h.frames_used ?? 0,
        error: h.error ?? Number.NaN,
        object: image,
        probe,
        objectPixelSizeM: [h.obj_pixelsize_y, h.obj_pixelsize_x],
        final: h.final ?? false,
      };
      subscriber.next(last);
    };

    return readWhileSubscribed(socket, subscriber, onMessage);
  });
}
