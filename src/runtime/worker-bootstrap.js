// Starts a TypeScript worker thread: registers ts-node (transpile only) and requires the .ts module named in
// workerData. Workers run outside jest's module system, so tests need this too.
const { workerData } = require("node:worker_threads");
if (workerData.script.endsWith(".ts")) {
  require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
}
require(workerData.script);
