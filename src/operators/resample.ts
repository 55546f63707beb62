/**
 * `resample`: to size x size, a power of two (the FFTs want one), conserving counts by area weighting; an output
 * pixel is valid only if all the pixels that feed it are. Without a size: the power of two nearest the input.
 */
import { OperatorFunction } from "rxjs";
import { Frame, ScanMeta } from "../model/scan";
import { ResampleOptions } from "../preprocess/config";
import { nearestPowerOfTwo, resampledMeta, resampleFrame } from "../preprocess/geometry";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function resample(options: ResampleOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  const sizeFor = (meta: ScanMeta) => options.size ?? nearestPowerOfTwo(meta.frameShape[0]);
  return mapItemsStage("resample", (frame: Frame, meta) => resampleFrame(frame, sizeFor(meta)), (meta) => resampledMeta(meta, sizeFor(meta)));
}

export const resampleHold = (): StageHold => transformsOnly("resample");
