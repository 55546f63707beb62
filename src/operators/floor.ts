/** `floor`: subtract a noise floor in photons (0.5 by default, after binning as COSMIC does) and clip at 0. */
import { OperatorFunction } from "rxjs";
import { Frame } from "../model/scan";
import { FloorOptions, PREPROCESS_DEFAULTS } from "../preprocess/config";
import { floorFrame } from "../preprocess/geometry";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function floor(options: FloorOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  const photons = options.photons ?? PREPROCESS_DEFAULTS.floorPhotons;
  return mapItemsStage("floor", (frame: Frame) => floorFrame(frame, photons));
}

export const floorHold = (): StageHold => transformsOnly("floor");
