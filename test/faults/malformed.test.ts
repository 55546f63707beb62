/**
 * Bad input fuzzed with fast-check (DESIGN section 10), over real loopback sockets: a good scan of a tiny detector
 * with bad messages of every kind interleaved, sent to the raw frameserver source and grab. Whatever the mix, the
 * source never fails, each bad message is counted with its reason in the run summary's `bad` (the same
 * `summarize` the `--json` line prints), and every good frame around them arrives with its bytes intact.
 * (test/sources/frameserver-errors.test.ts checks each reason's message once; this checks them in any mix.)
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as fc from "fast-check";
import * as zmq from "zeromq";
import { frameserverSource } from "../../src/sources/frameserver-source";
import { grab } from "../../src/operators/grab";
import { encodeArrayLE, isDtype } from "../../src/model/dtype";
import { stringifyStrictJson } from "../../src/model/json";
import { SMALL_LAYOUT } from "../../src/model/layout";
import { PipelineContext } from "../../src/pipeline/context";
import { summarize } from "../../src/pipeline/summary";
import { simulateScan } from "../../src/sim/scan";
import { summaryOf, tempOut } from "../pipelines/run-cosmic";
import { PYTHON } from "../sinks/fixtures";
import { ackAll, collect, endpoint, sameBytes, tinyFrame, tinyStart } from "../sources/fixtures";
import { loopback, preprocessFor, startCosmicOn } from "./processes";

jest.setTimeout(90_000);

const EXPOSURES = 2;
const DARK_FRAMES = EXPOSURES; // one dark per exposure time
const START_TIMEOUT_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const headerOf = (index: number, extra: object = {}) => JSON.stringify({ index, shape: [tinyFrame(0).rows, tinyFrame(0).cols], dtype: "uint16", byteorder: "<", ...extra });
const bytesOf = (index: number) => Buffer.from(tinyFrame(index).data.buffer);
/** Same shape, other pixels: a duplicate or an orphan that must not replace a good frame. */
const impostorBytes = (index: number) => Buffer.from(bytesOf(index).map((b) => b ^ 0x5a));

type Bad =
  | { kind: "truncated-json"; index: number; cut: number }
  | { kind: "wrong-length"; index: number; delta: number }
  | { kind: "unknown-dtype"; index: number; dtype: string }
  | { kind: "three-parts"; index: number }
  | { kind: "duplicate"; pick: number }
  | { kind: "beyond"; offset: number };

const badMessage: fc.Arbitrary<Bad> = fc.oneof(
  fc.record({ kind: fc.constant("truncated-json" as const), index: fc.nat(20), cut: fc.nat() }),
  fc.record({ kind: fc.constant("wrong-length" as const), index: fc.nat(20), delta: fc.integer({ min: -50, max: 64 }).filter((d) => d !== 0) }),
  fc.record({ kind: fc.constant("unknown-dtype" as const), index: fc.nat(20), dtype: fc.string({ maxLength: 8 }).filter((d) => !isDtype(d)) }),
  fc.record({ kind: fc.constant("three-parts" as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("beyond" as const), offset: fc.nat(50) }),
);

/** Starts that fail validation: each must be an `invalid-start`, never a scan. */
const invalidStart = fc.constantFrom<Record<string, unknown>>({ energyEv: -5 }, { numPoints: 0 }, { distanceM: "far" }, { exposureTimesS: "short" }, { layout: { halves: 3 } });

const scenario = fc.record({
  points: fc.integer({ min: 3, max: 6 }),
  /** Frames sent before a start that comes only after the start timeout. */
  orphans: fc.integer({ min: 0, max: 3 }),
  /** Exposure frames that never come (a point with missing exposures). */
  drops: fc.uniqueArray(fc.nat(), { maxLength: 2 }),
  /** Adjacent good frames sent in swapped order. */
  swaps: fc.array(fc.nat(), { maxLength: 2 }),
  bad: fc.array(fc.record({ at: fc.nat(), message: badMessage }), { maxLength: 8 }),
  invalidStarts: fc.array(invalidStart, { maxLength: 2 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

interface Plan {
  frames: Array<Array<string | Buffer>>;
  goodOrder: number[];
  dropped: Set<number>;
  expected: Record<string, number>;
}

/** The messages to send and the faults they must give, by reason (counts in frames, as the summary counts). */
function plan(s: Scenario): Plan {
  const total = DARK_FRAMES + EXPOSURES * s.points;
  const dropped = new Set(s.drops.map((d) => DARK_FRAMES + (d % (EXPOSURES * s.points))));
  const goodOrder = Array.from({ length: total }, (_, i) => i).filter((i) => !dropped.has(i));
  const swapped = new Set<number>();
  let swaps = 0;
  for (const seed of s.swaps) {
    const k = seed % (goodOrder.length - 1);
    if (swapped.has(k) || swapped.has(k + 1)) continue;
    [goodOrder[k], goodOrder[k + 1]] = [goodOrder[k + 1], goodOrder[k]];
    swapped.add(k).add(k + 1);
    swaps += 1;
  }
  const expected: Record<string, number> = {};
  const count = (reason: string, n = 1) => (expected[reason] = (expected[reason] ?? 0) + n);
  if (s.orphans > 0) count("no-start", s.orphans);
  s.invalidStarts.forEach(() => count("invalid-start"));
  // Each frame that comes late or never is first a gap at the source; late ones are out-of-order at grab.
  if (dropped.size + swaps > 0) count("gap", dropped.size + swaps);
  if (swaps > 0) count("out-of-order", swaps);
  if (dropped.size > 0) count("missing-frames", dropped.size);

  // Bad messages go anywhere before the scan's last frame: after it the stop may overtake them (two sockets), and
  // with one scan the source closes at the stop (in service mode they would count as no-start).
  const slot = (at: number) => at % goodOrder.length;
  const bad = [...s.bad].sort((a, b) => slot(a.at) - slot(b.at));
  const frames: Plan["frames"] = [];
  let next = 0;
  for (let sent = 0; sent <= goodOrder.length; sent++) {
    while (next < bad.length && slot(bad[next].at) <= sent) {
      const m = bad[next++].message;
      const index = "index" in m ? m.index % total : 0;
      switch (m.kind) {
        case "truncated-json": {
          const text = headerOf(index);
          frames.push([text.slice(0, 1 + (m.cut % (text.length - 1))), bytesOf(index)]);
          count("malformed-json");
          break;
        }
        case "wrong-length": {
          const bytes = bytesOf(index);
          frames.push([headerOf(index), m.delta < 0 ? bytes.subarray(0, bytes.length + m.delta) : Buffer.concat([bytes, Buffer.alloc(m.delta)])]);
          count("byte-length");
          break;
        }
        case "unknown-dtype":
          frames.push([headerOf(index, { dtype: m.dtype }), bytesOf(index)]);
          count("unknown-dtype");
          break;
        case "three-parts":
          frames.push([headerOf(index), bytesOf(index), bytesOf(index)]);
          count("bad-header");
          break;
        case "duplicate":
          if (sent === 0) continue; // nothing to duplicate yet
          {
            const again = goodOrder[m.pick % sent];
            frames.push([headerOf(again), impostorBytes(again)]);
            count("duplicate-index");
          }
          break;
        case "beyond":
          frames.push([headerOf(total + m.offset), bytesOf(0)]);
          count("beyond-scan");
          break;
      }
    }
    if (sent < goodOrder.length) frames.push([headerOf(goodOrder[sent]), bytesOf(goodOrder[sent])]);
  }
  return { frames, goodOrder, dropped, expected };
}

let nextPort = 26000;
/** Binds to the next free port of 26000-26099: a port of the range may be some connection's ephemeral port. */
async function bindInRange(socket: zmq.Push): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = nextPort;
    nextPort = nextPort >= 26099 ? 26000 : nextPort + 1;
    try {
      await socket.bind(endpoint(port));
      return port;
    } catch (error) {
      if ((error as { code?: string }).code !== "EADDRINUSE") throw error;
    }
  }
  throw new Error("no free port in 26000-26099");
}

const figures = { runs: 0, badMessages: 0, goodFramesChecked: 0, byReason: {} as Record<string, number> };

async function check(s: Scenario): Promise<void> {
  const { frames, dropped, expected } = plan(s);
  const sockets = { frames: new zmq.Push({ linger: 0 }), control: new zmq.Push({ linger: 0 }) };
  const context = new PipelineContext({ write: () => undefined });
  try {
    const framePort = await bindInRange(sockets.frames);
    const controlPort = await bindInRange(sockets.control);
    const source = frameserverSource({ frames: endpoint(framePort), control: endpoint(controlPort), scans: 1, startTimeoutMs: START_TIMEOUT_MS, drainMs: 100, onFault: context.onFault });
    const events = collect(source.pipe(grab({ onFault: context.onFault }), ackAll()));
    for (let i = 0; i < s.orphans; i++) await sockets.frames.send([headerOf(i), impostorBytes(i)]);
    if (s.orphans > 0) await sleep(START_TIMEOUT_MS * 2.5);
    const start = tinyStart({ numPoints: s.points, exposures: EXPOSURES });
    await sockets.control.send(JSON.stringify(start));
    for (const wrong of s.invalidStarts) await sockets.control.send(JSON.stringify({ ...start, ...wrong }));
    for (const parts of frames) await sockets.frames.send(parts);
    await sockets.control.send(JSON.stringify({ type: "stop", scanId: start.scanId }));
    const result = await events;

    // Never crashes: the scan ends with its stop. Every bad message is counted, by reason, in the summary.
    expect(result[result.length - 1]).toMatchObject({ kind: "end", reason: "stop" });
    expect(summarize("fuzz", context, 0, undefined).bad).toEqual(expected);
    // The good frames around them are intact: every point without a dropped exposure, every dark, bytes equal.
    const points = result.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));
    const lostPoints = new Set([...dropped].map((i) => Math.floor((i - DARK_FRAMES) / EXPOSURES)));
    expect(points.map((p) => p.index).sort((a, b) => a - b)).toEqual(Array.from({ length: s.points }, (_, p) => p).filter((p) => !lostPoints.has(p)));
    const darks = result.flatMap((e) => (e.kind === "dark" ? [e.dark.value.frame] : []));
    expect(darks.map((d) => d.index).sort()).toEqual([0, 1]);
    for (const frame of [...darks, ...points.flatMap((p) => p.exposures)]) {
      expect(sameBytes(frame.data, tinyFrame(frame.index).data)).toBe(true);
      figures.goodFramesChecked += 1;
    }
    figures.runs += 1;
    for (const [reason, n] of Object.entries(expected)) {
      figures.byReason[reason] = (figures.byReason[reason] ?? 0) + n;
      figures.badMessages += reason === "gap" ? 0 : n; // a gap is the source's view of drops and swaps counted elsewhere
    }
  } finally {
    sockets.frames.close();
    sockets.control.close();
  }
}

describe("malformed messages, fuzzed, over loopback", () => {
  it("never crash; each bad message is counted with its reason; the good frames around them are intact", async () => {
    const started = Date.now();
    await fc.assert(fc.asyncProperty(scenario, check), { numRuns: 15 });
    console.log(
      `fuzz: ${figures.runs} scans over loopback, ${figures.badMessages} bad messages counted by reason ${JSON.stringify(figures.byReason)}, ` +
        `${figures.goodFramesChecked} good frames byte-identical, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The same at the pipeline level: `pipelines/cosmic.ts --json` reading a frameserver that mixes bad messages into a
// simulated scan; its processed frames are compared with a clean run's of the same scan, frame by frame.

const SIM = { numPoints: 60, frameSize: 32, darksPerExposure: 2, seed: 3, layout: SMALL_LAYOUT, scanId: "dirty-scan" };
const DROPPED_POINT = 40; // past the first chunk, whose mean pattern gives the centre
const SWAPPED_POINT = 45;

/** Serves the simulated scan on `port`/`port + 1`, with bad messages mixed in when `dirty`; resolves when all is sent. */
async function serveScan(port: number, dirty: boolean, until: Promise<unknown>): Promise<void> {
  const sim = simulateScan(SIM);
  const frames = new zmq.Push({ sendHighWaterMark: 8, linger: 0 });
  const control = new zmq.Push({ linger: 0 });
  try {
    await frames.bind(loopback(port));
    await control.bind(loopback(port + 1));
    await control.send(stringifyStrictJson(sim.start));
    if (dirty) await control.send(JSON.stringify({ ...sim.start, energyEv: -1 }));
    const firstOf = (point: number) => 2 * SIM.darksPerExposure + 2 * point;
    let order = Array.from({ length: sim.totalFrames }, (_, i) => i);
    if (dirty) {
      order = order.filter((i) => i !== firstOf(DROPPED_POINT) + 1);
      const at = order.indexOf(firstOf(SWAPPED_POINT));
      [order[at], order[at + 1]] = [order[at + 1], order[at]];
    }
    const header = (index: number, extra: object = {}) => JSON.stringify({ index, shape: [192, 192], dtype: "uint16", byteorder: "<", ...extra });
    const bytes = (index: number) => Buffer.from(encodeArrayLE(sim.frame(index).data));
    const bad: Record<number, Array<Array<string | Buffer>>> = {
      10: [[header(10).slice(0, 17), bytes(10)]],
      20: [[header(20), bytes(20).subarray(0, 1000)]],
      30: [[header(30, { dtype: "uint12" }), bytes(30)]],
      50: [[header(50), bytes(50), bytes(50)]],
      60: [[header(55), Buffer.from(bytes(55).map((b) => b ^ 0x5a))]],
      70: [[header(sim.totalFrames + 3), bytes(70)]],
    };
    for (const index of order) {
      await frames.send([header(index), bytes(index)]);
      if (dirty) for (const parts of bad[index] ?? []) await frames.send(parts);
    }
    await control.send(JSON.stringify({ type: "stop", scanId: sim.start.scanId }));
    await until; // the sockets stay open until the pipeline has read everything and exited
  } finally {
    frames.close();
    control.close();
  }
}

/** Sum of each processed frame in a .ptyd file, by its index, as h5py reads it. */
function frameSums(file: string): Record<string, number> {
  const script = [
    "import h5py, json, sys",
    "out = {}",
    "with h5py.File(sys.argv[1], 'r') as f:",
    "    for c in f['chunks']:",
    "        for i, d in zip(f['chunks'][c]['indices'][()], f['chunks'][c]['data'][()]): out[str(int(i))] = float(d.astype('float64').sum())",
    "print(json.dumps(out))",
  ].join("\n");
  return JSON.parse(execFileSync(PYTHON, ["-c", script, file]).toString());
}

describe("malformed messages at the pipeline level", () => {
  it("pipelines/cosmic.ts counts each in its --json summary, and the other frames come out as from a clean scan", async () => {
    const config = { preprocess: preprocessFor(SIM.frameSize), reconstruct: { engine: "none", iterations: 1 } };
    const runs = [
      { port: 26500, dirty: false, out: tempOut("faults-clean-") },
      { port: 26510, dirty: true, out: tempOut("faults-dirty-") },
    ];
    const results = await Promise.all(
      runs.map(async ({ port, dirty, out }) => {
        const cosmic = startCosmicOn(port, out, config);
        const [done] = await Promise.all([cosmic.done, serveScan(port, dirty, cosmic.done)]);
        expect({ code: done.code, error: done.code === 0 ? "" : done.stderr }).toEqual({ code: 0, error: "" });
        return { summary: summaryOf(done.stdout), sums: frameSums(path.join(out, `${SIM.scanId}.ptyd`)) };
      }),
    );
    const [clean, dirty] = results;
    expect(clean.summary.bad).toEqual({});
    expect(dirty.summary.bad).toEqual({
      "invalid-start": 1,
      "malformed-json": 1,
      "byte-length": 1,
      "unknown-dtype": 1,
      "bad-header": 1,
      "duplicate-index": 1,
      "beyond-scan": 1,
      gap: 2, // the dropped exposure, and the swapped one until it came
      "out-of-order": 1,
      "missing-frames": 1,
    });
    const total = 2 * SIM.darksPerExposure + 2 * SIM.numPoints;
    expect(dirty.summary.frames).toMatchObject({ received: total - 1 + 2, points: SIM.numPoints - 1, processed: SIM.numPoints - 1 });
    // Every other point's processed frame is exactly what the clean run made of it.
    const { [String(DROPPED_POINT)]: lost, ...kept } = clean.sums;
    expect(lost).toBeGreaterThan(0);
    expect(dirty.sums).toEqual(kept);
    console.log(
      `pipeline level: ${Object.values(dirty.summary.bad as Record<string, number>).reduce((a, b) => a + b, 0)} faults in the --json summary ${JSON.stringify(dirty.summary.bad)}; ` +
        `${Object.keys(kept).length} of ${SIM.numPoints} processed frames identical to a clean run's, the point with a missing exposure left out`,
    );
  });
});
