import * as path from "node:path";
import { startWorker } from "../../src/runtime/workers";

describe("TypeScript worker threads", () => {
  it("runs a .ts worker that imports project code and shares memory with the parent", async () => {
    const shared = new SharedArrayBuffer(8 * 4);
    new Float64Array(shared).set([1, 2, 3, 4]);
    const worker = startWorker(path.join(__dirname, "../fixtures/sum-worker.ts"), { shared });
    const reply = await new Promise<{ sum: number; median: number }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    expect(reply).toEqual({ sum: 10, median: 3 });
    expect(new Float64Array(shared)[0]).toBe(-1);
  });
});
