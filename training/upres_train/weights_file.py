"""Model and golden files on PyPI's `safetensors` package (layout: docs/model-format.md).

What this adds to the package: writes are atomic (temporary file, fsync, rename), metadata values
must be strings (the Swift reader's rule), and every malformed file raises ValueError naming it.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as _serialize


def save_file(tensors: dict[str, torch.Tensor], path, metadata: dict[str, str] | None = None):
    """Write tensors (contiguous, on the CPU) and string metadata atomically to `path`."""
    bad = [k for k, v in (metadata or {}).items() if not isinstance(v, str)]
    if bad:
        raise TypeError(f"metadata values must be strings: {bad}")
    data = _serialize({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
                      metadata=dict(metadata) if metadata else None)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_file(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read every tensor and the metadata; raises ValueError naming the file when it is malformed."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except SafetensorError as e:
        raise ValueError(f"{path}: not a valid safetensors file ({e})") from None
    return tensors, dict(metadata)
