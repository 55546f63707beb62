/**
 * `bin`: sums factor x factor blocks; a binned pixel is valid only if all its sources are. The effective
 * pixel size grows by the factor and the centre moves to (c + 0.5) / factor - 0.5.
 */
import { OperatorFunction } from "rxjs";
import { Frame } from "../model/scan";
import { BinOptions, PREPROCESS_DEFAULTS } from "../preprocess/config";
import { binFrame, binnedMeta } from "../preprocess/geometry";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function bin(options: BinOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  const factor = options.factor ?? PREPROCESS_DEFAULTS.binFactor;
  return mapItemsStage("bin", (frame: Frame) => binFrame(frame, factor), (meta) => binnedMeta(meta, factor));
}

export const binHold = (): StageHold => transformsOnly("bin");
