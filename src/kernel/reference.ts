/**
 * The reference chain as two plain functions over the reference's own stage functions: the detector half
 * (equalize to photons, full image) and the geometric half (crop to floor). The fused engines use them while
 * the centre is still being found (the centre needs the full photon frames); the tests compare against the
 * operators themselves.
 */
import { Frame, Point } from "../model/scan";
import { descrambleFrame, equalizeRaw, mergeExposures, saturationMask, subtractDark, suppressNoise, toPhotons } from "../preprocess/detector";
import { binFrame, cropFrame, cropOrigin, floorFrame, orientFrame, resampleFrame, YX } from "../preprocess/geometry";
import { DarkStatistics } from "../preprocess/types";
import { ChainSettings } from "./settings";

export function referencePhotons(point: Point, settings: ChainSettings, darks: readonly DarkStatistics[]): Frame {
  const { maps } = settings;
  const corrected = point.exposures.map((raw, e) =>
    suppressNoise(subtractDark(descrambleFrame(equalizeRaw(raw, maps), maps, settings.rawSaturationAdu), darks[e]), settings.noiseK),
  );
  const masks = corrected.map((exposure) => saturationMask(exposure, settings.saturationOn, settings.correctedSaturationAdu));
  const merged = mergeExposures({ index: point.index, positionM: point.positionM, exposures: corrected }, settings.exposureTimesS, masks);
  return toPhotons(merged, settings.aduPerPhoton);
}

export function referenceGeometry(photons: Frame, settings: ChainSettings, centreYX: YX): Frame {
  const { cropSize: size, binFactor } = settings;
  let frame = cropFrame(photons, cropOrigin(centreYX, size, binFactor), size);
  if (binFactor !== 1) frame = binFrame(frame, binFactor);
  if (settings.orientation !== 0) frame = orientFrame(frame, settings.orientation);
  if (settings.resampleSize !== undefined) frame = resampleFrame(frame, settings.resampleSize);
  return floorFrame(frame, settings.floorPhotons);
}
