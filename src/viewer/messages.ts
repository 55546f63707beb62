/**
 * The viewer's wire format, server to browser over WebSocket:
 * - images are binary messages in the frameserver monitor's one-part framing (`encodeMonitorMessage`): uint32 LE
 *   length of a JSON header, the header (`type: "image"`, `panel`, width, height, low, high, scale, colourMap
 *   and what the image is of), then width x height bytes, row-major; byte/255 is the position on the colour map
 *   between low and high on the scale (see ./image.ts);
 * - everything else is a JSON text message with a `type`: `scan`, `positions`, `errors`, `health`.
 * Each slot of the state gives the messages that bring a browser up to date with it.
 */
import { encodeMonitorMessage } from "../sources/frameserver-server";
import { DisplayImage, frameDisplay, objectDisplays, probeDisplay } from "./image";
import { Slot, ViewerState, descrambleMapFor } from "./state";

export type ImagePanel = "raw" | "processed" | "amplitude" | "phase" | "probe";
export type ViewerMessage = Buffer | string;

export function imageMessage(panel: ImagePanel, image: DisplayImage, about: Record<string, unknown> = {}): Buffer {
  const { pixels, ...header } = image;
  return encodeMonitorMessage({ type: "image", panel, ...header, ...about }, pixels);
}

/** Viewer bookkeeping shown with the pipeline's health. */
export interface ViewerStats {
  clients: number;
  ticks: number;
  /** Feed calls per slot, and how many of them became pictures (the rest were overtaken: latest wins). */
  fed: Record<Slot, number>;
  encoded: Record<Slot, number>;
  messagesSent: number;
  bytesSent: number;
  /** Times a client was passed over because its socket still held more than the buffer cap. */
  skippedSlowClient: number;
  /** The most any client's socket had buffered when a tick looked at it. */
  maxBufferedBytes: number;
  encodeErrors: number;
  lastEncodeError?: string;
}

/** For display, a non-finite figure (an error not yet known, a rate before the first item) shows as null. */
const displayJson = (value: unknown): string => JSON.stringify(value);

function axes(positions: readonly { x: number; y: number }[]): { xM: number[]; yM: number[] } {
  return { xM: positions.map((p) => p.x), yM: positions.map((p) => p.y) };
}

/** The messages for `slot` from the current state (`stats` is reported under health). */
export function slotMessages(slot: Slot, state: ViewerState, maxPx: number, stats: ViewerStats): ViewerMessage[] {
  switch (slot) {
    case "scan":
      return [displayJson({ type: "scan", scanId: state.scanInfo.scanId })];
    case "raw": {
      const frame = state.raw;
      if (frame === undefined) return [];
      const { rows, cols, imageToRaw } = descrambleMapFor(frame, state.layout);
      return [imageMessage("raw", frameDisplay(frame.data, rows, cols, maxPx, imageToRaw), { index: frame.index, rows, cols, descrambled: imageToRaw !== undefined })];
    }
    case "processed": {
      const frame = state.processed;
      if (frame === undefined) return [];
      return [imageMessage("processed", frameDisplay(frame.data, frame.rows, frame.cols, maxPx), { index: frame.index, rows: frame.rows, cols: frame.cols, positionM: frame.positionM })];
    }
    case "reconstruction": {
      const snapshot = state.snapshot;
      if (snapshot === undefined) return [];
      const { amplitude, phase } = objectDisplays(snapshot.object, maxPx);
      const about = { iteration: snapshot.iteration, framesUsed: snapshot.framesUsed, final: snapshot.final, rows: snapshot.object.rows, cols: snapshot.object.cols, objectPixelSizeM: snapshot.objectPixelSizeM };
      return [
        imageMessage("amplitude", amplitude, about),
        imageMessage("phase", phase, about),
        imageMessage("probe", probeDisplay(snapshot.probe, maxPx), { ...about, rows: snapshot.probe.rows, cols: snapshot.probe.cols }),
      ];
    }
    case "positions": {
      const track = state.positions;
      return [displayJson({ type: "positions", known: axes(track.knownPositions()), visited: axes(track.visited), current: track.current ?? null })];
    }
    case "errors": {
      const points = state.errors.all();
      return [
        displayJson({
          type: "errors",
          iteration: points.map((p) => p.iteration),
          error: points.map((p) => p.error),
          errorToTruth: points.map((p) => p.errorToTruth ?? null),
        }),
      ];
    }
    case "health":
      return [displayJson({ type: "health", stages: state.health.stages, counts: state.health.counts, viewer: stats })];
  }
}
