"""ClassSR-style routing of luma tiles (docs/routing.md): tiling geometry, the `mean_abs_gradient`
statistic, per-tile error/cost tables, the threshold search and the `routing` metadata key.

The Swift engine implements the same definitions; keep them exactly:

- Tiling (`Sources/UpresKit/TileGrid.swift`), per axis of an LR frame of `size` pixels with
  requested side `tile`: the frame is split evenly, core C = ceil(size / ceil(size / tile))
  (rounded up to `align`, at most size); core starts 0, C, 2C, ... while start + C < size, plus
  a last start at (size - C) rounded down to `align` (edge-aligned: the last tile may overlap
  its neighbour). A tile owns the part of its core not owned by the previous tile on that axis,
  the last one up to the frame's edge (each LR pixel is owned exactly once). The golden cases
  in Tests/UpresKitTests/Goldens/tile-grids.json hold both implementations to one geometry.
- A tile's network input is its core extended by `margin` pixels on every side, pixels outside
  the frame mirrored without repeating the edge pixel (numpy `np.pad(mode="reflect")`); the SR
  output is cropped by margin * scale on each side.
- mean_abs_gradient = (sum of |horizontal neighbour differences| + sum of |vertical neighbour
  differences| inside the core, 8-bit code values) / (core width * core height).
- Classes: g < t_flat -> flat, g < t_easy -> easy, g < t_medium -> medium, else hard.
- MAC cost of a tile = macs_per_pixel of its branch * (core w + 2 margin) * (core h + 2 margin);
  flat (the classical Lanczos upscale) costs 0.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

CLASSES = ("flat", "easy", "medium", "hard")
STATISTIC = "mean_abs_gradient"
ROUTING_VERSION = 1
# mean_abs_gradient < 2 * 255 always, so a threshold of G_NEVER means "every tile is below"
G_NEVER = 512.0


# ---------------------------------------------------------------- geometry

def axis_core(size: int, tile: int, align: int = 1) -> int:
    """The core length the engine uses on an axis: `size` split evenly into ceil(size / tile)
    tiles, rounded up to `align`, at most `size`."""
    n = -(-size // tile)
    even = -(-size // n)
    return min(size, -(-even // align) * align)


def axis_tiles(size: int, tile: int, align: int = 1) -> list[tuple[int, int, int, int]]:
    """Tiles along one axis as (core start, core length, owned start, owned end)."""
    if size <= 0 or tile <= 0 or align <= 0:
        raise ValueError(f"size {size}, tile {tile} and align {align} must be positive")
    core = axis_core(size, tile, align)
    starts, p = [], 0
    while p + core < size:
        starts.append(p)
        p += core
    last = (size - core) // align * align
    if not starts or last > starts[-1]:
        starts.append(last)
    out = []
    for i, s in enumerate(starts):
        owned0 = 0 if i == 0 else starts[i - 1] + core
        owned1 = size if i == len(starts) - 1 else s + core
        out.append((s, core, owned0, owned1))
    return out


@dataclass(frozen=True)
class Tile:
    x: int   # core start (LR pixels)
    y: int
    w: int   # core size
    h: int
    ox0: int  # owned region [ox0, ox1) x [oy0, oy1), absolute LR coordinates
    ox1: int
    oy0: int
    oy1: int

    @property
    def owned_pixels(self) -> int:
        return (self.ox1 - self.ox0) * (self.oy1 - self.oy0)


def frame_tiles(width: int, height: int, tile: int, align: int = 1) -> list[Tile]:
    """All tiles of a width x height LR frame, row by row (the engine's `TileGrid`)."""
    return [Tile(x, y, w, h, ox0, ox1, oy0, oy1)
            for (y, h, oy0, oy1) in axis_tiles(height, tile, align)
            for (x, w, ox0, ox1) in axis_tiles(width, tile, align)]


def mirror_pad(frame: np.ndarray, margin: int) -> np.ndarray:
    """H x W frame padded by `margin` on every side, mirrored without repeating the edge."""
    return np.pad(frame, margin, mode="reflect") if margin else frame


def tile_input(padded: np.ndarray, t: Tile, margin: int) -> np.ndarray:
    """The network input of tile t (core + margin) cut from mirror_pad(frame, margin)."""
    return padded[t.y:t.y + t.h + 2 * margin, t.x:t.x + t.w + 2 * margin]


def tile_macs(macs_per_pixel: float, t: Tile, margin: int) -> float:
    return float(macs_per_pixel) * (t.w + 2 * margin) * (t.h + 2 * margin)


# ---------------------------------------------------------------- statistic and classes

def mean_abs_gradient(core: np.ndarray) -> float:
    """The routing statistic of one tile core (2-D array of 8-bit code values)."""
    c = np.asarray(core, dtype=np.int64)
    h, w = c.shape
    total = np.abs(np.diff(c, axis=1)).sum() + np.abs(np.diff(c, axis=0)).sum()
    return float(total) / float(w * h)


def frame_statistics(lr8: np.ndarray, tiles: list[Tile]) -> np.ndarray:
    return np.array([mean_abs_gradient(lr8[t.y:t.y + t.h, t.x:t.x + t.w]) for t in tiles])


def classify(g, thresholds) -> np.ndarray:
    """Class index (0 flat, 1 easy, 2 medium, 3 hard) of each statistic value. `thresholds` =
    (t_flat, t_easy, t_medium) or the metadata dict {"flat": .., "easy": .., "medium": ..}."""
    if isinstance(thresholds, dict):
        thresholds = (thresholds["flat"], thresholds["easy"], thresholds["medium"])
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (3,) or not (t[0] <= t[1] <= t[2]):
        raise ValueError(f"thresholds must be 3 non-decreasing values, got {thresholds}")
    return np.searchsorted(t, np.asarray(g, dtype=np.float64), side="right")


# ---------------------------------------------------------------- tiled inference

@torch.no_grad()
def tiled_upscale(model, lr8: np.ndarray, tiles: list[Tile], margin: int,
                  batch: int = 16) -> torch.Tensor:
    """1 x C x H*s x W*s float output assembled from each tile's owned region, every tile run
    on its own mirrored input (exactly what the engine computes)."""
    s = model.scale
    h, w = lr8.shape
    padded = mirror_pad(lr8.astype(np.float32) / 255.0, margin)
    out = torch.empty(1, model.out_channels, h * s, w * s)
    groups: dict[tuple[int, int], list[Tile]] = {}
    for t in tiles:
        groups.setdefault((t.h, t.w), []).append(t)
    for group in groups.values():
        for i in range(0, len(group), batch):
            chunk = group[i:i + batch]
            x = torch.from_numpy(np.stack([tile_input(padded, t, margin) for t in chunk]))[:, None]
            sr = model(x.contiguous(memory_format=torch.channels_last)).float()
            for t, y in zip(chunk, sr):
                # tile output pixel (margin*s + (Y - t.y)*s) <-> frame output pixel Y*s
                ys, xs = (t.oy0 - t.y + margin) * s, (t.ox0 - t.x + margin) * s
                out[0, :, t.oy0 * s:t.oy1 * s, t.ox0 * s:t.ox1 * s] = \
                    y[:, ys:ys + (t.oy1 - t.oy0) * s, xs:xs + (t.ox1 - t.ox0) * s]
    return out


def quantized_255(img: torch.Tensor) -> np.ndarray:
    """Model/baseline output in [0, 1] -> float64 H x W 8-bit values (what gets written)."""
    return np.rint(np.clip(img[0, 0].double().numpy(), 0.0, 1.0) * 255.0)


def border_mask(shape, border: int) -> np.ndarray:
    """1 inside, 0 on the `border` pixels the metrics ignore."""
    m = np.zeros(shape)
    m[border:shape[0] - border, border:shape[1] - border] = 1.0
    return m


def tile_sse(sr255: np.ndarray, hr255: np.ndarray, tiles: list[Tile], scale: int,
             border: int = 0) -> np.ndarray:
    """Sum of squared errors over each tile's owned region (HR pixels), leaving out a frame
    border of `border` pixels (metrics.psnr_y's convention) when given."""
    err = (sr255 - hr255) ** 2
    if border:
        err *= border_mask(err.shape, border)
    return np.array([err[t.oy0 * scale:t.oy1 * scale, t.ox0 * scale:t.ox1 * scale].sum()
                     for t in tiles])


def tile_pixels(shape, tiles: list[Tile], scale: int, border: int = 0) -> np.ndarray:
    """HR pixels of each tile's owned region (outside the ignored border)."""
    m = border_mask(shape, border)
    return np.array([m[t.oy0 * scale:t.oy1 * scale, t.ox0 * scale:t.ox1 * scale].sum() for t in tiles])


def assemble(options: list[torch.Tensor], classes: np.ndarray, tiles: list[Tile],
             scale: int) -> torch.Tensor:
    """Routed output: each tile's owned region copied from the output of its class."""
    out = torch.empty_like(options[0])
    for t, c in zip(tiles, classes):
        sl = (..., slice(t.oy0 * scale, t.oy1 * scale), slice(t.ox0 * scale, t.ox1 * scale))
        out[sl] = options[int(c)][sl]
    return out


# ---------------------------------------------------------------- threshold search

def psnr_from_sse(sse: float, pixels: float) -> float:
    return float("inf") if sse <= 0 else 10.0 * np.log10(255.0**2 * pixels / sse)


@dataclass
class SearchResult:
    thresholds: tuple[float, float, float]
    sse: float
    macs: float
    counts: tuple[int, int, int, int]   # tiles per class


def candidate_thresholds(g: np.ndarray, num: int) -> np.ndarray:
    """0, G_NEVER and midpoints between consecutive distinct sorted g values at ~`num` quantile
    positions: each candidate separates the tiles differently."""
    gs = np.sort(np.asarray(g, dtype=np.float64))
    n = len(gs)
    idx = np.unique(np.linspace(1, n - 1, max(2, num)).round().astype(int)) if n > 1 else np.array([], int)
    mids = [(gs[i - 1] + gs[i]) / 2 for i in idx if gs[i - 1] < gs[i]]
    return np.unique(np.array([0.0, *mids, G_NEVER]))


def search_thresholds(g, sse, macs, budget: float, num_candidates: int = 256) -> SearchResult:
    """Monotone thresholds t_flat <= t_easy <= t_medium (from candidate_thresholds) minimising
    the total SSE subject to total MACs <= budget (absolute). `sse`, `macs`: n x 4 arrays in
    CLASSES order. Exhaustive over the candidate triples with prefix sums over g-sorted tiles."""
    g = np.asarray(g, dtype=np.float64)
    sse, macs = np.asarray(sse, dtype=np.float64), np.asarray(macs, dtype=np.float64)
    order = np.argsort(g, kind="stable")
    gs = g[order]
    cand = candidate_thresholds(g, num_candidates)
    cnt = np.searchsorted(gs, cand, side="left")        # tiles with g < threshold
    cnt, first = np.unique(cnt, return_index=True)      # one threshold per distinct split
    cand = cand[first]
    zero = np.zeros((1, 4))
    cs = np.concatenate([zero, np.cumsum(sse[order], axis=0)])[cnt]   # K x 4 prefix sums
    cm = np.concatenate([zero, np.cumsum(macs[order], axis=0)])[cnt]
    tot_s, tot_m = sse.sum(axis=0), macs.sum(axis=0)
    k = len(cnt)
    tol = budget * 1e-12 + 1e-9
    best = None
    b = np.arange(k)[:, None]
    c = np.arange(k)[None, :]
    valid = b <= c
    for a in range(k):
        # flat [0, a), easy [a, b), medium [b, c), hard [c, n)
        s = (cs[a, 0] + (cs[:, 1] - cs[a, 1])[:, None] + (cs[None, :, 2] - cs[:, None, 2])
             + (tot_s[3] - cs[:, 3])[None, :])
        m = (cm[a, 0] + (cm[:, 1] - cm[a, 1])[:, None] + (cm[None, :, 2] - cm[:, None, 2])
             + (tot_m[3] - cm[:, 3])[None, :])
        ok = valid & (b >= a) & (m <= budget + tol)
        if not ok.any():
            continue
        s_ok = np.where(ok, s, np.inf)
        i = np.flatnonzero(s_ok == s_ok.min())
        j = i[np.argmin(m.ravel()[i])]                  # ties: the cheaper split
        bi, ci = divmod(int(j), k)
        cand_best = (float(s_ok.ravel()[j]), float(m.ravel()[j]), a, bi, ci)
        if best is None or cand_best[:2] < best[:2]:
            best = cand_best
    if best is None:
        raise ValueError(f"no thresholds meet the budget {budget}")
    s_best, m_best, a, bi, ci = best
    n = len(g)
    counts = (int(cnt[a]), int(cnt[bi] - cnt[a]), int(cnt[ci] - cnt[bi]), int(n - cnt[ci]))
    return SearchResult((float(cand[a]), float(cand[bi]), float(cand[ci])), s_best, m_best, counts)


@dataclass
class OracleResult:
    sse: float
    macs: float
    classes: np.ndarray
    lower_bound: float   # no assignment within the budget has a smaller SSE


def oracle_routing(sse, macs, budget: float) -> OracleResult:
    """Per-tile choice ignoring the statistic (what a perfect classifier could do with these
    branches): Lagrangian relaxation (each tile takes argmin sse + lam * macs, lam bisected to
    meet the budget), then greedy upgrades into the budget left over. `lower_bound` is the
    Lagrangian dual value, a bound no classifier can beat."""
    sse, macs = np.asarray(sse, np.float64), np.asarray(macs, np.float64)
    rows = np.arange(len(sse))

    def pick(lam):
        cls = np.argmin(sse + lam * macs, axis=1)
        return cls, macs[rows, cls].sum()

    def dual(lam):
        return float((sse + lam * macs).min(axis=1).sum() - lam * budget)

    cls, m = pick(0.0)
    lam = 0.0
    if m > budget:
        lo, hi = 0.0, 1.0
        while pick(hi)[1] > budget and hi < 1e30:
            hi *= 4.0
        for _ in range(100):
            mid = (lo + hi) / 2
            if pick(mid)[1] > budget:
                lo = mid
            else:
                hi = mid
        lam = hi
        cls, m = pick(hi)
        # greedy: best SSE drop per extra MAC that still fits
        while True:
            cur_s, cur_m = sse[rows, cls][:, None], macs[rows, cls][:, None]
            gain, extra = cur_s - sse, macs - cur_m
            ok = (gain > 0) & (extra <= budget - m)
            if not ok.any():
                break
            ratio = np.where(ok, gain / np.maximum(extra, 1e-12), -np.inf)
            i, k = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            m += extra[i, k]
            cls[i] = k
    return OracleResult(float(sse[rows, cls].sum()), float(macs[rows, cls].sum()), cls,
                        dual(lam) if lam > 0 else float(sse[rows, cls].sum()))


# ---------------------------------------------------------------- metadata

def routing_metadata(thresholds, easy_name: str, medium_name: str, tile: int, margin: int,
                     calibration: dict) -> str:
    t0, t1, t2 = (float(v) for v in thresholds)
    if not t0 <= t1 <= t2:
        raise ValueError("thresholds must be non-decreasing")
    return json.dumps({
        "version": ROUTING_VERSION,
        "statistic": STATISTIC,
        "thresholds": {"flat": t0, "easy": t1, "medium": t2},
        "branches": {"easy": easy_name, "medium": medium_name},
        "tile": int(tile),
        "margin": int(margin),
        "calibration": calibration,
    }, sort_keys=True)


CLASSIFIER_STATISTIC = "classifier"


def classifier_routing_metadata(classifier_name: str, lam: float, macs_per_pixel: dict, easy_name: str,
                                medium_name: str, tile: int, margin: int, calibration: dict) -> str:
    """Routing by a learned classifier (train_classifier.py): it predicts each cheap option's
    extra squared error per HR pixel over the hard branch; the engine picks, per tile, the option
    with the least  predicted extra SSE + lambda x MACs  (docs/routing.md)."""
    if not lam > 0:
        raise ValueError("lambda must be positive")
    return json.dumps({
        "version": ROUTING_VERSION,
        "statistic": CLASSIFIER_STATISTIC,
        "classifier": classifier_name,
        "lambda": float(lam),
        "macs_per_pixel": {k: float(macs_per_pixel[k]) for k in ("easy", "medium", "hard")},
        "branches": {"easy": easy_name, "medium": medium_name},
        "tile": int(tile),
        "margin": int(margin),
        "calibration": calibration,
    }, sort_keys=True)


def parse_routing(meta: dict) -> dict:
    """The `routing` metadata of a model file, checked."""
    r = json.loads(meta["routing"])
    if r.get("version") != ROUTING_VERSION or r.get("statistic") != STATISTIC:
        raise ValueError(f"unsupported routing {r.get('version')!r} / {r.get('statistic')!r}")
    classify([0.0], r["thresholds"])  # validates monotonicity
    return r


def write_routing(src_path, out_path, routing_json: str) -> dict:
    """Copy the model file `src_path` to `out_path` with metadata `routing` added (every tensor
    and every other metadata key unchanged). Returns the new metadata."""
    from .weights_file import load_file, save_file
    tensors, meta = load_file(src_path)
    meta = dict(meta)
    meta["routing"] = routing_json
    save_file(tensors, out_path, meta)
    return meta
