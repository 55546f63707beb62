"""Independent reader for the sink tests: dumps every group, dataset, attribute and soft link of an HDF5 file
as JSON (h5py, Debian's python3-h5py). Complex values become [re, im] pairs; bytes become str."""
import json
import sys

import h5py
import numpy as np


def plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return np.stack([value.real, value.imag], axis=-1).tolist()
        if value.dtype.kind in "SO":
            return [plain(v) for v in value.ravel().tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        if np.iscomplexobj(value):
            return [float(value.real), float(value.imag)]
        return value.item()
    return value


def describe_attrs(node):
    return {name: {"value": plain(node.attrs[name]), "dtype": str(node.attrs[name].dtype) if hasattr(node.attrs[name], "dtype") else type(node.attrs[name]).__name__} for name in node.attrs}


def walk(group, prefix, out):
    for name in group:
        path = f"{prefix}/{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.SoftLink):
            out[path] = {"kind": "softlink", "target": link.path}
            continue
        node = group[name]
        if isinstance(node, h5py.Group):
            out[path] = {"kind": "group", "attrs": describe_attrs(node)}
            walk(node, path, out)
        else:
            out[path] = {
                "kind": "dataset",
                "dtype": str(node.dtype),
                "shape": list(node.shape),
                "maxshape": [(-1 if d is None else d) for d in (node.maxshape or [])],
                "compression": node.compression,
                "value": plain(node[()]),
                "attrs": describe_attrs(node),
            }


with h5py.File(sys.argv[1], "r") as f:
    out = {"/": {"kind": "group", "attrs": describe_attrs(f)}}
    walk(f, "", out)
json.dump(out, sys.stdout)
