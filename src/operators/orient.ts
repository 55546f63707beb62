/**
 * `orient`: PtyPy's orientation 0-7, bits (transpose, flipud, fliplr) applied in that order, as
 * ptypy/utils/array_utils.py `switch_orientation` does (see orientationBits in src/preprocess/geometry.ts).
 */
import { OperatorFunction } from "rxjs";
import { Frame } from "../model/scan";
import { OrientOptions, PREPROCESS_DEFAULTS } from "../preprocess/config";
import { orientationBits, orientedMeta, orientFrame } from "../preprocess/geometry";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function orient(options: OrientOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  const orientation = options.orientation ?? PREPROCESS_DEFAULTS.orientation;
  orientationBits(orientation);
  return mapItemsStage("orient", (frame: Frame) => orientFrame(frame, orientation), (meta) => orientedMeta(meta, orientation));
}

export const orientHold = (): StageHold => transformsOnly("orient");
