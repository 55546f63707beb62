"""Baseline for bench/store.bench.ts: h5py writing the same CXI layout as src/sinks/cxi-writer.ts (same HDF5
chunking: one pipeline chunk of processed frames, one raw frame, one chunk of translation rows), appending the same bytes a
chunk per resize + write with a flush after each chunk. Prints {"mbPerS": ..., "seconds": ...}; the
time covers open to close (interpreter start-up and imports excluded)."""
import json
import sys
import time

import h5py
import numpy as np

mode, path, source, frames, rows, cols, per_call, compression = sys.argv[1:9]
frames, rows, cols, per_call = int(frames), int(rows), int(cols), int(per_call)
dtype = np.uint16 if mode == "raw" else np.float32
data = np.fromfile(source, dtype=dtype).reshape(-1, rows, cols)
filters = {"compression": "gzip", "compression_opts": 1} if compression == "gzip" else {}


def write_ptyd():
    """The .ptyd layout of src/sinks/ptyd-writer.ts: meta/, info/, chunks/<n>/{data, indices, positions, weights}."""
    vlen = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        for key in ("h5rw_version", "ctime", "mtime"):
            f.attrs[key] = "0.1"
        meta = f.create_group("meta")
        meta.attrs["type"] = "dict"
        for key, value in {"version": 0.1, "energy": 0.8, "distance": 0.121, "psize": 30e-6}.items():
            meta[key] = np.float64(value)
            meta[key].attrs["type"] = "scalar"
        meta["label"] = np.array("bench", dtype=vlen)
        meta["label"].attrs["type"] = "string"
        meta["shape"] = np.array([rows, cols])
        meta["shape"].attrs["type"] = "array"
        f.create_group("info").attrs["type"] = "dict"
        chunks = f.create_group("chunks")
        chunks.attrs["type"] = "dict"
        written = 0
        n = 0
        while written < frames:
            count = min(per_call, frames - written)
            group = chunks.create_group(str(n))
            group.attrs["type"] = "dict"
            arrays = {
                "data": data[written:written + count],
                "indices": np.arange(written, written + count, dtype=np.int32),
                "positions": np.zeros((count, 2)),
                "weights": np.ones((count, rows, cols), dtype=np.uint8),
            }
            for key, value in arrays.items():
                group.create_dataset(key, data=value, **filters)
                group[key].attrs["type"] = "array"
            f.flush()
            written += count
            n += 1


start = time.perf_counter()
if mode == "ptyd":
    write_ptyd()
    seconds = time.perf_counter() - start
    print(json.dumps({"mbPerS": frames * rows * cols * data.itemsize / seconds / 1e6, "seconds": seconds}))
    sys.exit(0)
with h5py.File(path, "w") as f:
    f.create_dataset("cxi_version", data=np.int32(140))
    entry = f.create_group("entry_1")
    entry["start_time"] = "2026-01-01T00:00:00Z"
    instrument = entry.create_group("instrument_1")
    instrument.create_group("source_1")["energy"] = np.float64(800 * 1.602176634e-19)
    detector = instrument.create_group("detector_1")
    processed_shape = (rows, cols) if mode != "raw" else (8, 8)
    frames_ds = detector.create_dataset("data", shape=(0,) + processed_shape, maxshape=(None,) + processed_shape, chunks=(per_call,) + processed_shape, dtype=np.float32, **filters)
    detector["distance"] = np.float64(0.121)
    detector["x_pixel_size"] = np.float64(30e-6)
    detector["y_pixel_size"] = np.float64(30e-6)
    geometry = entry.create_group("sample_1").create_group("geometry_1")
    translation = geometry.create_dataset("translation", shape=(0, 3), maxshape=(None, 3), chunks=(per_call, 3), dtype=np.float64)
    detector["translation"] = h5py.SoftLink("/entry_1/sample_1/geometry_1/translation")
    data_1 = entry.create_group("data_1")
    data_1["data"] = h5py.SoftLink("/entry_1/instrument_1/detector_1/data")
    data_1["translation"] = h5py.SoftLink("/entry_1/sample_1/geometry_1/translation")
    target = frames_ds
    if mode == "raw":
        raw = instrument.create_group("detector_2")
        target = raw.create_dataset("data", shape=(0, rows, cols), maxshape=(None, rows, cols), chunks=(1, rows, cols), dtype=np.uint16, **filters)
        raw.create_dataset("data_dark", shape=(0, rows, cols), maxshape=(None, rows, cols), chunks=(1, rows, cols), dtype=np.uint16, **filters)
    written = 0
    while written < frames:
        n = min(per_call, frames - written)
        block = data[written:written + n]
        target.resize(written + n, axis=0)
        target[written:written + n] = block
        if mode != "raw":
            translation.resize(written + n, axis=0)
            translation[written:written + n] = np.zeros((n, 3))
        f.flush()
        written += n
seconds = time.perf_counter() - start
print(json.dumps({"mbPerS": frames * rows * cols * data.itemsize / seconds / 1e6, "seconds": seconds}))
