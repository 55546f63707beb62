/**
 * What the viewer knows, stored the cheap way: every feed call keeps a reference to the latest value and bumps
 * that slot's version (latest wins); nothing is copied, encoded or sent here. The broadcaster (server.ts) reads
 * the slots on its own clock. Values are held by reference, so a caller that reuses a buffer shows whatever it
 * holds when the next picture is made: acceptable for a display.
 */
import { PositionM } from "../model/frameserver";
import { DetectorLayout, imageShape, layoutMaps, rawShape } from "../model/layout";
import { Frame, RawFrame, Snapshot } from "../model/scan";
import { StageFigures } from "../runtime/metrics";

export const SLOTS = ["scan", "raw", "processed", "positions", "reconstruction", "errors", "health"] as const;
export type Slot = (typeof SLOTS)[number];

export type DetectorImage = RawFrame | { rows: number; cols: number; data: Float32Array | Uint16Array; index?: number };

export interface Health {
  stages: StageFigures[];
  /** received, processed, stored, skipped, dropped, bad:<reason>... */
  counts: Record<string, number>;
}

export interface ScanInfo {
  scanId: string;
  /** The raw layout: raw frames of its raw shape are descrambled for display. */
  layout?: DetectorLayout;
  /** Positions known at the start (metres). */
  positionsM?: PositionM[];
}

export interface ErrorPoint {
  iteration: number;
  error: number;
  errorToTruth?: number;
  framesUsed: number;
}

/**
 * The error curve, bounded: when `capacity` points are held, every other point is dropped (the newest kept), so
 * a long reconstruction keeps its whole shape, first point included, at half the resolution. Amortised O(1) per point.
 */
export class ErrorCurve {
  private points: ErrorPoint[] = [];

  constructor(private readonly capacity = 1024) {}

  add(point: ErrorPoint): void {
    const last = this.points[this.points.length - 1];
    // A snapshot repeated (the final one after the last cadence) is one point.
    if (last !== undefined && last.iteration === point.iteration) this.points[this.points.length - 1] = point;
    else this.points.push(point);
    if (this.points.length > this.capacity) this.points = this.points.filter((_, i) => i % 2 === 0 || i === this.points.length - 1);
  }

  clear(): void {
    this.points = [];
  }

  all(): readonly ErrorPoint[] {
    return this.points;
  }
}

/** Positions known (given, or added one by one) and visited (where processed frames came from), bounded. */
export class PositionTrack {
  private known: PositionM[] = [];
  private ownsKnown = true;
  readonly visited: PositionM[] = [];
  current: PositionM | undefined;

  constructor(private readonly maxVisited = 100_000) {}

  /** The caller's list, by reference. */
  setKnown(positions: PositionM[]): void {
    this.known = positions;
    this.ownsKnown = false;
  }

  addKnown(position: PositionM): void {
    if (!this.ownsKnown) {
      this.known = [...this.known];
      this.ownsKnown = true;
    }
    this.known.push(position);
  }

  visit(position: PositionM): void {
    this.current = position;
    if (this.visited.length < this.maxVisited) this.visited.push(position);
  }

  knownPositions(): readonly PositionM[] {
    return this.known;
  }

  clear(): void {
    this.known = [];
    this.ownsKnown = true;
    this.visited.length = 0;
    this.current = undefined;
  }
}

/** A raw frame's image through the layout, when the frame has the layout's raw shape. */
export function descrambleMapFor(frame: { rows: number; cols: number }, layout: DetectorLayout | undefined): { rows: number; cols: number; imageToRaw?: Int32Array } {
  if (layout === undefined) return { rows: frame.rows, cols: frame.cols };
  const [rawRows, rawCols] = rawShape(layout);
  if (frame.rows !== rawRows || frame.cols !== rawCols) return { rows: frame.rows, cols: frame.cols };
  const [rows, cols] = imageShape(layout);
  return { rows, cols, imageToRaw: layoutMaps(layout).imageToRaw };
}

export class ViewerState {
  readonly versions: Record<Slot, number> = { scan: 0, raw: 0, processed: 0, positions: 0, reconstruction: 0, errors: 0, health: 0 };
  scanInfo: ScanInfo = { scanId: "" };
  raw: DetectorImage | undefined;
  processed: Frame | undefined;
  snapshot: Snapshot | undefined;
  health: Health = { stages: [], counts: {} };
  readonly errors = new ErrorCurve();
  readonly positions = new PositionTrack();

  constructor(public layout: DetectorLayout | undefined) {}

  touch(slot: Slot): void {
    this.versions[slot] += 1;
  }

  /** A new scan: positions and the error curve start again. */
  startScan(info: ScanInfo): void {
    this.scanInfo = info;
    if (info.layout !== undefined) this.layout = info.layout;
    this.positions.clear();
    if (info.positionsM !== undefined) this.positions.setKnown(info.positionsM);
    this.errors.clear();
    this.touch("scan");
    this.touch("positions");
    this.touch("errors");
  }

  setRaw(frame: DetectorImage): void {
    this.raw = frame;
    this.touch("raw");
  }

  setProcessed(frame: Frame): void {
    this.processed = frame;
    this.positions.visit(frame.positionM);
    this.touch("processed");
    this.touch("positions");
  }

  setPositions(positions: PositionM[]): void {
    this.positions.setKnown(positions);
    this.touch("positions");
  }

  addPosition(position: PositionM): void {
    this.positions.addKnown(position);
    this.touch("positions");
  }

  setSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.errors.add({ iteration: snapshot.iteration, error: snapshot.error, errorToTruth: snapshot.errorToTruth, framesUsed: snapshot.framesUsed });
    this.touch("reconstruction");
    this.touch("errors");
  }

  setHealth(health: Health): void {
    this.health = health;
    this.touch("health");
  }
}
