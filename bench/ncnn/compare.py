#!/usr/bin/env python3
"""upres vs ncnn on the same ncnn models and frame sizes, side by side in one run: ncnn's PyPI
CPU package (its default options: Winograd, packing; 1 and 2 OpenMP threads on one frame) and
`upres bench --json` (1 and 2 workers, each on its own frame with one oneDNN thread, fp32 and
bf16). Prints ms per frame and ncnn/upres ratios (> 1: upres is faster).

    bench/ncnn/fetch-models.sh                      # models and the venv with ncnn
    $UPRES_NCNN_CACHE/venv/bin/python bench/ncnn/compare.py --upres .build/release/upres \
        [--models realesr-animevideov3-x2,spanx2_ch48] [--sizes 320x180,640x360] [--seconds 6]

Throughput is measured the way each tool is used for video: ncnn parallelises one frame over its
threads; upres runs one frame per worker (frames per second of the pair, as ms per frame).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import ncnn_run  # noqa: E402


def ncnn_ms(param, w, h, threads, seconds):
    net = ncnn_run.load(param, param[:-len(".param")] + ".bin", threads=threads, exact=False)
    x = np.random.default_rng(7).random((3, h, w), dtype=np.float32)
    ncnn_run.run(net, x)   # warm-up (pipelines, packed weights)
    runs, start = 0, time.perf_counter()
    while True:
        ncnn_run.run(net, x)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and runs >= 2:
            return 1000 * elapsed / runs


def upres_ms(binary, param, w, h, seconds):
    out = subprocess.run([binary, "bench", "--model", param, "--size", f"{w}x{h}", "--threads", "1,2",
                          "--seconds", str(seconds), "--json"], check=True, capture_output=True, text=True).stdout
    return {(r["precision"], r["threads"]): r["ms_per_frame"] for r in map(json.loads, out.splitlines())}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upres", default=".build/release/upres")
    p.add_argument("--cache", default=os.environ.get("UPRES_NCNN_CACHE", "/var/tmp/upres-ncnn-cache"))
    p.add_argument("--models", default="realesr-animevideov3-x2,realesr-animevideov3-x4,spanx2_ch48,spanx4_ch52")
    p.add_argument("--sizes", default="320x180,640x360")
    p.add_argument("--seconds", type=float, default=6)
    a = p.parse_args()
    load = os.getloadavg()[0]
    print(f"upres vs ncnn (PyPI ncnn, CPU), ms per frame; {os.cpu_count()} cores, load average {load:.1f} at start")
    head = f"{'model':<26}{'size':<9}{'ncnn 1t':>9}{'ncnn 2t':>9}{'upres fp32 1w':>15}{'2w':>8}{'bf16 1w':>9}{'2w':>8}" \
           f"{'ncnn2t/fp32 2w':>16}{'ncnn2t/bf16 2w':>16}"
    print(head)
    for name in a.models.split(","):
        param = models.param_path(a.cache, name)
        for size in a.sizes.split(","):
            w, h = map(int, size.split("x"))
            n1 = ncnn_ms(param, w, h, 1, a.seconds)
            n2 = ncnn_ms(param, w, h, 2, a.seconds)
            u = upres_ms(a.upres, param, w, h, a.seconds)
            f1, f2 = u.get(("fp32", 1)), u.get(("fp32", 2))
            b1, b2 = u.get(("bf16", 1)), u.get(("bf16", 2))

            def fmt(v, width):
                return f"{v:>{width}.0f}" if v else f"{'-':>{width}}"

            print(f"{name:<26}{size:<9}{n1:>9.0f}{n2:>9.0f}{fmt(f1, 15)}{fmt(f2, 8)}{fmt(b1, 9)}{fmt(b2, 8)}"
                  f"{(n2 / f2 if f2 else 0):>15.2f}x{(n2 / b2 if b2 else 0):>15.2f}x", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
