/**
 * Ingest of raw FCCD frames (960 x 1152 uint16) over loopback PUSH/PULL: `frameserverSource` + `grab` (decode,
 * credits, grouping into points), against a bare zeromq.js receive loop on the same data, in the same run.
 *
 * The sender is a child process (plain node, no ts-node), started afresh for every run of either side and
 * sending the same frames: on two cores the sender then has its own core and the receiver the other, so the
 * figure is the receiver's cost, not a share of one event loop with the sender. Each run times from the first
 * frame received to the last.
 *
 * The source frees each frame's memory at its ack (`releaseMemory`); the bare loop leaves its frames to the
 * garbage collector, which frees them only in full collections (its cost at these rates). `ingest-vs-freeing-loop`
 * compares with a bare loop that frees each frame at once too: what decoding, credits and grouping cost.
 */
import { spawn, ChildProcess } from "node:child_process";
import * as path from "node:path";
import { lastValueFrom, tap, count } from "rxjs";
import * as zmq from "zeromq";
import { Bench, Measurement } from "./harness";
import { frameserverSource } from "../src/sources/frameserver-source";
import { grab } from "../src/operators/grab";
import { StartMessage } from "../src/model/frameserver";
import { FCCD_LAYOUT, rawShape } from "../src/model/layout";
import { totalFrames } from "../src/model/scan";
import { releaseMemory } from "../src/runtime/release-memory";

const FRAMES_PORT = 21801;
const CONTROL_PORT = 21802;
const POINTS = 400;
const [ROWS, COLS] = rawShape(FCCD_LAYOUT);

const start: StartMessage = {
  type: "start",
  scanId: "ingest-bench",
  energyEv: 800,
  distanceM: 0.121,
  pixelSizeM: 30e-6,
  exposureTimesS: [0.002, 0.02],
  darksPerExposure: 2,
  numPoints: POINTS,
  gainAduPerEv: 0.004,
  saturationAdu: 15000,
  positionsM: Array.from({ length: POINTS }, (_, i) => ({ x: i * 1e-8, y: -i * 1e-8 })),
  layout: FCCD_LAYOUT,
};
const TOTAL = totalFrames(start);
const FRAME_BYTES = ROWS * COLS * 2;

/** The sender: 8 distinct pseudo-random frames, cycled, then stop. Plain JS so it starts in ~0.1 s. */
const SENDER = `
const zmq = require("zeromq");
const [framesPort, controlPort, total, rows, cols] = process.argv.slice(1).map(Number);
const start = process.env.INGEST_START;
(async () => {
  const frames = new zmq.Push({ sendHighWaterMark: 8, linger: 10000 });
  const control = new zmq.Push({ linger: 10000 });
  await frames.bind("tcp://127.0.0.1:" + framesPort);
  await control.bind("tcp://127.0.0.1:" + controlPort);
  const pool = [];
  let seed = 12345;
  for (let k = 0; k < 8; k++) {
    const data = new Uint16Array(rows * cols);
    for (let i = 0; i < data.length; i++) { seed = (seed * 1103515245 + 12345) >>> 0; data[i] = seed >>> 20; }
    pool.push(Buffer.from(data.buffer));
  }
  await control.send(start);
  for (let index = 0; index < total; index++) {
    const header = JSON.stringify({ index, shape: [rows, cols], dtype: "uint16", byteorder: "<" });
    await frames.send([header, pool[index % pool.length]]);
  }
  await control.send(JSON.stringify({ type: "stop", scanId: "ingest-bench" }));
  frames.close();
  control.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

function startSender(): ChildProcess {
  return spawn(process.execPath, ["-e", SENDER, String(FRAMES_PORT), String(CONTROL_PORT), String(TOTAL), String(ROWS), String(COLS)], {
    cwd: path.join(__dirname, ".."),
    env: { ...process.env, INGEST_START: JSON.stringify(start) },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return child.exitCode === 0 ? resolve() : reject(new Error(`sender exited with ${child.exitCode}`));
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sender exited with ${code}`))));
  });
}

function throughput(bytes: number, firstNs: bigint, lastNs: bigint, detail: Record<string, number>): Measurement {
  const seconds = Number(lastNs - firstNs) / 1e9;
  return { value: bytes / seconds / 1e6, detail: { ...detail, frameMB: FRAME_BYTES / 1e6, seconds: Number(seconds.toFixed(3)) } };
}

async function measurePipeline(): Promise<Measurement> {
  const sender = startSender();
  let first: bigint | undefined;
  let bytes = 0;
  let faults = 0;
  const points = await lastValueFrom(
    frameserverSource({ frames: `tcp://127.0.0.1:${FRAMES_PORT}`, control: `tcp://127.0.0.1:${CONTROL_PORT}`, scans: 1, credits: 16, onFault: () => (faults += 1) }).pipe(
      tap((m) => {
        first ??= process.hrtime.bigint();
        if (m.kind === "frame") bytes += m.frame.value.data.byteLength;
      }),
      grab({ onFault: () => (faults += 1) }),
      tap((e) => (e.kind === "item" ? e.item.ack() : e.kind === "dark" ? e.dark.ack() : undefined)),
      count((e) => e.kind === "item"),
    ),
  );
  const last = process.hrtime.bigint();
  await exited(sender);
  if (points !== POINTS || faults !== 0 || bytes !== TOTAL * FRAME_BYTES) throw new Error(`ingest lost data: ${points} points, ${faults} faults, ${bytes} bytes`);
  return throughput(bytes, first!, last, { frames: TOTAL, points });
}

/** The bare loop; `freeing`: it also frees each frame at once, as the frameserver source does at the frame's ack. */
async function measureBareLoop(freeing = false): Promise<Measurement> {
  const sender = startSender();
  const frames = new zmq.Pull({ receiveHighWaterMark: 4, linger: 0 });
  const control = new zmq.Pull({ linger: 0 });
  frames.connect(`tcp://127.0.0.1:${FRAMES_PORT}`);
  control.connect(`tcp://127.0.0.1:${CONTROL_PORT}`);
  try {
    const controlMessages = (async () => {
      await control.receive();
      await control.receive();
    })();
    let first: bigint | undefined;
    let bytes = 0;
    for (let received = 0; received < TOTAL; received++) {
      const [, data] = await frames.receive();
      first ??= process.hrtime.bigint();
      bytes += data.byteLength;
      if (freeing) releaseMemory(data);
    }
    const last = process.hrtime.bigint();
    await controlMessages;
    await exited(sender);
    return throughput(bytes, first!, last, { frames: TOTAL });
  } finally {
    frames.close();
    control.close();
  }
}

export const benches: Bench[] = [
  {
    name: "ingest",
    unit: "MB/s",
    higherIsBetter: true,
    runs: 7,
    measure: measurePipeline,
    baseline: { name: "bare zeromq.js receive loop", measure: () => measureBareLoop() },
  },
  {
    // The source's own cost: against a bare loop that manages frame memory as the source does.
    name: "ingest-vs-freeing-loop",
    unit: "MB/s",
    higherIsBetter: true,
    runs: 7,
    measure: measurePipeline,
    baseline: { name: "bare zeromq.js receive loop freeing each frame", measure: () => measureBareLoop(true) },
  },
];
