/**
 * The stalled-browser scenario as its own process (jest's sandbox makes built-ins such as Math.log1p ~30x slower,
 * which would measure jest, not the viewer): a viewer with one WebSocket client that never reads (paused, so its
 * TCP window closes) and one that reads, while the feed is hammered for HAMMER_MS. Prints the figures as JSON.
 *
 *   node --expose-gc node_modules/.bin/ts-node test/viewer/hammer-viewer.ts PORT   (gc before measuring memory)
 */
import { WebSocket } from "ws";
import { Frame, Snapshot } from "../../src/model/scan";
import { decodeMonitorMessage } from "../../src/sources/frameserver-server";
import { startViewer } from "../../src/viewer/feed";

export const CAP_BYTES = 256 * 1024;
const SIZE = 256;
const HAMMER_MS = 3000;
function frame(index: number): Frame {
  const data = Float32Array.from({ length: SIZE * SIZE }, (_, i) => ((i * 7919 + index * 104729) % 1000) + index);
  return { index, positionM: { x: index * 1e-8, y: -index * 1e-8 }, rows: SIZE, cols: SIZE, data, weights: new Uint8Array(SIZE * SIZE).fill(1) };
}

function snapshot(iteration: number): Snapshot {
  const object = { rows: SIZE, cols: SIZE, data: Float32Array.from({ length: 2 * SIZE * SIZE }, (_, k) => Math.cos(k * 0.001 * (iteration + 1))) };
  const probe = { rows: 64, cols: 64, data: Float32Array.from({ length: 2 * 64 * 64 }, (_, k) => Math.sin(k * 0.01 * (iteration + 1))) };
  return { iteration, framesUsed: iteration, error: 1 / (iteration + 1), object, probe, objectPixelSizeM: [1e-8, 1e-8], final: false };
}

const connect = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });

const yieldToTimers = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

export interface HammerResult {
  calls: number;
  meanMs: number;
  slowestMs: number;
  rawSeenByReader: number;
  grownBytes: number;
  stats: ReturnType<Awaited<ReturnType<typeof startViewer>>["stats"]>;
}

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
    const viewer = await startViewer({ port, maxFps: 50, maxBufferedBytes: CAP_BYTES });
    const wsUrl = `${viewer.url.replace("http", "ws")}ws`;
    const stalled = await connect(wsUrl);
    stalled.pause();
    const reader = await connect(wsUrl);
    const rawSeen = new Set<number>();
    reader.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const { header } = decodeMonitorMessage(data);
      const h = header as { panel: string; index: number };
      if (h.panel === "raw") rawSeen.add(h.index);
    });

    // A few prepared values, reused, so the test measures the feed and not the making of frames.
    const frames = Array.from({ length: 4 }, (_, i) => frame(i));
    const snapshots = Array.from({ length: 4 }, (_, i) => snapshot(i));
    global.gc?.();
    const memoryBefore = process.memoryUsage();
    let calls = 0;
    let slowest = 0;
    let totalNs = 0n;
    const timed = (call: () => void) => {
      const t0 = process.hrtime.bigint();
      call();
      const ns = process.hrtime.bigint() - t0;
      totalNs += ns;
      slowest = Math.max(slowest, Number(ns) / 1e6);
      calls += 1;
    };
    const end = Date.now() + HAMMER_MS;
    for (let k = 0; Date.now() < end; k++) {
      const f = frames[k % frames.length];
      // Fresh index per call so the reading client can tell updates apart.
      timed(() => viewer.rawFrame({ ...f, index: k }));
      timed(() => viewer.processedFrame(f));
      timed(() => viewer.snapshot({ ...snapshots[k % snapshots.length], iteration: k }));
      timed(() => viewer.health({ stages: [], counts: { received: k, dropped: 0 } }));
      if (k % 50 === 0) await yieldToTimers();
    }
    global.gc?.();
    const memoryAfter = process.memoryUsage();
    const stats = viewer.stats();
    stalled.terminate();
    reader.terminate();
    await viewer.close();

  const result: HammerResult = {
    calls,
    meanMs: Number(totalNs / BigInt(calls)) / 1e6,
    slowestMs: slowest,
    rawSeenByReader: rawSeen.size,
    grownBytes: memoryAfter.heapUsed + memoryAfter.arrayBuffers - (memoryBefore.heapUsed + memoryBefore.arrayBuffers),
    stats,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`hammer-viewer: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
