/**
 * `publishReconstructions` over real loopback sockets: each snapshot's object goes out as a `rec` message whose
 * header decodes with CosmicRecHeader and whose bytes are the object's interleaved float32 (re, im); the probe,
 * when asked for, goes on its own `probe` topic, so a `rec` subscriber never sees it. Ports 23200-23299.
 */
import { from, lastValueFrom, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { CosmicRecHeader } from "../../src/model/cosmicstreams";
import { decodeEither } from "../../src/model/codec";
import { ComplexImage, Snapshot } from "../../src/model/scan";
import { PublishRecSummary, publishReconstructions } from "../../src/sinks/publish-rec";
import { Listener, endpoint, float32Of, jsonOf, topicOf } from "./publish-fixtures";

function image(rows: number, cols: number, seed: number): ComplexImage {
  const data = new Float32Array(2 * rows * cols);
  for (let k = 0; k < rows * cols; k++) {
    data[2 * k] = Math.cos(seed + k / 7);
    data[2 * k + 1] = Math.sin(seed * 3 + k / 5);
  }
  return { rows, cols, data };
}

function snapshot(iteration: number, error: number, final = false): Snapshot {
  return {
    iteration,
    framesUsed: 10 * (iteration + 1),
    error,
    object: image(6, 10, iteration),
    probe: image(8, 8, 100 + iteration),
    objectPixelSizeM: [12.5e-9, 12.75e-9],
    final,
  };
}

describe("publishReconstructions", () => {
  const listeners: Listener[] = [];
  afterEach(() => listeners.splice(0).forEach((l) => l.close()));

  it("publishes each object as rec (and the probe on its own topic) with exact bytes, passing snapshots on", async () => {
    const recOnly = new Listener(endpoint(23201), ["rec"]);
    const both = new Listener(endpoint(23201), ["rec", "probe"]);
    listeners.push(recOnly, both);
    const snapshots = [snapshot(0, Number.NaN), snapshot(5, 0.25), snapshot(9, 0.125, true)];
    const summaries: PublishRecSummary[] = [];
    const passed = await lastValueFrom(
      from(snapshots).pipe(
        publishReconstructions({ address: endpoint(23201), identifier: "scan-007", probe: true, waitForSubscribers: 2, waitTimeoutMs: 5000, onSummary: (s) => summaries.push(s) }),
        toArray(),
      ),
    );
    expect(passed).toEqual(snapshots);
    expect(passed[1]).toBe(snapshots[1]);

    const recs = await recOnly.until((m) => m.length === 3);
    const all = await both.until((m) => m.length === 6);
    expect(recs.map(topicOf)).toEqual(["rec", "rec", "rec"]);
    expect(all.map(topicOf)).toEqual(["rec", "probe", "rec", "probe", "rec", "probe"]);

    recs.forEach((message, n) => {
      expect(message).toHaveLength(3);
      const decoded = decodeEither(CosmicRecHeader, jsonOf(message));
      if (!decoded.ok) throw new Error(decoded.problems.join("\n"));
      const s = snapshots[n];
      expect(decoded.value).toEqual({
        shape_y: 6,
        shape_x: 10,
        dtype: "complex64",
        byteorder: "<",
        order: "C",
        obj_pixelsize_y: 12.5e-9,
        obj_pixelsize_x: 12.75e-9,
        identifier: "scan-007",
        iteration: s.iteration,
        error: Number.isFinite(s.error) ? s.error : null,
        content: "object",
        frames_used: s.framesUsed,
        final: s.final,
      });
      expect(float32Of(message[2])).toEqual(s.object.data);
    });
    all.filter((m) => topicOf(m) === "probe").forEach((message, n) => {
      const decoded = decodeEither(CosmicRecHeader, jsonOf(message));
      expect(decoded.ok && decoded.value).toMatchObject({ shape_y: 8, shape_x: 8, dtype: "complex64", content: "probe", iteration: snapshots[n].iteration });
      expect(float32Of(message[2])).toEqual(snapshots[n].probe.data);
    });

    const wireBytes = all.reduce((sum, m) => sum + m.reduce((s, part) => s + part.length, 0), 0);
    expect(summaries).toEqual([
      expect.objectContaining({ snapshotsPublished: 3, probesPublished: 3, messages: 6, bytesPublished: wireBytes, closedBy: "complete" }),
    ]);
    expect(summaries[0].subscribers).toMatchObject({ subscribers: 2, ready: true });
  });

  it("passes every snapshot through unchanged and at once (marble)", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const values = { a: snapshot(0, 1), b: snapshot(1, 0.5), c: snapshot(2, 0.25, true) };
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<Snapshot>("a--b-c-", values);
      expectObservable(source.pipe(publishReconstructions({ address: endpoint(23221) }))).toBe("a--b-c-", values);
    });
  });

  it("takes the identifier per snapshot, leaves the probe out by default, and names a taken port", async () => {
    const listener = new Listener(endpoint(23211), [""]);
    listeners.push(listener);
    await lastValueFrom(
      from([snapshot(1, 0.5), snapshot(2, 0.4)]).pipe(
        publishReconstructions({ address: endpoint(23211), identifier: (s) => `run-${s.iteration}`, waitForSubscribers: 1, waitTimeoutMs: 5000 }),
        toArray(),
      ),
    );
    const messages = await listener.until((m) => m.length === 2);
    expect(messages.map(topicOf)).toEqual(["rec", "rec"]);
    expect(messages.map((m) => jsonOf(m).identifier)).toEqual(["run-1", "run-2"]);
    expect(await listener.until((m) => m.length === 3, 200)).toHaveLength(2); // no probe came

    const holder = publishReconstructions({ address: endpoint(23212), startDelayMs: 50 });
    const held = lastValueFrom(from([snapshot(0, 1)]).pipe(holder, toArray()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(lastValueFrom(from([snapshot(0, 1)]).pipe(publishReconstructions({ address: endpoint(23212) })))).rejects.toThrow(/23212/);
    await held;
  });
});
