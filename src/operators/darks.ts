/**
 * `darks`: folds the dark frames of each exposure time into a running per-pixel mean and variance (Welford)
 * and acknowledges each dark as soon as it is folded in, so darks never hold credits. Points go on with the
 * statistics of every exposure time attached; no dark event travels further. An exposure time without darks
 * gets mean 0 and the declared read noise (`readNoiseAdu`, else 0) as its noise.
 */
import { OperatorFunction } from "rxjs";
import { ScanEvent } from "../model/events";
import { mapEnvelope } from "../model/envelope";
import { ScanMeta } from "../model/scan";
import { DarkAccumulator } from "../preprocess/detector";
import { DarkOf, DarkStatistics, ImageExposure, ItemEvent, PointOf, PointWithDarks } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { passMeta, scanOperator, StageError } from "./scan-stage";

export function darks(): OperatorFunction<ScanEvent<PointOf<ImageExposure>, DarkOf<ImageExposure>>, ItemEvent<PointWithDarks>> {
  return scanOperator<PointOf<ImageExposure>, DarkOf<ImageExposure>, PointWithDarks, never>("darks", (emit) => {
    let accumulators: DarkAccumulator[] = [];
    // Recomputed only when a dark came since the last point (normally once, at the first point).
    let statistics: DarkStatistics[] | undefined;
    const pass = passMeta(emit);
    const open = (meta: ScanMeta) => {
      const size = meta.frameShape[0] * meta.frameShape[1];
      accumulators = meta.exposureTimesS.map((_, exposure) => new DarkAccumulator(exposure, size));
      statistics = undefined;
    };
    return {
      ...pass,
      start: (meta) => {
        open(meta);
        pass.start(meta);
      },
      dark: (dark) => {
        const { exposure, frame } = dark.value;
        const accumulator = accumulators[exposure];
        if (accumulator === undefined) {
          throw new StageError("darks", `dark of exposure ${exposure}, the scan has ${accumulators.length} exposure times`);
        }
        accumulator.add(frame.data);
        statistics = undefined;
        dark.ack();
      },
      item: (item, meta) => {
        statistics ??= accumulators.map((a) => a.statistics(meta.readNoiseAdu ?? 0));
        const attached = statistics;
        emit({ kind: "item", item: mapEnvelope(item, (point) => ({ ...point, darks: attached })) });
      },
    };
  });
}

export const darksHold = (): StageHold => ({
  stage: "darks",
  maxHeldFrames: 0,
  why: "folds each dark into running statistics and acknowledges it at once",
});
