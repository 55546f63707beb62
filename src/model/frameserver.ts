/**
 * The raw frameserver protocol and scan control (DESIGN section 3).
 *
 * Frames: multipart `[json header, raw bytes]`, header `{"index", "shape": [rows, cols], "dtype", "byteorder"}`.
 * Scan control: one JSON message per part, discriminated by `type`: `start`, `point`, `stop`, `abort`.
 * Quantities on this wire are already SI with the unit in the field name, like inside the framework.
 * Positions are the probe's position on the sample in metres, (x, y) as the scan stage moves it.
 */
import * as t from "io-ts";
import { Dtype, ByteOrder } from "./dtype";
import { DetectorLayout } from "./layout";
import { FiniteNumber, NonNegativeInteger, PositiveInteger, PositiveNumber, NonNegativeNumber } from "./codec";

export const RawFrameHeader = t.type(
  {
    index: NonNegativeInteger,
    shape: t.tuple([PositiveInteger, PositiveInteger]),
    dtype: Dtype,
    byteorder: ByteOrder,
  },
  "RawFrameHeader",
);
export type RawFrameHeader = t.TypeOf<typeof RawFrameHeader>;

export const PositionM = t.type({ x: FiniteNumber, y: FiniteNumber }, "PositionM");
export type PositionM = t.TypeOf<typeof PositionM>;

const StartFields = t.intersection(
  [
    t.type({
      type: t.literal("start"),
      scanId: t.string,
      energyEv: PositiveNumber,
      distanceM: PositiveNumber,
      pixelSizeM: PositiveNumber,
      /** One per exposure of a point, in acquisition order (e.g. short then long). */
      exposureTimesS: t.array(PositiveNumber),
      darksPerExposure: NonNegativeInteger,
      numPoints: PositiveInteger,
      gainAduPerEv: PositiveNumber,
      saturationAdu: PositiveNumber,
    }),
    t.partial({
      /** The positions, or absent when they follow as `point` messages. */
      positionsM: t.array(PositionM),
      positionsFollow: t.boolean,
      layout: DetectorLayout,
      /** Detector image shape after descrambling, [rows, cols]. */
      detectorShape: t.tuple([PositiveInteger, PositiveInteger]),
      /** A named preprocessing profile, e.g. `cosmic-fccd`. */
      profile: t.string,
      /** Read noise of one raw pixel in ADU, when the source knows it. */
      readNoiseAdu: NonNegativeNumber,
      /**
       * Sample distance from the probe's focus (m, > 0 downstream of it), when the optics are known: the
       * reconstruction's probe guess is propagated there (engines/probe.ts).
       */
      probeDefocusM: FiniteNumber,
    }),
  ],
  "start",
);

/** `start`, with the cross-field rules a type alone cannot say. */
export const StartMessage = new t.Type<t.TypeOf<typeof StartFields>, t.OutputOf<typeof StartFields>, unknown>(
  "start",
  (u): u is t.TypeOf<typeof StartFields> => StartFields.is(u),
  (u, c) => {
    const base = StartFields.validate(u, c);
    if (base._tag === "Left") return base;
    const start = base.right;
    if (start.exposureTimesS.length === 0) {
      return t.failure(u, c, "start.exposureTimesS: expected at least one exposure time, got []");
    }
    if (start.positionsM !== undefined && start.positionsM.length !== start.numPoints) {
      return t.failure(
        u,
        c,
        `start.positionsM: expected ${start.numPoints} positions (numPoints), got ${start.positionsM.length}`,
      );
    }
    if (start.positionsM === undefined && start.positionsFollow !== true) {
      return t.failure(u, c, "start.positionsM: expected positions, or positionsFollow: true with point messages");
    }
    return t.success(start);
  },
  StartFields.encode,
);
export type StartMessage = t.TypeOf<typeof StartMessage>;

export const PointMessage = t.type(
  { type: t.literal("point"), index: NonNegativeInteger, x: FiniteNumber, y: FiniteNumber },
  "point",
);
export type PointMessage = t.TypeOf<typeof PointMessage>;

export const StopMessage = t.intersection([t.type({ type: t.literal("stop") }), t.partial({ scanId: t.string })], "stop");
export type StopMessage = t.TypeOf<typeof StopMessage>;

export const AbortMessage = t.intersection(
  [t.type({ type: t.literal("abort") }), t.partial({ scanId: t.string, reason: t.string })],
  "abort",
);
export type AbortMessage = t.TypeOf<typeof AbortMessage>;

export const ScanControlMessage = t.union([StartMessage, PointMessage, StopMessage, AbortMessage], "ScanControlMessage");
export type ScanControlMessage = t.TypeOf<typeof ScanControlMessage>;

/** Which codec to report against, so an invalid `start` is reported as a start, not as "no union member". */
export function scanControlCodecFor(input: unknown): t.Type<ScanControlMessage, unknown, unknown> {
  const type = typeof input === "object" && input !== null ? (input as { type?: unknown }).type : undefined;
  switch (type) {
    case "start":
      return StartMessage as t.Type<ScanControlMessage, unknown, unknown>;
    case "point":
      return PointMessage as t.Type<ScanControlMessage, unknown, unknown>;
    case "stop":
      return StopMessage as t.Type<ScanControlMessage, unknown, unknown>;
    case "abort":
      return AbortMessage as t.Type<ScanControlMessage, unknown, unknown>;
    default:
      return ScanControlMessage as t.Type<ScanControlMessage, unknown, unknown>;
  }
}
