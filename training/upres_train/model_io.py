"""Loading models from runs, checkpoints and exported files; writing upres model files.

Model file = safetensors with fp32 weights (names = the fused model's state_dict keys) and the
metadata listed in docs/model-format.md. A golden file holds a fixed-seed input and the fp32
output of the same model, for the Swift engine's tests.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import torch
import yaml

from .archs import build_model
from .complexity import count_params, macs_per_pixel
from .weights_file import load_file, save_file

FORMAT_NAME = "upres-model"
FORMAT_VERSION = "1"
GOLDEN_SIZE = (13, 17)  # odd, not square, smaller than any tile: catches padding/stride bugs
GOLDEN_SEED = 20251124


def load_checkpoint(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def run_checkpoint_path(run_dir: Path, which: str = "last") -> Path:
    return Path(run_dir) / f"{which}.pt"


def model_from_checkpoint(ckpt: dict):
    model = build_model(ckpt["arch"], **ckpt["model_config"])
    model.load_state_dict(ckpt["model"])
    return model


def load_any_model(path, which: str = "last"):
    """A model (eval mode, fp32) from a run directory, a .pt checkpoint or an exported
    .safetensors file. Returns (model, info dict)."""
    path = Path(path)
    if path.is_dir():
        path = run_checkpoint_path(path, which)
    if path.suffix == ".safetensors":
        tensors, meta = load_file(path)
        if meta.get("format") != FORMAT_NAME:
            raise ValueError(f"{path}: not an upres model file (format={meta.get('format')!r})")
        model = build_model(meta["arch"], **json.loads(meta["config"]))
        model.load_state_dict(tensors)
        return model.eval(), {"metadata": meta, "path": str(path)}
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt)
    info = {k: ckpt.get(k) for k in ("iteration", "run_name", "best", "val", "elapsed_s")}
    info["path"] = str(path)
    info["config"] = ckpt.get("config")
    return model.eval(), info


def load_state_dict_any(path, which: str = "last") -> dict[str, torch.Tensor]:
    path = Path(path)
    if path.is_dir():
        path = run_checkpoint_path(path, which)
    if path.suffix == ".safetensors":
        return load_file(path)[0]
    return load_checkpoint(path)["model"]


def load_matching(model, state: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """Copy every tensor whose name and shape match (EDSR's x2 -> x3/x4 initialisation: the
    pixel-shuffle tail differs in shape and is skipped). Returns (loaded, skipped) names."""
    own = model.state_dict()
    loaded, skipped = [], []
    for name, t in state.items():
        if name in own and own[name].shape == t.shape:
            own[name].copy_(t)
            loaded.append(name)
        else:
            skipped.append(name)
    model.load_state_dict(own)
    return loaded, skipped


def receptive_field_str(model) -> str:
    rf = model.receptive_field()
    return str(rf) if rf > 0 else "global"


def export_model(model, out_path, provenance: dict, golden: bool = True,
                 extra_meta: dict[str, str] | None = None) -> dict:
    """Fold re-param blocks, write the model file (fp32) and, optionally, its golden pair
    next to it (NAME.golden.safetensors). `extra_meta`: further metadata keys (strings, e.g.
    bf16_psnr_delta_db). Returns the metadata written."""
    model = copy.deepcopy(model).float().eval().fuse()
    in_ch = model.config["in_channels"]
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "arch": model.arch_name,
        "config": json.dumps(model.config, sort_keys=True),
        "scale": str(model.scale),
        "in_channels": str(in_ch),
        "out_channels": str(model.config.get("out_channels", in_ch)),
        "color": "y-bt601-limited" if in_ch == 1 else "rgb",
        "receptive_field": receptive_field_str(model),
        "macs_per_pixel": str(round(macs_per_pixel(model, in_ch))),
        "params": str(count_params(model)),
        "provenance": json.dumps(provenance, sort_keys=True),
    }
    meta.update(extra_meta or {})
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, out_path, meta)
    if golden:
        write_golden(model, golden_path(out_path), out_path.name)
    return meta


def golden_path(model_path) -> Path:
    p = Path(model_path)
    return p.with_name(p.name.removesuffix(".safetensors") + ".golden.safetensors")


@torch.no_grad()
def write_golden(model, path, model_name: str) -> None:
    in_ch = model.config["in_channels"]
    g = torch.Generator().manual_seed(GOLDEN_SEED)
    x = torch.rand(1, in_ch, *GOLDEN_SIZE, generator=g, dtype=torch.float32)
    y = model.float().eval()(x).float()
    meta = {"format": "upres-golden", "version": FORMAT_VERSION, "model": model_name,
            "seed": str(GOLDEN_SEED), "precision": "fp32",
            "note": "input ~ U[0,1) from torch.Generator().manual_seed(seed); output = model(input)"}
    save_file({"input": x, "output": y.contiguous()}, path, meta)


def provenance_from_checkpoint(ckpt: dict) -> dict:
    cfg = ckpt.get("config") or {}
    val = ckpt.get("val") or {}
    return {
        "run": ckpt.get("run_name"),
        "iterations": ckpt.get("iteration"),
        "train_seconds": round(ckpt.get("elapsed_s", 0.0)),
        "data": {"photos": "Debian wallpaper set, training/data/prepare.py",
                 **{k: v for k, v in cfg.get("data", {}).items() if not k.endswith("_dir") and k != "cache_mb"}},
        "date": time.strftime("%Y-%m-%d", time.gmtime(ckpt.get("saved_at", time.time()))),
        "val_psnr": val.get("psnr"),
        "val_ssim": val.get("ssim"),
        "val_psnr_bicubic": val.get("bicubic_psnr"),
        "val_set": val.get("set"),
        "torch": torch.__version__,
    }


def dump_yaml(obj) -> str:
    return yaml.safe_dump(obj, sort_keys=False)
