/**
 * `equalize`: digitizer equilibration on the raw layout, before descramble drops the overscan. Each ADC channel
 * of each raw row loses the mean of its own overscan pixels. Darks and point exposures alike.
 */
import { OperatorFunction } from "rxjs";
import { ScanEvent } from "../model/events";
import { DetectorLayout, layoutMaps } from "../model/layout";
import { RawFrame } from "../model/scan";
import { equalizeRaw } from "../preprocess/detector";
import { DarkOf, EqualizedFrame, PointOf } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapExposuresStage, transformsOnly } from "./scan-stage";

export interface EqualizeOptions {
  /** The readout layout; default the one the scan's start declares. */
  layout?: DetectorLayout;
}

export function equalize(
  options: EqualizeOptions = {},
): OperatorFunction<ScanEvent<PointOf<RawFrame>, DarkOf<RawFrame>>, ScanEvent<PointOf<EqualizedFrame>, DarkOf<EqualizedFrame>>> {
  return mapExposuresStage("equalize", (frame: RawFrame, meta) => equalizeRaw(frame, layoutMaps(options.layout ?? meta.layout)));
}

export const equalizeHold = (): StageHold => transformsOnly("equalize");
