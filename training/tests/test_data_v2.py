"""Data v2: real encoders on whole LR images, the manifest prepare_v2.py writes, the mixed
sampler (alignment of HR / LR pairs, determinism and resume, the configured mix) and a short
training run on it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from upres_train.config import resolve
from upres_train.data import bicubic_downscale, rgb_to_y
from upres_train.data_v2 import MixSampler, load_validation_v2
from upres_train.degrade import clean_lr_y, encode_lr, rgb_to_yuv420
from upres_train.trainer import run_training

from conftest import synthetic_photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
import prepare_v2  # noqa: E402


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


@pytest.fixture(scope="module")
def v2_root(tmp_path_factory):
    """A tiny v2 tree: 2 train + 1 val image per kind, LR versions at x2 through the real
    encoders (prepare_v2.write_lr_versions), and its manifest."""
    root = tmp_path_factory.mktemp("v2")
    rng = np.random.default_rng(11)
    images = []
    for kind in ("photo", "art", "text"):
        for split, n in (("train", 2), ("val", 1)):
            for i in range(n):
                hr = synthetic_photo(rng, 96 + 24 * i, 144)
                stem = f"{kind}-{split}-{i}"
                d = root / "hr" / kind / split
                d.mkdir(parents=True, exist_ok=True)
                Image.fromarray(hr).save(d / f"{stem}.png")
                np.save(d / f"{stem}.npy", hr)
                images.append({"file": f"hr/{kind}/{split}/{stem}.png", "kind": kind, "group": kind,
                               "split": split, "stem": stem, "sources": [f"pkg:{stem}"], "how": "test",
                               "width": hr.shape[1], "height": hr.shape[0]})
    prepare_v2.write_lr_versions(root, images, [2], seed=0, log=lambda s: None)
    sources = {f"pkg:{i['stem']}": {"package": "pkg", "version": "1", "path": i["stem"],
                                    "sha256": "0" * 64, "licence": "CC0-1.0", "copyright": ""}
               for i in images}
    prepare_v2.write_manifest(root, 0, sources, images)
    return root


def test_yuv420_luma_is_the_training_luma():
    rgb = synthetic_photo(np.random.default_rng(0), 32, 48)
    y, cb, cr = rgb_to_yuv420(rgb)
    assert y.shape == (32, 48) and cb.shape == cr.shape == (16, 24)
    np.testing.assert_array_equal(y, clean_lr_y(rgb))
    grey = np.full((8, 8, 3), 128, np.uint8)
    _, cb, cr = rgb_to_yuv420(grey)
    assert np.all(cb == 128) and np.all(cr == 128)


@pytest.mark.parametrize("codec,lo,hi", [("h264", 18, 35), ("hevc", 22, 38), ("mpeg2", 2, 12), ("jpeg", 90, 20)])
def test_encoders_degrade_with_level(codec, lo, hi):
    rgb = synthetic_photo(np.random.default_rng(1), 96, 128)
    clean = clean_lr_y(rgb)
    good = encode_lr(rgb, codec, lo)
    bad = encode_lr(rgb, codec, hi)
    assert good.shape == bad.shape == clean.shape and good.dtype == np.uint8
    assert _psnr(good, clean) > _psnr(bad, clean) + 1.0
    assert _psnr(good, clean) < 80  # really went through the encoder


def test_p_frame_differs_from_i_frame_and_stays_aligned():
    rgb = synthetic_photo(np.random.default_rng(2), 96, 128)
    clean = clean_lr_y(rgb)
    i = encode_lr(rgb, "h264", 30, "I")
    p = encode_lr(rgb, "h264", 30, "P", shift=(2, -2))
    assert not np.array_equal(i, p)
    # the decoded P frame shows the image itself, not its shifted predecessor
    assert _psnr(p, clean) > _psnr(p, np.roll(clean, (2, -2), axis=(0, 1))) + 3
    with pytest.raises(ValueError):
        encode_lr(rgb, "h264", 30, "P", shift=(1, 0))


def test_lr_plan_is_deterministic_and_covers_the_codecs():
    img = {"stem": "x", "split": "train"}
    a, b = prepare_v2.lr_plan(0, img, 2), prepare_v2.lr_plan(0, img, 2)
    assert a == b
    assert prepare_v2.lr_plan(1, img, 2) != a
    codecs = {v["codec"] for v in a}
    assert codecs == {"none", "jpeg", "h264", "hevc", "mpeg2"}
    assert len({v["tag"] for v in a}) == len(a)
    h264 = [v["level"] for v in a if v["codec"] == "h264"]
    assert all(18 <= c <= 35 for c in h264)
    assert [v["tag"] for v in prepare_v2.lr_plan(0, {"stem": "x", "split": "val"}, 2)] == ["clean", "h264-crf23-I"]


def test_manifest_lists_every_file(v2_root):
    man = json.loads((v2_root / "manifest.json").read_text())
    assert man["version"] == 2 and len(man["images"]) == 9
    for img in man["images"]:
        assert set(img["sources"]) <= set(man["sources"])
        assert (v2_root / img["file"]).exists()
        for v in img["lr"]["2"]:
            lr = np.load(v2_root / v["file"])
            assert lr.shape == (img["height"] // 2, img["width"] // 2) and lr.dtype == np.uint8
    for s in man["sources"].values():
        assert {"package", "version", "path", "sha256", "licence"} <= set(s)


def test_sources_registry_reads_a_real_package(tmp_path):
    """A .deb built here: the manifest entry has its version, the file's SHA-256 and the
    licence of the dep5 paragraph that covers it (a directory glob included)."""
    pkg = tmp_path / "pkgsrc"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN/control").write_text("Package: upres-test-art\nVersion: 1.2-3\nArchitecture: all\n"
                                        "Maintainer: t <t@example.org>\nDescription: test\n")
    (pkg / "usr/share/art/flat-theme").mkdir(parents=True)
    (pkg / "usr/share/art/flat-theme/a.svg").write_text("<svg/>")
    (pkg / "usr/share/art/b.svg").write_text("<svg></svg>")
    (pkg / "usr/share/doc/upres-test-art").mkdir(parents=True)
    (pkg / "usr/share/doc/upres-test-art/copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 A\nLicense: GPL-2+\n\n"
        "Files: flat-theme/*\nCopyright: 2021 B\nLicense: CC-BY-SA-4.0\n")
    debs = tmp_path / "root" / "debs"
    debs.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkg),
                    str(debs / "upres-test-art_1.2-3_all.deb")], check=True, capture_output=True)
    src = prepare_v2.Sources(tmp_path / "root")
    a = src.entries[src.add("upres-test-art", "usr/share/art/flat-theme/a.svg")]
    b = src.entries[src.add("upres-test-art", "usr/share/art/b.svg")]
    assert a["version"] == "1.2-3" and a["licence"] == "CC-BY-SA-4.0" and b["licence"] == "GPL-2+"
    import hashlib
    assert b["sha256"] == hashlib.sha256(b"<svg></svg>").hexdigest()
    with pytest.raises(SystemExit):
        src.add("upres-test-art", "usr/share/wallpapers/SafeLanding/contents/x.png")
    with pytest.raises(SystemExit):
        src.package("renpy-demo")


MIX = {"clean": 0.4, "jpeg": 0.1, "h264": 0.3, "hevc": 0.1, "mpeg2": 0.1}


def test_pairs_are_aligned(v2_root):
    s = MixSampler(v2_root, 2, 16, seed=5, mix=MIX)
    man = json.loads((v2_root / "manifest.json").read_text())
    hr_by_file = {i["file"]: np.load(v2_root / Path(i["file"]).with_suffix(".npy")) for i in man["images"]}
    for _ in range(40):
        d = s.draw()
        lr, hr = s.pair(d)
        assert lr.shape == (1, 16, 16) and hr.shape == (1, 32, 32)
        # undo the dihedral op on both and compare with the stored arrays at (y, x)
        k = d["k"]
        un_lr, un_hr = np.rot90(lr[0], -(k >> 1)), np.rot90(hr[0], -(k >> 1))
        if k & 1:
            un_lr, un_hr = un_lr[:, ::-1], un_hr[:, ::-1]
        full_lr = np.load(v2_root / d["version"]["file"])
        y, x = d["y"], d["x"]
        np.testing.assert_array_equal(np.rint(un_lr * 255), full_lr[y:y + 16, x:x + 16])
        full_hr = hr_by_file[d["img"]["file"]]
        np.testing.assert_allclose(un_hr, rgb_to_y(full_hr[2 * y:2 * y + 32, 2 * x:2 * x + 32]), atol=1e-6)
        if d["cls"] == "clean":  # the clean LR is the bicubic of exactly this HR crop (interior)
            ref = clean_lr_y(bicubic_downscale(np.ascontiguousarray(full_hr), 2))[y:y + 16, x:x + 16]
            np.testing.assert_array_equal(np.rint(un_lr * 255), ref)


def test_compressed_lr_matches_its_hr_location(v2_root):
    """A compressed patch is closest to the bicubic LR of the same place, not a neighbour."""
    s = MixSampler(v2_root, 2, 24, seed=1, mix={"h264": 1.0})
    for _ in range(10):
        d = s.draw()
        hr = np.load(v2_root / Path(d["img"]["file"]).with_suffix(".npy"))
        clean = clean_lr_y(bicubic_downscale(hr, 2)).astype(np.float64)
        lr = np.load(v2_root / d["version"]["file"]).astype(np.float64)
        y, x = d["y"], d["x"]
        here = _psnr(lr[y:y + 24, x:x + 24], clean[y:y + 24, x:x + 24])
        h, w = clean.shape
        y2, x2 = min(y + 2, h - 24), min(x + 2, w - 24)
        if (y2, x2) != (y, x):
            assert here > _psnr(lr[y:y + 24, x:x + 24], clean[y2:y2 + 24, x2:x2 + 24])


def test_sampler_is_deterministic_and_resumes(v2_root):
    a = MixSampler(v2_root, 2, 16, seed=3, mix=MIX)
    b = MixSampler(v2_root, 2, 16, seed=3, mix=MIX)
    la, ha = a.batch(6)
    lb, hb = b.batch(6)
    assert torch.equal(la, lb) and torch.equal(ha, hb)
    state = a.state()
    next_a = a.batch(4)
    c = MixSampler(v2_root, 2, 16, seed=99, mix=MIX)
    c.set_state(state)
    next_c = c.batch(4)
    assert torch.equal(next_a[0], next_c[0]) and torch.equal(next_a[1], next_c[1])
    assert not torch.equal(MixSampler(v2_root, 2, 16, seed=4, mix=MIX).batch(6)[0], la)


def test_mix_and_kind_weights_are_followed(v2_root):
    kinds = {"photo": 0.5, "art": 0.3, "text": 0.2}
    s = MixSampler(v2_root, 2, 16, seed=0, kinds=kinds, mix=MIX,
                   mix_per_kind={"text": {"clean": 0.8, "mpeg2": 0.2}})
    n = 6000
    draws = [s.draw() for _ in range(n)]
    for k, w in kinds.items():
        assert abs(sum(d["kind"] == k for d in draws) / n - w) < 0.03
    non_text = [d for d in draws if d["kind"] != "text"]
    for c, w in MIX.items():
        assert abs(sum(d["cls"] == c for d in non_text) / len(non_text) - w) < 0.03
    text = [d for d in draws if d["kind"] == "text"]
    assert {d["cls"] for d in text} == {"clean", "mpeg2"}
    assert abs(sum(d["cls"] == "clean" for d in text) / len(text) - 0.8) < 0.05
    assert all(d["img"]["stem"].endswith(("-0", "-1")) and "-train-" in d["img"]["stem"] for d in draws)
    only_photo = MixSampler(v2_root, 2, 16, kinds={"photo": 1.0, "art": 0, "text": 0})
    assert {only_photo.draw()["kind"] for _ in range(50)} == {"photo"}
    with pytest.raises(ValueError):
        MixSampler(v2_root, 2, 16, mix={"h263": 1.0})
    with pytest.raises(ValueError):
        MixSampler(v2_root, 2, 16, kinds={"anime": 1.0})


def test_validation_sets_per_kind(v2_root):
    groups = load_validation_v2(v2_root, 2, crop=40)
    assert set(groups) == {f"{k}/{t}" for k in ("photo", "art", "text") for t in ("clean", "h264-crf23-I")}
    for key, items in groups.items():
        assert len(items) == 1
        name, lr, hr = items[0]
        assert "-val-" in name and lr.shape == (1, 1, 20, 20) and hr.shape == (1, 1, 40, 40)
    clean, h264 = groups["art/clean"][0][1], groups["art/h264-crf23-I"][0][1]
    assert not torch.equal(clean, h264)


def test_training_on_v2_runs_and_resumes(v2_root, tmp_path):
    cfg = resolve({
        "name": "v2run", "runs_dir": str(tmp_path), "scale": 2, "seed": 1,
        "model": {"arch": "plain", "channels": 8, "num_conv": 2, "rep_branches": ["3x3", "1x1"]},
        "data": {"source": "v2", "v2_dir": str(v2_root), "lr_patch": 16, "batch_size": 4,
                 "kinds": {"photo": 1, "art": 1, "text": 1}, "mix": MIX},
        "train": {"iters": 6, "bf16": False, "channels_last": False, "log_every": 2},
        "val": {"every_iters": 3, "crop": 40},
        "checkpoint": {"every_minutes": 100},
    })
    first = run_training(cfg, stop_after=3, log=lambda s: None)
    assert first["iteration"] == 3
    done = run_training(cfg, log=lambda s: None)
    assert done["iteration"] == 6
    vals = [json.loads(ln) for ln in (tmp_path / "v2run" / "log.jsonl").read_text().splitlines()]
    vals = [v for v in vals if v["kind"] == "val"]
    assert len(vals) == 2
    assert set(vals[-1]["gain_groups"]) == {f"{k}/{t}" for k in ("photo", "art", "text")
                                            for t in ("clean", "h264-crf23-I")}


def test_per_kind_evaluation(v2_root, tmp_path):
    from upres_train.eval_v2 import evaluate_v2, format_table
    from upres_train.metrics import classic_upscale
    res = evaluate_v2([("bic-net", None)], v2_root, 2, ["photo", "text"], ["clean", "h264-crf23-I"],
                      crop=None, upscale=lambda m, lr: classic_upscale(lr, 2, "bicubic"))
    assert set(res) == {"photo/clean", "photo/h264-crf23-I", "text/clean", "text/h264-crf23-I", "_timing"}
    for g in ("photo/clean", "text/h264-crf23-I"):
        r = res[g]
        assert r["gain"]["bic-net"]["bicubic"] == 0.0
        assert r["gain"]["bic-net"]["lanczos"] == pytest.approx(
            r["methods"]["bicubic"]["psnr"] - r["methods"]["lanczos"]["psnr"])
    # compression costs PSNR against the clean original
    assert res["photo/h264-crf23-I"]["methods"]["lanczos"]["psnr"] < res["photo/clean"]["methods"]["lanczos"]["psnr"]
    assert "photo/clean (1)" in format_table(res)
    import evaluate
    out = tmp_path / "e.json"
    assert evaluate.main(["--v2", "--v2-dir", str(v2_root), "--scale", "2", "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["groups"]) >= {"art/clean", "art/h264-crf23-I"}
