"""Minimal reader/writer of the safetensors format (see docs/model-format.md), with no dependency
beyond numpy/torch, so it documents exactly what the Swift reader has to handle. The tests
cross-check it against the `safetensors` package.

Layout: u64 little-endian header length N | N bytes of UTF-8 JSON (padded with spaces to a
multiple of 8) | raw little-endian tensor data. The JSON maps each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section) and
"__metadata__" to a flat {string: string} dict.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import torch

_DTYPES = {  # safetensors name -> (numpy little-endian dtype, torch dtype)
    "F32": ("<f4", torch.float32),
    "F64": ("<f8", torch.float64),
    "F16": ("<f2", torch.float16),
    "I64": ("<i8", torch.int64),
    "I32": ("<i4", torch.int32),
    "U8": ("u1", torch.uint8),
}
_TORCH_TO_NAME = {t: name for name, (_, t) in _DTYPES.items()}
MAX_HEADER = 100 * 2**20


def save_file(tensors: dict[str, torch.Tensor], path, metadata: dict[str, str] | None = None):
    """Write tensors (sorted by name, contiguous, no gaps) atomically to `path`."""
    header: dict = {}
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(v, str)]
        if bad:
            raise TypeError(f"metadata values must be strings: {bad}")
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _TORCH_TO_NAME:
            raise TypeError(f"unsupported dtype {t.dtype} for tensor '{name}'")
        dtype = _TORCH_TO_NAME[t.dtype]
        data = t.numpy().astype(_DTYPES[dtype][0], copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_file(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read every tensor and the metadata; raises ValueError on a malformed file."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors, spans = {}, []
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        np_dtype, _ = _DTYPES[dtype]
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if not 0 <= begin <= end <= len(body) or end - begin != count * np.dtype(np_dtype).itemsize:
            raise ValueError(f"{path}: tensor '{name}' has bad data_offsets {begin}..{end}")
        spans.append((begin, end))
        arr = np.frombuffer(body[begin:end], dtype=np_dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.astype(np_dtype[1:] if np_dtype[0] == "<" else np_dtype))
    spans.sort()
    for (_, e0), (b1, _) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError(f"{path}: overlapping tensors")
    return tensors, dict(metadata)
