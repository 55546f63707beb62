/**
 * cosmicstreams publishing throughput: frames/s of 128 x 128 float32 frames (1000, in chunks of 10) from
 * `publishCosmicstreams` (start built with its probe guess and checked against PtyPy's model, JSON header per
 * frame, masked pixels zeroed, acks) to a SUB on loopback, timed from subscription until the SUB has the `stop`;
 * against a bare zeromq.js PUB sending the same frame messages to the same kind of SUB, in the same run. Both
 * ends share one event loop, so the figure is a lower bound for a pipeline whose subscriber is elsewhere.
 */
import { concat, lastValueFrom, map, of } from "rxjs";
import * as zmq from "zeromq";
import { performance } from "node:perf_hooks";
import { envelope } from "../src/model/envelope";
import { ScanEvent, endEvent, itemEvent, startEvent } from "../src/model/events";
import { FCCD_LAYOUT } from "../src/model/layout";
import { Chunk, ScanMeta } from "../src/model/scan";
import { encodeArrayLE } from "../src/model/dtype";
import { publishCosmicstreams } from "../src/sinks/publish";
import { Bench, Measurement } from "./harness";

const FRAMES = 1000;
const PER_CHUNK = 10;
const N = 128;
/** A fresh port every run: a closed socket frees its port only after its linger, asynchronously. */
let nextPort = 23400;
const freshPort = () => (nextPort = nextPort >= 23499 ? 23400 : nextPort + 1);

const meta: ScanMeta = {
  scanId: "publish-bench",
  energyEv: 800,
  distanceM: 0.121,
  pixelSizeM: 60e-6,
  exposureTimesS: [0.001, 0.01],
  darksPerExposure: 0,
  numPoints: FRAMES,
  gainAduPerEv: 0.004,
  saturationAdu: 60000,
  layout: FCCD_LAYOUT,
  frameShape: [N, N],
};

function makeChunks(): Chunk[] {
  return Array.from({ length: FRAMES / PER_CHUNK }, (_, chunkIndex) => {
    const size = N * N;
    const data = new Float32Array(PER_CHUNK * size);
    for (let k = 0; k < data.length; k++) data[k] = (k * 7919) % 1000;
    return {
      chunkIndex,
      count: PER_CHUNK,
      rows: N,
      cols: N,
      indices: Int32Array.from({ length: PER_CHUNK }, (_, i) => chunkIndex * PER_CHUNK + i),
      positionsYX: Float64Array.from({ length: 2 * PER_CHUNK }, (_, i) => i * 1e-8),
      data,
      weights: new Uint8Array(PER_CHUNK * size).fill(1),
      meta,
    };
  });
}

let chunks: Chunk[] = [];

/** Receives until the `stop` topic; resolves with the frames seen. */
async function receiveScan(subscriber: zmq.Subscriber): Promise<number> {
  let frames = 0;
  for (;;) {
    const [topic] = (await subscriber.receive()) as Buffer[];
    const name = topic.toString();
    if (name === "frame") frames += 1;
    if (name === "stop") return frames;
  }
}

function listen(port: number): zmq.Subscriber {
  const subscriber = new zmq.Subscriber({ receiveHighWaterMark: 20000, linger: 0 });
  subscriber.subscribe("");
  subscriber.connect(`tcp://127.0.0.1:${port}`);
  return subscriber;
}

async function candidate(): Promise<Measurement> {
  const port = freshPort();
  const subscriber = listen(port);
  try {
    const t0 = performance.now();
    const received = receiveScan(subscriber);
    const events = concat(
      of(startEvent(meta) as ScanEvent<Chunk>),
      of(...chunks).pipe(map((chunk) => itemEvent(envelope(chunk)) as ScanEvent<Chunk>)),
      of(endEvent(meta, "stop") as ScanEvent<Chunk>),
    );
    await lastValueFrom(events.pipe(publishCosmicstreams({ address: `tcp://127.0.0.1:${port}`, waitForSubscribers: 1, waitTimeoutMs: 10000 })));
    const frames = await received;
    const seconds = (performance.now() - t0) / 1000;
    return { value: frames / seconds, detail: { frames, "MB/s": Math.round((frames * N * N * 4) / seconds / 1e6) } };
  } finally {
    subscriber.close();
  }
}

async function bareZmq(): Promise<number> {
  const port = freshPort();
  const subscriber = listen(port);
  const publisher = new zmq.XPublisher({ sendHighWaterMark: 10000, linger: 1000 });
  try {
    const t0 = performance.now();
    await publisher.bind(`tcp://127.0.0.1:${port}`);
    await publisher.receive(); // the subscription: same slow-joiner handshake as the candidate
    const received = receiveScan(subscriber);
    await publisher.send(["start", JSON.stringify({ identifier: meta.scanId })]);
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.count; i++) {
        const header = { shape_y: N, shape_x: N, dtype: "float32", byteorder: "<", order: "C", identifier: meta.scanId, index: chunk.indices[i], posy: chunk.positionsYX[2 * i], posx: chunk.positionsYX[2 * i + 1] };
        await publisher.send(["frame", JSON.stringify(header), encodeArrayLE(chunk.data.subarray(i * N * N, (i + 1) * N * N))]);
      }
    }
    await publisher.send(["stop", JSON.stringify({ identifier: meta.scanId })]);
    const frames = await received;
    return frames / ((performance.now() - t0) / 1000);
  } finally {
    publisher.close();
    subscriber.close();
  }
}

export const benches: Bench[] = [
  {
    name: "publish-cosmicstreams-128",
    unit: "frames/s",
    higherIsBetter: true,
    setup: () => {
      chunks = makeChunks();
    },
    measure: candidate,
    baseline: { name: "bare zeromq.js PUB", measure: bareZmq },
  },
];
