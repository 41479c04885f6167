#!/usr/bin/env python3
"""Calibrate ClassSR-style routing thresholds for a scale's three luma branches, evaluate the
routing on the validation photos and write it into the hard model's metadata (docs/routing.md).

    .venv/bin/python calibrate.py --easy upres-x2-easy.safetensors --medium M.safetensors \
        --hard H.safetensors --out upres-x2-routed.safetensors
    .venv/bin/python calibrate.py --easy plain_x2_c16n4_lrelu --medium plain_x2_c24n6_lrelu \
        --hard plain_x2_c32n8_lrelu --which best --budget 0.4        # run names work too

1. Training photos (never the validation ones): every tile (or a seeded share, --tile-fraction)
   of every LR photo gets the statistic g = mean_abs_gradient and the SSE (HR Y, 0..255, output
   clamped and rounded to 8 bits, over the tile's owned region) of each option: flat = Lanczos
   upscale of the whole LR luma cropped to the tile, easy/medium/hard = the branch on the
   tile's mirrored input. Cached in an npz (key = models, photos, tile, margin, fraction), so a
   re-run with another budget costs only the search and the validation pass.
2. Exhaustive search over monotone threshold triples (quantile midpoints of g) for the least
   total SSE with MACs <= budget x all-hard MACs; the same at each single branch's MAC cost
   (routing must beat every branch at equal multiply-adds); a budget sweep with the per-tile
   oracle (best any classifier could do with these branches) and a random classifier with
   the same class shares.
3. Validation photos (whole, `scale` border ignored, mean over photos as evaluate.py):
   Y-PSNR / SSIM of bicubic, lanczos, each branch alone (tiled the same way), the routing;
   MAC ratio routed / all-hard; class shares. Table on stdout, everything in --json.
4. --out: the hard model file plus metadata `routing` (other tensors and keys unchanged).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from upres_train.runtime import reexec_with_malloc_env

if __name__ == "__main__":
    reexec_with_malloc_env()  # before torch is loaded, see upres_train/runtime.py

import numpy as np
import torch
from PIL import Image

from upres_train.complexity import macs_per_pixel
from upres_train.config import train_root
from upres_train.data import list_photos, load_validation, make_pair
from upres_train.metrics import classic_upscale, psnr_y, ssim_y
from upres_train.model_io import (export_model, load_any_model, load_checkpoint,
                                  provenance_from_checkpoint, receptive_field_str, write_golden,
                                  golden_path)
from upres_train.routing import (CLASSES, assemble, classify, frame_statistics, frame_tiles,
                                 oracle_routing, psnr_from_sse, quantized_255, routing_metadata,
                                 search_thresholds, tile_macs, tile_pixels, tile_sse,
                                 tiled_upscale, write_routing)

CACHE_VERSION = 1
BRANCHES = ("easy", "medium", "hard")


# ---------------------------------------------------------------- models

def resolve_source(spec: str) -> Path:
    p = Path(spec)
    if p.exists():
        return p
    run = train_root() / "runs" / spec
    if run.is_dir():
        return run
    raise SystemExit(f"{spec}: no such model file, checkpoint or run in {train_root() / 'runs'}")


def load_branch(spec: str, which: str) -> dict:
    """A branch as {model (fused, eval), macs_per_pixel, receptive_field, path, digest}."""
    path = resolve_source(spec)
    model, info = load_any_model(path, which)
    model = model.float().eval().fuse()
    meta = info.get("metadata")
    iteration = info.get("iteration")
    if meta:  # exported file: its own figures, which the engine reads too
        mpp, rf = float(meta["macs_per_pixel"]), meta["receptive_field"]
        iteration = json.loads(meta.get("provenance") or "{}").get("iterations")
    else:
        mpp = float(round(macs_per_pixel(model, model.config["in_channels"])))
        rf = receptive_field_str(model)
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().contiguous().numpy().tobytes())
    return {"model": model, "macs_per_pixel": mpp, "receptive_field": rf,
            "path": info["path"], "iteration": iteration, "digest": h.hexdigest()[:16],
            "is_file": Path(info["path"]).suffix == ".safetensors"}


# ---------------------------------------------------------------- per-photo work

def load_pair(path: Path, scale: int):
    """Whole photo trimmed to a multiple of the scale (as load_validation) -> (lr8, lr, hr)."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    h, w = rgb.shape[:2]
    lr, hr = make_pair(np.ascontiguousarray(rgb[:h // scale * scale, :w // scale * scale]), scale, 1)
    lr8 = np.rint(lr[0] * 255.0).astype(np.uint8)
    return lr8, torch.from_numpy(lr)[None], torch.from_numpy(hr)[None]


def photo_options(lr8, lr, branches, tiles, margin):
    """[lanczos, easy, medium, hard] outputs (1 x 1 x H x W float, [0, 1] scale)."""
    outs = [classic_upscale(lr, branches["hard"]["model"].scale, "lanczos")]
    for b in BRANCHES:
        outs.append(tiled_upscale(branches[b]["model"], lr8, tiles, margin))
    return outs


def tile_table(lr8, hr, options, tiles, branches, margin, scale, border: int = 0) -> dict:
    """Per tile: g, SSE of each option and its MACs (n x 4, CLASSES order), HR pixels, boxes.
    border > 0 leaves out the frame border the metrics ignore (validation)."""
    hr255 = hr[0, 0].double().numpy() * 255.0
    sse = np.stack([tile_sse(quantized_255(o), hr255, tiles, scale, border) for o in options], axis=1)
    mpp = [0.0] + [branches[b]["macs_per_pixel"] for b in BRANCHES]
    macs = np.array([[tile_macs(m, t, margin) for m in mpp] for t in tiles])
    return {"g": frame_statistics(lr8, tiles), "sse": sse, "macs": macs,
            "pixels": tile_pixels(hr255.shape, tiles, scale, border),
            "box": np.array([[t.x, t.y, t.w, t.h, t.ox0, t.ox1, t.oy0, t.oy1] for t in tiles])}


def calibration_tiles(args, branches, scale, margin, log) -> dict:
    photos = list_photos(args.train_dir)
    key = {"version": CACHE_VERSION, "scale": scale, "tile": args.tile, "margin": margin,
           "fraction": args.tile_fraction, "seed": args.seed,
           "models": {b: branches[b]["digest"] for b in BRANCHES},
           "photos": [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in photos]}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    cache = Path(args.cache) if args.cache else \
        train_root() / "routing" / f"tiles-x{scale}-t{args.tile}-m{margin}-{digest}.npz"
    if cache.exists():
        z = np.load(cache)
        if json.loads(str(z["key"])) == key:
            log(f"tile cache: {cache}")
            return {k: z[k] for k in z.files if k != "key"} | {"cache": str(cache)}
    rng = np.random.default_rng(args.seed)
    parts, t_start = [], time.monotonic()
    for i, path in enumerate(photos):
        t0 = time.monotonic()
        lr8, lr, hr = load_pair(path, scale)
        tiles = frame_tiles(lr8.shape[1], lr8.shape[0], args.tile)
        if args.tile_fraction < 1.0:
            keep = rng.random(len(tiles)) < args.tile_fraction
            tiles = [t for t, k in zip(tiles, keep) if k] or tiles[:1]
        with torch.no_grad():
            opts = photo_options(lr8, lr, branches, tiles, margin)
        tab = tile_table(lr8, hr, opts, tiles, branches, margin, scale)
        tab["photo"] = np.full(len(tiles), i)
        parts.append(tab)
        log(f"  [{i + 1}/{len(photos)}] {path.name}: {lr8.shape[1]}x{lr8.shape[0]} LR, "
            f"{len(tiles)} tiles, {time.monotonic() - t0:.1f} s")
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    data["photo_names"] = np.array([p.name for p in photos])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, key=json.dumps(key, sort_keys=True), **data)
    tmp.replace(cache)
    log(f"tile cache written: {cache} ({time.monotonic() - t_start:.0f} s)")
    return data | {"cache": str(cache)}


# ---------------------------------------------------------------- reporting helpers

def shares(classes: np.ndarray, weights=None) -> dict:
    w = np.ones(len(classes)) if weights is None else weights
    tot = w.sum()
    return {c: round(float(w[classes == i].sum() / tot), 4) for i, c in enumerate(CLASSES)}


def rounded_thresholds(t):
    """6 decimals: g of a T x T tile is a multiple of 1 / T^2 and the search's thresholds are
    midpoints between distinct values (>= 1 / (2 T^2) ~ 3e-5 away at T = 128), so rounding
    never moves a training tile to another class."""
    return tuple(round(float(v), 6) for v in t)


def g_quantiles(g) -> dict:
    return {f"p{q}": round(float(np.percentile(g, q)), 3) for q in (10, 25, 50, 75, 90)}


def best_branch_within(methods: dict, mac_ratio: float) -> str | None:
    """The best single option (lanczos or a branch) costing no more than mac_ratio."""
    ok = [m for m in ("lanczos", *BRANCHES) if methods[m]["mac_ratio"] <= mac_ratio + 1e-9]
    return max(ok, key=lambda m: methods[m]["psnr"]) if ok else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--easy", required=True, help="easy branch: .safetensors, .pt, run dir or run name")
    ap.add_argument("--medium", required=True)
    ap.add_argument("--hard", required=True)
    ap.add_argument("--which", default="best", choices=["last", "best"], help="checkpoint of runs")
    ap.add_argument("--scale", type=int, help="check: expected scale (default: the models')")
    ap.add_argument("--train-dir", default=str(train_root() / "photos" / "train"))
    ap.add_argument("--val-dir", default=str(train_root() / "photos" / "val"))
    ap.add_argument("--tile", type=int, default=128, help="tile core side T (LR pixels)")
    ap.add_argument("--margin", type=int, help="context margin M (default: hard model's receptive-field radius)")
    ap.add_argument("--budget", type=float, default=0.5, help="MAC budget, fraction of all-hard MACs")
    ap.add_argument("--tile-fraction", type=float, default=1.0,
                    help="calibrate on this seeded share of the training tiles (default all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--candidates", type=int, default=256, help="threshold candidates (quantiles of g)")
    ap.add_argument("--cache", help="tile cache .npz (default <root>/routing/tiles-...npz)")
    ap.add_argument("--no-val", action="store_true", help="skip the validation pass")
    ap.add_argument("--json", help="write all numbers here (default <root>/routing/x<s>-calibration.json)")
    ap.add_argument("--out", help="write the hard model + routing metadata to this .safetensors")
    ap.add_argument("--easy-name", help="embedded model name of the easy branch (default upres-x<s>-easy)")
    ap.add_argument("--medium-name", help="default upres-x<s>-medium")
    ap.add_argument("--no-golden", action="store_true", help="no golden pair beside --out")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    if not 0.0 <= args.budget <= 1.0:
        ap.error("--budget is a fraction of the all-hard MACs, in [0, 1]")
    if Path(args.train_dir).resolve() == Path(args.val_dir).resolve():
        ap.error("never calibrate on the validation photos")

    branches = {b: load_branch(getattr(args, b), args.which) for b in BRANCHES}
    scales = {br["model"].scale for br in branches.values()}
    chans = {br["model"].config["in_channels"] for br in branches.values()}
    if len(scales) != 1 or (args.scale and scales != {args.scale}):
        ap.error(f"branch scales {sorted(scales)} (expected one{f', x{args.scale}' if args.scale else ''})")
    if chans != {1}:
        ap.error("routing is for luma (1-channel) models")
    scale = scales.pop()
    rf = branches["hard"]["receptive_field"]
    if args.margin is None:
        if not str(rf).isdigit():
            ap.error(f"hard model's receptive field is {rf!r}: give --margin")
        args.margin = (int(rf) - 1) // 2
    margin = args.margin
    easy_name = args.easy_name or f"upres-x{scale}-easy"
    medium_name = args.medium_name or f"upres-x{scale}-medium"
    mpp = {b: branches[b]["macs_per_pixel"] for b in BRANCHES}
    log(f"x{scale} routing, tile {args.tile}, margin {margin}; branches (MACs/px): "
        + ", ".join(f"{b} {mpp[b]:.0f} ({Path(branches[b]['path']).name}"
                    f"{'' if branches[b]['iteration'] is None else ', it ' + str(branches[b]['iteration'])})"
                    for b in BRANCHES))

    # ---------------- calibration on the training photos
    data = calibration_tiles(args, branches, scale, margin, log)
    g, sse, macs, pix = data["g"], data["sse"], data["macs"], data["pixels"]
    n, total_pix = len(g), pix.sum()
    all_hard = macs[:, 3].sum()
    psnr = lambda s: round(psnr_from_sse(s, total_pix), 4)  # noqa: E731
    train_single = {c: psnr(sse[:, i].sum()) for i, c in enumerate(CLASSES)}

    def routed(budget):
        res = search_thresholds(g, sse, macs, budget * all_hard, args.candidates)
        t = rounded_thresholds(res.thresholds)
        cls = classify(g, t)
        rows = np.arange(n)
        return {"thresholds": t, "psnr": psnr(sse[rows, cls].sum()),
                "mac_ratio": round(float(macs[rows, cls].sum() / all_hard), 4),
                "class_share": shares(cls), "classes": cls}

    main_r = routed(args.budget)
    if main_r["mac_ratio"] > args.budget + 1e-9:
        print(f"warning: MAC ratio {main_r['mac_ratio']} over the budget after rounding", file=sys.stderr)
    equal = {}
    for i, b in enumerate(BRANCHES, start=1):
        ratio = float(macs[:, i].sum() / all_hard)
        r = routed(ratio)
        equal[b] = {"budget": round(ratio, 4), "branch_psnr": train_single[b], "routed": r}
    sweep = []
    for bud in sorted({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, args.budget}):
        r = routed(bud)
        o = oracle_routing(sse, macs, bud * all_hard)
        cnt = np.bincount(r["classes"], minlength=4) / n
        rand_sse = float((cnt[None, :] * sse).sum())   # expected SSE, random with these shares
        sweep.append({"budget": bud, "routed_psnr": r["psnr"], "routed_mac_ratio": r["mac_ratio"],
                      "oracle_psnr": psnr(o.sse), "oracle_mac_ratio": round(float(o.macs / all_hard), 4),
                      "oracle_bound_psnr": psnr(o.lower_bound),
                      "random_psnr": psnr(rand_sse), "thresholds": r["thresholds"]})

    frac = f"{args.tile_fraction:.0%} of the tiles (seed {args.seed})" if args.tile_fraction < 1 else "all tiles"
    print(f"\n== calibration: x{scale}, {len(data['photo_names'])} training photos, {n} tiles ({frac}), "
          f"tile {args.tile}, margin {margin}")
    print("   PSNR = pixel-weighted over the tiles' owned regions (no border dropped)")
    print("   single options: " + ", ".join(f"{c} {train_single[c]:.3f} dB" for c in CLASSES))
    print("   g quantiles: " + ", ".join(f"{k} {v:.2f}" for k, v in g_quantiles(g).items()))
    t = main_r["thresholds"]
    print(f"   budget {args.budget:.2f}: flat g < {t[0]:.4f} <= easy < {t[1]:.4f} <= medium < {t[2]:.4f}"
          f" <= hard; routed {main_r['psnr']:.3f} dB at MAC ratio {main_r['mac_ratio']:.3f}; tiles "
          + ", ".join(f"{c} {v:.1%}" for c, v in main_r["class_share"].items()))
    print(f"   {'budget':>7s} {'routed dB':>10s} {'MACs':>6s} {'oracle dB':>10s} {'bound dB':>9s} {'random dB':>10s}"
          "  thresholds flat/easy/medium")
    for s in sweep:
        print(f"   {s['budget']:7.2f} {s['routed_psnr']:10.3f} {s['routed_mac_ratio']:6.3f} "
              f"{s['oracle_psnr']:10.3f} {s['oracle_bound_psnr']:9.3f} {s['random_psnr']:10.3f}  "
              + " / ".join(f"{v:.3f}" for v in s["thresholds"]))
    print("   at equal MACs (train):")
    for b, e in equal.items():
        print(f"     {b:6s} MAC ratio {e['budget']:.3f}: branch {e['branch_psnr']:.3f} dB, routed "
              f"{e['routed']['psnr']:.3f} dB ({e['routed']['psnr'] - e['branch_psnr']:+.3f})")

    report = {
        "scale": scale, "tile": args.tile, "margin": margin, "budget": args.budget,
        "branches": {b: {"path": branches[b]["path"], "iteration": branches[b]["iteration"],
                         "macs_per_pixel": mpp[b], "receptive_field": branches[b]["receptive_field"]}
                     for b in BRANCHES},
        "train": {"photos": len(data["photo_names"]), "tiles": n, "tile_fraction": args.tile_fraction,
                  "cache": data["cache"], "single_psnr": train_single, "g_quantiles": g_quantiles(g),
                  "routed": {k: v for k, v in main_r.items() if k != "classes"},
                  "equal_macs": {b: {**e, "routed": {k: v for k, v in e["routed"].items() if k != "classes"}}
                                 for b, e in equal.items()},
                  "sweep": sweep},
    }

    # ---------------- validation photos
    if not args.no_val:
        sets = {"routed": main_r["thresholds"]} | {f"routed@{b}": equal[b]["routed"]["thresholds"]
                                                   for b in BRANCHES}
        report["val"] = evaluate(args, branches, scale, margin, sets, log,
                                 sweep=[sw["thresholds"] for sw in sweep])
        v = report["val"]
        print(f"\n== validation: {v['photos']} photos (whole), Y, border {scale}, mean over photos; "
              "g quantiles " + ", ".join(f"{k} {q:.2f}" for k, q in v["g_quantiles"].items()))
        print(f"   {'method':16s} {'PSNR dB':>8s} {'SSIM':>7s} {'MACs/hard':>10s}  {'tiles flat/easy/medium/hard':28s}"
              "  vs best single option within its MACs")
        for m, r in v["methods"].items():
            cs = r.get("class_share")
            line = f"   {m:16s} {r['psnr']:8.3f} {r['ssim']:7.4f} {r['mac_ratio']:10.3f}"
            if cs:
                best = best_branch_within(v["methods"], r["mac_ratio"])
                r["best_single_within_macs"] = best
                line += "  " + f"{' / '.join(f'{cs[c]:.1%}' for c in CLASSES):28s}"
                line += f"  {r['psnr'] - v['methods'][best]['psnr']:+.3f} dB vs {best}"
            print(line)
        print("   the training sweep's thresholds on the validation photos:")
        print(f"   {'budget':>7s} {'val dB':>8s} {'val MACs':>9s}  vs best single option within its MACs")
        for sw, vs in zip(sweep, v["sweep"]):
            best = best_branch_within(v["methods"], vs["mac_ratio"])
            vs["best_single_within_macs"] = best
            print(f"   {sw['budget']:7.2f} {vs['psnr']:8.3f} {vs['mac_ratio']:9.3f}  "
                  f"{vs['psnr'] - v['methods'][best]['psnr']:+.3f} dB vs {best}")
        print(f"   oracle at the routed MAC ratio ({v['methods']['routed']['mac_ratio']:.3f}): "
              f"{v['oracle_psnr_pixel_weighted']:.3f} dB pixel-weighted vs routed "
              f"{v['routed_psnr_pixel_weighted']:.3f} (all validation tiles, border {scale} dropped; "
              f"tile tables vs psnr_y: {v['table_check_max_abs_db']:.1e} dB)")

    out_json = Path(args.json) if args.json else train_root() / "routing" / f"x{scale}-calibration.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report, indent=1))
    log(f"\nwrote {out_json}")

    if args.out:
        cal = {"budget": args.budget, "train_photos": report["train"]["photos"], "train_tiles": n,
               "tile_fraction": args.tile_fraction, "train_psnr_routed": main_r["psnr"],
               "train_psnr_hard": train_single["hard"], "train_mac_ratio": main_r["mac_ratio"],
               "train_psnr_single": train_single, "macs_per_pixel": mpp,
               "sources": {b: {"file": Path(branches[b]["path"]).name, "iterations": branches[b]["iteration"]}
                           for b in BRANCHES},
               "date": time.strftime("%Y-%m-%d")}
        if "val" in report:
            vm = report["val"]["methods"]
            cal |= {"val_photos": report["val"]["photos"],
                    "val_psnr": {m: vm[m]["psnr"] for m in ("routed", "hard", "medium", "easy", "lanczos", "bicubic")},
                    "val_mac_ratio": vm["routed"]["mac_ratio"],
                    "val_class_share": vm["routed"]["class_share"]}
        routing = routing_metadata(main_r["thresholds"], easy_name, medium_name, args.tile, margin, cal)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        hard = branches["hard"]
        if hard["is_file"]:
            write_routing(hard["path"], out, routing)
        else:  # a run or checkpoint: export it first, exactly as export.py would
            ck = load_checkpoint(hard["path"])
            export_model(hard["model"], out, provenance_from_checkpoint(ck), golden=False)
            write_routing(out, out, routing)
        if not args.no_golden:
            write_golden(load_any_model(out)[0], golden_path(out), out.name)
        log(f"wrote {out} (routing: {len(routing)} bytes)")
    return 0


@torch.no_grad()
def table_eval(tabs: list[dict], thresholds) -> tuple[list[float], float]:
    """Per-photo Y-PSNR (border excluded, as psnr_y) and the MAC ratio routed / all-hard of
    any thresholds, from the per-tile tables alone."""
    psnrs, m, h = [], 0.0, 0.0
    for tab in tabs:
        cls = classify(tab["g"], thresholds)
        rows = np.arange(len(cls))
        psnrs.append(psnr_from_sse(tab["sse"][rows, cls].sum(), tab["pixels"].sum()))
        m += tab["macs"][rows, cls].sum()
        h += tab["macs"][:, 3].sum()
    return psnrs, float(m / h)


def evaluate(args, branches, scale, margin, threshold_sets: dict, log, sweep=()) -> dict:
    val = load_validation(args.val_dir, scale, 1, None)
    hard_mpp = branches["hard"]["macs_per_pixel"]
    methods = ["bicubic", "lanczos", *BRANCHES, *threshold_sets]
    per = {m: {} for m in methods}
    macs = {m: 0.0 for m in methods}
    counts = {m: np.zeros(4) for m in threshold_sets}
    pix_counts = {m: np.zeros(4) for m in threshold_sets}
    all_hard = 0.0
    tabs = []
    for name, lr, hr in val:
        t0 = time.monotonic()
        lr8 = np.rint(lr[0, 0].numpy() * 255.0).astype(np.uint8)
        tiles = frame_tiles(lr8.shape[1], lr8.shape[0], args.tile)
        opts = photo_options(lr8, lr, branches, tiles, margin)
        tab = tile_table(lr8, hr, opts, tiles, branches, margin, scale, border=scale)
        tabs.append(tab)
        all_hard += tab["macs"][:, 3].sum()
        outs = {"bicubic": classic_upscale(lr, scale, "bicubic"), "lanczos": opts[0]}
        for i, b in enumerate(BRANCHES, start=1):
            outs[b] = opts[i]
            macs[b] += tab["macs"][:, i].sum()
        for m, t in threshold_sets.items():
            cls = classify(tab["g"], t)
            outs[m] = assemble(opts, cls, tiles, scale)
            macs[m] += tab["macs"][np.arange(len(cls)), cls].sum()
            counts[m] += np.bincount(cls, minlength=4)
            pix_counts[m] += np.bincount(cls, weights=tab["pixels"], minlength=4)
        for m in methods:
            per[m][name] = (round(psnr_y(outs[m], hr, scale), 4), round(ssim_y(outs[m], hr, scale), 5))
        log(f"  val {name}: {len(tiles)} tiles, {time.monotonic() - t0:.1f} s")
    res = {"photos": len(val), "methods": {}}
    for m in methods:
        r = {"psnr": round(float(np.mean([v[0] for v in per[m].values()])), 4),
             "ssim": round(float(np.mean([v[1] for v in per[m].values()])), 5),
             "mac_ratio": round(float(macs[m] / all_hard), 4) if m not in ("bicubic", "lanczos") else 0.0,
             "per_photo": per[m]}
        if m in threshold_sets:
            r["thresholds"] = threshold_sets[m]
            r["class_share"] = {c: round(float(v), 4) for c, v in zip(CLASSES, counts[m] / counts[m].sum())}
            r["class_pixel_share"] = {c: round(float(v), 4) for c, v in zip(CLASSES, pix_counts[m] / pix_counts[m].sum())}
        res["methods"][m] = r
    # the oracle (per-tile best choice) at the routed MAC cost: how much a better classifier could add
    sse = np.concatenate([t["sse"] for t in tabs])
    mac_arr = np.concatenate([t["macs"] for t in tabs])
    g = np.concatenate([t["g"] for t in tabs])
    pix = np.concatenate([t["pixels"] for t in tabs]).sum()
    cls = classify(g, threshold_sets["routed"])
    rows = np.arange(len(g))
    r_sse, r_macs = sse[rows, cls].sum(), mac_arr[rows, cls].sum()
    o_sse = oracle_routing(sse, mac_arr, r_macs).sse
    res["routed_psnr_pixel_weighted"] = round(psnr_from_sse(r_sse, pix), 4)
    res["oracle_psnr_pixel_weighted"] = round(psnr_from_sse(o_sse, pix), 4)
    res["hard_macs_per_pixel"] = hard_mpp
    res["g_quantiles"] = g_quantiles(g)
    # the tile tables reproduce psnr_y of the assembled images (checked here), so the training
    # sweep's thresholds are evaluated on the validation photos without another pass
    t_psnr, _ = table_eval(tabs, threshold_sets["routed"])
    res["table_check_max_abs_db"] = float(max(abs(a - b) for a, b in zip(
        t_psnr, [per["routed"][n][0] for n, _, _ in val])))
    res["sweep"] = []
    for t in sweep:
        ps, ratio = table_eval(tabs, t)
        res["sweep"].append({"thresholds": t, "psnr": round(float(np.mean(ps)), 4),
                             "mac_ratio": round(ratio, 4)})
    return res


if __name__ == "__main__":
    sys.exit(main())
