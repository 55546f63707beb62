/**
 * The feed and its server without a browser: loopback by default, health read on the viewer's clock only while
 * someone watches, a new scan clearing the error curve, /state.json, and PNG exports that say when there is
 * nothing yet, raw frames kept as copies. Ports 24080-24089.
 */
import { WebSocket } from "ws";
import { Snapshot } from "../../src/model/scan";
import { releaseMemory } from "../../src/runtime/release-memory";
import { startViewer } from "../../src/viewer/feed";

const probe = { rows: 2, cols: 2, data: Float32Array.of(1, 0, 0, 1, 1, 1, 0, 0) };
const snapshot = (iteration: number, error: number): Snapshot => ({ iteration, framesUsed: 1, error, object: probe, probe, objectPixelSizeM: [1e-8, 1e-8], final: false });

/** The first `count` JSON messages of `type` a client gets. */
interface StateJson {
  scanId: string;
  errors: Array<{ iteration: number }>;
  positions: { known: number; visited: number };
  viewer: { fed: Record<string, number> };
}
const stateOf = async (url: string) => (await (await fetch(`${url}state.json`)).json()) as StateJson;

/** The raw.png a fresh viewer exports for `frame`. */
async function exportOf(frame: { index: number; rows: number; cols: number; data: Uint16Array }): Promise<Buffer> {
  const viewer = await startViewer({ port: 24084 });
  try {
    viewer.rawFrame(frame);
    return viewer.exportPng("raw.png")!;
  } finally {
    await viewer.close();
  }
}

function textMessages(url: string, type: string, count: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const seen: Array<Record<string, unknown>> = [];
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString("utf8"));
      if (message.type === type) seen.push(message);
      if (seen.length === count) {
        socket.close();
        resolve(seen);
      }
    });
    socket.on("error", reject);
  });
}

describe("startViewer", () => {
  it("serves on 127.0.0.1 and reads health on its own clock only while a browser watches", async () => {
    const viewer = await startViewer({ port: 24080, maxFps: 20 });
    try {
      expect(viewer.url).toBe("http://127.0.0.1:24080/");
      let reads = 0;
      viewer.healthFrom(() => ({ stages: [], counts: { received: ++reads } }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(reads).toBe(0);
      const health = await textMessages(`${viewer.url.replace("http", "ws")}ws`, "health", 3);
      const received = health.map((m) => (m.counts as Record<string, number>).received);
      expect(received[2]).toBeGreaterThan(received[0]);
      expect(reads).toBeGreaterThanOrEqual(3);
    } finally {
      await viewer.close();
    }
  });

  it("starts the error curve again with a new scan and reports the state as JSON", async () => {
    const viewer = await startViewer({ port: 24081 });
    try {
      viewer.scan({ scanId: "a" });
      viewer.snapshot(snapshot(1, 0.5));
      viewer.snapshot(snapshot(2, 0.25));
      const before = await stateOf(viewer.url);
      expect(before.errors.map((p) => p.iteration)).toEqual([1, 2]);
      viewer.scan({ scanId: "b", positionsM: [{ x: 0, y: 0 }] });
      const after = await stateOf(viewer.url);
      expect(after).toMatchObject({ scanId: "b", errors: [], positions: { known: 1, visited: 0 } });
      expect(after.viewer.fed).toMatchObject({ scan: 2, reconstruction: 2 });
    } finally {
      await viewer.close();
    }
  });

  it("keeps a copy of the raw frame it will show (a source frees the pixels at the ack), at most maxFps a second", async () => {
    const viewer = await startViewer({ port: 24083, maxFps: 5 });
    try {
      const frame = (index: number, value: number) => ({ index, rows: 64, cols: 64, data: new Uint16Array(64 * 64).fill(value) });
      const shown = frame(1, 300);
      viewer.rawFrame(shown);
      viewer.rawFrame(frame(2, 500)); // within 1/maxFps of the first: passed over
      expect(releaseMemory(shown.data)).toBe(true);
      const state = await stateOf(viewer.url);
      expect(state.viewer.fed).toMatchObject({ raw: 2 });
      expect((state as unknown as { rawIndex: number }).rawIndex).toBe(1);
      const png = viewer.exportPng("raw.png")!;
      const blank = await exportOf(frame(3, 0));
      expect(png.equals(blank)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 220));
      viewer.rawFrame(frame(4, 700));
      expect(((await stateOf(viewer.url)) as unknown as { rawIndex: number }).rawIndex).toBe(4);
    } finally {
      await viewer.close();
    }
  });

  it("exports PNGs of what it has and says what it has not", async () => {
    const viewer = await startViewer({ port: 24082 });
    try {
      const missing = await fetch(`${viewer.url}export/frame.png`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain("nothing to export as frame.png yet");
      viewer.snapshot(snapshot(1, 0.5));
      const png = await fetch(`${viewer.url}export/reconstruction.png`);
      expect(png.status).toBe(200);
      expect(png.headers.get("content-type")).toBe("image/png");
      expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString("latin1")).toBe("PNG");
      expect(viewer.exportPng("reconstruction.png")).toBeInstanceOf(Buffer);
      expect((await fetch(`${viewer.url}nowhere`)).status).toBe(404);
    } finally {
      await viewer.close();
    }
  });
});
