/**
 * The raw frameserver + scan control source (DESIGN section 3): frames `[json header, raw bytes]` on one socket,
 * scan control JSON on another, merged into one ordered stream of `SourceMessage`s for `grab`.
 *
 * - The frame socket is read only while a credit is free (lossless over PULL: the PUSH sender blocks).
 * - Frames and control travel on separate sockets, so their order is restored here: frames that come before
 *   `start` are buffered (bounded; reading pauses when the buffer is full) and reported as `no-start` only after
 *   `startTimeoutMs`; a `stop`/`abort` is held back until every frame of the scan has been read or the frame socket
 *   has been quiet for `drainMs` since the stop came, so frames still queued behind a stop are not taken for the
 *   next scan's, nor lost when the source closes at the stop.
 * - Gaps in the frame indices (a lossy SUB) are counted as `gap` faults, including the tail lost before `stop`.
 * - A scan whose frame socket stays silent for `idleTimeoutMs` (while we are ready to read) is ended with a
 *   `source-idle` fault and an `abort` whose reason is `"idle"` (grab turns it into an `end` with reason `idle`).
 * - A `start` repeating the open scan's id is a restarted frameserver resuming it: the scan goes on (no new scan,
 *   no new files) and the frames lost meanwhile are reported as a gap by index.
 * - Every bad message is a counted fault and the scan goes on. Unsubscribing closes both sockets.
 * - A frame's pixels are freed when it is acknowledged (`releaseMemory`): past its ack a frame's `data` is empty,
 *   so a stage that keeps pixels longer copies them (as the envelope contract asks).
 */
import { withDefaults } from "../runtime/defaults";
import { Observable } from "rxjs";
import * as zmq from "zeromq";
import { Envelope } from "../model/envelope";
import { Fault, fault } from "../model/fault";
import { RawFrameHeader, ScanControlMessage, scanControlCodecFor } from "../model/frameserver";
import { RawFrame, totalFrames } from "../model/scan";
import { SourceMessage } from "../model/source";
import { decodeEither } from "../model/codec";
import { CreditGate } from "../runtime/credits";
import { releaseMemory } from "../runtime/release-memory";
import { IngestPattern, SocketSourceLifetime, WaitClock, connectReader, faultsToStderr, readLoop } from "./zmq";
import { IndexTracker } from "./index-tracker";
import { decodeArrayHeader, decodeArrayPart, parseJsonPart } from "./decode";

export interface FrameserverSourceOptions {
  /** Endpoint of the frame socket, e.g. `tcp://127.0.0.1:41000`. */
  frames: string;
  /** Endpoint of the scan-control socket. */
  control: string;
  /** `pull` (lossless, default) or `sub` (lossy, gaps counted). Applies to both sockets. */
  pattern?: IngestPattern;
  /** Unacknowledged frames allowed at once, or a gate shared with the pipeline's budget check. */
  credits?: number | CreditGate;
  /** Frames held while waiting for `start` (each also holds a credit). */
  bufferBeforeStart?: number;
  /** How long buffered frames wait for a `start` before they are reported (`no-start`) and released. */
  startTimeoutMs?: number;
  /** A scan whose frame socket is silent this long is ended (`source-idle`). */
  idleTimeoutMs?: number;
  /** How long a `stop`/`abort` waits for the frames still queued before it is passed on. */
  drainMs?: number;
  /** Complete after this many scans have ended (default: keep serving scans, service mode). */
  scans?: number;
  receiveHighWaterMark?: number;
  onFault?: (fault: Fault) => void;
  /** Name used in faults. */
  where?: string;
}

export const FRAMESERVER_SOURCE_DEFAULTS = {
  pattern: "pull" as IngestPattern,
  credits: 64,
  bufferBeforeStart: 32,
  startTimeoutMs: 5000,
  idleTimeoutMs: 30000,
  // Frames sent before the stop can trail it by more than half a second when the frameserver is short of CPU (a
  // loaded machine); waiting longer costs only a missing frame's wait, a shorter wait reports sent frames as lost.
  drainMs: 2000,
};

interface ScanProgress {
  scanId: string;
  indices: IndexTracker;
}

const freePixels = (frame: RawFrame): void => void releaseMemory(frame.data);

export function frameserverSource(options: FrameserverSourceOptions): Observable<SourceMessage> {
  return new Observable<SourceMessage>((subscriber) => {
    const o = withDefaults(FRAMESERVER_SOURCE_DEFAULTS, options);
    const where = o.where ?? "frameserver";
    const report = o.onFault ?? faultsToStderr;
    const gate = o.credits instanceof CreditGate ? o.credits : new CreditGate(o.credits);
    const readerOptions = { pattern: o.pattern, receiveHighWaterMark: o.receiveHighWaterMark };
    const frameSocket = connectReader(o.frames, readerOptions);
    const controlSocket = connectReader(o.control, readerOptions);
    const frameWait = new WaitClock();
    let scan: ScanProgress | undefined;
    let scansEnded = 0;
    const preStart: Envelope<RawFrame>[] = [];
    let preStartSince = 0;
    const controlQueue: ScanControlMessage[] = [];
    /** Since when the queue's first message has been first: an end waits drainMs from then for frames sent before it. */
    let headSinceMs = 0;
    const shiftControl = () => {
      controlQueue.shift();
      headSinceMs = Date.now();
    };

    const emitFrame = (frame: Envelope<RawFrame>, progress: ScanProgress) => {
      // Duplicates and out-of-order frames are grab's to report (it knows what they mean for a point).
      const { gap } = progress.indices.observe(frame.value.index);
      if (gap !== undefined) reportGap(progress.scanId, gap, "");
      subscriber.next({ kind: "frame", frame });
    };

    const reportGap = (scanId: string, gap: { from: number; count: number }, when: string) =>
      report(fault("gap", where, `frames ${gap.from}..${gap.from + gap.count - 1} of ${scanId} lost${when}`, { index: gap.from, count: gap.count }));

    const onFrameMessage = (parts: Buffer[]) => {
      if (parts.length !== 2) {
        report(fault("bad-header", where, `frame message: expected 2 parts [header, bytes], got ${parts.length}`));
        return;
      }
      const json = parseJsonPart(parts[0], where, "frame header");
      if (!json.ok) return report(json.fault);
      const header = decodeArrayHeader(RawFrameHeader, json.value, where, "frame header");
      if (!header.ok) return report(header.fault);
      const { index, shape, dtype, byteorder } = header.value;
      const data = decodeArrayPart(parts[1], { shape, dtype, byteorder, index }, where, `frame ${index}`);
      if (!data.ok) return report(data.fault);
      const frame = gate.issue<RawFrame>({ index, rows: shape[0], cols: shape[1], dtype, data: data.value }, freePixels);
      if (scan !== undefined) {
        emitFrame(frame, scan);
        pump();
      } else {
        if (preStart.length === 0) preStartSince = Date.now();
        preStart.push(frame);
      }
    };

    const onControlMessage = (parts: Buffer[]) => {
      if (parts.length !== 1) {
        report(fault("invalid-message", where, `scan control: expected 1 part, got ${parts.length}`));
        return;
      }
      const json = parseJsonPart(parts[0], where, "scan control");
      if (!json.ok) return report(json.fault);
      const decoded = decodeEither(scanControlCodecFor(json.value), json.value);
      if (!decoded.ok) {
        const isStart = (json.value as { type?: unknown } | null)?.type === "start";
        report(fault(isStart ? "invalid-start" : "invalid-message", where, `scan control: ${decoded.problems.join("; ")}`));
        return;
      }
      if (controlQueue.length === 0) headSinceMs = Date.now();
      controlQueue.push(decoded.value);
      pump();
    };

    /** Passes queued control messages on in order; an end waits for its scan's frames to drain. */
    const pump = () => {
      while (controlQueue.length > 0 && !lifetime.stopped) {
        const message = controlQueue[0];
        if (message.type === "start" && scan !== undefined && scan.scanId === message.scanId) {
          // The frameserver restarted and resumes this scan (`--from-index`): the same scan goes on, and the
          // frames it lost show as a gap at the next index that arrives.
          shiftControl();
        } else if (message.type === "start") {
          shiftControl();
          scan = { scanId: message.scanId, indices: new IndexTracker(totalFrames(message)) };
          subscriber.next({ kind: "control", message });
          const buffered = preStart.splice(0);
          for (const frame of buffered) emitFrame(frame, scan);
          changed.notify();
        } else if (message.type === "point") {
          shiftControl();
          subscriber.next({ kind: "control", message });
        } else {
          const progress = scan;
          if (progress !== undefined) {
            // Quiet for drainMs since the end came: a frame socket idle before a burst (start, frames, stop in
            // quick succession) has frames still on their way that were sent before the stop.
            const quietMs = Math.min(frameWait.waitedMs(), Date.now() - headSinceMs);
            // Every frame in: no wait. The last index with gaps before it: late frames may still come, so wait too.
            const drained = progress.indices.complete || quietMs >= o.drainMs;
            if (!drained) return;
            const tail = progress.indices.tailGap();
            if (message.type === "stop" && tail !== undefined) reportGap(progress.scanId, tail, " before stop");
          }
          shiftControl();
          if (progress === undefined) subscriber.next({ kind: "control", message });
          else endScan({ kind: "control", message });
          if (lifetime.stopped) return;
        }
      }
    };

    const endScan = (message: SourceMessage) => {
      scan = undefined;
      scansEnded += 1;
      subscriber.next(message);
      changed.notify();
      if (o.scans !== undefined && scansEnded >= o.scans) {
        stop();
        subscriber.complete();
      }
    };

    /** Timeouts: pending ends whose frames have drained, an idle scan, buffered frames whose start never came. */
    const tick = () => {
      pump();
      if (lifetime.stopped) return;
      if (scan !== undefined && controlQueue.length === 0 && frameWait.waitedMs() >= o.idleTimeoutMs) {
        const { scanId } = scan;
        report(fault("source-idle", where, `no frame for ${o.idleTimeoutMs} ms in scan ${scanId}: ended as idle`));
        endScan({ kind: "control", message: { type: "abort", scanId, reason: "idle" } });
      }
      if (scan === undefined && preStart.length > 0 && Date.now() - preStartSince >= o.startTimeoutMs) {
        const stale = preStart.splice(0);
        report(fault("no-start", where, `${stale.length} frame(s) (first index ${stale[0].value.index}) came without a start within ${o.startTimeoutMs} ms`, { index: stale[0].value.index, count: stale.length }));
        stale.forEach((frame) => frame.ack());
        changed.notify();
      }
    };
    const lifetime = new SocketSourceLifetime(
      [frameSocket, controlSocket],
      gate,
      { every: Math.min(o.drainMs, o.startTimeoutMs, o.idleTimeoutMs) / 4, run: tick, waits: [frameWait] },
      () => preStart.splice(0).forEach((frame) => frame.ack()),
    );
    const { changed } = lifetime;
    const stop = () => lifetime.stop();
    const fail = (error: unknown) => lifetime.fail(subscriber, error);

    readLoop(frameSocket as zmq.Readable & { closed: boolean }, {
      isStopped: () => lifetime.stopped,
      mayRead: () => {
        if (gate.available <= 0) return changed.wait();
        if (scan === undefined && preStart.length >= o.bufferBeforeStart) return changed.wait();
        return undefined;
      },
      onWaiting: (waiting) => frameWait.set(waiting),
      onMessage: onFrameMessage,
    }).catch(fail);
    readLoop(controlSocket as zmq.Readable & { closed: boolean }, { isStopped: () => lifetime.stopped, onMessage: onControlMessage }).catch(fail);

    return stop;
  });
}
