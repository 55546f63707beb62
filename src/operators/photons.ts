/** `photons`: ADU to photons; ADU per photon is gainAduPerEv x energyEv unless given. */
import { OperatorFunction } from "rxjs";
import { ScanMeta } from "../model/scan";
import { PhotonsOptions } from "../preprocess/config";
import { toPhotons } from "../preprocess/detector";
import { FrameEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { mapItemsStage, transformsOnly } from "./scan-stage";

export function aduPerPhoton(options: PhotonsOptions, meta: Pick<ScanMeta, "gainAduPerEv" | "energyEv">): number {
  return options.aduPerPhoton ?? (options.gainAduPerEv ?? meta.gainAduPerEv) * meta.energyEv;
}

export function photons(options: PhotonsOptions = {}): OperatorFunction<FrameEvent, FrameEvent> {
  return mapItemsStage("photons", (frame, meta) => toPhotons(frame, aduPerPhoton(options, meta)));
}

export const photonsHold = (): StageHold => transformsOnly("photons");
