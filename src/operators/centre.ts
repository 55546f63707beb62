/**
 * `centre`: the centre of the diffraction pattern on the detector image. Given (`yx`): every metadata event
 * carries it from `start` on. Found: the stage holds the first `frames` frames (the first chunk), takes the
 * centre of mass of their thresholded mean pattern (see centreOfMass), announces it in a `meta` event, lets the held frames go on
 * and from then on keeps it frozen for the scan. A scan that ends sooner is centred on the frames it had.
 */
import { OperatorFunction } from "rxjs";
import { Envelope } from "../model/envelope";
import { Frame, ScanMeta } from "../model/scan";
import { CentreOptions, PREPROCESS_DEFAULTS } from "../preprocess/config";
import { centreOfMass, YX } from "../preprocess/geometry";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, passMeta, scanOperator } from "./scan-stage";

export function centre(options: CentreOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  const given = options.yx;
  if (given !== undefined) {
    return mapItemsStage("centre", (frame: Frame) => frame, (meta) => ({ ...meta, centreYX: [given[0], given[1]] }));
  }
  const frames = options.frames ?? PREPROCESS_DEFAULTS.chunkSize;
  const thresholdFraction = options.thresholdFraction ?? PREPROCESS_DEFAULTS.centreThresholdFraction;
  return scanOperator<Frame, never, Frame, never>("centre", (emit) => {
    let found: YX | undefined;
    let held: Envelope<Frame>[] = [];
    const describe = (meta: ScanMeta): ScanMeta => ({ ...meta, centreYX: found });
    const pass = passMeta(emit, describe);
    const findAndRelease = (meta: ScanMeta) => {
      if (found !== undefined || held.length === 0) return;
      found = centreOfMass(held.map((item) => item.value), thresholdFraction, options.weighting);
      emit({ kind: "meta", meta: describe(meta) });
      const release = held;
      held = [];
      release.forEach((item) => emit({ kind: "item", item }));
    };
    let current: ScanMeta | undefined;
    return {
      ...pass,
      start: (meta) => {
        // A scan that never ended lets go of what it held (centred on it) before the next one starts.
        if (current !== undefined) findAndRelease(current);
        found = undefined;
        current = meta;
        pass.start(meta);
      },
      meta: (meta) => {
        current = meta;
        pass.meta(meta);
      },
      dark: (dark) => emit({ kind: "dark", dark }),
      item: (item, meta) => {
        if (found !== undefined) return emit({ kind: "item", item });
        held.push(item);
        if (held.length >= frames) findAndRelease(meta);
      },
      end: (meta, reason, message) => {
        findAndRelease(meta);
        current = undefined;
        pass.end(meta, reason, message);
      },
      complete: () => {
        if (current !== undefined) findAndRelease(current);
      },
    };
  });
}

export function centreHold(options: CentreOptions, exposuresPerPoint: number): StageHold {
  if (options.yx !== undefined) return { stage: "centre", maxHeldFrames: 0, why: "centre given" };
  const frames = options.frames ?? PREPROCESS_DEFAULTS.chunkSize;
  return {
    stage: "centre",
    maxHeldFrames: frames * exposuresPerPoint,
    why: `holds the first ${frames} points x ${exposuresPerPoint} exposures until the centre is found`,
  };
}
