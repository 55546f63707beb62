/**
 * The scan logic the fused engines share (in-thread and worker threads): per scan it resolves the settings,
 * folds darks (acknowledging each at once, as `darks` does) over only the pixels it will need, finds and freezes
 * the centre as `centre` does, builds the kernel plan once the centre is known and hands every later point to
 * `steady` (the kernel, here or in a worker). Metadata events are described by the reference operators
 * themselves, so downstream sees exactly what the reference chain would say.
 *
 * Darks: with a given centre only the crop window's pixels are accumulated; with a centre still to find, the
 * whole image (the centre of mass needs full photon frames), and the first `centre.frames` points go through
 * the reference functions (see ./reference.ts) before the kernel takes over.
 */
import { of, OperatorFunction } from "rxjs";
import { envelope, Envelope, mapEnvelope } from "../model/envelope";
import { metaEvent, ScanEvent } from "../model/events";
import { LayoutMaps } from "../model/layout";
import { DarkFrame, Frame, Point, RawFrame, ScanMeta } from "../model/scan";
import { PreprocessConfig } from "../preprocess/config";
import { DarkAccumulator } from "../preprocess/detector";
import { centreOfMass, YX } from "../preprocess/geometry";
import { DarkStatistics, ItemEvent } from "../preprocess/types";
import { passMeta, scanOperator, StageError } from "../operators/scan-stage";
import { preprocessFrames, resolvePreprocessConfig } from "../operators/preprocess";
import { releaseMemory } from "../runtime/release-memory";
import { fullImagePixels, gatherEqualized, RawGather, rawGather } from "./gather";
import { cropGeometry, CropGeometry, KernelPlan, kernelPlan } from "./plan";
import { referenceGeometry, referencePhotons } from "./reference";
import { ChainSettings, chainSettings } from "./settings";

export interface FusedHooks<R extends Frame | Promise<Frame>> {
  /**
   * The kernel on one point with the current plan: a Frame (in thread) or a Promise of one (worker pool), made for
   * this point alone: its pixels are freed at the point's ack (see ownedFrameEnvelope).
   */
  steady(plan: KernelPlan, point: Point): R;
  /** A new plan (centre known, darks changed, new scan), before the first point that uses it. */
  planChanged?(plan: KernelPlan): void;
}

/**
 * The metadata the reference chain (equalize ... floor) passes downstream for `meta`, with the centre `centreYX`.
 * Asked with a `meta` event, which every stage describes as it describes `start`: a `start` would make `darks`
 * open its full-image accumulators (tens of MB per scan, mostly garbage-collection time) only to be dropped.
 */
export function referenceMeta(config: PreprocessConfig, meta: ScanMeta, centreYX: YX | undefined): ScanMeta {
  const described = centreYX === undefined ? config : { ...config, centre: { yx: centreYX } };
  let out: ScanMeta | undefined;
  of(metaEvent(meta))
    .pipe(preprocessFrames(described))
    .subscribe((event) => {
      if (event.kind === "meta") out = event.meta;
    });
  if (out === undefined) throw new Error("preprocess: the reference chain described no metadata");
  return out;
}

const fullGathers = new WeakMap<LayoutMaps, { pixels: Int32Array; gather: RawGather }>();
function fullImageGather(maps: LayoutMaps): { pixels: Int32Array; gather: RawGather } {
  let full = fullGathers.get(maps);
  if (!full) {
    const pixels = fullImagePixels(maps);
    full = { pixels, gather: rawGather(maps, pixels) };
    fullGathers.set(maps, full);
  }
  return full;
}

/** What one scan needs while it runs. */
class ScanState {
  readonly accumulators: DarkAccumulator[];
  readonly darkGather: RawGather;
  /** True when darks cover the whole image (index by image pixel), false when the crop slots (index by slot). */
  readonly fullImageDarks: boolean;
  readonly darkValues: Float32Array;
  readonly darkOffsets: Float64Array;
  statistics: DarkStatistics[] | undefined;
  centreYX: YX | undefined;
  geometry: CropGeometry | undefined;
  plan: KernelPlan | undefined;
  held: Array<{ item: Envelope<Point>; photons: Frame }> = [];

  constructor(readonly settings: ChainSettings) {
    this.centreYX = settings.centreYX;
    this.geometry = this.centreYX && cropGeometry(settings, this.centreYX);
    this.fullImageDarks = this.geometry === undefined;
    this.darkGather = this.geometry?.gather ?? fullImageGather(settings.maps).gather;
    const size = this.darkGather.rawIndex.length;
    this.accumulators = settings.exposureTimesS.map((_, e) => new DarkAccumulator(e, size));
    this.darkValues = new Float32Array(size);
    this.darkOffsets = new Float64Array(this.darkGather.pairCount);
  }

  darks(): DarkStatistics[] {
    return (this.statistics ??= this.accumulators.map((a) => a.statistics(this.settings.readNoiseAdu)));
  }
}

/**
 * The envelope of a frame the steady state made for `item` alone (the kernel's output, from this thread, a worker
 * or another process): acking it acks the point and frees the frame's pixels at once, as the envelope contract
 * allows (raw frames are freed so too, see frameserverSource); past its ack the frame is empty. Left to the
 * collector, these 80 kB outside the JavaScript heap were freed only by full collections, 6-7 a 1000-point scan,
 * each pausing the pipeline's thread for 2-9 ms while the pool's worker ran out of points.
 */
function ownedFrameEnvelope<R extends Frame | Promise<Frame>>(item: Envelope<Point>, frame: R): Envelope<R> {
  // A frame still in a worker is freed when it arrives, one that has arrived at once: this reaction runs before
  // framesInOrder's (registered first), so a frame downstream has always arrived here.
  let arrived = frame instanceof Promise ? undefined : (frame as Frame);
  let acked = false;
  if (frame instanceof Promise) {
    frame.then(
      (value) => {
        arrived = value;
        if (acked) freePixels(value);
      },
      () => undefined,
    );
  }
  return envelope(frame, () => {
    acked = true;
    if (arrived) freePixels(arrived);
    item.ack();
  });
}

function freePixels(frame: Frame): void {
  releaseMemory(frame.data);
  releaseMemory(frame.weights);
}

function identityIndex(length: number): Int32Array {
  const index = new Int32Array(length);
  for (let i = 0; i < length; i++) index[i] = i;
  return index;
}

function checkRaw(stage: string, frame: RawFrame, maps: LayoutMaps): void {
  const [rows, cols] = maps.raw;
  if (frame.rows !== rows || frame.cols !== cols || frame.data.length !== rows * cols) {
    throw new StageError(stage, `frame ${frame.index} is ${frame.rows}x${frame.cols}, the layout reads ${rows}x${cols}`);
  }
}

/**
 * The fused chain from `grab`'s points to processed frames (what `preprocessFrames` gives), with the steady
 * state delegated to `hooks.steady`. Items come out as `Frame | R` in input order; an `R` that is a Promise is
 * resolved in order by the caller (see preprocessWorkersFrames).
 */
export function fusedChain<R extends Frame | Promise<Frame>>(stage: string, config: PreprocessConfig, hooks: FusedHooks<R>): OperatorFunction<ScanEvent<Point, DarkFrame>, ItemEvent<Frame | R>> {
  const resolved = resolvePreprocessConfig(config);
  return scanOperator<Point, DarkFrame, Frame | R, never>(stage, (emit) => {
    let scan: ScanState | undefined;
    let current: ScanMeta | undefined;
    const describe = (meta: ScanMeta) => referenceMeta(config, meta, scan?.centreYX);
    const pass = passMeta(emit, describe);

    const planFor = (state: ScanState): KernelPlan => {
      if (state.plan === undefined) {
        const geometry = state.geometry!;
        const darkIndex = state.fullImageDarks ? geometry.imagePixels : identityIndex(geometry.imagePixels.length);
        state.plan = kernelPlan(state.settings, geometry, state.darks(), darkIndex);
        hooks.planChanged?.(state.plan);
      }
      return state.plan;
    };

    const findCentre = (state: ScanState, meta: ScanMeta) => {
      if (state.centreYX !== undefined || state.held.length === 0) return;
      const { settings } = state;
      state.centreYX = centreOfMass(
        state.held.map((h) => h.photons),
        settings.centreThresholdFraction,
        settings.centreWeighting,
      );
      state.geometry = cropGeometry(settings, state.centreYX);
      emit(metaEvent(describe(meta)));
      const release = state.held;
      state.held = [];
      for (const { item, photons } of release) {
        emit({ kind: "item", item: mapEnvelope(item, () => referenceGeometry(photons, settings, state.centreYX!)) });
      }
    };

    return {
      start: (meta) => {
        if (scan !== undefined && current !== undefined) findCentre(scan, current);
        scan = new ScanState(chainSettings(resolved, meta));
        current = meta;
        pass.start(meta);
      },
      meta: (meta) => {
        current = meta;
        pass.meta(meta);
      },
      dark: (dark, meta) => {
        const state = scan!;
        const { exposure, frame } = dark.value;
        const accumulator = state.accumulators[exposure];
        if (accumulator === undefined) {
          throw new StageError(stage, `dark of exposure ${exposure}, the scan has ${state.accumulators.length} exposure times`);
        }
        checkRaw(stage, frame, state.settings.maps);
        accumulator.add(gatherEqualized(frame.data, state.darkGather, state.darkOffsets, state.darkValues));
        state.statistics = undefined;
        state.plan = undefined;
        current = meta;
        dark.ack();
      },
      item: (item, meta) => {
        const state = scan!;
        const point = item.value;
        const times = state.settings.exposureTimesS;
        if (point.exposures.length !== times.length) {
          throw new StageError(stage, `point ${point.index} has ${point.exposures.length} exposures, the scan declares ${times.length}`);
        }
        point.exposures.forEach((frame) => checkRaw(stage, frame, state.settings.maps));
        current = meta;
        if (state.centreYX === undefined) {
          state.held.push({ item, photons: referencePhotons(point, state.settings, state.darks()) });
          if (state.held.length >= state.settings.centreFrames) findCentre(state, meta);
          return;
        }
        const plan = planFor(state);
        emit({ kind: "item", item: ownedFrameEnvelope(item, hooks.steady(plan, item.value)) });
      },
      end: (meta, reason, message) => {
        if (scan !== undefined) findCentre(scan, meta);
        pass.end(meta, reason, message);
        scan = undefined;
        current = undefined;
      },
      complete: () => {
        if (scan !== undefined && current !== undefined) findCentre(scan, current);
      },
    };
  });
}
