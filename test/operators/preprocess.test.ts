/**
 * The whole chain on a hand-built scan of the small layout (raw 4 x 8, image 4 x 6), where every number can be
 * followed by hand: ADC offsets per (row, channel), dark offsets with +-1 noise, a long exposure with one pixel
 * over the saturation level that the short exposure recovers, a pixel under the noise threshold.
 */
import { from, lastValueFrom, map, tap, toArray } from "rxjs";
import { preprocess, preprocessFrames, preprocessHolds } from "../../src/operators/preprocess";
import { ScanEvent } from "../../src/model/events";
import { layoutMaps } from "../../src/model/layout";
import { DarkFrame, Point } from "../../src/model/scan";
import { scrambleImage } from "../../src/preprocess/detector";
import { AckLog, endOf, startOf, summarize, testMeta, SMALL_LAYOUT } from "../preprocess/fixtures";
import * as t from "io-ts";
import { decodeEither, PositiveInteger } from "../../src/model/codec";
import { withCreditBudget } from "../../src/runtime/credits";
import { PreprocessConfig } from "../../src/preprocess/config";

// Photons at the long exposure, image 4 x 6.
const PHOTONS = [
  [0, 1, 2, 3, 4, 5],
  [10, 20, 30, 40, 50, 60],
  [5, 5, 300, 5, 5, 5],
  [0, 0, 0, 0, 0, 0],
].flat();
const ADU_PER_PHOTON = 4; // gain 0.004 ADU/eV x 1000 eV
const DARK = [20, 30]; // dark offset per exposure time (short, long)
const TIMES = [0.01, 0.1];

const maps = layoutMaps(SMALL_LAYOUT);
const meta = testMeta({ energyEv: 1000, gainAduPerEv: 0.004, saturationAdu: 1000, exposureTimesS: TIMES, darksPerExposure: 2, numPoints: 3 });

/** What the detector would send for an image in ADU: scrambled, with ADC offsets 7 x row + 3 x channel. */
function raw(index: number, imageAdu: number[]) {
  const data = scrambleImage(imageAdu.map(Math.round), maps, new Uint16Array(32));
  for (let row = 0; row < 4; row++) {
    for (let channel = 0; channel < 2; channel++) {
      for (let k = 0; k < 4; k++) data[row * 8 + channel * 4 + k] += 7 * row + 3 * channel;
    }
  }
  return { index, rows: 4, cols: 8, dtype: "uint16" as const, data };
}

function scan(log: AckLog): ScanEvent<Point, DarkFrame>[] {
  const events: ScanEvent<Point, DarkFrame>[] = [startOf(meta)];
  let index = 0;
  TIMES.forEach((_, exposure) =>
    [1, -1].forEach((noise, darkIndex) =>
      events.push({ kind: "dark", dark: log.wrap(`d${exposure}.${darkIndex}`, { exposure, darkIndex, frame: raw(index++, PHOTONS.map(() => DARK[exposure] + noise)) }) }),
    ),
  );
  for (let point = 0; point < 3; point++) {
    const exposures = TIMES.map((time, e) => raw(index++, PHOTONS.map((p) => DARK[e] + (p * ADU_PER_PHOTON * time) / TIMES[1])));
    events.push({ kind: "item", item: log.wrap(`p${point}`, { index: point, positionM: { x: point * 1e-7, y: 0 }, exposures }) });
  }
  events.push(endOf(meta));
  return events;
}

describe("preprocess (the whole chain)", () => {
  it("gives the hand-computed frames: offsets and darks removed, saturation recovered, noise cut, cropped, binned, floored", async () => {
    const frames = await lastValueFrom(from(scan(new AckLog())).pipe(preprocessFrames({ centre: { yx: [2, 3] }, crop: { size: 4 } }), toArray()));
    const item = frames.find((e) => e.kind === "item");
    if (item?.kind !== "item") throw new Error("no frame");
    // Crop rows 0-3, cols 1-4 (origin = round(centre) - 2; binned by 2, the centre (2.5, 3.5) between four pixels
    // gives the same window and lands on the binned centre pixel (1, 1)); 1 photon = 4 ADU is under 3 x sqrt(2) ADU and is cut;
    // the saturated 300 comes from the short exposure (120 ADU x 10).
    expect(Array.from(item.item.value.data).map((v) => +v.toFixed(3))).toEqual([0, 2, 3, 4, 20, 30, 40, 50, 5, 300, 5, 5, 0, 0, 0, 0].map((v) => Math.max(0, v - 0.5)));
    const binned = await lastValueFrom(from(scan(new AckLog())).pipe(preprocessFrames({ centre: { yx: [2.5, 3.5] }, crop: { size: 4 }, bin: { factor: 2 } }), toArray()));
    const frame = binned.find((e) => e.kind === "item");
    if (frame?.kind !== "item") throw new Error("no frame");
    expect(Array.from(frame.item.value.data).map((v) => +v.toFixed(3))).toEqual([51.5, 96.5, 304.5, 9.5]);
    expect(Array.from(frame.item.value.weights)).toEqual([1, 1, 1, 1]);
    const start = binned[0];
    expect(start.kind === "start" && start.meta).toEqual(expect.objectContaining({ frameShape: [2, 2], centreYX: [1, 1], pixelSizeM: 2 * meta.pixelSizeM }));
  });

  it("weights 0 where every exposure saturates", async () => {
    const events = scan(new AckLog()).map((event) => {
      if (event.kind !== "item") return event;
      // Both exposures of pixel (2, 2) at the level.
      const exposures = event.item.value.exposures.map((e) => raw(e.index, PHOTONS.map((p, i) => (i === 14 ? 1000 : DARK[0] + p))));
      return { kind: "item" as const, item: new AckLog().wrap("p", { ...event.item.value, exposures }) };
    });
    const out = await lastValueFrom(from(events).pipe(preprocessFrames({ centre: { yx: [2.5, 3.5] }, crop: { size: 4 }, bin: { factor: 2 } }), toArray()));
    const frame = out.find((e) => e.kind === "item");
    expect(frame?.kind === "item" && Array.from(frame.item.value.weights)).toEqual([1, 1, 0, 1]);
  });

  it("emits chunks, acks darks as they are folded and points when their chunk is let go", async () => {
    const log = new AckLog();
    const out = await lastValueFrom(
      from(scan(log)).pipe(
        preprocess({ centre: { frames: 2 }, crop: { size: 4 }, chunk: { size: 2 } }),
        tap((event) => {
          if (event.kind === "item") {
            log.acks.push(`chunk ${event.item.value.chunkIndex}`);
            event.item.ack();
          }
        }),
        map(summarize),
        toArray(),
      ),
    );
    // The auto centre (from the first 2 points): only the 300-photon pixel (2, 2) is above 30 % of the maximum;
    // the crop (origin (0, 0)) leaves it at (2, 2).
    expect(out[0]).toBe("start 4x4");
    expect(out[1]).toBe("meta 4x4 c=(2,2)");
    expect(out.slice(2)).toEqual(["chunk 0 [0,1]", "chunk 1 [2]", "end stop"]);
    expect(log.acks).toEqual(["d0.0", "d0.1", "d1.0", "d1.1", "chunk 0", "p0", "p1", "chunk 1", "p2"]);
  });

  it("declares what it holds, so a credit limit too small for it is a configuration error", () => {
    const holds = preprocessHolds({ chunk: { size: 8 } }, 2);
    expect(holds.map((h) => h.stage)).toEqual(["equalize", "descramble", "darks", "subtract", "noise", "hdr", "photons", "centre", "crop", "bin", "orient", "resample", "floor", "chunk"]);
    expect(holds.reduce((s, h) => s + h.maxHeldFrames, 0)).toBe(8 * 2 + 8 * 2); // centre holds the first chunk, chunk holds one
    const Pipeline = withCreditBudget(
      t.type({ credits: PositiveInteger, preprocess: PreprocessConfig }),
      (c) => c.credits,
      (c) => preprocessHolds(c.preprocess, 2),
    );
    const small = decodeEither(Pipeline, { credits: 20, preprocess: { chunk: { size: 8 } } });
    expect(small).toEqual({ ok: false, problems: [expect.stringMatching(/^credits: expected at least 36 .*centre holds up to 16 .*chunk holds up to 16 .*got 20/)] });
    expect(decodeEither(Pipeline, { credits: 36, preprocess: { chunk: { size: 8 } } }).ok).toBe(true);
    expect(decodeEither(Pipeline, { credits: 20, preprocess: { chunk: { size: 8 }, centre: { yx: [1, 1] } } }).ok).toBe(true);
  });

  it("refuses an invalid configuration with one line per problem", () => {
    expect(() => preprocess({ crop: { size: 100 }, bin: { factor: 3 }, orient: { orientation: 9 } })).toThrow(
      "invalid preprocessing configuration:\n  orient.orientation: expected PtyPy orientation, integer 0-7, got 9",
    );
    expect(() => preprocess({ crop: { size: 100 }, bin: { factor: 3 } })).toThrow("crop.size: expected a multiple of bin.factor 3, got 100");
  });
});
