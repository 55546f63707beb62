/**
 * The viewer's HTTP and WebSocket server (node:http + ws), on 127.0.0.1 unless another host is asked for.
 *
 * HTTP: `/` the page, `/viewer.js`, `/viewer.css`, `/colour-maps.json` (the PNG sink's maps, sampled, so the page
 * and the exports colour alike), `/state.json` (counts, stages, error curve, viewer figures: for curl and
 * scripts), `/export/reconstruction.png`, `/export/frame.png` (processed), `/export/raw.png` (descrambled).
 * WebSocket `/ws`: updates, see ./messages.ts.
 *
 * Broadcasting runs on a timer at `maxFps`: a slot whose version changed is encoded once (only while someone
 * watches) and each client is sent what it has not seen yet, unless its socket still buffers more than
 * `maxBufferedBytes`: then it is passed over (counted) and catches up with the newest pictures once it drains.
 * So a stalled browser costs a bounded buffer, and the pipeline's feed calls never wait for anything.
 */
import { withDefaults } from "../runtime/defaults";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { encodePng, reconstructionImage } from "../sinks/png";
import { COLOUR_MAPS, MAX_DISPLAY_PX, framePanel } from "./image";
import { ViewerMessage, ViewerStats, slotMessages } from "./messages";
import { Health, SLOTS, Slot, ViewerState, descrambleMapFor } from "./state";

export interface ViewerServerOptions {
  port: number;
  host?: string;
  /** Updates per second at most (default 5). */
  maxFps?: number;
  /** A client whose socket buffers more than this is skipped until it drains (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Longest side of a picture sent to the browser (default 256). */
  maxDisplayPx?: number;
}

export const VIEWER_DEFAULTS = { host: "127.0.0.1", maxFps: 5, maxBufferedBytes: 1 << 20, maxDisplayPx: MAX_DISPLAY_PX };

const PAGE_DIR = path.join(__dirname, "page");
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/viewer.js": { file: "viewer.js", type: "text/javascript; charset=utf-8" },
  "/viewer.css": { file: "viewer.css", type: "text/css; charset=utf-8" },
};
/** How often the viewer's own figures go out even when the pipeline sends no health. */
const STATS_PERIOD_MS = 1000;

interface Client {
  socket: WebSocket;
  seen: Record<Slot, number>;
}

export interface ViewerServer {
  url: string;
  /** Reads health once per tick while a client is connected. */
  pollHealth(read: () => Health): void;
  stats(): ViewerStats;
  close(): Promise<void>;
}

const zeroSlots = (): Record<Slot, number> => Object.fromEntries(SLOTS.map((s) => [s, 0])) as Record<Slot, number>;

export function newViewerStats(): ViewerStats {
  return { clients: 0, ticks: 0, fed: zeroSlots(), encoded: zeroSlots(), messagesSent: 0, bytesSent: 0, skippedSlowClient: 0, maxBufferedBytes: 0, encodeErrors: 0 };
}

function colourMapsJson(): string {
  const sample = (colour: (t: number) => number[]) => Array.from({ length: 256 }, (_, i) => colour(i / 255)).flat();
  return JSON.stringify({ viridis: sample(COLOUR_MAPS.viridis), cyclic: sample((t) => COLOUR_MAPS.cyclic(t * (255 / 256))) });
}

/** The PNGs of the current state, or undefined when there is nothing of that kind yet. */
export function exportPng(state: ViewerState, what: string): Buffer | undefined {
  if (what === "reconstruction.png") return state.snapshot && encodePng(reconstructionImage(state.snapshot));
  if (what === "frame.png") {
    const frame = state.processed;
    return frame && encodePng(framePanel(frame.data, frame.rows, frame.cols));
  }
  if (what === "raw.png") {
    const frame = state.raw;
    if (frame === undefined) return undefined;
    const { rows, cols, imageToRaw } = descrambleMapFor(frame, state.layout);
    return encodePng(framePanel(frame.data, rows, cols, imageToRaw));
  }
  return undefined;
}

function stateJson(state: ViewerState, stats: ViewerStats): string {
  return JSON.stringify({
    scanId: state.scanInfo.scanId,
    rawIndex: state.raw?.index ?? null,
    processedIndex: state.processed?.index ?? null,
    iteration: state.snapshot?.iteration ?? null,
    positions: { known: state.positions.knownPositions().length, visited: state.positions.visited.length },
    errors: state.errors.all(),
    counts: state.health.counts,
    stages: state.health.stages,
    viewer: stats,
  });
}

export async function startViewerServer(state: ViewerState, stats: ViewerStats, options: ViewerServerOptions): Promise<ViewerServer> {
  const o = withDefaults(VIEWER_DEFAULTS, options);
  const clients = new Set<Client>();
  const encoded = new Map<Slot, { version: number; messages: ViewerMessage[] }>();
  const colourMaps = colourMapsJson();

  const respond = (response: http.ServerResponse, status: number, type: string, body: string | Buffer) => {
    response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    response.end(body);
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://viewer");
    if (request.method !== "GET") return respond(response, 405, "text/plain", "GET only\n");
    const asset = STATIC[url.pathname];
    if (asset !== undefined) return respond(response, 200, asset.type, await fs.readFile(path.join(PAGE_DIR, asset.file)));
    if (url.pathname === "/colour-maps.json") return respond(response, 200, "application/json", colourMaps);
    if (url.pathname === "/state.json") return respond(response, 200, "application/json", stateJson(state, stats));
    if (url.pathname.startsWith("/export/")) {
      const what = url.pathname.slice("/export/".length);
      const png = exportPng(state, what);
      if (png !== undefined) return respond(response, 200, "image/png", png);
      return respond(response, 404, "text/plain", `nothing to export as ${what} yet (or no such export: reconstruction.png, frame.png, raw.png)\n`);
    }
    respond(response, 404, "text/plain", `no such page: ${url.pathname}\n`);
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error) => respond(response, 500, "text/plain", `${(error as Error).message}\n`));
  });
  // The page sends nothing: a small payload limit keeps a stray client from making the server buffer much.
  const wss = new WebSocketServer({ server, path: "/ws", maxPayload: 4096 });
  wss.on("connection", (socket) => {
    const client = { socket, seen: zeroSlots() };
    clients.add(client);
    stats.clients = clients.size;
    socket.on("close", () => {
      clients.delete(client);
      stats.clients = clients.size;
    });
    socket.on("error", () => socket.terminate());
  });

  const messagesOf = (slot: Slot): ViewerMessage[] => {
    const version = state.versions[slot];
    const cached = encoded.get(slot);
    if (cached !== undefined && cached.version === version) return cached.messages;
    let messages: ViewerMessage[] = [];
    try {
      messages = slotMessages(slot, state, o.maxDisplayPx, stats);
      stats.encoded[slot] += 1;
    } catch (error) {
      // A picture that cannot be made is reported on the page; the pipeline goes on.
      stats.encodeErrors += 1;
      stats.lastEncodeError = `${slot}: ${(error as Error).message}`;
    }
    encoded.set(slot, { version, messages });
    return messages;
  };

  let lastStatsMs = 0;
  let readHealth: (() => Health) | undefined;
  const tick = () => {
    stats.ticks += 1;
    if (clients.size === 0) return;
    if (readHealth !== undefined) {
      try {
        state.setHealth(readHealth());
      } catch (error) {
        stats.encodeErrors += 1;
        stats.lastEncodeError = `health: ${(error as Error).message}`;
      }
    }
    const now = Date.now();
    if (now - lastStatsMs >= STATS_PERIOD_MS) {
      lastStatsMs = now;
      state.touch("health");
    }
    for (const client of clients) {
      if (client.socket.readyState !== WebSocket.OPEN) continue;
      stats.maxBufferedBytes = Math.max(stats.maxBufferedBytes, client.socket.bufferedAmount);
      for (const slot of SLOTS) {
        if (client.seen[slot] === state.versions[slot]) continue;
        if (client.socket.bufferedAmount > o.maxBufferedBytes) {
          stats.skippedSlowClient += 1;
          break;
        }
        const version = state.versions[slot];
        for (const message of messagesOf(slot)) {
          client.socket.send(message);
          stats.messagesSent += 1;
          stats.bytesSent += typeof message === "string" ? Buffer.byteLength(message) : message.length;
        }
        client.seen[slot] = version;
      }
    }
  };
  // Whatever goes wrong in a tick is the viewer's problem, never the pipeline's: it is counted and shown.
  const safeTick = () => {
    try {
      tick();
    } catch (error) {
      stats.encodeErrors += 1;
      stats.lastEncodeError = `tick: ${(error as Error).message}`;
    }
  };
  const timer = setInterval(safeTick, 1000 / o.maxFps);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : o.port;
  const hostInUrl = o.host.includes(":") ? `[${o.host}]` : o.host;

  return {
    url: `http://${hostInUrl}:${port}/`,
    stats: () => stats,
    pollHealth: (read) => {
      readHealth = read;
    },
    close: async () => {
      clearInterval(timer);
      for (const client of clients) client.socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
