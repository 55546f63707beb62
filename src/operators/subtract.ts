/** `subtract`: each exposure minus the mean dark of its exposure time; the dark noise goes along for `noise`. */
import { OperatorFunction } from "rxjs";
import { subtractDark } from "../preprocess/detector";
import { CorrectedPoint, ItemEvent, PointWithDarks } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function subtract(): OperatorFunction<ItemEvent<PointWithDarks>, ItemEvent<CorrectedPoint>> {
  return mapItemsStage("subtract", (point: PointWithDarks) => ({
    index: point.index,
    positionM: point.positionM,
    exposures: point.exposures.map((exposure, e) => subtractDark(exposure, point.darks[e])),
  }));
}

export const subtractHold = (): StageHold => transformsOnly("subtract");
