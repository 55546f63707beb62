/** Helpers for the distributed pipeline tests: bit-for-bit comparison of two runs' files, and waiting on a run's logs. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PipelineRun } from "../pipelines/run-cosmic";

/** Fields of the stored frames that differ between two files (h5py, see same-outputs.py): [] when identical. */
export function differingFields(kind: "ptyd" | "cxi", first: string, second: string): { fields: string[]; frames: number; differing: string[] } {
  return JSON.parse(execFileSync("/usr/bin/python3", [path.join(__dirname, "same-outputs.py"), kind, first, second]).toString());
}

/** Resolves once `predicate` holds (polled), rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !predicate(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The stderr a run has written so far. */
export function stderrOf(run: PipelineRun): () => string {
  let text = "";
  run.child.stderr?.on("data", (chunk) => (text += chunk));
  return () => text;
}

export const exists = (file: string) => () => fs.existsSync(file);
