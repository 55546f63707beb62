import { decodeEither } from "../../src/model/codec";
import { FCCD_LAYOUT } from "../../src/model/layout";
import { PreprocessConfig, decodePreprocessConfig, withProfile } from "../../src/preprocess/config";

describe("preprocessing configuration", () => {
  it("accepts nothing at all (everything from the scan's start and the defaults)", () => {
    expect(decodePreprocessConfig({})).toEqual({});
  });

  it("names the field, the expectation and what came, one line per problem", () => {
    expect(decodeEither(PreprocessConfig, { crop: { size: 0 } })).toEqual({ ok: false, problems: ["crop.size: expected positive integer, got 0"] });
    expect(decodeEither(PreprocessConfig, { noise: { k: -1 }, chunk: { size: "a" } })).toEqual({
      ok: false,
      problems: ["noise.k: expected non-negative number, got -1", 'chunk.size: expected positive integer, got "a"'],
    });
    expect(decodeEither(PreprocessConfig, { profile: "x" })).toEqual({ ok: false, problems: ['profile: expected profile (cosmic-fccd), got "x"'] });
    expect(decodeEither(PreprocessConfig, { resample: { size: 100 } })).toEqual({ ok: false, problems: ["resample.size: expected power of two >= 2, got 100"] });
  });

  it("checks the rules across fields, with the profile filled in", () => {
    expect(decodeEither(PreprocessConfig, { saturation: { on: "corrected" } })).toEqual({
      ok: false,
      problems: ["saturation.thresholdAdu: expected a threshold in ADU with on: corrected (the source's level is for raw values)"],
    });
    // The profile bins by 2, so an odd crop fails though the user did not set bin.
    expect(decodeEither(PreprocessConfig, { profile: "cosmic-fccd", crop: { size: 511 } })).toEqual({
      ok: false,
      problems: ["crop.size: expected a multiple of bin.factor 2, got 511"],
    });
    expect(decodeEither(PreprocessConfig, { centre: { yx: [1, 2], frames: 4 } }).ok).toBe(false);
  });

  it("fills the cosmic-fccd profile in under the user's values, field by field", () => {
    const config = withProfile(decodePreprocessConfig({ profile: "cosmic-fccd", bin: { factor: 4 }, saturation: { thresholdAdu: 1500 } }));
    expect(config.bin).toEqual({ factor: 4 });
    expect(config.crop).toEqual({ size: 512 });
    expect(config.saturation).toEqual({ on: "corrected", thresholdAdu: 1500 });
    expect(config.photons).toEqual({ gainAduPerEv: 0.004 });
    expect(config.layout).toEqual(FCCD_LAYOUT);
    expect(config.noise).toBeUndefined();
  });
});
