/**
 * `recSource` against the project's own `rec` publisher (publishReconstructions) over loopback: objects and probes
 * come back as snapshots with their exact pixels, iteration, error, frames used and pixel size; the probe that
 * follows an object is joined to it. Ports 24070-24079.
 */
import * as zmq from "zeromq";
import { firstValueFrom, from, lastValueFrom, take, toArray } from "rxjs";
import { ComplexImage, Snapshot } from "../../src/model/scan";
import { publishReconstructions } from "../../src/sinks/publish-rec";
import { Fault } from "../../src/model/fault";
import { recSource } from "../../src/viewer/rec-source";

const ADDRESS = "tcp://127.0.0.1:24071";

function image(rows: number, cols: number, seed: number): ComplexImage {
  return { rows, cols, data: Float32Array.from({ length: 2 * rows * cols }, (_, k) => Math.cos(seed + k / 7)) };
}

const snapshot = (iteration: number, error: number, final = false): Snapshot => ({
  iteration,
  framesUsed: 4 * iteration,
  error,
  object: image(6, 10, iteration),
  probe: image(4, 4, 50 + iteration),
  objectPixelSizeM: [12.5e-9, 13e-9],
  final,
});

describe("recSource", () => {
  it("turns rec and probe messages into snapshots, the probe joined to its object", async () => {
    const faults: Fault[] = [];
    const received = lastValueFrom(recSource({ address: ADDRESS, onFault: (f) => faults.push(f) }).pipe(take(4), toArray()));
    const sent = [snapshot(3, Number.NaN), snapshot(8, 0.25, true)];
    await lastValueFrom(from(sent).pipe(publishReconstructions({ address: ADDRESS, probe: true, waitForSubscribers: 1, waitTimeoutMs: 10000, lingerMs: 1000 })));
    const snapshots = await received;
    expect(faults).toEqual([]);
    // Object 3 (with no probe yet: one zero pixel), then probe 3 joined to it, then object 8 with probe 3, probe 8.
    expect(snapshots.map((s) => [s.iteration, s.probe.rows])).toEqual([[3, 1], [3, 4], [8, 4], [8, 4]]);
    expect(snapshots[1]).toEqual({ ...sent[0], error: Number.NaN, probe: sent[0].probe });
    expect(snapshots[3]).toEqual(sent[1]);
    expect(snapshots[2].probe).toEqual(sent[0].probe);
  });

  it("counts a message that is not a complex image as a fault and goes on", async () => {
    const faults: Fault[] = [];
    const publisher = new zmq.Publisher({ linger: 0 });
    await publisher.bind("tcp://127.0.0.1:24072");
    const first = firstValueFrom(recSource({ address: "tcp://127.0.0.1:24072", onFault: (f) => faults.push(f) }));
    const good = snapshot(1, 0.5);
    const header = { shape_y: 6, shape_x: 10, dtype: "complex64", byteorder: "<", order: "C", obj_pixelsize_y: 1e-8, obj_pixelsize_x: 1e-8, iteration: 1 };
    // Resend until the subscription has joined (slow joiner): float32 recs until one is counted as a fault, then
    // good ones until one arrives. (Sending the two in turn raced: the subscription could join between them.)
    let delivered = false;
    first.then(() => (delivered = true));
    const pause = () => new Promise((resolve) => setTimeout(resolve, 50));
    for (let attempt = 0; attempt < 100 && faults.length === 0; attempt++) {
      await publisher.send(["rec", JSON.stringify({ ...header, dtype: "float32" }), Buffer.alloc(4 * 60)]);
      await pause();
    }
    for (let attempt = 0; attempt < 100 && !delivered; attempt++) {
      await publisher.send(["rec", JSON.stringify(header), Buffer.from(good.object.data.buffer)]);
      await pause();
    }
    const snapshotReceived = await first;
    publisher.close();
    expect(snapshotReceived.object).toEqual(good.object);
    expect(faults.length).toBeGreaterThan(0);
    expect(faults[0]).toMatchObject({ reason: "invalid-message", where: "rec" });
    expect(faults[0].message).toContain("expected a complex64 image, got float32");
  });
});
