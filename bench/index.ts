/**
 * `npm run bench` runs every bench/*.bench.ts; `npm run bench -- --json` prints one JSON object a line;
 * `npm run bench -- name...` runs only benches whose name starts with one of the given names.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Bench, BenchResult, formatJsonLine, formatTable, runBench } from "./harness";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const filters = args.filter((a) => !a.startsWith("--"));
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith(".bench.ts"))
    .sort();
  const results: BenchResult[] = [];
  for (const file of files) {
    // require, not import(): with module node16 TypeScript keeps import() native, and Node cannot import .ts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { benches } = require(path.join(__dirname, file)) as { benches: Bench[] };
    for (const bench of benches) {
      if (filters.length > 0 && !filters.some((f) => bench.name.startsWith(f))) continue;
      if (!json) process.stderr.write(`running ${bench.name} ...\n`);
      const result = await runBench(bench);
      results.push(result);
      if (json) process.stdout.write(formatJsonLine(result) + "\n");
    }
  }
  if (!json) process.stdout.write(formatTable(results) + "\n");
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
