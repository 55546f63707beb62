/**
 * `preprocess(config)`: COSMIC's FCCD chain in DESIGN order, from `grab`'s points to chunks:
 *
 *   equalize - descramble - darks - subtract - noise - hdr - photons - centre - crop - bin - orient - resample - floor - chunk
 *
 * The configuration is validated here (a `DecodeError` lists every problem); the profile fills in what it
 * leaves out, and each stage takes the rest from the scan's `start` when it arrives. Stages that would do
 * nothing (bin 1, orientation 0, no resample) are left out of the composition.
 */
import { OperatorFunction, pipe } from "rxjs";
import { ScanEvent } from "../model/events";
import { Chunk, DarkFrame, Frame, Point } from "../model/scan";
import { PREPROCESS_DEFAULTS, PreprocessConfig, decodePreprocessConfig, withProfile } from "../preprocess/config";
import { FrameEvent, ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { bin, binHold } from "./bin";
import { centre, centreHold } from "./centre";
import { chunk, chunkHold } from "./chunk";
import { crop, cropHold } from "./crop";
import { darks, darksHold } from "./darks";
import { descramble, descrambleHold } from "./descramble";
import { equalize, equalizeHold } from "./equalize";
import { floor, floorHold } from "./floor";
import { hdr, hdrHold } from "./hdr";
import { noise, noiseHold } from "./noise";
import { orient, orientHold } from "./orient";
import { photons, photonsHold } from "./photons";
import { resample, resampleHold } from "./resample";
import { subtract, subtractHold } from "./subtract";

/** The configuration as the stages read it: validated, profile filled in, centre frames defaulting to one chunk. */
export function resolvePreprocessConfig(config: PreprocessConfig): PreprocessConfig {
  const c = withProfile(decodePreprocessConfig(config));
  const chunkSize = c.chunk?.size ?? PREPROCESS_DEFAULTS.chunkSize;
  const centreOptions = c.centre?.yx !== undefined ? c.centre : { frames: chunkSize, ...c.centre };
  return { ...c, centre: centreOptions };
}

function frameStages(c: PreprocessConfig): OperatorFunction<FrameEvent, FrameEvent> {
  const binFactor = c.bin?.factor ?? PREPROCESS_DEFAULTS.binFactor;
  const stages: OperatorFunction<FrameEvent, FrameEvent>[] = [centre(c.centre), crop({ ...c.crop, binFactor })];
  if (binFactor !== 1) stages.push(bin(c.bin));
  if ((c.orient?.orientation ?? PREPROCESS_DEFAULTS.orientation) !== 0) stages.push(orient(c.orient));
  if (c.resample !== undefined) stages.push(resample(c.resample));
  stages.push(floor(c.floor));
  return (source) => stages.reduce((stream, stage) => stage(stream), source);
}

/** The chain up to processed frames (for sinks that take frames, e.g. a cosmicstreams publisher). */
export function preprocessFrames(config: PreprocessConfig = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Frame>> {
  const c = resolvePreprocessConfig(config);
  const saturation = c.saturation ?? {};
  return pipe(
    equalize({ layout: c.layout }),
    descramble({ layout: c.layout, saturationAdu: saturation.on === "corrected" ? undefined : saturation.thresholdAdu }),
    darks(),
    subtract(),
    noise(c.noise),
    hdr(saturation),
    photons(c.photons),
    frameStages(c),
  );
}

/** The whole chain, points in, chunks out. */
export function preprocess(config: PreprocessConfig = {}): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Chunk>> {
  return pipe(preprocessFrames(config), chunk(resolvePreprocessConfig(config).chunk));
}

/**
 * What the chain may hold unacknowledged at once, per stage, for `withCreditBudget` at configuration time.
 * `exposuresPerPoint` is the frames one point stands for (2 for COSMIC's double exposure).
 */
export function preprocessHolds(config: PreprocessConfig, exposuresPerPoint: number): StageHold[] {
  const c = resolvePreprocessConfig(config);
  return [
    equalizeHold(),
    descrambleHold(),
    darksHold(),
    subtractHold(),
    noiseHold(),
    hdrHold(),
    photonsHold(),
    centreHold(c.centre ?? {}, exposuresPerPoint),
    cropHold(),
    binHold(),
    orientHold(),
    resampleHold(),
    floorHold(),
    chunkHold(c.chunk ?? {}, exposuresPerPoint),
  ];
}
