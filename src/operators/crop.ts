/**
 * `crop`: a size x size square around the centre, starting at round(centre) - size // 2 as PtyPy's
 * crop_pad_symmetric_2d does, or, when a binning by b follows (`binFactor`), placed so the centre falls in the
 * middle of the block that becomes the binned frame's centre pixel (see cropOrigin). Where the square leaves
 * the detector the pixels are 0 with weight 0. Downstream metadata: the new shape and the centre in the crop.
 */
import { OperatorFunction } from "rxjs";
import { Frame, ScanMeta } from "../model/scan";
import { CropOptions } from "../preprocess/config";
import { cropFrame, cropOrigin, croppedMeta } from "../preprocess/geometry";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, StageError, transformsOnly } from "./scan-stage";

export interface CropStageOptions extends CropOptions {
  /** The binning that follows, so the centre lands in the middle of a block (default 1: PtyPy's rule). */
  binFactor?: number;
}

/** The side of the square: as configured, else the detector's shorter side rounded down to whole bins. */
export function cropSize(options: CropStageOptions, meta: ScanMeta): number {
  const factor = options.binFactor ?? 1;
  return options.size ?? Math.floor(Math.min(...meta.frameShape) / factor) * factor;
}

export function crop(options: CropStageOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  return mapItemsStage(
    "crop",
    (frame: Frame, meta) => {
      if (meta.centreYX === undefined) throw new StageError("crop", "no centre known: put centre() before crop()");
      const size = cropSize(options, meta);
      return cropFrame(frame, cropOrigin(meta.centreYX, size, options.binFactor), size);
    },
    (meta) => croppedMeta(meta, cropSize(options, meta), options.binFactor),
  );
}

export const cropHold = (): StageHold => transformsOnly("crop");
