import * as fs from "node:fs";
import * as path from "node:path";
import { lastValueFrom, tap, toArray } from "rxjs";
import { CreditGate } from "../../src/runtime/credits";
import { DEFAULT_GZIP_LEVEL, compressionOf, decodeStorageSinkConfig, storageSink } from "../../src/sinks/storage-config";
import { SinkSummary } from "../../src/sinks/store-chunks";
import { dumpH5, scanEvents, scanMeta, syntheticChunks, tempDir } from "./fixtures";

describe("storage sink configuration", () => {
  it("decodes a valid configuration and applies defaults where built", () => {
    const config = decodeStorageSinkConfig({ format: "cxi", path: "out/{scanId}.cxi", policy: "bypass", queueBytes: 1024, compression: "gzip" });
    expect(config).toEqual({ format: "cxi", path: "out/{scanId}.cxi", policy: "bypass", queueBytes: 1024, compression: "gzip" });
    expect(compressionOf(config)).toEqual({ kind: "gzip", level: DEFAULT_GZIP_LEVEL });
    expect(compressionOf({})).toEqual({ kind: "none" });
  });

  it("rejects a bad configuration with one readable line per field", () => {
    expect(() => decodeStorageSinkConfig({ format: "tiff", path: 3, policy: "drop", queueBytes: 0, gzipLevel: 12 })).toThrow(
      /format: expected .*ptyd.*cxi.*got "tiff"[\s\S]*path: expected string, got 3[\s\S]*policy: expected .*block.*bypass.*got "drop"[\s\S]*queueBytes: expected positive integer, got 0[\s\S]*gzipLevel: expected gzip level 1-9, got 12/,
    );
  });

  it("builds a working sink: {scanId} in the path, info/ from the extras", async () => {
    const dir = tempDir("sinks-config-");
    const meta = scanMeta({ scanId: "NS/220101 042" });
    const config = decodeStorageSinkConfig({ format: "ptyd", path: path.join(dir, "{scanId}.ptyd"), policy: "block", reserveBytes: 0 });
    const summaries: SinkSummary[] = [];
    await lastValueFrom(
      scanEvents(syntheticChunks([3, 2], meta), meta, new CreditGate(2)).pipe(
        storageSink(config, { info: { noiseK: 2.5 }, onSummary: (s) => summaries.push(s) }),
        tap((e) => e.kind === "item" && e.item.ack()),
        toArray(),
      ),
    );
    const file = path.join(dir, "NS_220101_042.ptyd");
    expect(summaries[0]?.faults).toEqual([]);
    expect(summaries).toMatchObject([{ sink: "store:ptyd", path: file, framesWritten: 5 }]);
    expect(dumpH5(file)["/info/noiseK"].value).toBe(2.5);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
