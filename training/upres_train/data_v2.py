"""Training data v2: aligned HR / LR patch pairs from data/prepare_v2.py's images and their
precomputed LR versions (clean bicubic, JPEG, H.264, HEVC, MPEG-2), with a configurable mix.

Each draw: a content kind by `kinds` weights (photo / art / text), an image of that kind by
area, a degradation class by `mix` (clean / jpeg / h264 / hevc / mpeg2; `mix_per_kind`
overrides it per kind; classes an image lacks are dropped and the rest renormalised), one of
that class's versions uniformly, an LR crop (x, y) and the HR crop (x * s, y * s), then one
of the 8 flips / rotations applied to both. HR and LR arrays are memory-mapped .npy files,
so nothing needs warming up and the kernel's page cache holds what is used.

    s = MixSampler("/var/tmp/upres-train/v2", scale=2, lr_patch=64, seed=0,
                   kinds={"photo": 0.4, "art": 0.35, "text": 0.25},
                   mix={"clean": 0.3, "jpeg": 0.15, "h264": 0.3, "hevc": 0.12, "mpeg2": 0.13})
    lr, hr = s.batch(16)     # 16 x 1 x 64 x 64 (decoded 8-bit Y / 255), 16 x 1 x 128 x 128 (Y)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .data import rgb_to_y

KINDS = ("photo", "art", "text")
CLASSES = ("clean", "jpeg", "h264", "hevc", "mpeg2")


def load_manifest(root) -> dict:
    path = Path(root) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run training/data/prepare_v2.py first")
    return json.loads(path.read_text())


def version_class(v: dict) -> str:
    return "clean" if v["codec"] == "none" else v["codec"]


def _normalise(weights: dict, allowed, what: str) -> dict:
    bad = set(weights) - set(allowed)
    if bad:
        raise ValueError(f"unknown {what}: {sorted(bad)} (allowed: {list(allowed)})")
    w = {k: float(v) for k, v in weights.items() if float(v) > 0}
    if any(float(v) < 0 for v in weights.values()):
        raise ValueError(f"negative {what} weight in {weights}")
    total = sum(w.values())
    if total <= 0:
        raise ValueError(f"{what} weights sum to zero: {weights}")
    return {k: v / total for k, v in w.items()}


class MixSampler:
    """Random aligned (LR, HR) luma patches; state() / set_state() for exact resume."""

    def __init__(self, root, scale: int, lr_patch: int, channels: int = 1, seed: int = 0,
                 kinds: dict | None = None, mix: dict | None = None,
                 mix_per_kind: dict | None = None, split: str = "train"):
        if channels != 1:
            raise ValueError("data v2 provides luma (channels: 1) only")
        self.root, self.scale, self.lr_patch = Path(root), int(scale), int(lr_patch)
        man = load_manifest(root)
        self.kinds = _normalise(kinds or {k: 1.0 for k in KINDS}, KINDS, "kinds")
        base_mix = _normalise(mix or {"clean": 1.0}, CLASSES, "mix classes")
        self.mix = {k: _normalise((mix_per_kind or {}).get(k) or base_mix, CLASSES, f"mix for {k}")
                    for k in self.kinds}
        bad = set(mix_per_kind or {}) - set(KINDS)
        if bad:
            raise ValueError(f"mix_per_kind: unknown kinds {sorted(bad)}")
        self.images: dict[str, list[dict]] = {k: [] for k in self.kinds}
        hr = self.lr_patch * self.scale
        for img in man["images"]:
            if img["split"] != split or img["kind"] not in self.kinds:
                continue
            versions = img.get("lr", {}).get(str(self.scale))
            if not versions:
                raise ValueError(f"{img['file']}: no LR versions for x{self.scale} "
                                 f"(run prepare_v2.py --scales {self.scale})")
            w, h = img["width"] // self.scale, img["height"] // self.scale
            if w < lr_patch or h < lr_patch:
                continue
            by_class: dict[str, list[dict]] = {}
            for v in versions:
                by_class.setdefault(version_class(v), []).append(v)
            self.images[img["kind"]].append({"file": img["file"], "stem": img["stem"],
                                             "lr_size": (h, w), "by_class": by_class})
        empty = [k for k, lst in self.images.items() if not lst]
        if empty:
            raise ValueError(f"no {split} images of kind(s) {empty} at x{self.scale} in {root}")
        self.kind_names = list(self.kinds)
        self.kind_p = np.array([self.kinds[k] for k in self.kind_names])
        self.img_p = {}
        for k, lst in self.images.items():
            a = np.array([i["lr_size"][0] * i["lr_size"][1] for i in lst], dtype=np.float64)
            self.img_p[k] = a / a.sum()
        self._mm: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def _array(self, rel: str) -> np.ndarray:
        a = self._mm.get(rel)
        if a is None:
            a = np.load(self.root / rel, mmap_mode="r")
            self._mm[rel] = a
        return a

    def hr_array(self, img: dict) -> np.ndarray:
        return self._array(str(Path(img["file"]).with_suffix(".npy")))

    def draw(self) -> dict:
        """Choose (kind, image, version, crop, dihedral) without reading pixels."""
        rng = self.rng
        kind = self.kind_names[int(rng.choice(len(self.kind_names), p=self.kind_p))]
        img = self.images[kind][int(rng.choice(len(self.images[kind]), p=self.img_p[kind]))]
        mix = {c: p for c, p in self.mix[kind].items() if c in img["by_class"]}
        if not mix:
            raise ValueError(f"{img['file']}: none of the mix classes {list(self.mix[kind])} "
                             f"exists (has {list(img['by_class'])})")
        classes = list(mix)
        p = np.array([mix[c] for c in classes])
        cls = classes[int(rng.choice(len(classes), p=p / p.sum()))]
        vs = img["by_class"][cls]
        v = vs[int(rng.integers(0, len(vs)))]
        h, w = img["lr_size"]
        y = int(rng.integers(0, h - self.lr_patch + 1))
        x = int(rng.integers(0, w - self.lr_patch + 1))
        return {"kind": kind, "img": img, "version": v, "cls": cls, "y": y, "x": x,
                "k": int(rng.integers(0, 8))}

    def pair(self, d: dict):
        """The (lr, hr) float32 1 x P x P / 1 x sP x sP arrays of a draw."""
        s, p = self.scale, self.lr_patch
        lr = self._array(d["version"]["file"])[d["y"]:d["y"] + p, d["x"]:d["x"] + p]
        hr = self.hr_array(d["img"])[d["y"] * s:(d["y"] + p) * s, d["x"] * s:(d["x"] + p) * s]
        k = d["k"]
        if k & 1:
            lr, hr = lr[:, ::-1], hr[:, ::-1]
        lr, hr = np.rot90(lr, k >> 1), np.rot90(hr, k >> 1)
        lr = np.ascontiguousarray(lr, dtype=np.float32)[None] / 255.0
        return lr, np.ascontiguousarray(rgb_to_y(np.ascontiguousarray(hr)))[None]

    def sample(self):
        return self.pair(self.draw())

    def batch(self, n: int):
        pairs = [self.sample() for _ in range(n)]
        return (torch.from_numpy(np.stack([q[0] for q in pairs])),
                torch.from_numpy(np.stack([q[1] for q in pairs])))


def load_validation_v2(root, scale: int, kinds=KINDS, tags=("clean", "h264-crf23-I"),
                       crop: int | None = None, max_per_kind: int | None = None):
    """Validation sets per (kind, degradation tag): dict "kind/tag" -> list of
    (name, lr 1x1xhxw, hr 1x1xHxW) tensors. LR is the precomputed version (whole image, then
    centred crop of `crop` HR px if given, aligned to the scale)."""
    root = Path(root)
    man = load_manifest(root)
    out: dict[str, list] = {}
    for kind in kinds:
        imgs = [i for i in man["images"] if i["split"] == "val" and i["kind"] == kind]
        if max_per_kind:
            imgs = imgs[:max_per_kind]
        for tag in tags:
            key = f"{kind}/{tag}"
            out[key] = []
            for img in imgs:
                vs = {v["tag"]: v for v in img.get("lr", {}).get(str(scale), [])}
                if tag not in vs:
                    raise ValueError(f"{img['file']}: no x{scale} LR version '{tag}' "
                                     f"(has {sorted(vs)}); rerun prepare_v2.py --scales {scale}")
                lr = np.load(root / vs[tag]["file"])
                hr = np.load(root / Path(img["file"]).with_suffix(".npy"))
                h, w = lr.shape
                if crop:
                    c = min(crop // scale, h, w)
                    y0, x0 = (h - c) // 2, (w - c) // 2
                    lr = lr[y0:y0 + c, x0:x0 + c]
                    hr = hr[y0 * scale:(y0 + c) * scale, x0 * scale:(x0 + c) * scale]
                else:
                    hr = hr[:h * scale, :w * scale]
                lr_t = torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32) / 255.0)[None, None]
                hr_t = torch.from_numpy(rgb_to_y(np.ascontiguousarray(hr)))[None, None]
                out[key].append((img["stem"], lr_t, hr_t))
    return out
