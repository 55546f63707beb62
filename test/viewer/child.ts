/** Runs a TypeScript script of the repository as its own process (ts-node), for tests that need a real process. */
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

export interface Child {
  process: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The first line the script writes to stdout. */
  firstLine: Promise<string>;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export function runScript(script: string, args: string[], nodeOptions: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeOptions, require.resolve("ts-node/dist/bin.js"), script, ...args], { cwd: path.join(__dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const end = stdout.indexOf("\n");
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    exited.then((code) => reject(new Error(`${script} exited (${code}) before writing a line: ${stderr}`)));
  });
  firstLine.catch(() => undefined);
  return {
    process: child,
    stderr: () => stderr,
    firstLine,
    exited,
    stop: async (graceMs = 5000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
