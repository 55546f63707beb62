/**
 * `hdr`: merges the exposures of a point into one frame in ADU of the longest exposure: per pixel the longest
 * unsaturated exposure, scaled by t_longest / t_used; weight 0 where every exposure saturates. Saturation is the
 * raw mask from `descramble` (`on: raw`, default) or the corrected value against `thresholdAdu` (`corrected`).
 */
import { OperatorFunction } from "rxjs";
import { Frame } from "../model/scan";
import { SaturationOptions } from "../preprocess/config";
import { mergeExposures, saturationMask } from "../preprocess/detector";
import { CorrectedPoint, ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, StageError, transformsOnly } from "./scan-stage";

export function hdr(options: SaturationOptions = {}): OperatorFunction<ItemEvent<CorrectedPoint>, ItemEvent<Frame>> {
  const on = options.on ?? "raw";
  if (on === "corrected" && options.thresholdAdu === undefined) {
    throw new StageError("hdr", "saturation on corrected values needs thresholdAdu");
  }
  return mapItemsStage("hdr", (point: CorrectedPoint, meta) =>
    mergeExposures(
      point,
      meta.exposureTimesS,
      point.exposures.map((exposure) => saturationMask(exposure, on, options.thresholdAdu ?? meta.saturationAdu)),
    ),
  );
}

export const hdrHold = (): StageHold => transformsOnly("hdr");
