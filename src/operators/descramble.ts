/**
 * `descramble`: raw layout to image layout, as the layout (configuration, not code) says: halves, channels,
 * data and overscan columns, and how the bottom half is read (`flip: rot180 | ud | none`). It also emits the
 * raw saturation mask, which travels with the exposure to `hdr`: after equalize and subtraction a saturated
 * pixel no longer shows the level it hit.
 */
import { OperatorFunction } from "rxjs";
import { ScanEvent } from "../model/events";
import { DetectorLayout, imageShape, layoutMaps } from "../model/layout";
import { ScanMeta } from "../model/scan";
import { descrambleFrame } from "../preprocess/detector";
import { DarkOf, EqualizedFrame, ImageExposure, PointOf } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapExposuresStage, transformsOnly } from "./scan-stage";

export interface DescrambleOptions {
  /** The readout layout; default the one the scan's start declares. */
  layout?: DetectorLayout;
  /** Raw level at which a pixel counts as saturated; default the source's `saturationAdu`. */
  saturationAdu?: number;
}

export function descramble(
  options: DescrambleOptions = {},
): OperatorFunction<ScanEvent<PointOf<EqualizedFrame>, DarkOf<EqualizedFrame>>, ScanEvent<PointOf<ImageExposure>, DarkOf<ImageExposure>>> {
  const layoutOf = (meta: ScanMeta) => options.layout ?? meta.layout;
  return mapExposuresStage(
    "descramble",
    (frame: EqualizedFrame, meta) => descrambleFrame(frame, layoutMaps(layoutOf(meta)), options.saturationAdu ?? meta.saturationAdu),
    (meta) => ({ ...meta, layout: layoutOf(meta), frameShape: imageShape(layoutOf(meta)) }),
  );
}

export const descrambleHold = (): StageHold => transformsOnly("descramble");
