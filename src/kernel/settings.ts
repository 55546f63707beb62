/**
 * What the fused chain needs to know for one scan: the preprocessing configuration (validated, profile filled
 * in, as `resolvePreprocessConfig` gives it) resolved against the scan's metadata exactly as the reference
 * stages resolve it in src/operators/ (each stage's defaults, the source's gain and saturation level).
 */
import { layoutMaps, LayoutMaps } from "../model/layout";
import { ScanMeta } from "../model/scan";
import { PREPROCESS_DEFAULTS, PreprocessConfig } from "../preprocess/config";
import { CentreWeighting, nearestPowerOfTwo, YX } from "../preprocess/geometry";
import { cropSize } from "../operators/crop";
import { aduPerPhoton } from "../operators/photons";
import { SaturationOn } from "../preprocess/detector";

export interface ChainSettings {
  maps: LayoutMaps;
  exposureTimesS: readonly number[];
  readNoiseAdu: number;
  /** Raw level for the raw saturation mask (descramble's). */
  rawSaturationAdu: number;
  saturationOn: SaturationOn;
  /** Threshold on the corrected value (hdr's, with `on: corrected`). */
  correctedSaturationAdu: number;
  noiseK: number;
  aduPerPhoton: number;
  /** Given centre, or undefined: found from the first `centreFrames` points. */
  centreYX: YX | undefined;
  centreFrames: number;
  centreThresholdFraction: number;
  centreWeighting: CentreWeighting | undefined;
  cropSize: number;
  binFactor: number;
  orientation: number;
  /** Resample size (after orient), or undefined when the chain does not resample. */
  resampleSize: number | undefined;
  floorPhotons: number;
}

/** `config` must be resolved (resolvePreprocessConfig). */
export function chainSettings(config: PreprocessConfig, meta: ScanMeta): ChainSettings {
  const maps = layoutMaps(config.layout ?? meta.layout);
  const saturation = config.saturation ?? {};
  const saturationOn = saturation.on ?? "raw";
  const binFactor = config.bin?.factor ?? PREPROCESS_DEFAULTS.binFactor;
  const size = cropSize({ ...config.crop, binFactor }, { ...meta, frameShape: maps.image });
  const centre = config.centre ?? {};
  return {
    maps,
    exposureTimesS: meta.exposureTimesS,
    readNoiseAdu: meta.readNoiseAdu ?? 0,
    rawSaturationAdu: (saturationOn === "corrected" ? undefined : saturation.thresholdAdu) ?? meta.saturationAdu,
    saturationOn,
    correctedSaturationAdu: saturation.thresholdAdu ?? meta.saturationAdu,
    noiseK: config.noise?.k ?? PREPROCESS_DEFAULTS.noiseK,
    aduPerPhoton: aduPerPhoton(config.photons ?? {}, meta),
    centreYX: centre.yx && [centre.yx[0], centre.yx[1]],
    centreFrames: centre.frames ?? PREPROCESS_DEFAULTS.chunkSize,
    centreThresholdFraction: centre.thresholdFraction ?? PREPROCESS_DEFAULTS.centreThresholdFraction,
    centreWeighting: centre.weighting,
    cropSize: size,
    binFactor,
    orientation: config.orient?.orientation ?? PREPROCESS_DEFAULTS.orientation,
    // The crop is square, so the binned, oriented frame is size / b on both sides.
    resampleSize: config.resample === undefined ? undefined : (config.resample.size ?? nearestPowerOfTwo(size / binFactor)),
    floorPhotons: config.floor?.photons ?? PREPROCESS_DEFAULTS.floorPhotons,
  };
}
