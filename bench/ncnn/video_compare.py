#!/usr/bin/env python3
"""An ncnn model through upres's whole video path against ncnn's own inference alone, side by
side in one run: upres decodes the clip, runs the network (its default windows and precision),
and encodes FFV1 with the original streams; ncnn (PyPI CPU package, 2 OpenMP threads) only
runs the network on as many frames of the clip's size (no decode, no colour conversion, no
encode). Prints both wall times and the ratio (> 1: upres is faster). With --repeat N the two
alternate N times (upres, ncnn, upres, ncnn...) and the median ratio is printed too: on a
shared machine one pair can be off by 15% either way.

    $UPRES_NCNN_CACHE/venv/bin/python bench/ncnn/video_compare.py --upres .build/release/upres \
        --clip lr-640.mp4 [--model spanx2_ch48] [--frames 24] [--threads 2] [--repeat 3] [--upres-args "--tile 640"]
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import ncnn_run  # noqa: E402


def clip_size(clip):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                          "-of", "json", clip], check=True, capture_output=True, text=True).stdout
    s = json.loads(out)["streams"][0]
    return s["width"], s["height"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upres", default=".build/release/upres")
    p.add_argument("--cache", default=os.environ.get("UPRES_NCNN_CACHE", "/var/tmp/upres-ncnn-cache"))
    p.add_argument("--clip", required=True)
    p.add_argument("--model", default="spanx2_ch48")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--upres-args", default="")
    a = p.parse_args()
    param = models.param_path(a.cache, a.model)
    w, h = clip_size(a.clip)
    net = ncnn_run.load(param, param[:-len(".param")] + ".bin", threads=a.threads, exact=False)
    x = np.random.default_rng(7).random((3, h, w), dtype=np.float32)
    ncnn_run.run(net, x)   # warm-up (pipelines, packed weights), not counted
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        # The clip's first frames, H.264 like real footage (not timed).
        clip = os.path.join(tmp, "in.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", a.clip, "-frames:v", str(a.frames), "-c:v", "libx264",
                        "-crf", "18", clip], check=True)
        out = os.path.join(tmp, "out.mkv")
        cmd = [a.upres, clip, "--model", param, "--codec", "ffv1", "--threads", str(a.threads), "-o", out, "-q"] \
            + shlex.split(a.upres_args)
        print(f"{a.model} on {a.frames} frames of {os.path.basename(a.clip)} ({w}x{h}), {a.threads} threads")
        for k in range(a.repeat):
            if os.path.exists(out):
                os.remove(out)
            start = time.perf_counter()
            subprocess.run(cmd, check=True)
            upres_s = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(a.frames):
                ncnn_run.run(net, x)
            ncnn_s = time.perf_counter() - start
            ratios.append(ncnn_s / upres_s)
            print(f"run {k + 1}, load average {os.getloadavg()[0]:.1f}")
            print(f"upres, whole video path (decode, SR, FFV1 encode), {' '.join(cmd[2:4] + cmd[6:8] + cmd[11:])}: {upres_s:.2f} s")
            print(f"ncnn, network alone: {ncnn_s:.2f} s")
            print(f"ratio ncnn / upres: {ncnn_s / upres_s:.2f}x")
    if a.repeat > 1:
        print(f"median ratio of {a.repeat} runs: {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)")

if __name__ == "__main__":
    main()
