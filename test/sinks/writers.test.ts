/**
 * The `.ptyd` and CXI writers, read back by an independent reader (python3-h5py): every dataset and attribute,
 * values, dtypes, shapes and PtyPy's h5rw `type` attributes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Chunk } from "../../src/model/scan";
import { JOULES_PER_EV } from "../../src/sinks/chunk-writer";
import { CxiWriter, appendCxiImage } from "../../src/sinks/cxi-writer";
import { PtydWriter } from "../../src/sinks/ptyd-writer";
import { DumpedNode, dumpH5, nested, scanMeta, syntheticChunks, tempDir } from "./fixtures";

const meta = scanMeta();
const chunks = syntheticChunks([4, 4, 2], meta);
const info = {
  noiseK: 3,
  floorPhotons: 0.5,
  subtractDarks: true,
  orientation: null,
  detectorCentreYX: [480.5, 512.25],
  exposures: ["short", "long"],
  layout: { channels: 96, flip: "rot180" },
  "bin/factor": 2,
};

let dir: string;
beforeAll(() => {
  dir = tempDir("sinks-writers-");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const typeOf = (node: DumpedNode | undefined) => node?.attrs?.type?.value;
const frameShape = (chunk: Chunk) => [chunk.count, chunk.rows, chunk.cols];

describe("PtydWriter", () => {
  it("writes meta, info and chunks exactly as PtyPy's h5rw lays them out", async () => {
    const file = path.join(dir, "scan.ptyd");
    const writer = await PtydWriter.open({ path: file, info }, meta);
    chunks.forEach((chunk) => writer.append(chunk));
    writer.close();
    const dump = dumpH5(file);

    expect(dump["/"].attrs?.h5rw_version.value).toBe("0.1");
    expect(typeof dump["/"].attrs?.ctime.value).toBe("string");
    for (const group of ["/meta", "/info", "/chunks", "/chunks/0", "/chunks/1", "/chunks/2", "/info/layout"]) {
      expect(dump[group].kind).toBe("group");
      expect(typeOf(dump[group])).toBe("dict");
    }
    // h5rw compares `attrs['type'] == 'dict'`: true only when h5py returns a Python str (variable-length string);
    // a fixed-length string attribute comes back as numpy bytes and would not compare equal
    expect(dump["/meta"].attrs?.type.dtype).toBe("str");

    const scalar = (name: string, value: number, dtype: string) => {
      const node = dump[`/meta/${name}`];
      expect({ name, kind: node.kind, shape: node.shape, dtype: node.dtype, type: typeOf(node) }).toEqual({ name, kind: "dataset", shape: [], dtype, type: "scalar" });
      expect(node.value).toBeCloseTo(value, 15);
    };
    scalar("version", 0.1, "float64");
    scalar("energy", 0.8, "float64"); // keV
    scalar("distance", 0.121, "float64");
    scalar("psize", 30e-6, "float64");
    scalar("num_frames", 10, "int64");
    expect(dump["/meta/label"]).toMatchObject({ shape: [], value: "scan-007", attrs: { type: { value: "string" } } });
    expect(dump["/meta/propagation"]).toMatchObject({ shape: [], value: "farfield", attrs: { type: { value: "string" } } });
    expect(dump["/meta/shape"]).toMatchObject({ dtype: "int64", shape: [2], value: [8, 8], attrs: { type: { value: "array" } } });
    expect(dump["/meta/center"]).toMatchObject({ dtype: "float64", shape: [2], value: [4, 4], attrs: { type: { value: "array" } } });

    expect(dump["/info/noiseK"]).toMatchObject({ dtype: "int64", shape: [], value: 3, attrs: { type: { value: "scalar" } } });
    expect(dump["/info/floorPhotons"]).toMatchObject({ dtype: "float64", value: 0.5, attrs: { type: { value: "scalar" } } });
    expect(dump["/info/subtractDarks"]).toMatchObject({ value: 1, attrs: { type: { value: "scalar" } } });
    expect(dump["/info/orientation"]).toMatchObject({ attrs: { type: { value: "None" } } });
    expect(dump["/info/detectorCentreYX"]).toMatchObject({ dtype: "float64", value: [480.5, 512.25], attrs: { type: { value: "arraylist" } } });
    expect(typeOf(dump["/info/exposures"])).toBe("list");
    expect(dump["/info/exposures/00000"].value).toBe("short");
    expect(dump["/info/exposures/00001"].value).toBe("long");
    expect(dump["/info/layout/channels"].value).toBe(96);
    expect(dump["/info/layout/flip"].value).toBe("rot180");
    expect(dump["/info/bin_SLASH_factor"]).toMatchObject({ value: 2, attrs: { escaped: { value: "1" } } });

    chunks.forEach((chunk, n) => {
      const at = `/chunks/${n}`;
      expect(dump[`${at}/data`]).toMatchObject({ dtype: "float32", shape: frameShape(chunk), attrs: { type: { value: "array" } } });
      expect(dump[`${at}/data`].value).toEqual(nested(chunk.data, frameShape(chunk)));
      expect(dump[`${at}/weights`]).toMatchObject({ dtype: "uint8", shape: frameShape(chunk), value: nested(chunk.weights, frameShape(chunk)) });
      expect(dump[`${at}/indices`]).toMatchObject({ dtype: "int32", shape: [chunk.count], value: Array.from(chunk.indices) });
      expect(dump[`${at}/positions`]).toMatchObject({ dtype: "float64", shape: [chunk.count, 2], value: nested(chunk.positionsYX, [chunk.count, 2]) });
      for (const name of ["indices", "positions", "weights"]) expect(typeOf(dump[`${at}/${name}`])).toBe("array");
    });

    const expectedPaths = [
      "/", "/meta", "/info", "/chunks",
      ...["version", "label", "shape", "energy", "distance", "center", "psize", "propagation", "num_frames"].map((k) => `/meta/${k}`),
      ...chunks.flatMap((_, n) => [`/chunks/${n}`, ...["data", "indices", "positions", "weights"].map((k) => `/chunks/${n}/${k}`)]),
    ];
    expect(Object.keys(dump).filter((p) => !p.startsWith("/info/")).sort()).toEqual(expectedPaths.sort());
    expect(writer.bytesWritten).toBe(chunks.reduce((s, c) => s + c.data.byteLength + c.weights.byteLength + c.positionsYX.byteLength + c.indices.byteLength, 0));
  });

  it("names an unwritable location in its error", async () => {
    const blocker = path.join(dir, "a-file");
    fs.writeFileSync(blocker, "not a directory");
    const target = path.join(blocker, "scan.ptyd");
    await expect(PtydWriter.open({ path: target }, meta)).rejects.toThrow(target);
  });

  it("replaces an existing file with a new one instead of truncating it (a reader of the old one keeps it)", async () => {
    const file = path.join(dir, "again.ptyd");
    fs.writeFileSync(file, "an older scan");
    const oldReader = fs.openSync(file, "r");
    const oldInode = fs.fstatSync(oldReader).ino;
    const writer = await PtydWriter.open({ path: file }, meta);
    chunks.forEach((chunk) => writer.append(chunk));
    writer.close();
    expect(fs.statSync(file).ino).not.toBe(oldInode);
    expect(fs.readFileSync(oldReader, "utf8")).toBe("an older scan");
    fs.closeSync(oldReader);
    expect(dumpH5(file)["/meta/num_frames"]).toMatchObject({ value: chunks.reduce((s, c) => s + c.count, 0) });
  });

  it("writes through a symlink at the path: the link stays, its target gets the file", async () => {
    const target = path.join(dir, "elsewhere.ptyd");
    const link = path.join(dir, "linked.ptyd");
    fs.writeFileSync(target, "an older scan");
    fs.symlinkSync(target, link);
    const writer = await PtydWriter.open({ path: link }, meta);
    chunks.forEach((chunk) => writer.append(chunk));
    writer.close();
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(dumpH5(target)["/meta/num_frames"]).toMatchObject({ value: chunks.reduce((s, c) => s + c.count, 0) });
  });
});

describe("CxiWriter", () => {
  it("writes frames, translations (x, y, z), energy in J, geometry and the data_1 links, and appends images", async () => {
    const file = path.join(dir, "scan.cxi");
    const writer = await CxiWriter.open({ path: file, rawFrameShape: [6, 5] }, meta);
    chunks.forEach((chunk) => writer.append(chunk));
    const raw = Uint16Array.from({ length: 3 * 30 }, (_, i) => (i * 37) % 65536);
    writer.appendRaw(raw.subarray(0, 60), 2);
    writer.appendRaw(raw.subarray(60), 1);
    writer.appendDarks(Uint16Array.from({ length: 30 }, (_, i) => 100 + i), 1);
    const object = { rows: 2, cols: 3, data: Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1) };
    const probe = { rows: 2, cols: 2, data: Float32Array.from({ length: 8 }, (_, i) => 10 - i) };
    expect(writer.writeImage({ object, probe, objectPixelSizeM: [12e-9, 13e-9], iteration: 50, error: 0.125 })).toBe("/entry_1/image_1");
    writer.close();
    expect(await appendCxiImage(file, { object, probe, objectPixelSizeM: [12e-9, 12e-9] })).toBe("/entry_1/image_2");
    const dump = dumpH5(file);

    const all = (arrays: ArrayLike<number>[]) => arrays.flatMap((a) => Array.from(a));
    const frames = chunks.reduce((s, c) => s + c.count, 0);
    expect(dump["/cxi_version"]).toMatchObject({ dtype: "int32", shape: [], value: 140 });
    expect(Date.parse(dump["/entry_1/start_time"].value as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(dump["/entry_1/instrument_1/source_1/energy"]).toMatchObject({ dtype: "float64", shape: [] });
    expect(dump["/entry_1/instrument_1/source_1/energy"].value).toBeCloseTo(800 * JOULES_PER_EV, 30);
    const detector = "/entry_1/instrument_1/detector_1";
    expect(dump[`${detector}/data`]).toMatchObject({ dtype: "float32", shape: [frames, 8, 8], maxshape: [-1, 8, 8] });
    expect(dump[`${detector}/data`].value).toEqual(nested(all(chunks.map((c) => c.data)), [frames, 8, 8]));
    expect(dump[`${detector}/distance`]).toMatchObject({ dtype: "float64", shape: [], value: 0.121 });
    expect(dump[`${detector}/x_pixel_size`]).toMatchObject({ dtype: "float64", shape: [], value: 30e-6 });
    expect(dump[`${detector}/y_pixel_size`]).toMatchObject({ dtype: "float64", shape: [], value: 30e-6 });
    const translations = chunks.flatMap((c) => Array.from({ length: c.count }, (_, i) => [c.positionsYX[2 * i + 1], c.positionsYX[2 * i], 0]));
    expect(dump["/entry_1/sample_1/geometry_1/translation"]).toMatchObject({ dtype: "float64", shape: [frames, 3], maxshape: [-1, 3], value: translations });
    expect(dump[`${detector}/translation`]).toEqual({ kind: "softlink", target: "/entry_1/sample_1/geometry_1/translation" });
    expect(dump["/entry_1/data_1/data"]).toEqual({ kind: "softlink", target: `${detector}/data` });
    expect(dump["/entry_1/data_1/translation"]).toEqual({ kind: "softlink", target: "/entry_1/sample_1/geometry_1/translation" });
    expect(dump["/entry_1/instrument_1/detector_2/data"]).toMatchObject({ dtype: "uint16", shape: [3, 6, 5], maxshape: [-1, 6, 5], value: nested(raw, [3, 6, 5]) });
    expect(dump["/entry_1/instrument_1/detector_2/data_dark"]).toMatchObject({ dtype: "uint16", shape: [1, 6, 5] });
    expect(dump["/entry_1/instrument_1/detector_2/data_dark"].value).toEqual(nested(Array.from({ length: 30 }, (_, i) => 100 + i), [1, 6, 5]));

    const complexPairs = (data: Float32Array, shape: number[]) => nested(Array.from({ length: data.length / 2 }, (_, k) => [data[2 * k], data[2 * k + 1]]) as unknown as number[], shape);
    for (const k of [1, 2]) {
      const image = `/entry_1/image_${k}`;
      expect(dump[`${image}/data`]).toMatchObject({ dtype: "complex64", shape: [2, 3], value: complexPairs(object.data, [2, 3]) });
      expect(dump[`${image}/probe`]).toMatchObject({ dtype: "complex64", shape: [2, 2], value: complexPairs(probe.data, [2, 2]) });
      expect(dump[`${image}/y_pixel_size`]).toMatchObject({ dtype: "float64", value: 12e-9 });
      expect(dump[`${image}/data_type`].value).toBe("object");
    }
    expect(dump["/entry_1/image_1/x_pixel_size"].value).toBe(13e-9);
    expect(dump["/entry_1/image_1/iteration"]).toMatchObject({ dtype: "int32", value: 50 });
    expect(dump["/entry_1/image_1/error"]).toMatchObject({ dtype: "float64", value: 0.125 });
    expect(dump["/entry_1/image_2/iteration"]).toBeUndefined();
  });

  it("compresses frames with gzip when asked, values unchanged", async () => {
    const file = path.join(dir, "gzip.cxi");
    const writer = await CxiWriter.open({ path: file, compression: { kind: "gzip", level: 1 } }, meta);
    chunks.forEach((chunk) => writer.append(chunk));
    writer.close();
    const dump = dumpH5(file);
    expect(dump["/entry_1/instrument_1/detector_1/data"].compression).toBe("gzip");
    expect(dump["/entry_1/instrument_1/detector_1/data"].value).toEqual(nested(chunks.flatMap((c) => Array.from(c.data)), [10, 8, 8]));
  });
});
