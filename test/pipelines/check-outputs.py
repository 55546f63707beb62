"""Independent reader for the pipeline tests (Debian's python3-h5py): what PtyPy and CXI readers would see of the
.ptyd and CXI files a run left behind, as JSON: shapes, counts, units and a checksum of the frames."""
import json
import sys

import h5py
import numpy as np


def ptyd(path):
    with h5py.File(path, "r") as f:
        chunks = sorted(f["chunks"].keys(), key=int)
        data = [f["chunks"][c]["data"][()] for c in chunks]
        positions = np.concatenate([f["chunks"][c]["positions"][()] for c in chunks]) if chunks else np.zeros((0, 2))
        indices = np.concatenate([f["chunks"][c]["indices"][()] for c in chunks]) if chunks else np.zeros(0)
        meta = f["meta"]
        return {
            "chunks": len(chunks),
            "frames": int(sum(d.shape[0] for d in data)),
            "frame_shape": list(data[0].shape[1:]) if data else [],
            "sum": float(sum(d.astype(np.float64).sum() for d in data)),
            "indices_sorted": bool(np.all(np.diff(indices) > 0)),
            "positions_shape": list(positions.shape),
            "positions_dtype": str(positions.dtype),
            "num_frames": int(meta["num_frames"][()]),
            "energy_kev": float(meta["energy"][()]),
            "distance_m": float(meta["distance"][()]),
            "psize_m": float(meta["psize"][()]),
            "meta_type": meta.attrs["type"],
        }


def cxi(path):
    with h5py.File(path, "r") as f:
        entry = f["entry_1"]
        data = entry["data_1"]["data"]
        images = sorted(k for k in entry.keys() if k.startswith("image_"))
        out = {
            "frames": int(data.shape[0]),
            "frame_shape": list(data.shape[1:]),
            "sum": float(np.asarray(data[()], dtype=np.float64).sum()),
            "energy_j": float(entry["instrument_1"]["source_1"]["energy"][()]),
            "translation_shape": list(entry["sample_1"]["geometry_1"]["translation"].shape),
            "images": images,
        }
        if images:
            image = entry[images[-1]]["data"]
            out["image_shape"] = list(image.shape)
            out["image_complex"] = bool(np.iscomplexobj(image[()]))
        return out


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps(ptyd(path) if kind == "ptyd" else cxi(path)))
