// Starts a TypeScript worker thread: registers ts-node (transpile only, with the project's tsconfig) and requires
// the .ts module named in workerData. Workers run outside jest's module system, so tests need this too.
const path = require("node:path");
const { workerData } = require("node:worker_threads");
if (workerData.script.endsWith(".ts")) {
  require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "..", "tsconfig.json") });
}
require(workerData.script);
