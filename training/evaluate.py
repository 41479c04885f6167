#!/usr/bin/env python3
"""PSNR / SSIM on Y of models and classic baselines on the validation photos (whole photos by
default; `scale` border pixels ignored), printed as a table.

    .venv/bin/python evaluate.py --scale 2                          # bicubic and lanczos only
    .venv/bin/python evaluate.py --run plain_x2_short               # + a run's last checkpoint
    .venv/bin/python evaluate.py --model exports/plain-x2.safetensors --bf16
    .venv/bin/python evaluate.py --run NAME --which best --crop 768 --json out.json

Per content kind on the data v2 validation sets (photo / art / text; clean and H.264 CRF 23
LR; gains over bicubic and over Lanczos of the same LR):
    .../python evaluate.py --v2 --run NAME --which best [--kinds photo,art] [--json out.json]
    .../python evaluate.py --v2 --model checkpoints/plain_x2_c32n8_ft/best.pt

Runs and .pt checkpoints are evaluated unfused, exported files as written (fused). --bf16 runs
the models under bf16 autocast (the issue asks bf16 within 0.05 dB of fp32).
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

from upres_train.config import train_root
from upres_train.data import load_validation
from upres_train.eval_v2 import evaluate_v2, format_table
from upres_train.metrics import classic_upscale, psnr_y, ssim_y
from upres_train.model_io import load_any_model
from upres_train.trainer import cpu_has_bf16


@torch.no_grad()
def upscale(model, lr: torch.Tensor, bf16: bool, tile: int | None, pad: int = 24) -> torch.Tensor:
    """Model output for a whole LR image, optionally in tiles of `tile` LR pixels with `pad`
    pixels of context on each side (cropped away), to bound memory on big nets."""
    def run(x):
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(x).float()
    if not tile:
        return run(lr)
    s = model.scale
    n, c, h, w = lr.shape
    out = torch.empty(n, model.out_channels, h * s, w * s)
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            y0, x0 = max(0, y - pad), max(0, x - pad)
            y1, x1 = min(h, y + tile + pad), min(w, x + tile + pad)
            sr = run(lr[:, :, y0:y1, x0:x1])
            th, tw = min(tile, h - y), min(tile, w - x)
            out[:, :, y * s:(y + th) * s, x * s:(x + tw) * s] = \
                sr[:, :, (y - y0) * s:(y - y0 + th) * s, (x - x0) * s:(x - x0 + tw) * s]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", default=[], help="run name or directory (repeatable)")
    ap.add_argument("--model", action="append", default=[], help=".safetensors or .pt (repeatable)")
    ap.add_argument("--which", default="last", choices=["last", "best"], help="checkpoint of --run")
    ap.add_argument("--scale", type=int, help="needed when no model is given")
    ap.add_argument("--channels", type=int, default=None, help="1 (Y) or 3 (RGB); default from model")
    ap.add_argument("--val-dir", default=str(train_root() / "photos" / "val"))
    ap.add_argument("--crop", type=int, default=None, help="centred HR crop side; default whole photo")
    ap.add_argument("--baselines", default="bicubic,lanczos")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--tile", type=int, default=None, help="LR tile size for big nets")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--v2", action="store_true",
                    help="per-kind data v2 validation sets (photo / art / text, clean + H.264)")
    ap.add_argument("--v2-dir", default=str(train_root() / "v2"))
    ap.add_argument("--kinds", default="photo,art,text")
    ap.add_argument("--tags", default="clean,h264-crf23-I", help="LR versions of the v2 sets")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.bf16 and not cpu_has_bf16():
        print("note: this CPU has no native bf16 (no avx512_bf16/amx_bf16): bf16 is emulated "
              "and slow; the PSNR figures are still valid", file=sys.stderr)

    models = []
    for r in args.run:
        p = Path(r) if Path(r).is_dir() else train_root() / "runs" / r
        models.append((Path(r).name, *load_any_model(p, args.which)))
    for m in args.model:
        name = Path(m).name.removesuffix(".safetensors")
        if name.endswith(".pt"):  # checkpoints/RUN/best.pt -> RUN:best
            name = f"{Path(m).parent.name}:{Path(m).stem}"
        models.append((name, *load_any_model(m)))
    scales = {m.scale for _, m, _ in models} | ({args.scale} if args.scale else set())
    if len(scales) != 1:
        ap.error(f"need exactly one scale, got {sorted(scales) or 'none'} (use --scale)")
    scale = scales.pop()
    chans = {m.config["in_channels"] for _, m, _ in models} | ({args.channels} if args.channels else set())
    if len(chans) > 1:
        ap.error("models with different input channels: evaluate them separately")
    channels = chans.pop() if chans else 1

    if args.v2:
        if channels != 1:
            ap.error("--v2 evaluates luma models only")
        baselines = tuple(b for b in args.baselines.split(",") if b)
        res = evaluate_v2([(n, m.eval()) for n, m, _ in models], args.v2_dir, scale,
                          args.kinds.split(","), args.tags.split(","), args.crop,
                          lambda m, lr: upscale(m, lr, args.bf16, args.tile), baselines)
        where = "whole images" if not args.crop else f"centred {args.crop}px crops"
        print(f"x{scale} Y-PSNR dB / SSIM on the data v2 validation sets ({where}), border {scale}; "
              f"+bic / +lan = gain over bicubic / Lanczos of the same LR")
        print(format_table(res, baselines))
        for name, secs in res["_timing"].items():
            print(f"{name}: {secs:.1f} s inference on {args.threads} thread(s)")
        if args.json:
            Path(args.json).write_text(json.dumps({"scale": scale, "bf16": args.bf16, "crop": args.crop,
                                                   "groups": res}, indent=1))
        return 0
    val = load_validation(args.val_dir, scale, channels, args.crop)
    methods = [b for b in args.baselines.split(",") if b] + [name for name, _, _ in models]
    results = {m: {} for m in methods}
    timing = {}
    for img_name, lr, hr in val:
        for b in [b for b in args.baselines.split(",") if b]:
            sr = classic_upscale(lr, scale, b)
            results[b][img_name] = (psnr_y(sr, hr, scale), ssim_y(sr, hr, scale))
        for name, model, _ in models:
            t0 = time.monotonic()
            sr = upscale(model.eval(), lr, args.bf16, args.tile)
            timing[name] = timing.get(name, 0.0) + time.monotonic() - t0
            results[name][img_name] = (psnr_y(sr, hr, scale), ssim_y(sr, hr, scale))

    names = [n for n, _, _ in val]
    width = max(len(m) for m in methods) + 2
    where = f"whole photos" if not args.crop else f"centred {args.crop}px crops"
    print(f"x{scale} {'Y' if channels == 1 else 'RGB->Y'} PSNR dB / SSIM, {len(val)} validation photos "
          f"({where}), border {scale}{', bf16' if args.bf16 else ''}")
    print(f"{'photo':44s}" + "".join(f"{m:>{width + 7}s}" for m in methods))
    for n in names:
        print(f"{n[:44]:44s}" + "".join(f"{results[m][n][0]:>{width}.3f}/{results[m][n][1]:.4f}" for m in methods))
    means = {m: (sum(v[0] for v in results[m].values()) / len(names),
                 sum(v[1] for v in results[m].values()) / len(names)) for m in methods}
    print(f"{'mean':44s}" + "".join(f"{means[m][0]:>{width}.3f}/{means[m][1]:.4f}" for m in methods))
    if "bicubic" in means:
        print(f"{'gain over bicubic (dB)':44s}" + "".join(
            f"{means[m][0] - means['bicubic'][0]:>+{width}.3f}{'':7s}" for m in methods))
    for name, secs in timing.items():
        print(f"{name}: {secs:.1f} s inference on {args.threads} thread(s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"scale": scale, "channels": channels, "bf16": args.bf16,
                                               "crop": args.crop, "per_image": results,
                                               "mean": means}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
