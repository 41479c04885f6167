"""Experiment configuration: one YAML per experiment, merged over DEFAULTS.

Paths default to $UPRES_TRAIN_ROOT (or /var/tmp/upres-train): photos/{train,val}, runs/.
The run name defaults to the YAML file's stem.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml


def train_root() -> Path:
    return Path(os.environ.get("UPRES_TRAIN_ROOT", "/var/tmp/upres-train"))


DEFAULTS = {
    "name": None,
    "runs_dir": None,             # default: <root>/runs; the run lives in runs_dir/name
    "seed": 0,
    "scale": 2,
    "model": {"arch": "plain"},   # constructor arguments; scale and in_channels come from above
    "data": {
        "train_dir": None,        # default: <root>/photos/train
        "val_dir": None,          # default: <root>/photos/val
        "channels": 1,            # 1 = luma (Y), 3 = RGB
        "lr_patch": 64,
        "batch_size": 16,
        "jpeg_prob": 0.0,         # share of LR patches passed through JPEG
        "jpeg_quality": [60, 95],
        "cache_mb": 1024,
        # data v2 (data/prepare_v2.py): source v2 draws kinds / degradations by these weights
        "source": "photos",       # photos (v1 sampler above) | v2
        "v2_dir": None,           # default: <root>/v2
        "kinds": None,            # {photo: w, art: w, text: w}; null = equal (not merged
        "mix": None,              #   key by key): clean / jpeg / h264 / hevc / mpeg2 shares,
        "mix_per_kind": None,     #   null = clean only; kind -> mix overrides `mix` per kind
        "val_tags": ["clean", "h264-crf23-I"],  # LR versions of the v2 validation sets
    },
    "train": {
        "iters": 50000,
        "lr": 1.0e-3,
        "lr_min": 1.0e-6,         # cosine decay from lr to lr_min over `iters`
        "warmup_iters": 0,
        "betas": [0.9, 0.999],
        "weight_decay": 0.0,
        "grad_clip": 0.0,         # 0 = off
        "bf16": "auto",           # bf16 autocast: ~2x faster with AVX512-BF16, ~10x slower
                                  # without it; auto = on only if the CPU has it
        "channels_last": True,
        "threads": 1,
        "log_every": 50,
    },
    "val": {"every_iters": 1000, "crop": 768},   # crop: centred HR crop side; null = whole photo
    "checkpoint": {"every_minutes": 5.0, "every_iters": 0},
    "distill": {"teacher": None, "weight": 0.5},  # loss = (1-w) L1(sr, hr) + w L1(sr, teacher)
    "init_from": None,            # run dir / .pt / .safetensors: copy matching tensors at start
}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def resolve(cfg: dict, name: str | None = None) -> dict:
    """Fill defaults and derived paths. Unknown top-level keys are an error (typo guard)."""
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    out = _merge(DEFAULTS, cfg)
    for section in ("data", "train", "val", "checkpoint", "distill"):
        bad = set(out[section]) - set(DEFAULTS[section])
        if bad:
            raise ValueError(f"unknown keys in '{section}': {sorted(bad)}")
    out["name"] = out["name"] or name
    if not out["name"]:
        raise ValueError("the config needs a name")
    root = train_root()
    out["runs_dir"] = str(out["runs_dir"] or root / "runs")
    out["data"]["train_dir"] = str(out["data"]["train_dir"] or root / "photos" / "train")
    out["data"]["val_dir"] = str(out["data"]["val_dir"] or root / "photos" / "val")
    out["data"]["v2_dir"] = str(out["data"]["v2_dir"] or root / "v2")
    if out["data"]["source"] not in ("photos", "v2"):
        raise ValueError(f"data.source must be 'photos' or 'v2', got {out['data']['source']!r}")
    return out


def load_config(path, overrides: dict | None = None) -> dict:
    path = Path(path)
    with open(path) as f:
        cfg = yaml.safe_load(f) or {}
    cfg = _merge(cfg, overrides or {})
    return resolve(cfg, name=path.stem)


def model_args(cfg: dict) -> tuple[str, dict]:
    """(arch, constructor kwargs) from a resolved config."""
    m = dict(cfg["model"])
    arch = m.pop("arch")
    m.setdefault("scale", cfg["scale"])
    m.setdefault("in_channels", cfg["data"]["channels"])
    return arch, m
