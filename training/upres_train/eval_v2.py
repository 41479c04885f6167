"""Per-kind evaluation on the data v2 validation sets (photo / art / text, each clean and with
H.264 CRF 23 LR): Y-PSNR / SSIM of models and the bicubic / Lanczos baselines of the same LR,
and each model's gain over both. Used by `evaluate.py --v2`.

Kinds are reported separately (a mean over photos hides the weak cases); the compressed rows
compare against bicubic / Lanczos of the *compressed* LR, the HR reference is the clean
original, as in issue 13's table.
"""
from __future__ import annotations

import time

import numpy as np

from .data_v2 import load_validation_v2
from .metrics import classic_upscale, psnr_y, ssim_y


def evaluate_v2(models, root, scale: int, kinds, tags, crop=None, upscale=None,
                baselines=("bicubic", "lanczos")) -> dict:
    """models: list of (name, model). upscale(model, lr) -> sr. Returns
    {group: {"n": count, "images": [...], "methods": {name: {"psnr", "ssim", "per_image"}},
    "gain": {name: {baseline: dB}}}, "_timing": {name: seconds}}."""
    groups = load_validation_v2(root, scale, kinds, tags, crop)
    out, timing = {}, {}
    for g, items in groups.items():
        res = {m: {"psnr": [], "ssim": []} for m in list(baselines) + [n for n, _ in models]}
        for _name, lr, hr in items:
            for b in baselines:
                sr = classic_upscale(lr, scale, b)
                res[b]["psnr"].append(psnr_y(sr, hr, scale))
                res[b]["ssim"].append(ssim_y(sr, hr, scale))
            for n, m in models:
                t0 = time.monotonic()
                sr = upscale(m, lr)
                timing[n] = timing.get(n, 0.0) + time.monotonic() - t0
                res[n]["psnr"].append(psnr_y(sr, hr, scale))
                res[n]["ssim"].append(ssim_y(sr, hr, scale))
        methods = {m: {"psnr": float(np.mean(v["psnr"])), "ssim": float(np.mean(v["ssim"])),
                       "per_image": [round(p, 3) for p in v["psnr"]]} for m, v in res.items()}
        gain = {n: {b: methods[n]["psnr"] - methods[b]["psnr"] for b in baselines}
                for n, _ in models}
        out[g] = {"n": len(items), "images": [it[0] for it in items], "methods": methods,
                  "gain": gain}
    out["_timing"] = timing
    return out


def format_table(result: dict, baselines=("bicubic", "lanczos")) -> str:
    groups = [g for g in result if not g.startswith("_")]
    names = [m for m in result[groups[0]]["methods"] if m not in baselines] if groups else []
    lines = []
    head = f"{'set (n)':28s}" + "".join(f"{b:>16s}" for b in baselines)
    for n in names:
        head += f"{n[:30]:>32s}"
    lines.append(head)
    sub = f"{'':28s}" + "".join(f"{'PSNR/SSIM':>16s}" for _ in baselines)
    sub += "".join(f"{'PSNR/SSIM  +bic  +lan':>32s}" for _ in names)
    lines.append(sub)
    for g in groups:
        r = result[g]
        row = f"{g + ' (' + str(r['n']) + ')':28s}"
        for b in baselines:
            row += f"{r['methods'][b]['psnr']:>9.3f}/{r['methods'][b]['ssim']:.4f}"[-16:].rjust(16)
        for n in names:
            m = r["methods"][n]
            row += (f"{m['psnr']:.3f}/{m['ssim']:.4f} {r['gain'][n]['bicubic']:+.2f} "
                    f"{r['gain'][n]['lanczos']:+.2f}").rjust(32)
        lines.append(row)
    return "\n".join(lines)
