"""Compares the frames two pipeline runs stored, bit for bit, with an independent reader (h5py): the .ptyd chunks
(data, indices, positions, weights when present) and the CXI data and translations. Prints a JSON verdict."""
import json
import sys

import h5py
import numpy as np


def ptyd_arrays(path):
    with h5py.File(path, "r") as f:
        chunks = sorted(f["chunks"].keys(), key=int)
        fields = sorted(f["chunks"][chunks[0]].keys()) if chunks else []
        return {name: np.concatenate([f["chunks"][c][name][()] for c in chunks]) for name in fields}


def cxi_arrays(path):
    with h5py.File(path, "r") as f:
        entry = f["entry_1"]
        return {"data": entry["data_1"]["data"][()], "translation": entry["sample_1"]["geometry_1"]["translation"][()]}


def compare(a, b):
    differing = [k for k in sorted(set(a) | set(b)) if k not in a or k not in b or a[k].dtype != b[k].dtype or a[k].tobytes() != b[k].tobytes()]
    return {"fields": sorted(a), "frames": int(a["data"].shape[0]), "differing": differing}


if __name__ == "__main__":
    kind, first, second = sys.argv[1:4]
    read = ptyd_arrays if kind == "ptyd" else cxi_arrays
    print(json.dumps(compare(read(first), read(second))))
