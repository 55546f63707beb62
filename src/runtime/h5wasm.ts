/**
 * h5wasm is ESM-only and this project is CommonJS (so `npx ts-node pipelines/cosmic.ts` runs as is). A native
 * dynamic `import()` hidden from TypeScript and ts-jest (which would rewrite it to `require`) loads it under
 * ts-node and under jest (started with --experimental-vm-modules). See ../shared/TOOLCHAIN.md.
 */
import * as v8 from "node:v8";
import type * as H5Module from "h5wasm/node" with { "resolution-mode": "import" };

export type H5 = typeof H5Module;
export type H5File = H5Module.File;
export type H5Group = H5Module.Group;
export type H5Dataset = H5Module.Dataset;

/**
 * A fresh function body per module instance: V8 caches compiled code by source text and would tie the dynamic
 * import to the first jest test environment that compiled it; from the third test file on it then fails with
 * "import after the Jest environment has been torn down".
 */
const importESM = new Function("specifier", `return import(specifier); // ${process.hrtime.bigint()}-${Math.random()}`) as (
  specifier: string,
) => Promise<{ default: H5 }>;

let loading: Promise<H5> | undefined;

/**
 * The ready h5wasm module (loaded once).
 *
 * HDF5's WebAssembly is compiled by V8's optimizing tier from each function's first call (`--no-liftoff`): under
 * the default dynamic tiering much of HDF5's per-call code stayed in the baseline tier however long a scan ran, and
 * appending measured up to 1.3x slower (bench `store-raw`). h5wasm compiles lazily, so the flag is set before the
 * import and stays set: it applies to any WebAssembly this process compiles afterwards (the FFT's too).
 */
export function loadH5wasm(): Promise<H5> {
  if (loading === undefined) v8.setFlagsFromString("--no-liftoff");
  loading ??= importESM("h5wasm/node").then(async (module) => {
    const h5 = module.default;
    await h5.ready;
    return h5;
  });
  return loading;
}
