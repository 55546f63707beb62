/**
 * The benchmark harness. A bench measures one figure (`value`, in `unit`); where a baseline exists it is
 * measured in the same run, interleaved run by run with the candidate, so a noisy shared machine affects both
 * alike, and the reported figure is the median of each.
 */

export interface Measurement {
  value: number;
  /** Extra facts worth printing beside the figure (frames, bytes, errors...). */
  detail?: Record<string, number | string>;
}

export interface Bench {
  name: string;
  unit: string;
  /** True when a larger value is better (MB/s, frames/s); false for s/iteration and the like. */
  higherIsBetter: boolean;
  /** Interleaved repetitions (default 5). */
  runs?: number;
  /** Prepares data once (not timed). */
  setup?: () => Promise<void> | void;
  measure: () => Promise<Measurement | number> | Measurement | number;
  baseline?: {
    name: string;
    measure: () => Promise<Measurement | number> | Measurement | number;
  };
  /** A fixed reference figure when no same-run baseline is possible (e.g. PtyPy measured earlier). */
  reference?: { name: string; value: number };
  teardown?: () => Promise<void> | void;
}

export interface BenchResult {
  bench: string;
  value: number;
  unit: string;
  baseline: number | null;
  baselineName: string | null;
  /** value / baseline for higher-is-better figures, baseline / value otherwise: > 1 means better than baseline. */
  ratio: number | null;
  runs: number;
  detail?: Record<string, number | string>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const asMeasurement = (m: Measurement | number): Measurement => (typeof m === "number" ? { value: m } : m);

export async function runBench(bench: Bench): Promise<BenchResult> {
  const runs = bench.runs ?? 5;
  await bench.setup?.();
  const values: number[] = [];
  const baselineValues: number[] = [];
  let detail: Record<string, number | string> | undefined;
  try {
    for (let run = 0; run < runs; run++) {
      // Alternate which goes first so warm-up and drift do not favour one side.
      const order = run % 2 === 0 ? ["baseline", "candidate"] : ["candidate", "baseline"];
      for (const side of order) {
        if (side === "baseline" && bench.baseline) baselineValues.push(asMeasurement(await bench.baseline.measure()).value);
        if (side === "candidate") {
          const m = asMeasurement(await bench.measure());
          values.push(m.value);
          detail = m.detail ?? detail;
        }
      }
    }
  } finally {
    await bench.teardown?.();
  }
  const value = median(values);
  const baseline = bench.baseline ? median(baselineValues) : (bench.reference?.value ?? null);
  const baselineName = bench.baseline?.name ?? bench.reference?.name ?? null;
  const ratio = baseline === null || baseline === 0 || value === 0 ? null : bench.higherIsBetter ? value / baseline : baseline / value;
  return { bench: bench.name, value, unit: bench.unit, baseline, baselineName, ratio, runs, detail };
}

const fmt = (n: number | null): string =>
  n === null ? "-" : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);

export function formatTable(results: readonly BenchResult[]): string {
  const rows = results.map((r) => [r.bench, `${fmt(r.value)} ${r.unit}`, r.baselineName ? `${fmt(r.baseline)} (${r.baselineName})` : "-", r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`, String(r.runs)]);
  const header = ["bench", "value", "baseline", "ratio", "runs"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The `--json` form: one object a line. */
export function formatJsonLine(result: BenchResult): string {
  const { bench, value, unit, baseline, ratio } = result;
  return JSON.stringify({ bench, value, unit, baseline, ratio, baselineName: result.baselineName, runs: result.runs, ...(result.detail ? { detail: result.detail } : {}) });
}
