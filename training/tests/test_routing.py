import itertools
import json

import numpy as np
import pytest
import torch

from upres_train.archs import build_model
from upres_train.model_io import export_model, load_any_model
from upres_train.routing import (G_NEVER, assemble, axis_core, axis_tiles, classify, frame_tiles,
                                 mean_abs_gradient, mirror_pad, oracle_routing, parse_routing,
                                 routing_metadata, search_thresholds, tile_input, tiled_upscale,
                                 write_routing)
from upres_train.weights_file import load_file

# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("size,tile,starts", [
    (256, 128, [0, 128]),          # exact multiple: no extra tile
    (300, 128, [0, 100, 200]),     # split evenly: 3 cores of 100, not 128 + 128 + 44
    (129, 128, [0, 64]),           # 2 cores of 65; the edge-aligned last one overlaps by 1
    (128, 128, [0]),
    (77, 128, [0]),                # smaller than a tile: one tile of the whole size
    (1, 128, [0]),
])
def test_axis_starts(size, tile, starts):
    ax = axis_tiles(size, tile)
    assert [a[0] for a in ax] == starts
    assert all(length == axis_core(size, tile) for _, length, _, _ in ax)
    assert all(0 <= s and s + n <= size for s, n, _, _ in ax)


@pytest.mark.parametrize("w,h,tile", [(300, 200, 128), (257, 129, 64), (50, 77, 128), (128, 256, 128),
                                      (33, 31, 8), (7, 130, 16)])
def test_ownership_covers_frame_once(w, h, tile):
    tiles = frame_tiles(w, h, tile)
    owned = np.zeros((h, w), int)
    for t in tiles:
        assert t.x <= t.ox0 < t.ox1 <= t.x + t.w and t.y <= t.oy0 < t.oy1 <= t.y + t.h  # inside the core
        assert t.w == axis_core(w, tile) and t.h == axis_core(h, tile)
        owned[t.oy0:t.oy1, t.ox0:t.ox1] += 1
    assert (owned == 1).all()  # coverage and disjoint ownership
    assert sum(t.owned_pixels for t in tiles) == w * h


def test_tile_input_is_mirrored_core_plus_margin():
    frame = np.arange(5 * 7).reshape(5, 7)
    margin = 2
    padded = mirror_pad(frame, margin)
    assert np.array_equal(padded, np.pad(frame, 2, mode="reflect"))
    assert padded[0, 2] == frame[2, 0] and padded[2, 1] == frame[0, 1]  # no repeated edge pixel
    t = frame_tiles(7, 5, 4)[-1]  # bottom-right, edge-aligned: core x 3..6, y 2..4 (5 = 3 + 3, overlapping)
    assert (t.x, t.y, t.w, t.h) == (3, 2, 4, 3)
    x = tile_input(padded, t, margin)
    assert x.shape == (7, 8)
    assert np.array_equal(x[margin:-margin, margin:-margin], frame[2:5, 3:7])
    assert x[-1, -1] == frame[2, 4]  # frame row 6 -> 2 * 4 - 6, column 8 -> 2 * 6 - 8


@pytest.mark.parametrize("scale", [2, 3])
def test_tiled_upscale_matches_whole_frame(scale):
    """With margin >= the receptive-field radius every tile sees what the whole (mirror-padded)
    frame would give it, so the assembly equals one whole-frame run."""
    torch.manual_seed(0)
    model = build_model("plain", scale=scale, channels=4, num_conv=2, act="leakyrelu").eval()
    margin = (model.receptive_field() - 1) // 2
    rng = np.random.default_rng(1)
    lr8 = rng.integers(0, 256, (23, 37), dtype=np.uint8)
    tiles = frame_tiles(37, 23, 10)
    out = tiled_upscale(model, lr8, tiles, margin, batch=3)
    with torch.no_grad():
        x = torch.from_numpy(mirror_pad(lr8.astype(np.float32) / 255, margin))[None, None]
        ref = model(x)[..., margin * scale:-margin * scale, margin * scale:-margin * scale]
    assert out.shape == ref.shape == (1, 1, 23 * scale, 37 * scale)
    assert torch.allclose(out, ref, atol=1e-5)
    # assembling from per-class outputs puts each tile's owned region from its class
    opts = [torch.full_like(out, float(k)) for k in range(4)]
    cls = np.arange(len(tiles)) % 4
    routed = assemble(opts, cls, tiles, scale)
    for t, c in zip(tiles, cls):
        assert (routed[..., t.oy0 * scale:t.oy1 * scale, t.ox0 * scale:t.ox1 * scale] == c).all()


# ---------------------------------------------------------------- statistic and classes

def test_mean_abs_gradient_known_values():
    core = np.array([[0, 1], [3, 3]])
    # horizontal |1-0| + |3-3| = 1, vertical |3-0| + |3-1| = 5, over 4 pixels
    assert mean_abs_gradient(core) == 1.5
    assert mean_abs_gradient(np.full((8, 8), 77, np.uint8)) == 0.0
    ramp = np.tile(np.arange(0, 40, 4, dtype=np.uint8), (3, 1))  # 3 x 10, +4 per column
    assert mean_abs_gradient(ramp) == pytest.approx(3 * 9 * 4 / 30)
    checker = (np.indices((4, 6)).sum(0) % 2 * 255).astype(np.uint8)  # uint8 must not wrap
    assert mean_abs_gradient(checker) == pytest.approx((4 * 5 + 3 * 6) * 255 / 24)
    assert mean_abs_gradient(checker) < G_NEVER


def test_classify_boundaries():
    t = (1.0, 2.0, 3.0)
    assert list(classify([0.0, 0.999, 1.0, 1.5, 2.0, 2.99, 3.0, 500], t)) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(classify([0.0, 5.0], {"flat": 0.0, "easy": 0.0, "medium": G_NEVER})) == [2, 2]
    with pytest.raises(ValueError):
        classify([1.0], (2.0, 1.0, 3.0))


# ---------------------------------------------------------------- threshold search

def synthetic_tiles(n=300, seed=0):
    """Error falls with branch capacity, more so for high-gradient tiles; MACs grow with it."""
    rng = np.random.default_rng(seed)
    g = rng.gamma(2.0, 3.0, n)
    base = 50 + 40 * g
    sse = np.stack([base * 2.0 + rng.normal(0, 5, n),
                    base * (1.4 - 0.01 * g), base * (1.2 - 0.01 * g), base * (1.0 - 0.01 * g)], 1)
    macs = np.tile([0.0, 10.0, 33.0, 75.0], (n, 1)) * 1e3
    return g, np.abs(sse), macs


def brute_force(g, sse, macs, budget, cands):
    best = None
    for t in itertools.combinations_with_replacement(sorted(cands), 3):
        cls = classify(g, t)
        rows = np.arange(len(g))
        s, m = sse[rows, cls].sum(), macs[rows, cls].sum()
        if m <= budget and (best is None or (s, m) < best[:2]):
            best = (s, m, t)
    return best


@pytest.mark.parametrize("frac", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_search_respects_budget_and_is_optimal(frac):
    g, sse, macs = synthetic_tiles(120)
    budget = frac * macs[:, 3].sum()
    res = search_thresholds(g, sse, macs, budget, num_candidates=24)
    t = res.thresholds
    assert t[0] <= t[1] <= t[2]
    cls = classify(g, t)
    rows = np.arange(len(g))
    assert macs[rows, cls].sum() == pytest.approx(res.macs) and res.macs <= budget + 1e-6
    assert sse[rows, cls].sum() == pytest.approx(res.sse)
    assert tuple(np.bincount(cls, minlength=4)) == res.counts
    from upres_train.routing import candidate_thresholds
    ref = brute_force(g, sse, macs, budget, candidate_thresholds(g, 24))
    assert res.sse == pytest.approx(ref[0])
    if frac == 0.0:
        assert res.counts == (len(g), 0, 0, 0)
    if frac == 1.0:  # unconstrained: at least as good as every single option
        assert res.sse <= sse.sum(0).min() + 1e-6


def test_search_more_budget_never_worse_and_oracle_bounds():
    g, sse, macs = synthetic_tiles(400, seed=3)
    all_hard = macs[:, 3].sum()
    prev = np.inf
    for frac in (0.1, 0.3, 0.5, 0.7, 0.9):
        res = search_thresholds(g, sse, macs, frac * all_hard, num_candidates=64)
        assert res.sse <= prev + 1e-9
        prev = res.sse
        o = oracle_routing(sse, macs, frac * all_hard)
        assert o.macs <= frac * all_hard + 1e-6
        assert o.lower_bound <= res.sse + 1e-6 and o.lower_bound <= o.sse + 1e-6
        assert o.sse <= res.sse * 1.01  # per-tile choice: close to or better than thresholds
        rows = np.arange(len(g))
        assert sse[rows, o.classes].sum() == pytest.approx(o.sse)


# ---------------------------------------------------------------- metadata

def test_routing_metadata_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("plain", scale=2, channels=4, num_conv=1, act="leakyrelu")
    src = tmp_path / "hard.safetensors"
    export_model(model, src, {"run": "test"}, golden=False)
    cal = {"budget": 0.5, "train_tiles": 12, "val_psnr": {"routed": 35.1, "hard": 35.0}}
    r = routing_metadata((1.25, 3.5, 9.0), "upres-x2-easy", "upres-x2-medium", 128, 10, cal)
    out = tmp_path / "routed.safetensors"
    write_routing(src, out, r)
    t0, m0 = load_file(src)
    t1, m1 = load_file(out)
    assert t0.keys() == t1.keys() and all(torch.equal(t0[k], t1[k]) for k in t0)
    assert {k: v for k, v in m1.items() if k != "routing"} == m0
    parsed = parse_routing(m1)
    assert parsed == {"version": 1, "statistic": "mean_abs_gradient",
                      "thresholds": {"flat": 1.25, "easy": 3.5, "medium": 9.0},
                      "branches": {"easy": "upres-x2-easy", "medium": "upres-x2-medium"},
                      "tile": 128, "margin": 10, "calibration": cal}
    assert json.loads(m1["routing"]) == parsed
    loaded, info = load_any_model(out)  # still an ordinary model file
    assert info["metadata"]["routing"] == r
    with pytest.raises(ValueError):
        routing_metadata((2.0, 1.0, 3.0), "a", "b", 128, 10, {})


# ---------------------------------------------------------------- calibrate.py end to end

def test_calibrate_end_to_end(tmp_path, photo_root, capsys):
    import calibrate
    files = {}
    for i, (ch, n) in enumerate([(2, 1), (3, 1), (4, 2)]):
        torch.manual_seed(i)
        model = build_model("plain", scale=2, channels=ch, num_conv=n, act="leakyrelu")
        files[("easy", "medium", "hard")[i]] = tmp_path / f"b{i}.safetensors"
        export_model(model, files[("easy", "medium", "hard")[i]], {"run": "test"}, golden=False)
    out, js, cache = tmp_path / "routed.safetensors", tmp_path / "cal.json", tmp_path / "tiles.npz"
    argv = ["--easy", str(files["easy"]), "--medium", str(files["medium"]), "--hard", str(files["hard"]),
            "--train-dir", str(photo_root / "train"), "--val-dir", str(photo_root / "val"),
            "--tile", "32", "--budget", "0.4", "--cache", str(cache), "--json", str(js),
            "--out", str(out), "--quiet"]
    assert calibrate.main(argv) == 0
    rep = json.loads(js.read_text())
    assert rep["margin"] == 4  # plain with 4 convs: receptive field 9
    assert rep["train"]["routed"]["mac_ratio"] <= 0.4
    assert rep["train"]["tiles"] == 3 * 9  # 75 x 80..85 LR at T=32 -> 3 x 3 tiles per photo
    assert set(rep["val"]["methods"]) >= {"bicubic", "lanczos", "easy", "medium", "hard", "routed"}
    assert rep["val"]["table_check_max_abs_db"] < 1e-3  # tile tables reproduce psnr_y
    assert len(rep["val"]["sweep"]) == len(rep["train"]["sweep"])
    r = parse_routing(load_file(out)[1])
    assert r["tile"] == 32 and r["margin"] == 4 and r["branches"]["easy"] == "upres-x2-easy"
    assert r["calibration"]["val_mac_ratio"] == rep["val"]["methods"]["routed"]["mac_ratio"]
    t0, m0 = load_file(files["hard"])
    t1, m1 = load_file(out)
    assert all(torch.equal(t0[k], t1[k]) for k in t0) and m1.keys() - m0.keys() == {"routing"}
    # a second run with another budget reads the tile cache
    mtime = cache.stat().st_mtime_ns
    assert calibrate.main(argv[:-3] + ["--budget", "1.0", "--no-val", "--quiet"]) == 0
    assert cache.stat().st_mtime_ns == mtime
    assert json.loads(js.read_text())["train"]["routed"]["psnr"] >= rep["train"]["routed"]["psnr"]


def test_tile_grid_matches_the_engine_golden():
    """The engine's TileGrid cases (Tests/UpresKitTests/Goldens/tile-grids.json, also checked
    by the Swift tests): routing is calibrated on the grid upres runs."""
    import json
    from pathlib import Path
    golden = json.loads((Path(__file__).resolve().parents[2] / "Tests/UpresKitTests/Goldens/tile-grids.json").read_text())
    assert len(golden["cases"]) >= 10
    for c in golden["cases"]:
        tiles = frame_tiles(c["width"], c["height"], c["tile"], c["align"])
        assert [[t.x, t.y, t.ox0, t.oy0, t.ox1 - t.ox0, t.oy1 - t.oy0] for t in tiles] == c["tiles"], c["width"]
        assert {(t.w, t.h) for t in tiles} == {tuple(c["core"])}
