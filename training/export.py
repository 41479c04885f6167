#!/usr/bin/env python3
"""Export a trained model to upres's weights file (safetensors, see docs/model-format.md) plus a golden
input/output pair for the Swift tests.

    .venv/bin/python export.py plain_x2_short                      # run name (or run dir / .pt)
    .venv/bin/python export.py plain_x2_short --which best --out exports/plain-x2.safetensors
    .venv/bin/python export.py --random plain --config '{"scale": 2, "channels": 32}' \
        --out exports/plain-x2-random.safetensors                  # seeded random weights

Re-parameterisable blocks are folded before writing. Output (default):
<root>/exports/NAME.safetensors and NAME.golden.safetensors beside it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from upres_train.runtime import reexec_with_malloc_env

if __name__ == "__main__":
    reexec_with_malloc_env()  # before torch is loaded, see upres_train/runtime.py

import torch

from upres_train.archs import build_model
from upres_train.config import train_root
from upres_train.model_io import (export_model, golden_path, load_checkpoint,
                                  model_from_checkpoint, provenance_from_checkpoint,
                                  run_checkpoint_path)


def resolve_checkpoint(source: str, which: str) -> Path:
    p = Path(source)
    if p.suffix == ".pt" and p.exists():
        return p
    run_dir = p if p.is_dir() else train_root() / "runs" / source
    ck = run_checkpoint_path(run_dir, which)
    if not ck.exists():
        raise SystemExit(f"no checkpoint {ck}")
    return ck


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", nargs="?", help="run name, run directory or .pt checkpoint")
    ap.add_argument("--which", default="last", choices=["last", "best"])
    ap.add_argument("--out", help="output .safetensors file or directory")
    ap.add_argument("--no-golden", action="store_true")
    ap.add_argument("--random", metavar="ARCH", help="export seeded random weights of ARCH")
    ap.add_argument("--config", default="{}", help="JSON constructor arguments for --random")
    ap.add_argument("--seed", type=int, default=0, help="seed for --random")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    if args.random:
        torch.manual_seed(args.seed)
        model = build_model(args.random, **json.loads(args.config))
        name = f"{args.random}-x{model.scale}-random"
        provenance = {"run": None, "iterations": 0, "data": "none: seeded random weights",
                      "seed": args.seed, "date": time.strftime("%Y-%m-%d"),
                      "val_psnr": None, "torch": torch.__version__}
    elif args.source:
        ck = load_checkpoint(resolve_checkpoint(args.source, args.which))
        model = model_from_checkpoint(ck)
        name = ck["run_name"] + ("" if args.which == "last" else "-best")
        provenance = provenance_from_checkpoint(ck)
    else:
        ap.error("give a run (or --random ARCH)")

    out = Path(args.out) if args.out else train_root() / "exports"
    if out.suffix != ".safetensors":
        out = out / f"{name}.safetensors"
    meta = export_model(model, out, provenance, golden=not args.no_golden)
    print(f"wrote {out}")
    if not args.no_golden:
        print(f"wrote {golden_path(out)}")
    for k in ("arch", "config", "scale", "in_channels", "receptive_field", "macs_per_pixel", "params"):
        print(f"  {k}: {meta[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
