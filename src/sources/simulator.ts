/**
 * The in-process source: a simulated scan as the pipeline sees a real one, without sockets. It emits the scan's
 * `start`, then its raw frames in acquisition order, each in an envelope whose ack returns a credit (a frame is
 * made only while fewer than `credits` are unacknowledged, so memory stays bounded however long the scan), then
 * `stop`. Each subscription replays the scan from `fromIndex`.
 */
import { concat, defer, map, Observable, of } from "rxjs";
import { SourceMessage } from "../model/source";
import { CreditGate, fromIterableWithCredits } from "../runtime/credits";
import { SimulatedScan } from "../sim/scan";

export interface SimulatorSourceOptions {
  /** A credit limit, or a gate shared with the caller (to watch its high-water mark, say). */
  credits: number | CreditGate;
  /** First frame to serve (a resumed scan); frames before it are not sent. Default 0. */
  fromIndex?: number;
}

export function simulatorSource(scan: SimulatedScan, options: SimulatorSourceOptions): Observable<SourceMessage> {
  return defer(() =>
    concat(
      of<SourceMessage>({ kind: "control", message: scan.start }),
      fromIterableWithCredits(scan.frames(options.fromIndex ?? 0), options.credits).pipe(
        map((frame): SourceMessage => ({ kind: "frame", frame })),
      ),
      of<SourceMessage>({ kind: "control", message: { type: "stop", scanId: scan.start.scanId } }),
    ),
  );
}
