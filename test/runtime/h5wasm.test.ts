import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadH5wasm } from "../../src/runtime/h5wasm";

describe("h5wasm under jest", () => {
  it("writes a small file with a resizable dataset and an attribute, and reads it back", async () => {
    const h5 = await loadH5wasm();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h5wasm-"));
    const file = path.join(dir, "small.h5");
    const writer = new h5.File(file, "w");
    const frames = writer.create_dataset({
      name: "frames",
      data: new Float32Array([1, 2, 3, 4]),
      shape: [1, 2, 2],
      maxshape: [null, 2, 2],
      chunks: [1, 2, 2],
      dtype: "<f4",
    });
    frames.resize([2, 2, 2]);
    frames.write_slice(
      [
        [1, 2],
        [0, 2],
        [0, 2],
      ],
      new Float32Array([5, 6, 7, 8]),
    );
    // h5wasm reads dtypes as struct codes and ignores the size digits of "<f8": a double is "<d".
    writer.create_attribute("energy", 800.0, null, "<d");
    writer.close();

    const reader = new h5.File(file, "r");
    const dataset = reader.get("frames") as InstanceType<typeof h5.Dataset>;
    expect(dataset.shape).toEqual([2, 2, 2]);
    expect(Array.from(dataset.value as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(reader.attrs["energy"].value).toBe(800);
    expect(reader.attrs["energy"].metadata).toMatchObject({ type: 1, size: 8 }); // H5T_FLOAT, 8 bytes: a double, not an int
    reader.close();
    fs.rmSync(dir, { recursive: true });
  });
});
