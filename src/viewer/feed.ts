/**
 * The live viewer's feed: what a pipeline calls to show its run on a web page (issue 12).
 *
 *   const viewer = await startViewer({ port: 8080 });
 *   viewer.rawFrame(frame); viewer.processedFrame(frame); viewer.snapshot(snapshot); viewer.health({ stages, counts });
 *
 * Every call is O(1): it keeps a reference to the latest value (latest wins) and returns. A timer in the server
 * turns the latest values into small pictures at most `maxFps` times a second and sends them to the browsers that
 * keep up; a stalled browser is passed over, never waited for, and its buffer stays bounded.
 *
 * Raw frames are the exception: the frameserver source frees a frame's pixels at its ack, long before the timer
 * draws it, so the feed keeps a copy, of at most `maxFps` frames a second (the others are passed over: the page
 * shows no more anyway).
 */
import { PositionM } from "../model/frameserver";
import { DetectorLayout } from "../model/layout";
import { Frame, RawFrame, Snapshot } from "../model/scan";
import { StageFigures } from "../runtime/metrics";
import { ViewerStats } from "./messages";
import { VIEWER_DEFAULTS, ViewerServerOptions, exportPng, newViewerStats, startViewerServer } from "./server";
import { DetectorImage, Health, ScanInfo, Slot, ViewerState } from "./state";

export type { Health, ScanInfo } from "./state";

export interface ViewerFeed {
  /**
   * Latest raw/detector image (descrambled for display when it has the raw layout's shape), copied: at most
   * `maxFps` frames a second are kept, the others passed over.
   */
  rawFrame(frame: RawFrame | { rows: number; cols: number; data: Float32Array | Uint16Array }): void;
  /** Latest processed diffraction frame; its position is marked as visited. */
  processedFrame(frame: Frame): void;
  /** Scan positions known so far (the list is kept by reference). */
  positions(positionsM: { x: number; y: number }[]): void;
  /** One more known position. */
  position(positionM: { x: number; y: number }): void;
  /** Reconstruction: object amplitude and phase, probe, and a point of the error curve. */
  snapshot(snapshot: Snapshot): void;
  health(health: { stages: StageFigures[]; counts: Record<string, number> }): void;
  /**
   * Health read on the viewer's clock instead: `read` is called once per update while a browser watches (never
   * otherwise), so the pipeline need not gather its figures per frame.
   */
  healthFrom(read: () => Health): void;
  /** A new scan: its id, its raw layout and known positions; the positions and the error curve start again. */
  scan(info: ScanInfo): void;
  /** The viewer's own figures: feed calls, pictures made, messages sent, slow clients skipped. */
  stats(): ViewerStats;
  /** The current reconstruction, processed frame or raw frame as PNG (`reconstruction.png`, `frame.png`, `raw.png`). */
  exportPng(what: "reconstruction.png" | "frame.png" | "raw.png"): Buffer | undefined;
  close(): Promise<void>;
}

export interface ViewerOptions extends ViewerServerOptions {
  /** Raw frames of this layout's raw shape are descrambled for display (also set by `scan`). */
  rawLayout?: DetectorLayout;
}

const withCopiedPixels = <T extends DetectorImage>(frame: T): T => ({ ...frame, data: frame.data.slice() as T["data"] });

export async function startViewer(options: ViewerOptions): Promise<ViewerFeed & { url: string }> {
  const state = new ViewerState(options.rawLayout);
  const stats = newViewerStats();
  const server = await startViewerServer(state, stats, options);
  // Each feed call counts itself and stores its value: nothing else happens on the caller's time.
  const counted =
    <A extends unknown[]>(slot: Slot, store: (...args: A) => void) =>
    (...args: A): void => {
      stats.fed[slot] += 1;
      store(...args);
    };
  const rawIntervalMs = 1000 / (options.maxFps ?? VIEWER_DEFAULTS.maxFps);
  let rawKeptAtMs = -Infinity;
  const keepRaw = (frame: DetectorImage) => {
    const now = performance.now();
    if (now - rawKeptAtMs < rawIntervalMs) return;
    rawKeptAtMs = now;
    state.setRaw(withCopiedPixels(frame));
  };
  return {
    url: server.url,
    rawFrame: counted("raw", keepRaw),
    processedFrame: counted("processed", (frame: Frame) => state.setProcessed(frame)),
    positions: counted("positions", (positionsM: PositionM[]) => state.setPositions(positionsM)),
    position: counted("positions", (positionM: PositionM) => state.addPosition(positionM)),
    snapshot: counted("reconstruction", (snapshot: Snapshot) => state.setSnapshot(snapshot)),
    health: counted("health", (health: Health) => state.setHealth(health)),
    healthFrom: (read: () => Health) => server.pollHealth(read),
    scan: counted("scan", (info: ScanInfo) => state.startScan(info)),
    stats: () => stats,
    exportPng: (what) => exportPng(state, what),
    close: () => server.close(),
  };
}
