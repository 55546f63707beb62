/** `noise`: zero every pixel below k x the per-pixel dark standard deviation of its exposure time. */
import { OperatorFunction } from "rxjs";
import { suppressNoise } from "../preprocess/detector";
import { PREPROCESS_DEFAULTS, NoiseOptions } from "../preprocess/config";
import { CorrectedPoint, ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function noise(options: NoiseOptions = {}): OperatorFunction<ItemEvent<CorrectedPoint>, ItemEvent<CorrectedPoint>> {
  const k = options.k ?? PREPROCESS_DEFAULTS.noiseK;
  return mapItemsStage("noise", (point: CorrectedPoint) => ({
    ...point,
    exposures: point.exposures.map((exposure) => suppressNoise(exposure, k)),
  }));
}

export const noiseHold = (): StageHold => transformsOnly("noise");
