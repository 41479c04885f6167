#!/usr/bin/env bash
# Turns three trained runs into a built-in routed family for one scale, as shipped in
# Sources/CUpresModels/models/ (docs/routing.md):
#   upres-xS-easy, upres-xS-medium   the cheap branches (export.py: best checkpoint, golden pair,
#                                    bf16 check written into the metadata)
#   upres-xS-classifier              the tile classifier (train_classifier.py, branches frozen)
#   upres-xS                         the hard branch plus `routing` metadata: the classifier's
#                                    name and lambda for --budget, validation numbers
# (calibrate.py's gradient-statistic report is kept beside the exports for comparison)
# then copies the goldens to the Swift tests and regenerates the embedding.
#
#   ./ship.sh 2 plain_x2_c16n4_lrelu plain_x2_c24n6_lrelu plain_x2_c32n8_ft [budget]
#
# Everything is deterministic given the checkpoints (committed in checkpoints/) and the photo
# set (make prepare); calibration takes a few minutes per scale on one core.
set -euo pipefail
cd "$(dirname "$0")"
[ $# -ge 4 ] || { sed -n 2,12p "$0" >&2; exit 2; }
S=$1 EASY=$2 MEDIUM=$3 HARD=$4 BUDGET=${5:-0.15}
PY=${PY:-.venv/bin/python}
ROOT="${UPRES_TRAIN_ROOT:-/var/tmp/upres-train}"
OUT="$ROOT/exports/x$S"
MODELS=../Sources/CUpresModels/models
GOLDENS=../Tests/UpresEngineTests/Goldens
RUN_ENV=(env OMP_NUM_THREADS=1 nice -n 19)
mkdir -p "$OUT"
"${RUN_ENV[@]}" "$PY" export.py "$EASY" --which best --out "$OUT/upres-x$S-easy.safetensors"
"${RUN_ENV[@]}" "$PY" export.py "$MEDIUM" --which best --out "$OUT/upres-x$S-medium.safetensors"
"${RUN_ENV[@]}" "$PY" export.py "$HARD" --which best --out "$OUT/hard.safetensors" --no-golden
# The gradient statistic's calibration: a report (oracle bound, budget sweep), not shipped.
"${RUN_ENV[@]}" "$PY" calibrate.py --easy "$OUT/upres-x$S-easy.safetensors" --medium "$OUT/upres-x$S-medium.safetensors" \
  --hard "$OUT/hard.safetensors" --budget "$BUDGET" --json "$OUT/calibration.json" | tee "$OUT/calibration.txt"
# The shipped routing: the learned classifier, lambda for the budget on the training photos.
"${RUN_ENV[@]}" "$PY" train_classifier.py --family "$OUT" --scale "$S" --budget "$BUDGET" \
  --out "$OUT/upres-x$S-classifier.safetensors" --family-out "$OUT/upres-x$S.safetensors" | tee "$OUT/classifier.txt"
for n in "upres-x$S" "upres-x$S-easy" "upres-x$S-medium" "upres-x$S-classifier"; do
  cp "$OUT/$n.safetensors" "$MODELS/$n.safetensors"
  cp "$OUT/$n.safetensors" "$GOLDENS/$n.safetensors"
  cp "$OUT/$n.golden.safetensors" "$GOLDENS/$n.golden.safetensors"
done
sh ../scripts/embed-models.sh
echo "ship: x$S family in $MODELS; calibration report $OUT/calibration.txt"
