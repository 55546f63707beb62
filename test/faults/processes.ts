/**
 * The fault tests run the programs as a beamline does: `pipelines/frameserver.ts` as its own process (so it can be
 * killed), and `pipelines/cosmic.ts` reading it over loopback with `--frameserver/--scan-control`
 * (test/pipelines/run-cosmic.ts starts it and reads its files with h5py).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCosmic, tempOut, PipelineRun } from "../pipelines/run-cosmic";

const ROOT = path.join(__dirname, "..", "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

export const loopback = (port: number): string => `tcp://127.0.0.1:${port}`;

export interface FrameserverRun {
  child: ChildProcess;
  /** Frames the frameserver said it had sent (its progress lines, about once a second, and its last line). */
  sent(): number;
  /** Resolves once a progress line reports at least `frames` sent. */
  whenSent(frames: number, timeoutMs?: number): Promise<number>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** `pipelines/frameserver.ts` on `port` (frames) and `port + 1` (scan control), no monitor port. */
export function startFrameserver(port: number, args: string[]): FrameserverRun {
  const argv = [TS_NODE, path.join(ROOT, "pipelines", "frameserver.ts"), "--frames", loopback(port), "--control", loopback(port + 1), "--no-monitor", ...args];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let sent = 0;
  const listeners: Array<() => void> = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr += text;
    for (const match of text.matchAll(/(\d+) frames (sent|in)/g)) sent = Math.max(sent, Number(match[1]));
    listeners.splice(0).forEach((listener) => listener());
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  const whenSent = (frames: number, timeoutMs = 60_000) =>
    new Promise<number>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        if (sent >= frames) resolve(sent);
        else if (child.exitCode !== null || Date.now() > deadline) reject(new Error(`frameserver sent ${sent} of ${frames} frames; stderr:\n${stderr}`));
        else listeners.push(check);
      };
      check();
    });
  return { child, sent: () => sent, whenSent, done };
}

/** Preprocessing for the frameserver's detector (the pipeline's own defaults apply to its embedded simulator only). */
export function preprocessFor(frameSize: number): Record<string, unknown> {
  return { crop: { size: 2 * frameSize }, bin: { factor: 2 } };
}

/** Writes `config` as the run's `--config` file in `out`. */
export function configFile(out: string, config: Record<string, unknown>): string {
  const file = path.join(out, "config.json");
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

/** `pipelines/cosmic.ts` reading the frameserver on `port`/`port + 1`, with a JSON summary. */
export function startCosmicOn(port: number, out: string, config: Record<string, unknown>, args: string[] = [], timeoutMs?: number): PipelineRun {
  const file = configFile(out, config);
  return startCosmic(["--frameserver", loopback(port), "--scan-control", loopback(port + 1), "--config", file, "--out", out, "--json", "--no-progress", ...args], timeoutMs);
}

/** The `fault <reason> at <where> (index i): message` lines a run logged. */
export function faultLines(stderr: string, reason: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith(`fault ${reason} `));
}

/** A small tmpfs at a fresh directory (root only); undefined where mounting is not permitted. */
export function mountTmpfs(prefix: string, options: string): string | undefined {
  const dir = tempOut(prefix);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { stdio: "pipe" });
    return dir;
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

export function unmount(dir: string): void {
  execFileSync("umount", [dir], { stdio: "pipe" });
  fs.rmSync(dir, { recursive: true, force: true });
}
