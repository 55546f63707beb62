/**
 * Bad input over real sockets (DESIGN section 10): each bad message is a counted fault naming what was wrong,
 * and the rest of the scan arrives.
 */
import * as zmq from "zeromq";
import { frameserverSource } from "../../src/sources/frameserver-source";
import { CreditGate } from "../../src/runtime/credits";
import { grab } from "../../src/operators/grab";
import { FaultLog, ackAll, collect, endpoint, tinyFrame, tinyStart } from "./fixtures";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const header = (index: number, extra: object = {}) => JSON.stringify({ index, shape: [8, 8], dtype: "uint16", byteorder: "<", ...extra });
const bytesOf = (index: number) => Buffer.from(tinyFrame(index).data.buffer);
const goodFrame = (index: number): [string, Buffer] => [header(index), bytesOf(index)];

async function withPushPair(ports: [number, number], body: (frames: zmq.Push, control: zmq.Push) => Promise<void>): Promise<void> {
  const frames = new zmq.Push({ linger: 0 });
  const control = new zmq.Push({ linger: 0 });
  try {
    await frames.bind(endpoint(ports[0]));
    await control.bind(endpoint(ports[1]));
    await body(frames, control);
  } finally {
    frames.close();
    control.close();
  }
}

describe("frameserver source: bad input", () => {
  it("counts each bad message with its reason and delivers the rest of the scan", async () => {
    await withPushPair([21101, 21102], async (frames, control) => {
      const faults = new FaultLog();
      const events = collect(
        frameserverSource({ frames: endpoint(21101), control: endpoint(21102), scans: 1, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()),
      );
      await control.send("{not json");
      await control.send(JSON.stringify({ ...tinyStart({ numPoints: 3 }), energyEv: -5 }));
      await control.send(JSON.stringify({ type: "weird" }));
      // Frame 0 comes before its start: it waits in the buffer.
      await frames.send(goodFrame(0));
      await sleep(50);
      await control.send(JSON.stringify(tinyStart({ numPoints: 3 })));
      await frames.send(goodFrame(1));
      await frames.send(["{\"index\": 2,", bytesOf(2)]);
      await frames.send([header(2, { dtype: "uint12" }), bytesOf(2)]);
      await frames.send([header(2), bytesOf(2).subarray(0, 10)]);
      await frames.send([JSON.stringify({ index: 2, dtype: "uint16", byteorder: "<" }), bytesOf(2)]);
      await frames.send([header(2), bytesOf(2), bytesOf(2)]);
      await frames.send(goodFrame(2));
      await frames.send(goodFrame(2));
      await frames.send(goodFrame(3));
      await frames.send(goodFrame(5));
      await frames.send(goodFrame(4));
      await frames.send(goodFrame(99));
      await frames.send(goodFrame(6));
      await frames.send(goodFrame(7));
      await control.send(JSON.stringify({ type: "stop" }));
      const result = await events;

      const points = result.flatMap((e) => (e.kind === "item" ? [e.item.value] : []));
      expect(points.map((p) => p.index)).toEqual([0, 1, 2]);
      for (const p of points) for (const f of p.exposures) expect(f.data).toEqual(tinyFrame(f.index).data);
      expect(result.filter((e) => e.kind === "dark").length).toBe(2);
      expect(result[result.length - 1]).toMatchObject({ kind: "end", reason: "stop" });

      const reasons = faults.reasons().sort();
      expect(reasons).toEqual(
        [
          "malformed-json", // control
          "invalid-start",
          "invalid-message",
          "malformed-json", // frame header
          "unknown-dtype",
          "byte-length",
          "bad-header", // no shape
          "bad-header", // three parts
          "duplicate-index",
          "gap", // 5 came before 4 ...
          "out-of-order", // ... and 4 came late
          "beyond-scan",
        ].sort(),
      );
      const byReason = (reason: string) => faults.faults.find((f) => f.reason === reason)!;
      expect(byReason("invalid-start").message).toContain("energyEv");
      expect(byReason("unknown-dtype").message).toContain("uint12");
      expect(byReason("byte-length").message).toContain("expected 128 bytes");
      expect(byReason("byte-length").index).toBe(2);
      expect(byReason("bad-header").message).toContain("shape");
      expect(byReason("duplicate-index").index).toBe(2);
      expect(byReason("out-of-order").index).toBe(4);
      expect(byReason("beyond-scan").index).toBe(99);
    });
  });

  it("reports frames whose start never comes after the timeout, then serves the next scan", async () => {
    await withPushPair([21111, 21112], async (frames, control) => {
      const faults = new FaultLog();
      const events = collect(
        frameserverSource({ frames: endpoint(21111), control: endpoint(21112), scans: 1, startTimeoutMs: 150, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()),
      );
      for (let i = 0; i < 3; i++) await frames.send(goodFrame(i));
      await sleep(400);
      expect(faults.faults).toEqual([expect.objectContaining({ reason: "no-start", index: 0, count: 3 })]);
      await control.send(JSON.stringify(tinyStart({ numPoints: 1 })));
      for (let i = 0; i < 4; i++) await frames.send(goodFrame(i));
      await control.send(JSON.stringify({ type: "stop" }));
      const result = await events;
      expect(result.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []))).toEqual([0]);
      expect(faults.faults.length).toBe(1);
    });
  });

  it("pauses reading while the pre-start buffer is full, losing nothing over PUSH", async () => {
    await withPushPair([21121, 21122], async (frames, control) => {
      const faults = new FaultLog();
      const gate = new CreditGate(16);
      const events = collect(
        frameserverSource({ frames: endpoint(21121), control: endpoint(21122), scans: 1, credits: gate, bufferBeforeStart: 2, onFault: faults.onFault }).pipe(grab({ onFault: faults.onFault }), ackAll()),
      );
      const sending = (async () => {
        for (let i = 0; i < 8; i++) await frames.send(goodFrame(i));
      })();
      await sleep(100);
      // Two frames read and held; the rest wait in the sockets.
      expect(gate.issued).toBe(2);
      await control.send(JSON.stringify(tinyStart({ numPoints: 3 })));
      await sending;
      await control.send(JSON.stringify({ type: "stop" }));
      const result = await events;
      expect(result.flatMap((e) => (e.kind === "item" ? [e.item.value.index] : []))).toEqual([0, 1, 2]);
      expect(faults.faults).toEqual([]);
    });
  });
});
