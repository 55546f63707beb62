/**
 * The preprocessing configuration: one optional block per stage, validated with io-ts at the edge (readable
 * errors: `crop.size: expected positive integer, got 0`), typed inside. What is left out comes from, in order:
 * a named profile (`cosmic-fccd`), then the scan's `start` (gain, saturation level, exposure times, layout,
 * detector shape), then the built-in defaults below. The operators resolve start-dependent defaults when the
 * scan's `start` arrives, so one configuration serves scan after scan.
 */
import * as t from "io-ts";
import { DetectorLayout, FCCD_LAYOUT } from "../model/layout";
import { FiniteNumber, NonNegativeNumber, PositiveInteger, PositiveNumber, decodeOrThrow, numberRefinement } from "../model/codec";

export const Fraction = numberRefinement("number in [0, 1)", (n) => Number.isFinite(n) && n >= 0 && n < 1);
export const OrientationCode = numberRefinement("PtyPy orientation, integer 0-7", (n) => Number.isInteger(n) && n >= 0 && n <= 7);
export const PowerOfTwoSize = numberRefinement("power of two >= 2", (n) => Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0);

export const SaturationOptions = t.partial(
  {
    /** `raw`: the raw value against the level (default: the source's `saturationAdu`); `corrected`: the dark-subtracted value. */
    on: t.keyof({ raw: null, corrected: null }, "raw or corrected"),
    thresholdAdu: PositiveNumber,
  },
  "saturation",
);
export type SaturationOptions = t.TypeOf<typeof SaturationOptions>;

export const NoiseOptions = t.partial({ /** Zero pixels below k x dark std (k = 0 zeroes only negative values). */ k: NonNegativeNumber }, "noise");
export type NoiseOptions = t.TypeOf<typeof NoiseOptions>;

export const PhotonsOptions = t.partial(
  {
    /** ADU per photon; default gainAduPerEv x energyEv. */
    aduPerPhoton: PositiveNumber,
    /** Overrides the source's gain. */
    gainAduPerEv: PositiveNumber,
  },
  "photons",
);
export type PhotonsOptions = t.TypeOf<typeof PhotonsOptions>;

export const CentreOptions = t.partial(
  {
    /** The pattern's centre (where zero frequency falls), (y, x) image pixels; absent: found from the first frames, then frozen. */
    yx: t.tuple([FiniteNumber, FiniteNumber]),
    /** Frames whose mean pattern gives the centre (default: the chunk size, i.e. the first chunk). */
    frames: PositiveInteger,
    /** Pixels of the mean pattern below this fraction of its maximum are left out of the centre of mass. */
    thresholdFraction: Fraction,
    /** `binary` (default): centroid of the region above the threshold; `intensity`: weighted by the values. */
    weighting: t.keyof({ binary: null, intensity: null }, "binary or intensity"),
  },
  "centre",
);
export type CentreOptions = t.TypeOf<typeof CentreOptions>;

export const CropOptions = t.partial({ /** Side of the square; default the detector's shorter side. */ size: PositiveInteger }, "crop");
export type CropOptions = t.TypeOf<typeof CropOptions>;

export const BinOptions = t.partial({ factor: PositiveInteger }, "bin");
export type BinOptions = t.TypeOf<typeof BinOptions>;

export const OrientOptions = t.partial({ orientation: OrientationCode }, "orient");
export type OrientOptions = t.TypeOf<typeof OrientOptions>;

/** Present to resample; `size` absent: the power of two nearest to the binned size. */
export const ResampleOptions = t.partial({ size: PowerOfTwoSize }, "resample");
export type ResampleOptions = t.TypeOf<typeof ResampleOptions>;

export const FloorOptions = t.partial({ photons: NonNegativeNumber }, "floor");
export type FloorOptions = t.TypeOf<typeof FloorOptions>;

export const ChunkOptions = t.partial({ size: PositiveInteger }, "chunk");
export type ChunkOptions = t.TypeOf<typeof ChunkOptions>;

export const PROFILE_NAMES = { "cosmic-fccd": null } as const;
export type ProfileName = keyof typeof PROFILE_NAMES;

const PreprocessFields = t.partial(
  {
    profile: t.keyof(PROFILE_NAMES, "profile (cosmic-fccd)"),
    /** The readout layout; default the one the scan's start declares (the FCCD's when it declares none). */
    layout: DetectorLayout,
    saturation: SaturationOptions,
    noise: NoiseOptions,
    photons: PhotonsOptions,
    centre: CentreOptions,
    crop: CropOptions,
    bin: BinOptions,
    orient: OrientOptions,
    resample: ResampleOptions,
    floor: FloorOptions,
    chunk: ChunkOptions,
  },
  "preprocess",
);
export type PreprocessConfig = t.TypeOf<typeof PreprocessFields>;

/** The built-in defaults, where neither profile nor start says otherwise. */
export const PREPROCESS_DEFAULTS = {
  noiseK: 3,
  centreThresholdFraction: 0.3,
  binFactor: 1,
  orientation: 0,
  floorPhotons: 0.5,
  chunkSize: 32,
} as const;

/**
 * COSMIC's FCCD values. The FCCD layout (2 x 480 rows, 96 channels of 10 + 2 columns, bottom half rotated);
 * 0.004 ADU/eV (about 250 eV per ADU, so 3.2 ADU per photon at 800 eV); saturation as COSMIC's preprocessor
 * decided it, on the dark-corrected value against 2000 ADU; a 0.5 photon floor after binning. The 512-pixel crop
 * binned 2 x 2 gives the 256 x 256 frames COSMIC usually reconstructs (our choice, stated so it can be changed).
 */
export const PROFILES: Record<ProfileName, PreprocessConfig> = {
  "cosmic-fccd": {
    layout: FCCD_LAYOUT,
    saturation: { on: "corrected", thresholdAdu: 2000 },
    photons: { gainAduPerEv: 0.004 },
    crop: { size: 512 },
    bin: { factor: 2 },
    floor: { photons: 0.5 },
  },
};

type StageKey = Exclude<keyof PreprocessConfig, "profile" | "layout">;
const STAGE_KEYS: StageKey[] = ["saturation", "noise", "photons", "centre", "crop", "bin", "orient", "resample", "floor", "chunk"];

/** The configuration with its profile filled in under it (the user's values win, block by block, field by field). */
export function withProfile(config: PreprocessConfig): PreprocessConfig {
  if (config.profile === undefined) return config;
  const profile = PROFILES[config.profile];
  const merged: PreprocessConfig = { ...profile, ...config };
  for (const key of STAGE_KEYS) {
    if (profile[key] !== undefined || config[key] !== undefined) {
      (merged as Record<StageKey, object | undefined>)[key] = { ...profile[key], ...config[key] };
    }
  }
  return merged;
}

/** The rules that span fields, checked after the profile is filled in. */
function crossFieldProblems(config: PreprocessConfig): string[] {
  const c = withProfile(config);
  const problems: string[] = [];
  if (c.saturation?.on === "corrected" && c.saturation.thresholdAdu === undefined) {
    problems.push("saturation.thresholdAdu: expected a threshold in ADU with on: corrected (the source's level is for raw values)");
  }
  const factor = c.bin?.factor ?? PREPROCESS_DEFAULTS.binFactor;
  if (c.crop?.size !== undefined && c.crop.size % factor !== 0) {
    problems.push(`crop.size: expected a multiple of bin.factor ${factor}, got ${c.crop.size}`);
  }
  if (c.centre?.yx !== undefined && (c.centre.frames !== undefined || c.centre.thresholdFraction !== undefined || c.centre.weighting !== undefined)) {
    problems.push("centre: expected either yx (given) or frames/thresholdFraction/weighting (found), not both");
  }
  return problems;
}

export const PreprocessConfig = new t.Type<PreprocessConfig, PreprocessConfig, unknown>(
  "preprocess",
  (u): u is PreprocessConfig => PreprocessFields.is(u) && crossFieldProblems(u).length === 0,
  (u, c) => {
    const base = PreprocessFields.validate(u, c);
    if (base._tag === "Left") return base;
    const problems = crossFieldProblems(base.right);
    return problems.length === 0 ? base : t.failures(problems.map((message) => ({ value: u, context: c, message })));
  },
  t.identity,
);

/** Decodes a configuration or throws a `DecodeError` with one line per problem. */
export function decodePreprocessConfig(input: unknown): PreprocessConfig {
  return decodeOrThrow(PreprocessConfig, input, "preprocessing configuration");
}
