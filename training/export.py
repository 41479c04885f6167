#!/usr/bin/env python3
"""Export a trained model to upres's weights file (safetensors, see docs/model-format.md) plus a golden
input/output pair for the Swift tests.

    .venv/bin/python export.py plain_x2_short                      # run name (or run dir / .pt)
    .venv/bin/python export.py plain_x2_short --which best --out exports/plain-x2.safetensors
    .venv/bin/python export.py --random plain --config '{"scale": 2, "channels": 32}' \
        --out exports/plain-x2-random.safetensors                  # seeded random weights

Re-parameterisable blocks are folded before writing. Output (default):
<root>/exports/NAME.safetensors and NAME.golden.safetensors beside it.

bf16 check: when the CPU computes bf16 natively (trainer.cpu_has_bf16: avx512_bf16 / amx_bf16),
the validation Y-PSNR under bf16 autocast minus fp32 is measured on the whole validation
photos (`--bf16-crop N`: centred N px HR crops instead, as the training-time validation) and
written as metadata `bf16_psnr_delta_db` (e.g. "-0.0041"), which `upres --precision auto`
reads. `--no-bf16-check` skips it; `--bf16-check force` runs it on emulated bf16 too (slow).
"""
from __future__ import annotations

import argparse
import copy
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
from upres_train.data import list_photos, load_validation
from upres_train.metrics import bf16_psnr_delta, format_delta_db
from upres_train.model_io import (export_model, golden_path, load_checkpoint,
                                  model_from_checkpoint, provenance_from_checkpoint,
                                  run_checkpoint_path)
from upres_train.trainer import cpu_has_bf16


def resolve_checkpoint(source: str, which: str) -> Path:
    p = Path(source)
    if p.suffix == ".pt" and p.exists():
        return p
    run_dir = p if p.is_dir() else train_root() / "runs" / source
    ck = run_checkpoint_path(run_dir, which)
    if not ck.exists():
        raise SystemExit(f"no checkpoint {ck}")
    return ck


def bf16_check(model, mode: str, val_dir, crop: int | None, log=print) -> dict | None:
    """The bf16-minus-fp32 validation PSNR figures, or None when skipped (mode 'skip', 'auto'
    on a CPU without native bf16, no validation photos)."""
    if mode == "skip":
        return None
    if mode == "auto" and not cpu_has_bf16():
        log("bf16 check skipped: this CPU has no native bf16 (no avx512_bf16/amx_bf16); "
            "--bf16-check force measures it on emulated bf16 (slow)")
        return None
    try:
        list_photos(val_dir)
    except FileNotFoundError:
        log(f"bf16 check skipped: no validation photos in {val_dir}")
        return None
    fused = copy.deepcopy(model).float().eval().fuse()
    val = load_validation(val_dir, fused.scale, fused.config["in_channels"], crop)
    t0 = time.monotonic()
    res = bf16_psnr_delta(fused, val, fused.scale)
    res["crop"] = crop
    log(f"bf16 check: {res['photos']} validation photos ({f'centred {crop} px crops' if crop else 'whole'}), "
        f"fp32 {res['fp32_psnr']:.4f} dB, bf16 {res['bf16_psnr']:.4f} dB, "
        f"delta {format_delta_db(res['delta_db'])} dB ({time.monotonic() - t0:.0f} s)")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", nargs="?", help="run name, run directory or .pt checkpoint")
    ap.add_argument("--which", default="last", choices=["last", "best"])
    ap.add_argument("--out", help="output .safetensors file or directory")
    ap.add_argument("--no-golden", action="store_true")
    ap.add_argument("--random", metavar="ARCH", help="export seeded random weights of ARCH")
    ap.add_argument("--config", default="{}", help="JSON constructor arguments for --random")
    ap.add_argument("--seed", type=int, default=0, help="seed for --random")
    ap.add_argument("--bf16-check", default="auto", choices=["auto", "force", "skip"],
                    help="measure bf16 - fp32 validation PSNR (auto: only on native bf16 CPUs)")
    ap.add_argument("--no-bf16-check", dest="bf16_check", action="store_const", const="skip",
                    help="same as --bf16-check skip")
    ap.add_argument("--bf16-crop", type=int, default=None,
                    help="centred HR crop side for the bf16 check (default: whole photos)")
    ap.add_argument("--val-dir", default=str(train_root() / "photos" / "val"))
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
    extra = {}
    check = bf16_check(model, args.bf16_check, args.val_dir, args.bf16_crop)
    if check is not None:
        extra["bf16_psnr_delta_db"] = format_delta_db(check["delta_db"])
        provenance = {**provenance, "bf16_check": {
            "photos": check["photos"], "crop": check["crop"],
            "fp32_psnr": round(check["fp32_psnr"], 4), "bf16_psnr": round(check["bf16_psnr"], 4)}}
    meta = export_model(model, out, provenance, golden=not args.no_golden, extra_meta=extra)
    print(f"wrote {out}")
    if not args.no_golden:
        print(f"wrote {golden_path(out)}")
    for k in ("arch", "config", "scale", "in_channels", "receptive_field", "macs_per_pixel", "params",
              "bf16_psnr_delta_db"):
        if k in meta:
            print(f"  {k}: {meta[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
