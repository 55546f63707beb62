/**
 * The cosmicstreams source (DESIGN section 3): a SUB socket on a cosmicstreams publisher, whose frames are already
 * preprocessed and carry their positions. It emits `ScanEvent<Frame>`, so it joins the flow at `chunk` (or at
 * crop/bin when its frames are larger than the reconstruction size).
 *
 * The `start` is PtyPy's: its units are converted here, at the edge (energy J -> eV, geometry.psize and
 * geometry.distance from their pre-scaled wire values to metres). Frames are read only while a credit is free;
 * what the publisher sends meanwhile is lost at the high-water mark and counted as gaps by frame index.
 * Python writes bare NaN in its JSON, so every JSON part is parsed leniently; non-finite pixels get weight 0.
 */
import { withDefaults } from "../runtime/defaults";
import { Observable } from "rxjs";
import * as zmq from "zeromq";
import {
  CosmicEnd,
  CosmicFrameHeader,
  CosmicStart,
  cosmicFrameCount,
  distanceFromWire,
  energyFromWire,
  psizeFromWire,
} from "../model/cosmicstreams";
import { decodeEither } from "../model/codec";
import { PixelArray } from "../model/dtype";
import { EndReason, ScanEvent, endEvent, itemEvent, startEvent } from "../model/events";
import { Fault, fault } from "../model/fault";
import { Frame, ScanMeta, processedScanMeta } from "../model/scan";
import { CreditGate } from "../runtime/credits";
import { decodeArrayHeader, decodeArrayPart, parseJsonPart } from "./decode";
import { IndexTracker } from "./index-tracker";
import { SocketSourceLifetime, WaitClock, connectReader, faultsToStderr, readLoop } from "./zmq";

export interface CosmicstreamsSourceOptions {
  /** Endpoint of the publisher, e.g. `tcp://127.0.0.1:37013`. */
  address: string;
  credits?: number | CreditGate;
  /** A scan whose publisher is silent this long is ended with reason `idle`. */
  idleTimeoutMs?: number;
  /** Complete after this many scans (default: keep listening). */
  scans?: number;
  receiveHighWaterMark?: number;
  onFault?: (fault: Fault) => void;
  where?: string;
}

export const COSMICSTREAMS_SOURCE_DEFAULTS = { credits: 64, idleTimeoutMs: 30000, receiveHighWaterMark: 10000 };

/**
 * The scan metadata a cosmicstreams start gives. Its frames are already merged and in photons, so the raw-side
 * fields describe that: one exposure per point, no darks, gain 1, no saturation level, a layout with no overscan.
 */
export function scanMetaFromCosmicStart(start: CosmicStart): ScanMeta {
  return processedScanMeta({
    scanId: start.identifier,
    energyEv: energyFromWire(start.energy),
    distanceM: distanceFromWire(start.geometry.distance),
    pixelSizeM: psizeFromWire(start.geometry.psize),
    numPoints: cosmicFrameCount(start),
    width: start.output_frame_width,
    profile: "cosmicstreams",
  });
}

/** Photons as float32 with weights: pixels that are not finite (NaN from Python) are masked, not trusted. */
function toFrame(index: number, rows: number, cols: number, pixels: PixelArray, positionM: { x: number; y: number }): Frame {
  const data = pixels instanceof Float32Array ? pixels : Float32Array.from(pixels);
  const weights = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) weights[i] = 1;
    else data[i] = 0;
  }
  return { index, rows, cols, data, weights, positionM };
}

interface OpenScan {
  meta: ScanMeta;
  indices: IndexTracker;
}

export function cosmicstreamsSource(options: CosmicstreamsSourceOptions): Observable<ScanEvent<Frame>> {
  return new Observable<ScanEvent<Frame>>((subscriber) => {
    const o = withDefaults(COSMICSTREAMS_SOURCE_DEFAULTS, options);
    const where = o.where ?? "cosmicstreams";
    const report = o.onFault ?? faultsToStderr;
    const gate = o.credits instanceof CreditGate ? o.credits : new CreditGate(o.credits);
    const socket = connectReader(o.address, { pattern: "sub", receiveHighWaterMark: o.receiveHighWaterMark, topics: ["start", "frame", "stop", "abort"] });
    const wait = new WaitClock();
    let scan: OpenScan | undefined;
    let scansEnded = 0;

    const endScan = (open: OpenScan, reason: EndReason, message?: string) => {
      scan = undefined;
      scansEnded += 1;
      subscriber.next(endEvent(open.meta, reason, message));
      if (o.scans !== undefined && scansEnded >= o.scans) {
        stop();
        subscriber.complete();
      }
    };

    const onStart = (json: unknown) => {
      const decoded = decodeEither(CosmicStart, json);
      if (!decoded.ok) return report(fault("invalid-start", where, `start: ${decoded.problems.join("; ")}`));
      if (scan !== undefined) endScan(scan, "interrupted", `a new start (${decoded.value.identifier}) came before stop`);
      if (lifetime.stopped) return;
      const meta = scanMetaFromCosmicStart(decoded.value);
      scan = { meta, indices: new IndexTracker(meta.numPoints) };
      subscriber.next(startEvent(meta));
    };

    const onFrame = (parts: Buffer[]) => {
      if (parts.length !== 3) return report(fault("bad-header", where, `frame: expected 3 parts [topic, header, bytes], got ${parts.length}`));
      const json = parseJsonPart(parts[1], where, "frame header");
      if (!json.ok) return report(json.fault);
      const header = decodeArrayHeader(CosmicFrameHeader, json.value, where, "frame header");
      if (!header.ok) return report(header.fault);
      const h = header.value;
      const open = scan;
      if (open === undefined) return report(fault("no-start", where, `frame ${h.index} outside a scan (its start was missed or never sent)`, { index: h.index }));
      if (h.identifier !== open.meta.scanId) {
        return report(fault("invalid-message", where, `frame ${h.index} belongs to scan "${h.identifier}", not "${open.meta.scanId}"`, { index: h.index }));
      }
      const data = decodeArrayPart(parts[2], { shape: [h.shape_y, h.shape_x], dtype: h.dtype, byteorder: h.byteorder, order: h.order, index: h.index }, where, `frame ${h.index}`);
      if (!data.ok) return report(data.fault);
      const seen = open.indices.observe(h.index);
      if (seen.beyond) return report(fault("beyond-scan", where, `frame ${h.index} is beyond the scan's ${open.indices.total} frames`, { index: h.index }));
      if (seen.duplicate) return report(fault("duplicate-index", where, `frame ${h.index} came twice; the first one is kept`, { index: h.index }));
      if (seen.outOfOrder) report(fault("out-of-order", where, `frame ${h.index} came after a later one`, { index: h.index }));
      if (seen.gap) report(fault("gap", where, `frames ${seen.gap.from}..${h.index - 1} lost`, { index: seen.gap.from, count: seen.gap.count }));
      const frame = toFrame(h.index, h.shape_y, h.shape_x, data.value, { x: h.posx, y: h.posy });
      subscriber.next(itemEvent(gate.issue(frame)));
    };

    const onEnd = (topic: "stop" | "abort", json: unknown) => {
      const decoded = decodeEither(CosmicEnd, json);
      if (!decoded.ok) return report(fault("invalid-message", where, `${topic}: ${decoded.problems.join("; ")}`));
      const open = scan;
      if (open === undefined || decoded.value.identifier !== open.meta.scanId) {
        return report(fault("invalid-message", where, `${topic} for scan "${decoded.value.identifier}", which is not open`));
      }
      const tail = open.indices.tailGap();
      if (topic === "stop" && tail !== undefined) {
        report(fault("gap", where, `frames ${tail.from}..${tail.from + tail.count - 1} lost before stop`, { index: tail.from, count: tail.count }));
      }
      if (topic === "abort") report(fault("abort", where, `scan ${open.meta.scanId} aborted by the publisher`));
      endScan(open, topic);
    };

    const onMessage = (parts: Buffer[]) => {
      const topic = parts[0]?.toString("utf8");
      if (topic === "frame") return onFrame(parts);
      if (parts.length !== 2) return report(fault("invalid-message", where, `${topic}: expected 2 parts [topic, json], got ${parts.length}`));
      const json = parseJsonPart(parts[1], where, topic);
      if (!json.ok) return report(json.fault);
      if (topic === "start") return onStart(json.value);
      if (topic === "stop" || topic === "abort") return onEnd(topic, json.value);
      report(fault("invalid-message", where, `unknown topic ${JSON.stringify(topic)}`));
    };

    const lifetime = new SocketSourceLifetime([socket], gate, {
      every: o.idleTimeoutMs / 4,
      waits: [wait],
      run: () => {
        if (scan !== undefined && wait.waitedMs() >= o.idleTimeoutMs) {
          report(fault("source-idle", where, `no message for ${o.idleTimeoutMs} ms in scan ${scan.meta.scanId}: ended as idle`));
          endScan(scan, "idle");
        }
      },
    });
    const stop = () => lifetime.stop();

    readLoop(socket as zmq.Readable & { closed: boolean }, {
      isStopped: () => lifetime.stopped,
      mayRead: () => (gate.available <= 0 ? lifetime.changed.wait() : undefined),
      onWaiting: (waiting) => wait.set(waiting),
      onMessage,
    }).catch((error) => lifetime.fail(subscriber, error));
    return stop;
  });
}
