#!/usr/bin/env python3
"""Learned tile classifier for a routed family (ClassSR: the classifier is trained with the
branches frozen). Instead of class labels it regresses, per LR tile, how much more squared
error (8-bit units, per HR pixel) each cheap option makes than the hard branch:

    d_flat, d_easy, d_medium = mean over the tile of (err_option - err_hard)

Routing then picks, per tile, the option with the least  d_c * pixels + lambda * MACs_c
(d_hard = 0): one exchange rate lambda between error and multiply-adds, calibrated on the
training photos for a MAC budget. Mean pooling fits the target: a tile's error difference is
the mean of per-pixel differences, so texture that needs the hard branch counts wherever it is
in the tile (a mean gradient misses a few strong edges on smooth ground).

1. Training photos, each clean, through JPEG (quality 50-90) and through H.264 (one intra
   frame, crf 18-28): each branch (frozen) and
   Lanczos upscale every photo; per-pixel error differences, summed over each LR pixel's
   s x s block, are cached (npz).
2. The classifier trains on random tile crops of those photos (random dihedral transforms).
3. lambda is searched on the training photos' tile grid for --budget; validation photos
   report PSNR / MAC ratio against the gradient routing and the per-tile oracle, clean and
   through H.264 crf 23.
4. --out writes the classifier (.safetensors, golden pair beside it).

    .venv/bin/python train_classifier.py --family /var/tmp/upres-train/exports/x4 --scale 4 \
        --out /var/tmp/upres-train/exports/x4/upres-x4-classifier.safetensors
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from upres_train.runtime import reexec_with_malloc_env

if __name__ == "__main__":
    reexec_with_malloc_env()

import numpy as np
import torch

import calibrate as C
from upres_train.archs.classifier_arch import TileClassifier
from upres_train.config import train_root
from upres_train.data import jpeg_roundtrip, list_photos, load_validation
from upres_train.metrics import classic_upscale
from upres_train.model_io import export_model, golden_path, write_golden, load_any_model
from upres_train.routing import (frame_statistics, frame_tiles, oracle_routing, psnr_from_sse,
                                 quantized_255, tiled_upscale, classify,
                                 classifier_routing_metadata, write_routing)

OPTIONS = ("flat", "easy", "medium", "hard")
JPEG_QUALITY = (50, 90)   # the compressed copies of each training photo
H264_CRF = (18, 28)


def h264_roundtrip(img: np.ndarray, crf: int) -> np.ndarray:
    """uint8 H x W luma through libx264 (one intra frame, 4:2:0 with neutral chroma, `crf`,
    preset medium) and back: the blocking and flattening of real footage, which JPEG does not
    reproduce. Odd sizes are padded by edge repetition and cropped back."""
    import subprocess
    import tempfile
    h, w = img.shape
    ph, pw = h + (h & 1), w + (w & 1)
    pad = np.pad(img, ((0, ph - h), (0, pw - w)), mode="edge")
    yuv = np.concatenate([pad.ravel(), np.full(ph * pw // 2, 128, np.uint8)])
    with tempfile.TemporaryDirectory() as d:
        enc = Path(d) / "a.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{pw}x{ph}",
                        "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", str(crf), str(enc)],
                       input=yuv.tobytes(), check=True)
        # The Y plane as coded (yuv420p out: no range conversion, unlike gray)
        out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(enc), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                             capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8)[:ph * pw].reshape(ph, pw)[:h, :w].copy()


def branch_paths(family: Path, scale: int) -> dict:
    hard = family / "hard.safetensors"
    if not hard.exists():
        hard = family / f"upres-x{scale}.safetensors"
    return {"easy": family / f"upres-x{scale}-easy.safetensors",
            "medium": family / f"upres-x{scale}-medium.safetensors", "hard": hard}


@torch.no_grad()
def error_maps(lr8, lr, hr, branches, scale, margin):
    """LR-resolution maps (3 x h x w) of sum over each s x s HR block of err_c - err_hard, for
    c = flat, easy, medium."""
    tiles = frame_tiles(lr8.shape[1], lr8.shape[0], 256)
    hr255 = hr[0, 0].double().numpy() * 255.0
    outs = [quantized_255(classic_upscale(lr, scale, "lanczos"))]
    for b in ("easy", "medium", "hard"):
        outs.append(quantized_255(tiled_upscale(branches[b]["model"], lr8, tiles, margin)))
    errs = [(o - hr255) ** 2 for o in outs]
    h, w = lr8.shape

    def pool(e):
        return e[:h * scale, :w * scale].reshape(h, scale, w, scale).sum(axis=(1, 3))
    hard = pool(errs[3])
    return np.stack([pool(e) - hard for e in errs[:3]]).astype(np.float32)


def build_maps(photos, branches, scale, margin, cache: Path, log):
    key = json.dumps({"scale": scale, "margin": margin, "jpeg": JPEG_QUALITY, "h264": H264_CRF, "models": {b: branches[b]["digest"] for b in branches},
                      "photos": [[p.name, p.stat().st_size] for p in photos]}, sort_keys=True)
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        if str(z["key"]) == key:
            log(f"error maps: {cache}")
            return list(z["lr"]), list(z["delta"])
    lrs, deltas = [], []
    rng = np.random.default_rng(1234)
    for i, p in enumerate(photos):
        t0 = time.monotonic()
        lr8, lr, hr = C.load_pair(p, scale)
        # Clean LR and LR through JPEG (like the branches' training data and like real,
        # compressed footage: there the branches also remove blocking and Lanczos does not).
        q = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        crf = int(rng.integers(H264_CRF[0], H264_CRF[1] + 1))
        for x8 in (lr8, jpeg_roundtrip(lr8, q), h264_roundtrip(lr8, crf)):
            d = error_maps(x8, torch.from_numpy(x8.astype(np.float32) / 255.0)[None, None], hr, branches, scale, margin)
            lrs.append(x8)
            deltas.append(d)
        log(f"  [{i + 1}/{len(photos)}] {p.name}: {lr8.shape[1]}x{lr8.shape[0]} LR, clean, JPEG q{q}, H.264 crf {crf}, "
            f"{time.monotonic() - t0:.1f} s")
    cache.parent.mkdir(parents=True, exist_ok=True)
    def objects(xs):
        a = np.empty(len(xs), dtype=object)
        for i, x in enumerate(xs):
            a[i] = x
        return a
    np.savez(cache, key=key, lr=objects(lrs), delta=objects(deltas))
    return lrs, deltas


def sample_batch(rng, lrs, deltas, tile, batch, scale):
    xs, ys = [], []
    for _ in range(batch):
        i = rng.integers(len(lrs))
        lr8, d = lrs[i], deltas[i]
        h, w = lr8.shape
        th, tw = min(tile, h), min(tile, w)
        y0, x0 = rng.integers(0, h - th + 1), rng.integers(0, w - tw + 1)
        x = lr8[y0:y0 + th, x0:x0 + tw].astype(np.float32) / 255.0
        k = rng.integers(8)
        x = np.rot90(x, k % 4)
        if k >= 4:
            x = x[:, ::-1]
        xs.append(np.ascontiguousarray(x))
        ys.append(d[:, y0:y0 + th, x0:x0 + tw].sum(axis=(1, 2)) / (th * tw * scale * scale))
    return torch.from_numpy(np.stack(xs))[:, None], torch.from_numpy(np.stack(ys).astype(np.float32))


@torch.no_grad()
def predict(model, lr8, tiles):
    x = torch.from_numpy(np.stack([lr8[t.y:t.y + t.h, t.x:t.x + t.w].astype(np.float32) / 255.0
                                   for t in tiles]))[:, None]
    return model(x).double().numpy()


def route(pred, pixels, macs, lam):
    """Option index per tile minimising predicted extra SSE + lam * MACs (hard: 0 extra)."""
    cost = np.concatenate([pred, np.zeros((len(pred), 1))], axis=1) * pixels[:, None] + lam * macs
    return np.argmin(cost, axis=1)


def lambda_for_budget(preds, pixs, macss, budget):
    """Smallest lambda whose routing keeps total MACs <= budget x all-hard (bisection, log scale)."""
    all_hard = sum(m[:, 3].sum() for m in macss)

    def total(lam):
        return sum(m[np.arange(len(m)), route(p, x, m, lam)].sum() for p, x, m in zip(preds, pixs, macss))
    lo, hi = 1e-12, 1e3
    if total(lo) <= budget * all_hard:
        return lo
    for _ in range(80):
        mid = np.sqrt(lo * hi)
        if total(mid) <= budget * all_hard:
            hi = mid
        else:
            lo = mid
    return hi


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, help="folder with upres-xS-easy/-medium and hard.safetensors")
    ap.add_argument("--scale", type=int, required=True)
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--margin", type=int, default=10)
    ap.add_argument("--budget", type=float, default=0.5)
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--channels", default="16,32,32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="classifier .safetensors (embedded name: the file's stem)")
    ap.add_argument("--family-out", help="the hard model + `routing` metadata naming --out as its classifier")
    ap.add_argument("--json", help="numbers (default <family>/classifier.json)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    log = lambda s: print(s, flush=True)  # noqa: E731
    family = Path(args.family)
    branches = {b: C.load_branch(str(p), "best") for b, p in branch_paths(family, args.scale).items()}
    s, margin = args.scale, args.margin
    photos = list_photos(train_root() / "photos" / "train")
    lrs, deltas = build_maps(photos, branches, s, margin, family / "error-maps.npz", log)

    model = TileClassifier(channels=[int(c) for c in args.channels.split(",")], num_classes=3)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.iters, eta_min=1e-5)
    t0 = time.monotonic()
    for it in range(1, args.iters + 1):
        x, y = sample_batch(rng, lrs, deltas, args.tile, args.batch, s)
        loss = torch.nn.functional.smooth_l1_loss(model(x), y, beta=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 500 == 0:
            log(f"  it {it}: loss {loss.item():.4f} ({time.monotonic() - t0:.0f} s)")
    model.eval()
    train_seconds = time.monotonic() - t0

    # lambda on the training photos' tile grid (the engine's tiles), budget as calibrate.py.
    def tables(pairs):
        out = []
        for lr8, delta in pairs:
            tiles = frame_tiles(lr8.shape[1], lr8.shape[0], args.tile)
            mpp = [0.0] + [branches[b]["macs_per_pixel"] for b in ("easy", "medium", "hard")]
            macs = np.array([[m * (t.w + 2 * margin) * (t.h + 2 * margin) for m in mpp] for t in tiles])
            pix = np.array([t.w * t.h * s * s for t in tiles], dtype=np.float64)
            out.append((predict(model, lr8, tiles), pix, macs))
        return out
    tr = tables(zip(lrs, deltas))
    lam = lambda_for_budget([t[0] for t in tr], [t[1] for t in tr], [t[2] for t in tr], args.budget)
    log(f"lambda for budget {args.budget}: {lam:.4g}")
    sweep = {b: lambda_for_budget([t[0] for t in tr], [t[1] for t in tr], [t[2] for t in tr], b)
             for b in (0.2, 0.3, 0.4, 0.6)}
    sweep_tot = {b: [0.0, 0.0] for b in sweep}

    # Validation: the engine's tile grid, real tile SSE tables from calibrate.py's code.
    val = load_validation(str(train_root() / "photos" / "val"), s, 1, None)
    # ... and each LR through H.264 crf 23 (compressed footage), reported apart.
    val = [(name, lr, hr, False) for name, lr, hr in val] + [
        (name + " +h264", torch.from_numpy(h264_roundtrip(np.rint(lr[0, 0].numpy() * 255.0).astype(np.uint8), 23)
                                           .astype(np.float32) / 255.0)[None, None], hr, True)
        for name, lr, hr in val]
    cal_json = family / "calibration.json"   # calibrate.py's gradient thresholds, for comparison
    th = json.loads(cal_json.read_text())["train"]["routed"]["thresholds"] if cal_json.exists() else None
    rows, jpeg_rows = [], []
    keys = ("hard", "classifier", "gradient", "oracle", "medium", "easy")
    tot = {k: [0.0, 0.0] for k in keys}
    jtot = {k: [0.0, 0.0] for k in keys}
    for name, lr, hr, jpeg in val:
        lr8 = np.rint(lr[0, 0].numpy() * 255.0).astype(np.uint8)
        tiles = frame_tiles(lr8.shape[1], lr8.shape[0], args.tile)
        opts = C.photo_options(lr8, lr, branches, tiles, margin)
        tab = C.tile_table(lr8, hr, opts, tiles, branches, margin, s, border=s)
        sse, macs, pix = tab["sse"], tab["macs"], tab["pixels"].sum()
        r = np.arange(len(tiles))
        allh = macs[:, 3].sum()
        p = predict(model, lr8, tiles)
        cls = route(p, tab["pixels"].astype(np.float64), macs, lam)
        res = {"hard": (sse[:, 3].sum(), allh), "medium": (sse[:, 2].sum(), macs[:, 2].sum()),
               "easy": (sse[:, 1].sum(), macs[:, 1].sum()),
               "classifier": (sse[r, cls].sum(), macs[r, cls].sum())}
        if th:
            gc = classify(tab["g"], th)
            res["gradient"] = (sse[r, gc].sum(), macs[r, gc].sum())
        for b, lb in (sweep.items() if not jpeg else ()):
            c2 = route(p, tab["pixels"].astype(np.float64), macs, lb)
            sweep_tot[b][0] += 10 ** (psnr_from_sse(sse[r, c2].sum(), pix) / -10)
            sweep_tot[b][1] += macs[r, c2].sum() / allh
        o = oracle_routing(sse, macs, res["classifier"][1])
        res["oracle"] = (o.sse, o.macs)
        hard = psnr_from_sse(res["hard"][0], pix)
        row = {"photo": name, "hard_psnr": round(hard, 3)}
        acc = jtot if jpeg else tot
        for k, (e, m) in res.items():
            row[k] = {"delta_db": round(psnr_from_sse(e, pix) - hard, 3), "mac_ratio": round(float(m / allh), 3)}
            acc[k][0] += 10 ** (psnr_from_sse(e, pix) / -10)
            acc[k][1] += m / allh
        (jpeg_rows if jpeg else rows).append(row)
        log(f"  {name[:24]:24s} hard {hard:.2f} dB | " + " | ".join(
            f"{k} {row[k]['delta_db']:+.3f} @ {row[k]['mac_ratio']:.2f}" for k in res if k != "hard"))
    n = len(rows)
    hard_all = -10 * np.log10(tot["hard"][0] / n)
    summary = {k: {"delta_db": round(float(-10 * np.log10(v[0] / n) - hard_all), 3), "mac_ratio": round(v[1] / n, 3)}
               for k, v in tot.items() if v[0] > 0}
    log("  ALL clean: " + " | ".join(f"{k} {v['delta_db']:+.3f} @ {v['mac_ratio']:.2f}" for k, v in summary.items()))
    jhard = -10 * np.log10(jtot["hard"][0] / len(jpeg_rows))
    jsummary = {k: {"delta_db": round(float(-10 * np.log10(v[0] / len(jpeg_rows)) - jhard), 3),
                    "mac_ratio": round(v[1] / len(jpeg_rows), 3)} for k, v in jtot.items() if v[0] > 0}
    log("  ALL h264 crf23: " + " | ".join(f"{k} {v['delta_db']:+.3f} @ {v['mac_ratio']:.2f}" for k, v in jsummary.items()))
    sweep_rows = {b: {"lambda": sweep[b], "delta_db": round(float(-10 * np.log10(v[0] / n) - hard_all), 3),
                      "mac_ratio": round(v[1] / n, 3)} for b, v in sweep_tot.items()}
    log("  classifier, lambda for other training budgets: " + " | ".join(
        f"{b}: {v['delta_db']:+.3f} @ {v['mac_ratio']:.2f}" for b, v in sweep_rows.items()))
    report = {"scale": s, "tile": args.tile, "margin": margin, "budget": args.budget, "lambda": lam,
              "iters": args.iters, "channels": args.channels, "val": rows, "val_all": summary, "val_sweep": sweep_rows,
              "val_h264": jpeg_rows, "val_h264_all": jsummary,
              "train_seconds": round(train_seconds, 1)}
    Path(args.json or family / "classifier.json").write_text(json.dumps(report, indent=1))
    if args.out:
        export_model(model, Path(args.out), {"trained": "train_classifier.py", "scale": str(s),
                                              "target": "extra SSE per HR pixel of flat/easy/medium vs hard",
                                              "iterations": str(args.iters), "train_seconds": str(round(train_seconds)),
                                              "date": time.strftime("%Y-%m-%d")},
                     golden=False)
        write_golden(load_any_model(args.out)[0], golden_path(args.out), Path(args.out).name)
        log(f"wrote {args.out}")
    if args.family_out:
        if not args.out:
            ap.error("--family-out needs --out (the classifier it names)")
        mpp = {b: branches[b]["macs_per_pixel"] for b in ("easy", "medium", "hard")}
        cal = {"budget": args.budget, "train_photos": len(photos), "iters": args.iters,
               "val_photos": n, "val_delta_db": summary["classifier"]["delta_db"],   # all photos' pixels pooled
               "val_delta_db_photo_mean": round(float(np.mean([r["classifier"]["delta_db"] for r in rows])), 3),
               "val_h264_crf23_delta_db": jsummary["classifier"]["delta_db"],
               "val_h264_crf23_mac_ratio": jsummary["classifier"]["mac_ratio"],
               "val_mac_ratio": summary["classifier"]["mac_ratio"],
               # mean over photos of per-photo Y-PSNR (evaluate.py's convention)
               "val_psnr": {m: round(float(np.mean([r["hard_psnr"] + (r[k]["delta_db"] if k else 0) for r in rows])), 3)
                            for m, k in (("routed", "classifier"), ("hard", None), ("medium", "medium"), ("easy", "easy"))},
               "date": time.strftime("%Y-%m-%d")}
        if cal_json.exists():   # the classical baselines, from calibrate.py's validation pass
            methods = json.loads(cal_json.read_text()).get("val", {}).get("methods", {})
            cal["val_psnr"] |= {m: methods[m]["psnr"] for m in ("lanczos", "bicubic") if m in methods}
        routing = classifier_routing_metadata(Path(args.out).name.removesuffix(".safetensors"), lam, mpp,
                                              f"upres-x{s}-easy", f"upres-x{s}-medium", args.tile, margin, cal)
        hard_file = branch_paths(family, s)["hard"]
        write_routing(hard_file, args.family_out, routing)
        write_golden(load_any_model(args.family_out)[0], golden_path(args.family_out), Path(args.family_out).name)
        log(f"wrote {args.family_out} (routing: {len(routing)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
