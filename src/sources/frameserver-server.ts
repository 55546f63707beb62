/**
 * The serving side of the frameserver protocols, used by `pipelines/frameserver.ts` and, in process, by tests
 * and benchmarks: a scan's frames go out over ZeroMQ at a set rate or as fast as a PUSH reader takes them.
 *
 * - `raw`: frames `[json header, raw bytes]` on the frame socket, scan control (`start`, `point`, `stop` /
 *   `abort`) as one-part JSON messages on the control socket (DESIGN section 3).
 * - `cosmicstreams`: `[topic, json]` for start/stop/abort and `[b"frame", json, bytes]` for frames, all on one
 *   socket, as the cosmicstreams reference publisher does.
 * - `push` is lossless (the sender waits for the reader); `pub` is lossy and sends nothing to subscribers that
 *   have not connected yet ("slow joiner"), so `waitSubscribers` waits until that many subscriptions reached each
 *   socket (a handshake through XPUB subscription messages) before the first message.
 * - `monitor`: a conflating PUB (latest frame wins) for viewers, throttled to `monitorMaxHz`; one part per
 *   message (ZeroMQ's conflate cannot keep multipart messages), see `encodeMonitorMessage`.
 */
import * as zmq from "zeromq";
import { PixelArray, dtypeOf, encodeArrayLE } from "../model/dtype";
import { CosmicStart } from "../model/cosmicstreams";
import { ScanControlMessage, StartMessage, RawFrameHeader } from "../model/frameserver";
import { RawFrame, frameRole, scanMetaFromStart, totalFrames } from "../model/scan";
import { stringifyStrictJson } from "../model/json";
import { closeQuietly } from "./zmq";

/** What a raw frameserver serves: the start message and random access to its frames (the simulator's shape). */
export interface RawScanSource {
  start: StartMessage;
  frame(index: number): RawFrame;
}

/**
 * The same scan with frames `from` .. `until` - 1 rendered before it is served, so serving costs only the sends: for
 * rate tests where the simulator would otherwise share the cores with the pipeline it feeds (at COSMIC the
 * frameserver is a machine of its own). Memory: every frame not yet served (2.2 MB each for the FCCD).
 */
export function renderedAhead(scan: RawScanSource, from: number, until: number): RawScanSource {
  const frames = new Map<number, RawFrame>();
  for (let index = from; index < until; index++) frames.set(index, scan.frame(index));
  return {
    start: scan.start,
    // A frame is served once: let it go as it is taken, so memory falls as the scan goes out.
    frame: (index) => {
      const frame = frames.get(index) ?? scan.frame(index);
      frames.delete(index);
      return frame;
    },
  };
}

/** A preprocessed frame as cosmicstreams carries it, position in metres. */
export interface CosmicFrame {
  index: number;
  rows: number;
  cols: number;
  data: PixelArray;
  posyM: number;
  posxM: number;
}

export interface CosmicScanSource {
  start: CosmicStart;
  totalFrames: number;
  frame(index: number): CosmicFrame;
}

export type ServePattern = "push" | "pub";
export type ServeEnding = "stop" | "abort" | "none";

export interface ServeOptions {
  pattern?: ServePattern;
  /** Bind endpoint of the frame socket (cosmicstreams: the one socket). */
  frames: string;
  /** Bind endpoint of the scan-control socket (raw protocol only). */
  control?: string;
  /** Bind endpoint of the conflating monitor PUB, if any. */
  monitor?: string;
  monitorMaxHz?: number;
  /** Frames per second; undefined: as fast as the socket takes them. */
  rateHz?: number;
  /** First frame index to send (resuming a scan part-way); the start goes out again. */
  fromIndex?: number;
  /** Last frame index to send, exclusive (default: the whole scan). */
  untilIndex?: number;
  /** How the scan ends: `stop`, `abort`, or `none` (a frameserver that dies mid-scan). */
  ending?: ServeEnding;
  /** PUB only: wait for this many subscribers on every socket before sending. */
  waitSubscribers?: number;
  waitSubscribersTimeoutMs?: number;
  /** Raw only: leave the positions out of `start` and send a `point` message after each point's last frame. */
  positionsFollow?: boolean;
  sendHighWaterMark?: number;
  /** How long closing waits for queued messages to leave. */
  lingerMs?: number;
  onProgress?: (sent: number) => void;
}

export interface ServeSummary {
  framesSent: number;
  controlSent: number;
  monitorSent: number;
  seconds: number;
  /** True when `close()` stopped the server before the scan was served. */
  interrupted: boolean;
}

export interface RunningServer {
  /** Resolves when the last message has been handed to ZeroMQ. */
  done: Promise<ServeSummary>;
  /** Stops sending and closes every socket (queued messages linger up to `lingerMs`). */
  close(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Monitor messages are one part: uint32 LE header length, the JSON header, then the raw bytes. */
export function encodeMonitorMessage(header: object, bytes: Uint8Array): Buffer {
  const json = Buffer.from(stringifyStrictJson(header), "utf8");
  const out = Buffer.allocUnsafe(4 + json.length + bytes.byteLength);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  out.set(bytes, 4 + json.length);
  return out;
}

export function decodeMonitorMessage(message: Buffer): { header: unknown; bytes: Buffer } {
  if (message.length < 4) throw new Error(`monitor message of ${message.length} bytes is too short`);
  const length = message.readUInt32LE(0);
  if (4 + length > message.length) throw new Error(`monitor header length ${length} exceeds the message (${message.length} bytes)`);
  return { header: JSON.parse(message.subarray(4, 4 + length).toString("utf8")), bytes: message.subarray(4 + length) };
}

type Sender = zmq.Push | zmq.XPublisher;

function bindSender(pattern: ServePattern, address: string, options: ServeOptions): Promise<Sender> {
  const common = { sendHighWaterMark: options.sendHighWaterMark ?? (pattern === "push" ? 8 : 1000), linger: options.lingerMs ?? 2000 };
  const socket = pattern === "push" ? new zmq.Push(common) : new zmq.XPublisher(common);
  return socket.bind(address).then(() => socket);
}

/** Waits until `count` subscriptions covering `topic` reached an XPUB socket (the slow-joiner handshake). */
async function waitForSubscribers(socket: zmq.XPublisher, count: number, topic: string, timeoutMs: number): Promise<void> {
  let seen = 0;
  const deadline = Date.now() + timeoutMs;
  socket.receiveTimeout = 50;
  while (seen < count) {
    if (Date.now() > deadline) throw new Error(`only ${seen} of ${count} subscriber(s) after ${timeoutMs} ms`);
    try {
      const [message] = await socket.receive();
      const body = message.subarray(1).toString("utf8");
      if (message[0] === 1 && topic.startsWith(body)) seen += 1;
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    }
  }
}

/** The pacing, monitor and ending shared by both protocols; `send` puts one frame on the wire. */
async function serveFrames(
  options: ServeOptions,
  range: { from: number; until: number },
  sendFrame: (index: number) => Promise<{ header: object; bytes: Uint8Array }>,
  monitor: zmq.Publisher | undefined,
  isClosed: () => boolean,
  tally: ServeSummary,
): Promise<void> {
  const t0 = Date.now();
  let lastMonitorMs = -Infinity;
  const monitorPeriodMs = 1000 / (options.monitorMaxHz ?? 10);
  for (let index = range.from; index < range.until && !isClosed(); index++) {
    if (options.rateHz !== undefined) {
      const due = t0 + (tally.framesSent * 1000) / options.rateHz;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const { header, bytes } = await sendFrame(index);
    tally.framesSent += 1;
    options.onProgress?.(tally.framesSent);
    const now = Date.now();
    if (monitor !== undefined && now - lastMonitorMs >= monitorPeriodMs) {
      lastMonitorMs = now;
      await monitor.send(encodeMonitorMessage(header, bytes));
      tally.monitorSent += 1;
    }
  }
}

/**
 * Runs `serve` and resolves with the tally; when `close()` interrupted it (a pending send or handshake then
 * rejects), resolves with what was sent so far instead of failing.
 */
async function tallied(serve: (tally: ServeSummary) => Promise<void>, isClosed: () => boolean): Promise<ServeSummary> {
  const t0 = Date.now();
  const tally: ServeSummary = { framesSent: 0, controlSent: 0, monitorSent: 0, seconds: 0, interrupted: false };
  try {
    await serve(tally);
  } catch (error) {
    if (!isClosed()) throw error;
    tally.interrupted = true;
  }
  tally.seconds = (Date.now() - t0) / 1000;
  return tally;
}

async function bindMonitor(options: ServeOptions): Promise<zmq.Publisher | undefined> {
  if (options.monitor === undefined) return undefined;
  const monitor = new zmq.Publisher({ conflate: true, linger: 0 });
  await monitor.bind(options.monitor);
  return monitor;
}

/** Binds the sockets (resolves once bound, so readers may connect) and serves `scan` in the raw protocol. */
export async function serveRawScan(scan: RawScanSource, options: ServeOptions): Promise<RunningServer> {
  if (options.control === undefined) throw new Error("the raw frameserver protocol needs a control address");
  const pattern = options.pattern ?? "push";
  const frames = await bindSender(pattern, options.frames, options);
  const control = await bindSender(pattern, options.control, options);
  const monitor = await bindMonitor(options);
  let closed = false;
  const close = () => {
    closed = true;
    closeQuietly(frames, control, monitor);
  };
  const meta = scanMetaFromStart(scan.start);
  const total = totalFrames(meta);
  const exposures = meta.exposureTimesS.length;
  const positions = scan.start.positionsM;
  const start: StartMessage =
    options.positionsFollow && positions !== undefined
      ? (({ positionsM: _dropped, ...rest }) => ({ ...rest, positionsFollow: true }))(scan.start)
      : scan.start;

  const run = async (tally: ServeSummary): Promise<void> => {
    const sendControl = async (message: ScanControlMessage) => {
      await control.send(stringifyStrictJson(message));
      tally.controlSent += 1;
    };
    if (pattern === "pub" && (options.waitSubscribers ?? 0) > 0) {
      const timeout = options.waitSubscribersTimeoutMs ?? 30000;
      await waitForSubscribers(frames as zmq.XPublisher, options.waitSubscribers!, "{", timeout);
      await waitForSubscribers(control as zmq.XPublisher, options.waitSubscribers!, "{", timeout);
    }
    await sendControl(start);
    const from = options.fromIndex ?? 0;
    const until = Math.min(options.untilIndex ?? total, total);
    await serveFrames(
      options,
      { from, until },
      async (index) => {
        const frame = scan.frame(index);
        const header: RawFrameHeader = { index, shape: [frame.rows, frame.cols], dtype: dtypeOf(frame.data), byteorder: "<" };
        const bytes = encodeArrayLE(frame.data);
        await frames.send([JSON.stringify(header), bytes]);
        const role = frameRole(meta, index);
        if (options.positionsFollow && positions !== undefined && role.kind === "exposure" && role.exposure === exposures - 1) {
          await sendControl({ type: "point", index: role.point, ...positions[role.point] });
        }
        return { header, bytes };
      },
      monitor,
      () => closed,
      tally,
    );
    const ending = options.ending ?? "stop";
    if (!closed && ending !== "none") await sendControl({ type: ending, scanId: scan.start.scanId });
  };
  return { done: tallied(run, () => closed), close };
}

/** Binds one PUB socket (high-water mark 10000, as the reference publisher) and serves `scan` as cosmicstreams. */
export async function serveCosmicScan(scan: CosmicScanSource, options: ServeOptions): Promise<RunningServer> {
  const socket = (await bindSender("pub", options.frames, { sendHighWaterMark: 10000, ...options })) as zmq.XPublisher;
  const monitor = await bindMonitor(options);
  let closed = false;
  const close = () => {
    closed = true;
    closeQuietly(socket, monitor);
  };
  const identifier = scan.start.identifier;
  const run = async (tally: ServeSummary): Promise<void> => {
    if ((options.waitSubscribers ?? 0) > 0) {
      await waitForSubscribers(socket, options.waitSubscribers!, "start", options.waitSubscribersTimeoutMs ?? 30000);
    }
    await socket.send(["start", stringifyStrictJson(scan.start)]);
    tally.controlSent += 1;
    const from = options.fromIndex ?? 0;
    const until = Math.min(options.untilIndex ?? scan.totalFrames, scan.totalFrames);
    await serveFrames(
      options,
      { from, until },
      async (index) => {
        const frame = scan.frame(index);
        const header = {
          shape_y: frame.rows,
          shape_x: frame.cols,
          dtype: dtypeOf(frame.data),
          byteorder: "<",
          order: "C",
          identifier,
          index,
          posy: frame.posyM,
          posx: frame.posxM,
        };
        const bytes = encodeArrayLE(frame.data);
        await socket.send(["frame", stringifyStrictJson(header), bytes]);
        return { header, bytes };
      },
      monitor,
      () => closed,
      tally,
    );
    const ending = options.ending ?? "stop";
    if (!closed && ending !== "none") {
      await socket.send([ending, stringifyStrictJson({ identifier })]);
      tally.controlSent += 1;
    }
  };
  return { done: tallied(run, () => closed), close };
}
