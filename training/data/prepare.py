#!/usr/bin/env python3
"""Build the training / validation photo set from Debian wallpaper packages.

    .venv/bin/python data/prepare.py [--root /var/tmp/upres-train] [--force]

Steps: `apt-get download` each package (no install; needs `apt-get update` once), `dpkg -x`
it, take the photographic files listed in SOURCES, downscale them to at most 2560 px on the
long side with Lanczos (which also removes most JPEG artefacts), and save them as PNG in
<root>/photos/{train,val}/. VALIDATION names the fixed hold-out. <root>/photos/manifest.json
records, per photo: file, split, package, package version, path in the package, licence and
copyright holders from usr/share/doc/PKG/copyright (plus, for KDE wallpapers, the author and
licence from the wallpaper's metadata.json). The images are never committed.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageOps

# (package, path pattern inside the package with {name}, names, prefix for output files)
SOURCES = [
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/{name}/contents/images/2560x1600.jpg",
     ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
      "Grey", "Kite", "OneStandsOut", "Path", "summer_1am"], "kde"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/{name}.jpg",
     ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
      "Storm", "TwoWings", "Wood", "YellowFlower"], "mate"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/{name}.jpg",
     ["Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace",
      "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
      "analogpattern_by_Peter_Nerlich", "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi",
      "greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi",
      "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
      "sunset_by_Aitzol_Berasategi"], "lomiri"),
    ("lomiri-wallpapers-20.04", "usr/share/backgrounds/{name}.jpg",
     ["Kleiber_by_Lukas_Baubkus"], "lomiri"),
]

# Fixed hold-out (output stems): different packages and content (hard edges, boats and water,
# dense foliage, a leafy macro, a mountain landscape). Never train or tune on anything else
# the project keeps for independent evaluation.
VALIDATION = ["kde-ColorfulCups", "kde-EveningGlow", "kde-OneStandsOut",
              "lomiri-Dragonfly_by_Bolly", "lomiri-picosdeeuropa_by_Aitzol_Berasategi"]


def run(cmd, cwd=None) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr.strip()}\n"
                         "hint: run 'apt-get update' once if the package is not found")
    return res.stdout


def fetch_package(pkg: str, debs: Path) -> tuple[Path, str]:
    """Download and extract one package; returns (extracted root, version)."""
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    if not found:
        run(["apt-get", "download", pkg], cwd=debs)
        found = sorted(debs.glob(f"{pkg}_*.deb"))
    deb = found[-1]
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    root = debs / "x" / f"{pkg}_{version.replace(':', '%3a')}"
    if not (root / ".extracted").exists():
        root.mkdir(parents=True, exist_ok=True)
        run(["dpkg", "-x", str(deb), str(root)])
        (root / ".extracted").write_text(version)
    return root, version


def parse_dep5(text: str) -> list[dict]:
    """Debian machine-readable copyright file -> list of paragraphs (field -> value; the
    first line of a multi-line value plus its continuation lines, joined by newlines)."""
    paras, cur, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                paras.append(cur)
            cur, key = {}, None
        elif line[0] in " \t" and key:
            cur[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, val = line.partition(":")
            cur[key] = val.strip()
    if cur:
        paras.append(cur)
    return paras


def licence_for(paras: list[dict], relpath: str) -> dict:
    """The Files paragraph that covers `relpath`, matched on the file name since the copyright
    files name upstream paths, not installed ones (so a directory glob like `debian/*` says
    nothing about our file and is skipped): the last match wins, else the `Files: *` one."""
    base = relpath.rsplit("/", 1)[-1]

    def names_file(g: str) -> bool:
        gdir, _, gbase = g.rpartition("/")
        return not (gdir and gbase == "*") and fnmatch.fnmatch(base, gbase)

    best = fallback = None
    for p in paras:
        globs = p.get("Files", "").split()
        if "*" in globs:
            fallback = p
        elif any(names_file(g) for g in globs):
            best = p
    p = best or fallback or {}
    return {"licence": p.get("License", "unknown").split("\n")[0],
            "copyright": p.get("Copyright", "").replace("\n", "; ")}


def kde_metadata(pkg_root: Path, name: str) -> dict:
    meta = pkg_root / "usr/share/wallpapers" / name / "metadata.json"
    if not meta.exists():
        return {}
    k = json.loads(meta.read_text()).get("KPlugin", {})
    return {"author": ", ".join(a.get("Name", "") for a in k.get("Authors", [])),
            "upstream_licence": k.get("License", "")}


def convert(src: Path, dst: Path, long_side: int) -> dict:
    with Image.open(src) as im:
        orig = im.size
        im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        if max(w, h) > long_side:
            f = long_side / max(w, h)
            im = im.resize((max(1, round(w * f)), max(1, round(h * f))), Image.LANCZOS)
        tmp = dst.with_name(dst.name + ".tmp")
        im.save(tmp, format="PNG")
        tmp.replace(dst)
        return {"width": im.size[0], "height": im.size[1], "source_size": list(orig)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/var/tmp/upres-train", help="data root (photos/, debs/)")
    ap.add_argument("--long-side", type=int, default=2560)
    ap.add_argument("--force", action="store_true", help="re-convert photos that already exist")
    args = ap.parse_args(argv)
    root = Path(args.root)
    photos = root / "photos"
    for split in ("train", "val"):
        (photos / split).mkdir(parents=True, exist_ok=True)
    manifest = []
    for pkg, pattern, names, prefix in SOURCES:
        pkg_root, version = fetch_package(pkg, root / "debs")
        copyright_file = pkg_root / "usr/share/doc" / pkg / "copyright"
        paras = parse_dep5(copyright_file.read_text(errors="replace"))
        for name in names:
            rel = pattern.format(name=name)
            src = pkg_root / rel
            if not src.exists():
                raise SystemExit(f"{pkg} {version}: {rel} is missing")
            stem = f"{prefix}-{name}"
            split = "val" if stem in VALIDATION else "train"
            dst = photos / split / f"{stem}.png"
            entry = {"file": f"{split}/{dst.name}", "split": split, "package": pkg,
                     "version": version, "source": rel,
                     "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
                     **licence_for(paras, rel), **kde_metadata(pkg_root, name)}
            if dst.exists() and not args.force:
                with Image.open(dst) as im:
                    entry.update(width=im.size[0], height=im.size[1])
            else:
                entry.update(convert(src, dst, args.long_side))
            manifest.append(entry)
            print(f"{entry['file']:58s} {entry['width']}x{entry['height']}  {entry['licence']}")
    missing = set(VALIDATION) - {Path(e["file"]).stem for e in manifest}
    if missing:
        raise SystemExit(f"validation photos not produced: {sorted(missing)}")
    (photos / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    mp = sum(e["width"] * e["height"] for e in manifest) / 1e6
    n_val = sum(e["split"] == "val" for e in manifest)
    print(f"{len(manifest)} photos ({len(manifest) - n_val} train, {n_val} val), "
          f"{mp:.0f} megapixels -> {photos}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
