/**
 * The standalone viewer command (pipelines/viewer.ts) against the simulated frameserver command
 * (pipelines/frameserver.ts), both as real processes on loopback: the monitor port feeds the page and the PNG
 * export endpoints; `--export-png` writes the first raw picture, or the first processed frame of a cosmicstreams
 * publisher, and exits.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PNG } from "pngjs";
import { from, lastValueFrom } from "rxjs";
import { publishReconstructions } from "../../src/sinks/publish-rec";
import { Child, runScript } from "./child";

const tcp = (port: number) => `tcp://127.0.0.1:${port}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "viewer-command-"));

/** A simulated raw frameserver over PUB (never waits for readers) with its monitor port. */
function rawFrameserver(base: number): Child {
  return runScript("pipelines/frameserver.ts", [
    "--pattern", "pub", "--frames", tcp(base + 1), "--control", tcp(base + 2), "--monitor", tcp(base), "--monitor-hz", "10",
    "--rate", "20", "--points", "300", "--frame-size", "16", "--darks", "1",
  ]);
}

/** Polls `url` until `accept` takes its JSON (the server may still be starting). */
async function pollJson<T>(url: string, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      last = await response.json();
      if (accept(last as T)) return last as T;
    } catch (error) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(`${url} did not get there in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

const children: Child[] = [];
const start = (child: Child) => (children.push(child), child);
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop()));
});

describe("pipelines/viewer.ts", () => {
  it("shows a frameserver's monitor frames, descrambled, and serves them as PNG", async () => {
    start(rawFrameserver(24031));
    const viewer = start(runScript("pipelines/viewer.ts", ["--monitor", tcp(24031), "--port", "24030"]));
    const url = "http://127.0.0.1:24030/";
    const state = await pollJson<{ rawIndex: number | null; counts: Record<string, number> }>(`${url}state.json`, (s) => s.rawIndex !== null && s.counts.received >= 2, 20000);
    expect(state.counts.received).toBeGreaterThanOrEqual(2);
    const page = await fetch(url);
    expect(await page.text()).toContain("live viewer");
    const raw = await fetch(`${url}export/raw.png`);
    expect(raw.status).toBe(200);
    // Descrambled: the FCCD's 960 x 1152 raw frame shows as its 960 x 960 image.
    expect(PNG.sync.read(Buffer.from(await raw.arrayBuffer())).width).toBe(960);
    expect((await fetch(`${url}export/reconstruction.png`)).status).toBe(404);
    expect(await viewer.stop()).toBe(0);
    expect(viewer.stderr()).toContain(`viewer: ${url} showing monitor ${tcp(24031)}`);
  });

  it("--export-png writes the first raw picture and exits", async () => {
    start(rawFrameserver(24041));
    const file = path.join(outDir, "raw.png");
    const viewer = start(runScript("pipelines/viewer.ts", ["--monitor", tcp(24041), "--export-png", file, "--export", "raw", "--timeout-s", "20"]));
    expect(await viewer.exited).toBe(0);
    expect(PNG.sync.read(fs.readFileSync(file)).width).toBe(960);
  });

  it("--export-png takes a processed frame from a cosmicstreams publisher", async () => {
    const file = path.join(outDir, "frame.png");
    const viewer = start(runScript("pipelines/viewer.ts", ["--cosmicstreams", tcp(24051), "--export-png", file, "--export", "frame", "--timeout-s", "20"]));
    start(runScript("pipelines/frameserver.ts", ["--protocol", "cosmicstreams", "--frames", tcp(24051), "--no-monitor", "--wait-subscribers", "1", "--rate", "20", "--points", "300", "--frame-size", "16"]));
    expect(await viewer.exited).toBe(0);
    expect(PNG.sync.read(fs.readFileSync(file)).width).toBe(16);
  });

  it("--export-png takes a reconstruction from a rec publisher", async () => {
    const file = path.join(outDir, "reconstruction.png");
    const viewer = start(runScript("pipelines/viewer.ts", ["--rec", tcp(24071), "--export-png", file, "--export", "reconstruction", "--timeout-s", "20"]));
    const rows = 12;
    const cols = 20;
    const object = { rows, cols, data: Float32Array.from({ length: 2 * rows * cols }, (_, k) => Math.cos(k / 9)) };
    const probe = { rows: 4, cols: 4, data: Float32Array.from({ length: 32 }, (_, k) => Math.sin(k)) };
    const snapshot = { iteration: 7, framesUsed: 20, error: 0.1, object, probe, objectPixelSizeM: [1e-8, 1e-8] as [number, number], final: true };
    await lastValueFrom(from([snapshot]).pipe(publishReconstructions({ address: tcp(24071), probe: true, waitForSubscribers: 1, waitTimeoutMs: 20000 })));
    expect(await viewer.exited).toBe(0);
    // The reconstruction PNG: amplitude and phase side by side with a gap of 8 px.
    expect(PNG.sync.read(fs.readFileSync(file)).width).toBe(2 * cols + 8);
  });

  it("refuses to start without a source", async () => {
    const viewer = start(runScript("pipelines/viewer.ts", ["--port", "24060"]));
    expect(await viewer.exited).toBe(1);
    expect(viewer.stderr()).toContain("give a source: --monitor, --cosmicstreams and/or --rec ADDRESS");
  });
});
