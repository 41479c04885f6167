#!/usr/bin/env bash
# Runs training experiments one after the other, in chunks, at nice 19 with one thread, and
# after every chunk copies each run's state (last.pt, best.pt, log.jsonl, config.yaml) into
# training/checkpoints/NAME/ so it can be committed: a later session (on a new machine) copies
# them back into $UPRES_TRAIN_ROOT/runs and the same command resumes where this one stopped.
#   ./queue.sh configs/a.yaml configs/b.yaml ...
# A finished run costs nothing when the queue is run again (train.py returns at once).
set -euo pipefail
cd "$(dirname "$0")"
ROOT="${UPRES_TRAIN_ROOT:-/var/tmp/upres-train}"
CHUNK="${CHUNK:-2000}"
THREADS="${THREADS:-1}"
mkdir -p "$ROOT/runs"
restore() {  # checkpoints committed by an earlier session -> runs dir (never over newer state)
  for d in checkpoints/*/; do
    n=$(basename "$d")
    if [ ! -f "$ROOT/runs/$n/last.pt" ]; then mkdir -p "$ROOT/runs/$n"; cp -p "$d"* "$ROOT/runs/$n/"; fi
  done
}
save() {
  n="$1"; [ -d "$ROOT/runs/$n" ] || return 0
  mkdir -p "checkpoints/$n"
  for f in last.pt best.pt log.jsonl config.yaml done; do
    if [ -f "$ROOT/runs/$n/$f" ]; then cp -p "$ROOT/runs/$n/$f" "checkpoints/$n/$f"; fi
  done
}
restore
for cfg in "$@"; do
  n=$(basename "$cfg" .yaml)
  while :; do
    out=$(OMP_NUM_THREADS=$THREADS nice -n 19 .venv/bin/python train.py "$cfg" --stop-after "$CHUNK" 2>&1 | tail -1)
    echo "$(date -u +%FT%TZ) $n: $out"
    save "$n"
    case "$out" in *"finished at iteration"*) ;; *) echo "$n: stopped: $out" >&2; exit 1;; esac
    [ -f "$ROOT/runs/$n/done" ] && break
  done
done
