/**
 * `grab`: turns the raw source messages (scan control and frames) into scan events. The start becomes a `start`
 * event, darks become `dark` events, the exposures of one point are grouped into a `Point` with its position,
 * and `stop` / `abort` become `end`. Nothing is dropped silently: duplicates, out-of-order frames, frames beyond
 * the scan, frames outside a scan and points with missing frames or no position are reported as faults, and every
 * frame that is not passed on is acknowledged here so its credit returns to the source.
 *
 * Points are emitted as soon as they are complete and positioned, so with in-order frames they come in order.
 */
import { Observable, OperatorFunction } from "rxjs";
import { Envelope, joinEnvelopes, mapEnvelope } from "../model/envelope";
import { EndReason, ScanEvent, darkEvent, endEvent, itemEvent, startEvent } from "../model/events";
import { Fault, FaultReason, fault } from "../model/fault";
import { PositionM, ScanControlMessage } from "../model/frameserver";
import { Point, RawFrame, ScanMeta, frameRole, scanMetaFromStart, totalFrames } from "../model/scan";
import { StageHold } from "../runtime/credits";
import { SourceMessage } from "../model/source";

export interface GrabOptions {
  /** Where faults go (counted by the caller, e.g. in a `FaultCounter`). */
  onFault?: (fault: Fault) => void;
  /** Complete points waiting for their `point` message; beyond this the oldest is given up as `missing-position`. */
  maxAwaitingPosition?: number;
  /**
   * An incomplete point is given up as `missing-frames` once a frame of a point this many points later has
   * arrived (frames come in acquisition order; a lossy PUB source loses some).
   */
  reorderWindowPoints?: number;
  /** Name used in faults. */
  where?: string;
}

export const GRAB_DEFAULTS = { maxAwaitingPosition: 64, reorderWindowPoints: 2 } as const;

/** The most frames `grab` holds unacknowledged at once, for the credit budget (DESIGN section 7). */
export function grabHold(exposuresPerPoint: number, options: GrabOptions = {}): StageHold {
  const window = options.reorderWindowPoints ?? GRAB_DEFAULTS.reorderWindowPoints;
  const awaiting = options.maxAwaitingPosition ?? GRAB_DEFAULTS.maxAwaitingPosition;
  return {
    stage: "grab",
    maxHeldFrames: (window + 1 + awaiting) * exposuresPerPoint,
    why: `${window + 1} incomplete and ${awaiting} unpositioned points of ${exposuresPerPoint} exposures`,
  };
}

const enum PointState {
  Open = 0,
  Emitted = 1,
  GivenUp = 2,
}

interface OpenScan {
  meta: ScanMeta;
  positions: (PositionM | undefined)[];
  seen: Uint8Array;
  highestIndex: number;
  /** Points with some but not all exposures, by point index. */
  incomplete: Map<number, Array<Envelope<RawFrame> | undefined>>;
  /** Complete points waiting for a position, in arrival order. */
  awaiting: Map<number, Envelope<RawFrame>[]>;
  pointState: Uint8Array;
}

export function grab(options: GrabOptions = {}): OperatorFunction<SourceMessage, ScanEvent<Point>> {
  const where = options.where ?? "grab";
  const report = options.onFault ?? (() => undefined);
  const maxAwaiting = options.maxAwaitingPosition ?? GRAB_DEFAULTS.maxAwaitingPosition;
  const window = options.reorderWindowPoints ?? GRAB_DEFAULTS.reorderWindowPoints;

  return (source) =>
    new Observable<ScanEvent<Point>>((subscriber) => {
      let scan: OpenScan | undefined;
      const emit = (event: ScanEvent<Point>) => subscriber.next(event);
      const warn = (reason: FaultReason, message: string, extra: { index?: number; count?: number } = {}) =>
        report(fault(reason, where, message, extra));

      const emitPoint = (open: OpenScan, index: number, exposures: Envelope<RawFrame>[], positionM: PositionM) => {
        open.pointState[index] = PointState.Emitted;
        const point: Point = { index, positionM, exposures: exposures.map((e) => e.value) };
        emit(itemEvent(joinEnvelopes(point, exposures)));
      };

      const givePointUp = (open: OpenScan, index: number, held: readonly (Envelope<RawFrame> | undefined)[]) => {
        open.pointState[index] = PointState.GivenUp;
        const missing = held.filter((e) => e === undefined).length;
        const missingExposures = held.flatMap((e, exposure) => (e === undefined ? [exposure] : []));
        held.forEach((e) => e?.ack());
        warn("missing-frames", `point ${index}: exposure(s) ${missingExposures.join(", ")} missing`, { index, count: missing });
      };

      const completePoint = (open: OpenScan, index: number, exposures: Envelope<RawFrame>[]) => {
        const position = open.positions[index];
        if (position !== undefined) {
          emitPoint(open, index, exposures, position);
          return;
        }
        open.awaiting.set(index, exposures);
        if (open.awaiting.size > maxAwaiting) {
          const [oldest, held] = open.awaiting.entries().next().value as [number, Envelope<RawFrame>[]];
          open.awaiting.delete(oldest);
          open.pointState[oldest] = PointState.GivenUp;
          held.forEach((e) => e.ack());
          warn("missing-position", `point ${oldest}: no position after ${maxAwaiting} later points were complete`, {
            index: oldest,
            count: held.length,
          });
        }
      };

      const openScan = (message: Extract<ScanControlMessage, { type: "start" }>) => {
        if (scan !== undefined) closeScan(scan, "interrupted", `a new start (${message.scanId}) came before stop`);
        const meta = scanMetaFromStart(message);
        scan = {
          meta,
          positions: Array.from({ length: meta.numPoints }, (_, i) => meta.positionsM?.[i]),
          seen: new Uint8Array(totalFrames(meta)),
          highestIndex: -1,
          incomplete: new Map(),
          awaiting: new Map(),
          pointState: new Uint8Array(meta.numPoints),
        };
        emit(startEvent(meta));
      };

      /** Releases everything held; on `stop` also reports every frame that never came. */
      const closeScan = (open: OpenScan, reason: EndReason, message?: string) => {
        for (const [index, held] of open.incomplete) givePointUp(open, index, held);
        open.incomplete.clear();
        for (const [index, held] of open.awaiting) {
          open.pointState[index] = PointState.GivenUp;
          held.forEach((e) => e.ack());
          warn("missing-position", `point ${index}: no position before the scan ended`, { index, count: held.length });
        }
        open.awaiting.clear();
        if (reason === "stop") reportNeverArrived(open);
        scan = undefined;
        emit(endEvent(open.meta, reason, message));
      };

      const reportNeverArrived = (open: OpenScan) => {
        const { meta, seen } = open;
        const exposures = meta.exposureTimesS.length;
        for (let exposure = 0; exposure < exposures; exposure++) {
          let missing = 0;
          for (let d = 0; d < meta.darksPerExposure; d++) missing += seen[exposure * meta.darksPerExposure + d] === 0 ? 1 : 0;
          if (missing > 0) {
            warn("missing-frames", `${missing} of ${meta.darksPerExposure} dark frames of exposure ${exposure} missing`, {
              count: missing,
            });
          }
        }
        for (let index = 0; index < meta.numPoints; index++) {
          if (open.pointState[index] === PointState.Open) givePointUp(open, index, new Array(exposures).fill(undefined));
        }
      };

      const onFrame = (frame: Envelope<RawFrame>) => {
        const index = frame.value.index;
        const open = scan;
        if (open === undefined) {
          frame.ack();
          warn("no-start", `frame ${index} outside a scan (no start, or after stop)`, { index });
          return;
        }
        const role = frameRole(open.meta, index);
        if (role.kind === "beyond") {
          frame.ack();
          warn("beyond-scan", `frame ${index} is beyond the scan's ${open.seen.length} frames`, { index });
          return;
        }
        if (open.seen[index] === 1) {
          frame.ack();
          warn("duplicate-index", `frame ${index} came twice; the first one is kept`, { index });
          return;
        }
        open.seen[index] = 1;
        if (index < open.highestIndex) {
          warn("out-of-order", `frame ${index} came after frame ${open.highestIndex}`, { index });
        }
        open.highestIndex = Math.max(open.highestIndex, index);
        if (role.kind === "dark") {
          emit(darkEvent(mapEnvelope(frame, (value) => ({ exposure: role.exposure, darkIndex: role.darkIndex, frame: value }))));
          return;
        }
        const { point, exposure } = role;
        if (open.pointState[point] !== PointState.Open) {
          frame.ack();
          warn("out-of-order", `frame ${index} of point ${point} came after the point was given up`, { index });
          return;
        }
        const exposures = open.meta.exposureTimesS.length;
        const held = open.incomplete.get(point) ?? new Array<Envelope<RawFrame> | undefined>(exposures).fill(undefined);
        held[exposure] = frame;
        if (held.every((e) => e !== undefined)) {
          open.incomplete.delete(point);
          completePoint(open, point, held as Envelope<RawFrame>[]);
        } else {
          open.incomplete.set(point, held);
        }
        for (const [earlier, earlierHeld] of open.incomplete) {
          if (earlier < point - window) {
            open.incomplete.delete(earlier);
            givePointUp(open, earlier, earlierHeld);
          }
        }
      };

      const onControl = (message: ScanControlMessage) => {
        switch (message.type) {
          case "start":
            openScan(message);
            return;
          case "point": {
            const open = scan;
            if (open === undefined || message.index >= open.meta.numPoints) {
              warn("invalid-message", `point message ${message.index} outside a scan's points`, { index: message.index });
              return;
            }
            open.positions[message.index] = { x: message.x, y: message.y };
            const held = open.awaiting.get(message.index);
            if (held !== undefined) {
              open.awaiting.delete(message.index);
              emitPoint(open, message.index, held, { x: message.x, y: message.y });
            }
            return;
          }
          case "stop":
            if (scan === undefined) warn("invalid-message", "stop outside a scan");
            else closeScan(scan, "stop");
            return;
          case "abort": {
            // A source that went silent aborts with reason "idle" (see frameserverSource): keep that typed reason.
            const reason: EndReason = message.reason === "idle" ? "idle" : "abort";
            // The idle source has reported its own `source-idle` fault; an abort from scan control is counted here.
            if (reason === "abort") {
              warn("abort", `scan ${scan?.meta.scanId ?? "(none)"} aborted${message.reason ? `: ${message.reason}` : ""}`);
            }
            if (scan !== undefined) closeScan(scan, reason, message.reason);
            return;
          }
        }
      };

      const releaseHeld = () => {
        if (scan === undefined) return;
        for (const held of scan.incomplete.values()) held.forEach((e) => e?.ack());
        for (const held of scan.awaiting.values()) held.forEach((e) => e.ack());
        scan.incomplete.clear();
        scan.awaiting.clear();
      };

      const subscription = source.subscribe({
        next: (message) => (message.kind === "frame" ? onFrame(message.frame) : onControl(message.message)),
        error: (error) => {
          releaseHeld();
          subscriber.error(error);
        },
        complete: () => {
          if (scan !== undefined) closeScan(scan, "source-closed", "the source ended before stop");
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        releaseHeld();
      };
    });
}
