#!/usr/bin/env python3
"""Side-by-side CPU benchmark: upres's Swift/oneDNN engine vs ONNX Runtime, same network,
same weights, same input size, in one run.

For every model config (built-in list, or --configs):
  1. build the PyTorch model with a fixed seed (as `export.py --random ARCH --config JSON
     --seed N` does) and write it in upres's model format to a temp .safetensors file;
  2. export the same (fused) model to ONNX (opset 17, fixed input 1 x C x H x W) and check
     that ONNX Runtime's output matches PyTorch's within --tolerance (max abs difference);
  3. time ONNX Runtime (CPUExecutionProvider, graph optimisations ALL, inter-op threads 1,
     intra-op threads 1 and 2): warm-up, then runs until >= --min-time seconds; median ms
     (latency of one frame). Also, like `upres bench --threads 2`, two sessions of one
     intra-op thread each running frames side by side: wall time / frames (throughput);
  4. time the engine with `$UPRES bench --model FILE --size WxH --threads N --json`
     (UPRES defaults to /work/main/.build/release/upres); skipped with a note when the
     binary or its `bench` subcommand is missing. Its ms_per_frame is wall time / frames over
     N workers of one thread each, i.e. throughput, like the ORT workers figure.
Prints a table (or JSON with --json). Progress goes to stderr.

    .venv/bin/python bench/ort_compare.py                          # defaults, 320x180
    .venv/bin/python bench/ort_compare.py --size 640x360 --configs plain-c32-n8,fsrcnn
    .venv/bin/python bench/ort_compare.py --configs '[{"arch": "espcn", "config": {"scale": 3}}]'
    .venv/bin/python bench/ort_compare.py --json > result.json
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

TRAINING = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TRAINING))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from upres_train.archs import build_model  # noqa: E402
from upres_train.model_io import export_model  # noqa: E402

DEFAULT_UPRES = "/work/main/.build/release/upres"

# name -> (arch, constructor config). All single-channel (luma), x2.
BUILTIN = {
    "plain-c32-n8": ("plain", dict(in_channels=1, scale=2, channels=32, num_conv=8, act="prelu")),
    # SRVGGNetCompact / realesr-animevideov3 size
    "plain-c64-n16": ("plain", dict(in_channels=1, scale=2, channels=64, num_conv=16, act="prelu")),
    "fsrcnn-d56-s12-m4": ("fsrcnn", dict(in_channels=1, scale=2, d=56, s=12, m=4)),
    # BSRN-S size
    "bsrn-c48-b5-cw": ("bsrn", dict(in_channels=1, scale=2, channels=48, num_blocks=5,
                                    attention="channel_weight")),
}
DEFAULT_CONFIGS = list(BUILTIN)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- configs

def parse_configs(spec: str | None) -> list[dict]:
    """--configs: comma-separated built-in names (or unique prefixes of them), a JSON
    list/object of {"arch", "config", ["name"]}, or @FILE holding that JSON."""
    if not spec:
        return [{"name": n, "arch": BUILTIN[n][0], "config": dict(BUILTIN[n][1])}
                for n in DEFAULT_CONFIGS]
    if spec.startswith("@"):
        spec = Path(spec[1:]).read_text()
    spec = spec.strip()
    if spec[:1] in "[{":
        items = json.loads(spec)
        items = [items] if isinstance(items, dict) else items
        out = []
        for it in items:
            if "arch" not in it:
                raise SystemExit(f"--configs entry without 'arch': {it}")
            cfg = dict(it.get("config", {}))
            cfg.setdefault("in_channels", 1)
            name = it.get("name") or it["arch"] + "-" + "-".join(
                f"{k}{v}" for k, v in sorted(cfg.items()) if k != "in_channels")
            out.append({"name": name, "arch": it["arch"], "config": cfg})
        return out
    out = []
    for tok in filter(None, (t.strip() for t in spec.split(","))):
        hits = [n for n in BUILTIN if n == tok] or [n for n in BUILTIN if n.startswith(tok)]
        if len(hits) != 1:
            raise SystemExit(f"--configs: '{tok}' matches {hits or 'nothing'}; "
                             f"built-in names: {', '.join(BUILTIN)}")
        n = hits[0]
        out.append({"name": n, "arch": BUILTIN[n][0], "config": dict(BUILTIN[n][1])})
    return out


def parse_size(s: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in s.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, got '{s}'")
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got '{s}'")
    return w, h


# --------------------------------------------------------------------------- model export

def build_and_export(entry: dict, seed: int, out_path: Path):
    """Seeded model, exactly as `export.py --random ARCH --config JSON --seed N` builds it,
    written to out_path. Returns (fused eval model, metadata)."""
    torch.manual_seed(seed)
    model = build_model(entry["arch"], **entry["config"])
    provenance = {"run": None, "iterations": 0, "data": "none: seeded random weights",
                  "seed": seed, "date": time.strftime("%Y-%m-%d"),
                  "val_psnr": None, "torch": torch.__version__,
                  "note": "training/bench/ort_compare.py"}
    meta = export_model(model, out_path, provenance, golden=False)
    # export_model fuses a deep copy; do the same here so ONNX gets the very same graph.
    fused = copy.deepcopy(model).float().eval().fuse()
    return fused, meta


def _nearest_resize(x: torch.Tensor, scale: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=scale, mode="nearest")


@contextlib.contextmanager
def nearest_as_resize():
    """For the ONNX export only: the nearest-neighbour skip as F.interpolate(mode='nearest')
    (one ONNX Resize) instead of repeat_interleave. Same values: out(y, x) = in(y//s, x//s)."""
    from upres_train.archs import bsrn_arch, common
    saved = (common.nearest_upsample, bsrn_arch.nearest_upsample)
    common.nearest_upsample = bsrn_arch.nearest_upsample = _nearest_resize
    try:
        yield
    finally:
        common.nearest_upsample, bsrn_arch.nearest_upsample = saved


def export_onnx(model, shape, path: Path, nearest: str) -> str:
    """TorchScript-based exporter (dynamo=False: the dynamo one needs onnxscript), opset 17.
    nearest: 'native' (repeat_interleave as is), 'resize' (the wrapper above) or 'auto'
    (native, falling back to resize if that fails). Returns the variant used."""
    x = torch.zeros(*shape)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), opset_version=17, dynamo=False,
                              input_names=["input"], output_names=["output"],
                              do_constant_folding=True)
        import onnx
        onnx.checker.check_model(onnx.load(str(path)))

    if nearest in ("native", "auto"):
        try:
            run()
            return "native"
        except Exception as e:  # noqa: BLE001
            if nearest == "native":
                raise
            log(f"    repeat_interleave did not export ({type(e).__name__}: {e}); "
                f"using F.interpolate(mode='nearest')")
    with nearest_as_resize():
        run()
    return "resize"


# ----------------------------------------------------------------------------- ONNX Runtime

def ort_session(onnx_path: Path, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(onnx_path), sess_options=so,
                                providers=["CPUExecutionProvider"])


def time_runs(fn, min_time: float, min_runs: int, warmup: int) -> list[float]:
    """Warm-up calls, then timed calls until both min_time seconds and min_runs are reached.
    Returns per-call seconds."""
    for _ in range(warmup):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def ort_workers(onnx_path: Path, feed_x: np.ndarray, workers: int, min_time: float,
                warmup: int) -> dict:
    """`workers` sessions of one intra-op thread, each running frames in its own Python thread
    (run() releases the GIL) until min_time has passed; ms per frame = wall time / frames, the
    throughput figure `upres bench --threads N` reports."""
    import threading
    sessions = [ort_session(onnx_path, 1) for _ in range(workers)]
    feed = {sessions[0].get_inputs()[0].name: feed_x}
    for s in sessions:
        for _ in range(warmup):
            s.run(None, feed)
    counts = [0] * workers
    barrier = threading.Barrier(workers + 1)
    deadline = [0.0]

    def work(i):
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            sessions[i].run(None, feed)
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    deadline[0] = start + min_time
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    frames = sum(counts)
    return {"workers": workers, "frames": frames, "seconds": elapsed,
            "ms_per_frame": elapsed * 1e3 / max(frames, 1)}


# ---------------------------------------------------------------------------------- upres

def upres_status(upres: str) -> tuple[bool, str, str]:
    """Whether `upres bench` exists. Note: an upres without it treats 'bench' as an input
    file of the default `upscale` command, so `bench --help` succeeds and prints the upscale
    help; look for the bench options instead of trusting the exit status.
    Returns (available, binary path or reason, help text)."""
    p = Path(upres)
    if not (p.is_file() and os.access(p, os.X_OK)):
        found = shutil.which(upres)
        if not found:
            return False, f"no upres binary at {upres} (set UPRES=/path/to/upres)", ""
        upres = found
    try:
        r = subprocess.run([upres, "bench", "--help"], capture_output=True, text=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{upres} bench --help failed: {e}", ""
    text = r.stdout + r.stderr
    if r.returncode != 0 or "--model" not in text or "upres bench" not in text:
        return False, (f"{upres} has no `bench` subcommand yet "
                       f"(`upres bench --help` shows no bench usage)"), text
    return True, upres, text


def run_upres(upres: str, model_path: Path, size: tuple[int, int], threads: int,
              extra: list[str], timeout: float) -> tuple[list[dict], str | None]:
    """Runs `upres bench ... --json`; returns (records, error)."""
    cmd = [upres, "bench", "--model", str(model_path), "--size", f"{size[0]}x{size[1]}",
           "--threads", str(threads), "--json", *extra]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s: {' '.join(cmd)}"
    recs = []
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    if r.returncode != 0 or not recs:
        tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-3:]
        return recs, f"exit {r.returncode}: {' | '.join(tail) or 'no JSON output'}"
    return recs, None


def pick_record(recs: list[dict], threads: int, precision: str) -> dict | None:
    """The record for `precision` (fp32 by default, as ORT runs fp32) and `threads`."""
    same_t = [r for r in recs if int(r.get("threads", threads)) == threads] or recs
    for r in same_t:
        if str(r.get("precision", "")).lower() == precision:
            return r
    return None


# ------------------------------------------------------------------------------------ main

def fmt_ms(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.1f}")


def print_table(results: list[dict], threads: list[int], notes: list[str], workers: int):
    tmax = max(threads)
    cols = ["model", "MACs/px"]
    cols += [f"ORT {t}t ms" for t in threads]
    if workers:
        cols += [f"ORT {workers}x1t ms/f"]
    cols += [f"upres {t}t ms" for t in threads]
    cols += [f"ORT({tmax})/upres({tmax})"]
    if workers:
        cols += [f"ORT({workers}x1)/upres({workers})"]
    rows = []
    ratio = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for r in results:
        row = [r["name"], f"{r['macs_per_pixel']:,}"]
        row += [fmt_ms(r["ort"].get(str(t), {}).get("ms_median")) for t in threads]
        if workers:
            row.append(fmt_ms((r.get("ort_workers") or {}).get("ms_per_frame")))
        row += [fmt_ms(r["upres"].get(str(t), {}).get("ms_per_frame")) for t in threads]
        row.append(ratio(r.get("ratio_ort_over_upres")))
        if workers:
            row.append(ratio(r.get("ratio_ort_workers_over_upres")))
        rows.append(row)
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(cols))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    for n in notes:
        print(f"note: {n}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", help="built-in names (comma-separated: "
                    + ", ".join(BUILTIN) + "), a JSON list of {arch, config[, name]}, "
                    "or @FILE.json (default: all built-ins)")
    ap.add_argument("--size", type=parse_size, default=(320, 180), metavar="WxH",
                    help="input (LR) size, default 320x180")
    ap.add_argument("--threads", default="1,2", help="thread counts, default 1,2")
    ap.add_argument("--seed", type=int, default=0, help="weight seed (export.py --random --seed)")
    ap.add_argument("--input-seed", type=int, default=1234, help="seed of the random input")
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="seconds of timed ORT runs per measurement (default 2)")
    ap.add_argument("--min-runs", type=int, default=3, help="at least this many timed runs")
    ap.add_argument("--warmup", type=int, default=2, help="ORT warm-up runs")
    ap.add_argument("--no-ort-workers", action="store_true",
                    help="skip the ORT N-sessions-x-1-thread throughput measurement")
    ap.add_argument("--tolerance", type=float, default=1e-5,
                    help="max |ORT - PyTorch| allowed (default 1e-5)")
    ap.add_argument("--nearest", choices=["auto", "native", "resize"], default="auto",
                    help="ONNX form of the nearest skip: repeat_interleave as is, or "
                    "F.interpolate(nearest); auto = native, resize if native fails")
    ap.add_argument("--precision", default="fp32",
                    help="upres record used in the table (default fp32, like ORT)")
    ap.add_argument("--no-ort", action="store_true", help="skip ONNX Runtime")
    ap.add_argument("--no-upres", action="store_true", help="skip the upres engine")
    ap.add_argument("--no-check", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--upres-configs", metavar="NAMES",
                    help="run upres only for these config names (comma-separated; default all)")
    ap.add_argument("--upres-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for `upres bench` (repeatable)")
    ap.add_argument("--upres-timeout", type=float, default=600.0)
    ap.add_argument("--keep", metavar="DIR", help="keep the .safetensors/.onnx files in DIR")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args(argv)

    threads = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    workers = max(threads) if max(threads) > 1 and not (args.no_ort or args.no_ort_workers) else 0
    entries = parse_configs(args.configs)
    w, h = args.size
    torch.set_num_threads(1)
    notes: list[str] = []

    upres = os.environ.get("UPRES", DEFAULT_UPRES)
    upres_extra: list[str] = []
    upres_only = ({n.strip() for n in args.upres_configs.split(",") if n.strip()}
                  if args.upres_configs else None)
    if upres_only and not upres_only <= {e["name"] for e in entries}:
        raise SystemExit(f"--upres-configs: unknown {sorted(upres_only - {e['name'] for e in entries})}")
    have_upres = False
    if not args.no_upres:
        have_upres, msg, upres_help = upres_status(upres)
        if have_upres:
            upres = msg
            # same measuring time as ORT, and only the precision the table uses
            if "--seconds" in upres_help:
                upres_extra += ["--seconds", f"{args.min_time:g}"]
            if "--precision" in upres_help:
                upres_extra += ["--precision", args.precision]
        else:
            notes.append(f"{msg}: reporting ONNX Runtime numbers only")
            log(f"NOTE: {notes[-1]}")
    if not args.no_ort:
        import onnxruntime as ort
        ort_version = ort.__version__
    else:
        ort_version = None

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="upres-ortcmp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results, failed = [], False
    try:
        for e in entries:
            log(f"== {e['name']}: {e['arch']} {json.dumps(e['config'], sort_keys=True)}")
            st_path = workdir / f"{e['name']}.safetensors"
            onnx_path = workdir / f"{e['name']}.onnx"
            model, meta = build_and_export(e, args.seed, st_path)
            in_ch = int(meta["in_channels"])
            res = {"name": e["name"], "arch": e["arch"], "config": json.loads(meta["config"]),
                   "macs_per_pixel": int(meta["macs_per_pixel"]), "params": int(meta["params"]),
                   "model_file": str(st_path) if args.keep else None,
                   "ort": {}, "upres": {}, "upres_records": [], "ratio_ort_over_upres": None}

            if not args.no_ort:
                shape = (1, in_ch, h, w)
                res["onnx_nearest"] = export_onnx(model, shape, onnx_path, args.nearest)
                x = np.random.default_rng(args.input_seed).random(shape, dtype=np.float32)
                for t in threads:
                    sess = ort_session(onnx_path, t)
                    name = sess.get_inputs()[0].name
                    feed = {name: x}
                    if not args.no_check and t == threads[0]:
                        y_ort = sess.run(None, feed)[0]
                        with torch.no_grad():
                            y_pt = model(torch.from_numpy(x)).numpy()
                        diff = float(np.abs(y_ort - y_pt).max())
                        ok = y_ort.shape == y_pt.shape and diff <= args.tolerance
                        res["check"] = {"max_abs_diff": diff, "tolerance": args.tolerance,
                                        "ok": ok}
                        log(f"   ORT vs PyTorch: max |diff| {diff:.2e} "
                            f"({'ok' if ok else 'MISMATCH'})")
                        if not ok:
                            failed = True
                            notes.append(f"{e['name']}: ORT output differs from PyTorch by "
                                         f"{diff:.2e} > {args.tolerance:g}")
                    times = time_runs(lambda: sess.run(None, feed), args.min_time,
                                      args.min_runs, args.warmup)
                    ms = statistics.median(times) * 1e3
                    gflops = 2 * res["macs_per_pixel"] * w * h / (ms * 1e-3) / 1e9
                    res["ort"][str(t)] = {"ms_median": ms, "ms_min": min(times) * 1e3,
                                          "runs": len(times), "gflops": gflops}
                    log(f"   ORT {t} thread(s): {ms:.2f} ms median over {len(times)} runs "
                        f"({gflops:.1f} GFLOP/s)")
                    del sess
                if workers:
                    res["ort_workers"] = ort_workers(onnx_path, x, workers, args.min_time,
                                                     args.warmup)
                    log(f"   ORT {workers} sessions x 1 thread: "
                        f"{res['ort_workers']['ms_per_frame']:.2f} ms/frame "
                        f"({res['ort_workers']['frames']} frames)")

            if have_upres and upres_only is not None and e["name"] not in upres_only:
                notes.append(f"{e['name']}: upres not run (--upres-configs)")
            elif have_upres:
                for t in threads:
                    recs, err = run_upres(upres, st_path, (w, h), t,
                                          upres_extra + args.upres_arg, args.upres_timeout)
                    res["upres_records"] += recs
                    rec = pick_record(recs, t, args.precision.lower())
                    if err or rec is None:
                        failed = True
                        msg = err or f"no {args.precision} record for {t} thread(s)"
                        notes.append(f"{e['name']}: upres bench --threads {t}: {msg}")
                        log(f"   upres {t} thread(s): {msg}")
                        continue
                    res["upres"][str(t)] = rec
                    log(f"   upres {t} thread(s): {rec.get('ms_per_frame')} ms "
                        f"({rec.get('gflops')} GFLOP/s of peak {rec.get('peak_gflops')})")
                    res["upres_macs_per_pixel"] = rec.get("macs_per_pixel")

            tmax = str(max(threads))
            o = res["ort"].get(tmax, {}).get("ms_median")
            u = res["upres"].get(tmax, {}).get("ms_per_frame")
            if o and u:
                res["ratio_ort_over_upres"] = o / float(u)
            ow = (res.get("ort_workers") or {}).get("ms_per_frame")
            uw = res["upres"].get(str(workers), {}).get("ms_per_frame") if workers else None
            if ow and uw:
                res["ratio_ort_workers_over_upres"] = ow / float(uw)
            results.append(res)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    if args.json:
        doc = {"size": {"width": w, "height": h}, "threads": threads, "seed": args.seed,
               "input_seed": args.input_seed, "onnxruntime": ort_version,
               "torch": torch.__version__, "upres": upres if have_upres else None,
               "cpu": platform.processor() or platform.machine(),
               "loadavg_at_end": os.getloadavg(),
               "ratio": f"ORT({max(threads)}) ms / upres({max(threads)}) ms "
                        "(> 1: upres faster)",
               "semantics": {"ort": "median ms of one frame, intra-op threads = key",
                             "ort_workers": "wall ms / frames, N sessions x 1 thread",
                             "upres": "ms_per_frame as `upres bench` reports it: wall ms / "
                                      "frames, N workers x 1 thread"},
               "results": results, "notes": notes}
        print(json.dumps(doc, indent=2))
    else:
        print(f"input {w}x{h}, ONNX Runtime {ort_version or '-'} (CPU, fp32), "
              f"upres {'fp32 ' + upres if have_upres else 'not run'}; "
              f"ratio > 1 means upres is faster")
        print("ORT Nt = median latency of one frame with N intra-op threads; ORT Nx1t and "
              "upres Nt = wall time / frames with N one-thread workers (throughput)")
        print("load average at end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
        print_table(results, threads, notes, workers)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
