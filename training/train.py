#!/usr/bin/env python3
"""Train (or resume) one experiment described by a YAML config.

    .venv/bin/python train.py configs/plain_x2_short.yaml            # starts, or resumes
    .venv/bin/python train.py configs/plain_x2_short.yaml --stop-after 1000
    .venv/bin/python train.py configs/x.yaml --set train.iters=20000 --set data.jpeg_prob=0.3

If <runs_dir>/<name>/last.pt exists the run resumes from it (model, optimiser, scheduler,
iteration and every RNG state), so after an interruption the same command carries on.
Ctrl-C / SIGTERM save a checkpoint before exiting; `--fresh` moves an old run aside first.
Run it under `nice -n 19` with OMP_NUM_THREADS=1 on the shared machine (see the Makefile).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from upres_train.runtime import reexec_with_malloc_env

if __name__ == "__main__":
    reexec_with_malloc_env()  # before torch is loaded, see upres_train/runtime.py

import yaml

from upres_train.config import load_config
from upres_train.trainer import run_training


def parse_set(items: list[str]) -> dict:
    """--set a.b=value (value parsed as YAML) -> nested dict."""
    out: dict = {}
    for item in items:
        key, _, raw = item.partition("=")
        if not raw:
            raise SystemExit(f"--set expects key=value, got '{item}'")
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(raw)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="experiment YAML (configs/*.yaml)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value, e.g. train.iters=300")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="checkpoint and exit after this many iterations in this invocation")
    ap.add_argument("--fresh", action="store_true",
                    help="rename an existing run folder to NAME.old-TIMESTAMP and start over")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, parse_set(args.set))
    run_dir = Path(cfg["runs_dir"]) / cfg["name"]
    if args.fresh and run_dir.exists():
        aside = run_dir.with_name(f"{run_dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        run_dir.rename(aside)
        print(f"moved the previous run to {aside}")
    if "OMP_NUM_THREADS" not in os.environ:
        print("note: OMP_NUM_THREADS is unset; torch will use train.threads "
              f"= {cfg['train']['threads']}", file=sys.stderr)
    summary = run_training(cfg, stop_after=args.stop_after, log=lambda s: print(s, flush=True))
    print(f"finished at iteration {summary['iteration']} "
          f"({summary['elapsed_s'] / 60:.1f} min of training); run: {summary['run_dir']}")
    return 130 if summary["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
