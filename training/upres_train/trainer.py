"""The training loop: L1 loss, Adam, cosine LR, bf16 autocast + channels_last, optional output
distillation, periodic validation, and checkpoints that make an interrupted run resume exactly.

A run lives in <runs_dir>/<name>/: config.yaml (the resolved config), log.jsonl (one JSON
object per log line), last.pt (full training state, rewritten atomically every few minutes),
best.pt (weights with the best validation PSNR). Starting a run whose last.pt exists resumes it.
"""
from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .archs import build_model
from .config import model_args
from .data import PatchSampler, load_validation
from .data_v2 import KINDS, MixSampler, load_validation_v2
from .metrics import classic_upscale, psnr_y, ssim_y
from .model_io import dump_yaml, load_any_model, load_checkpoint, load_matching, load_state_dict_any


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temp file in the same folder, fsync, then rename over `path`, so a
    kill at any moment leaves either the old or the new checkpoint, never a torn one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cpu_has_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX). Without it oneDNN
    emulates bf16 and autocast makes training ~10x slower (measured on an AVX2-only VM)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(setting) -> bool:
    return cpu_has_bf16() if setting == "auto" else bool(setting)


def cosine_lambda(iters: int, warmup: int, min_ratio: float):
    def f(it: int) -> float:
        if it < warmup:
            return (it + 1) / warmup
        t = min(1.0, (it - warmup) / max(1, iters - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))
    return f


class _StopFlag:
    """SIGINT/SIGTERM ask the loop to save a checkpoint and return (a SIGKILL loses at most
    the time since the last periodic checkpoint)."""

    def __init__(self):
        self.stop = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread (e.g. under some test runners)
                pass
        return self

    def _handler(self, signum, _frame):
        self.stop = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


@torch.no_grad()
def validate(model, val_set, scale: int, channels_last: bool) -> dict:
    model.eval()
    psnrs, ssims = [], []
    for _name, lr, hr in val_set:
        x = lr.contiguous(memory_format=torch.channels_last) if channels_last else lr
        sr = model(x).float().contiguous()
        psnrs.append(psnr_y(sr, hr, scale))
        ssims.append(ssim_y(sr, hr, scale))
    model.train()
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims)),
            "per_image": [round(p, 3) for p in psnrs]}


def bicubic_reference(val_set, scale: int) -> dict:
    ps = [psnr_y(classic_upscale(lr, scale, "bicubic"), hr, scale) for _, lr, hr in val_set]
    return {"bicubic_psnr": float(np.mean(ps)), "bicubic_per_image": [round(p, 3) for p in ps]}


def resolve_source(source: str, runs_dir) -> Path:
    """A path as given if it exists, else the run (or a file in it, e.g. RUN/best.pt) of that
    name in runs_dir."""
    p = Path(source)
    if p.exists():
        return p
    if (Path(runs_dir) / source).exists():
        return Path(runs_dir) / source
    raise FileNotFoundError(f"'{source}' is neither a file/folder nor a run in {runs_dir}")


def run_training(cfg: dict, stop_after: int | None = None, log=print) -> dict:
    """Train (or resume) the run described by the resolved config `cfg`. `stop_after`: return
    after that many iterations in this call (checkpointing first), for chunked runs and tests.
    Returns a summary dict."""
    tcfg, dcfg = cfg["train"], cfg["data"]
    torch.set_num_threads(int(tcfg["threads"]))
    run_dir = Path(cfg["runs_dir"]) / cfg["name"]
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path = run_dir / "last.pt"
    log_file = open(run_dir / "log.jsonl", "a")

    def emit(kind: str, **rec):
        rec = {"kind": kind, **rec, "time": round(time.time(), 1)}
        log_file.write(json.dumps(rec) + "\n")
        log_file.flush()
        log(" ".join(f"{k}={v}" for k, v in rec.items() if k not in ("time", "per_image", "bicubic_per_image")))

    seed = int(cfg["seed"])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    arch, margs = model_args(cfg)
    model = build_model(arch, **margs)
    v2 = dcfg["source"] == "v2"
    if v2:
        sampler = MixSampler(dcfg["v2_dir"], cfg["scale"], dcfg["lr_patch"], dcfg["channels"],
                             seed=seed, kinds=dcfg["kinds"], mix=dcfg["mix"],
                             mix_per_kind=dcfg["mix_per_kind"])
    else:
        sampler = PatchSampler(dcfg["train_dir"], cfg["scale"], dcfg["lr_patch"], dcfg["channels"],
                               seed=seed, jpeg_prob=dcfg["jpeg_prob"],
                               jpeg_quality=dcfg["jpeg_quality"], cache_mb=dcfg["cache_mb"])
    opt = torch.optim.Adam(model.parameters(), lr=tcfg["lr"], betas=tuple(tcfg["betas"]),
                           weight_decay=tcfg["weight_decay"])
    iters = int(tcfg["iters"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, cosine_lambda(iters, int(tcfg["warmup_iters"]), tcfg["lr_min"] / tcfg["lr"]))
    it, elapsed, best, val_hist = 0, 0.0, -float("inf"), {}

    if last_path.exists():
        ck = load_checkpoint(last_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        sampler.set_state(ck["rng"]["sampler"])
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        it, elapsed, best = ck["iteration"], ck["elapsed_s"], ck["best"]
        val_hist = ck.get("val") or {}
        emit("resume", iteration=it, checkpoint=str(last_path))
    else:
        (run_dir / "config.yaml").write_text(dump_yaml(cfg))
        if cfg["init_from"]:
            source = resolve_source(cfg["init_from"], cfg["runs_dir"])
            loaded, skipped = load_matching(model, load_state_dict_any(source))
            if not loaded:
                raise ValueError(f"init_from {cfg['init_from']}: no tensor matched this model")
            emit("init_from", source=str(cfg["init_from"]), loaded=len(loaded), skipped=skipped)
        emit("start", arch=arch, config=json.dumps(margs), iters=iters,
             bf16=use_bf16(tcfg["bf16"]), threads=int(tcfg["threads"]))

    teacher, dweight = None, float(cfg["distill"]["weight"])
    if cfg["distill"]["teacher"]:
        teacher, _ = load_any_model(resolve_source(cfg["distill"]["teacher"], cfg["runs_dir"]))
        teacher = teacher.fuse().eval()
        if teacher.scale != cfg["scale"]:
            raise ValueError(f"teacher scale x{teacher.scale} != run scale x{cfg['scale']}")
        for p in teacher.parameters():
            p.requires_grad_(False)

    cl = bool(tcfg["channels_last"])
    mf = torch.channels_last if cl else torch.contiguous_format
    model.to(memory_format=mf)
    if teacher is not None:
        teacher.to(memory_format=mf)
    if v2:  # one validation group per (kind, LR version); the headline is their mean
        kinds = [k for k in KINDS if not dcfg["kinds"] or dcfg["kinds"].get(k, 0) > 0]
        val_groups = load_validation_v2(dcfg["v2_dir"], cfg["scale"], kinds, dcfg["val_tags"],
                                        cfg["val"]["crop"])
        val_set = [x for g in val_groups.values() for x in g]
    else:
        val_set = load_validation(dcfg["val_dir"], cfg["scale"], dcfg["channels"], cfg["val"]["crop"])
        val_groups = None
    if "bicubic_psnr" not in val_hist:
        if val_groups:
            refs = {g: bicubic_reference(vs, cfg["scale"])["bicubic_psnr"] for g, vs in val_groups.items()}
            val_hist.update(bicubic_psnr=float(np.mean(list(refs.values()))), bicubic_groups=refs)
            val_hist["set"] = (f"v2 {', '.join(f'{g}: {len(vs)}' for g, vs in val_groups.items())}, "
                               f"crop {cfg['val']['crop']}")
        else:
            val_hist.update(bicubic_reference(val_set, cfg["scale"]))
            val_hist["set"] = f"{len(val_set)} photos, crop {cfg['val']['crop']}"

    def save_checkpoint():
        atomic_save({
            "arch": arch, "model_config": margs, "config": cfg, "run_name": cfg["name"],
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "iteration": it, "elapsed_s": elapsed,
            "best": best, "val": val_hist, "saved_at": time.time(),
            "rng": {"sampler": sampler.state(), "torch": torch.get_rng_state(),
                    "numpy": np.random.get_state(), "python": random.getstate()},
        }, last_path)

    def run_validation():
        nonlocal best
        extra = {}
        if val_groups:
            gv = {g: validate(model, vs, cfg["scale"], cl) for g, vs in val_groups.items()}
            v = {"psnr": float(np.mean([r["psnr"] for r in gv.values()])),
                 "ssim": float(np.mean([r["ssim"] for r in gv.values()])),
                 "per_image": {g: r["per_image"] for g, r in gv.items()}}
            extra["gain_groups"] = {g: round(r["psnr"] - val_hist["bicubic_groups"][g], 3)
                                    for g, r in gv.items()}
            extra["psnr_groups"] = {g: round(r["psnr"], 3) for g, r in gv.items()}
        else:
            v = validate(model, val_set, cfg["scale"], cl)
        val_hist.update(v, iteration=it, **extra)
        emit("val", iteration=it, psnr=round(v["psnr"], 4), ssim=round(v["ssim"], 5),
             bicubic_psnr=round(val_hist["bicubic_psnr"], 4),
             gain=round(v["psnr"] - val_hist["bicubic_psnr"], 4), **extra, per_image=v["per_image"])
        if v["psnr"] > best:
            best = v["psnr"]
            atomic_save({"arch": arch, "model_config": margs, "config": cfg,
                         "run_name": cfg["name"], "model": model.state_dict(), "iteration": it,
                         "elapsed_s": elapsed, "val": dict(val_hist), "saved_at": time.time()},
                        run_dir / "best.pt")

    ck_every_s = float(cfg["checkpoint"]["every_minutes"]) * 60.0
    ck_every_it = int(cfg["checkpoint"]["every_iters"])
    val_every = int(cfg["val"]["every_iters"])
    log_every = int(tcfg["log_every"])
    bs, bf16 = int(dcfg["batch_size"]), use_bf16(tcfg["bf16"])
    start_it, last_ck = it, time.monotonic()
    win_t, win_loss, win_n, done_now = time.monotonic(), 0.0, 0, 0
    model.train()
    with _StopFlag() as flag:
        while it < iters:
            t0 = time.monotonic()
            lr_img, hr_img = sampler.batch(bs)
            lr_img = lr_img.contiguous(memory_format=mf)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                sr = model(lr_img)
                with torch.no_grad():
                    target_t = teacher(lr_img) if teacher is not None else None
            sr = sr.float()
            loss = F.l1_loss(sr, hr_img)
            if target_t is not None:
                loss = (1.0 - dweight) * loss + dweight * F.l1_loss(sr, target_t.float())
            opt.zero_grad(set_to_none=True)
            if torch.isfinite(loss):
                loss.backward()
                if tcfg["grad_clip"]:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
                opt.step()
            else:
                emit("skip", iteration=it, reason="non-finite loss")
            sched.step()
            it += 1
            done_now += 1
            elapsed += time.monotonic() - t0
            win_loss += loss.item()
            win_n += 1
            if it % log_every == 0 or it == iters:
                dt = time.monotonic() - win_t
                emit("train", iteration=it, loss=round(win_loss / win_n, 6),
                     lr=f"{sched.get_last_lr()[0]:.3g}", it_s=round(win_n / dt, 2))
                win_t, win_loss, win_n = time.monotonic(), 0.0, 0
            if (val_every and it % val_every == 0) or it == iters:
                run_validation()
            stop_now = flag.stop or (stop_after is not None and done_now >= stop_after)
            if (it == iters or stop_now or time.monotonic() - last_ck >= ck_every_s
                    or (ck_every_it and it % ck_every_it == 0)):
                save_checkpoint()
                last_ck = time.monotonic()
                emit("checkpoint", iteration=it)
            if stop_now:
                break
        if it >= iters and not (run_dir / "done").exists():
            (run_dir / "done").write_text(json.dumps({"iteration": it, "elapsed_s": elapsed}))
    log_file.close()
    return {"iteration": it, "elapsed_s": elapsed, "iterations_this_call": it - start_it,
            "val": {k: v for k, v in val_hist.items() if k != "per_image"}, "run_dir": str(run_dir),
            "interrupted": flag.stop}
