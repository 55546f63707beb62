/** Runs pipeline files as the user does (ts-node, their own process) and reads what they leave behind. */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

export interface PipelineRun {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Runs `pipelines/<name>.ts` with `args` as the user does; killed after `timeoutMs`. */
export function startPipelineFile(name: string, args: string[], timeoutMs = 120_000): PipelineRun {
  const child = spawn(process.execPath, [TS_NODE, path.join(ROOT, "pipelines", `${name}.ts`), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

export function startCosmic(args: string[], timeoutMs = 120_000): PipelineRun {
  return startPipelineFile("cosmic", args, timeoutMs);
}

/** The `--json` summary: the last line of stdout. */
export function summaryOf(stdout: string): Record<string, any> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

export function checkOutput(kind: "ptyd" | "cxi", file: string): Record<string, any> {
  return JSON.parse(execFileSync("/usr/bin/python3", [path.join(__dirname, "check-outputs.py"), kind, file]).toString());
}

export function tempOut(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
