#!/usr/bin/env bash
# Routing benchmark (issue 5's numbers): for each scale's built-in family, the routed pipeline
# against every branch run on every tile (--classes off --branch B), on a real-motion clip.
# Quality = Y-PSNR against the ground-truth HR clip (lossless FFV1 outputs, so no encoder in
# the way); cost = the network multiply-adds the pipeline actually ran (JSON progress
# `multiply_adds`, margins included), as a ratio to running the hard branch on every tile.
#
#   scripts/bench-routing.sh                      # x2, x3 and x4 families, 1280x720 output
#   SCALES="2" SIZE=1280x720 FRAMES=48 scripts/bench-routing.sh
#
# The clips: one per held-out validation photo (never used in training or calibration: cups,
# sunset over boats, moss, leaves against sky, mountains), a slow pan across the photo with the
# window downscaled 1.15x (never upsampled, so the HR clip has real detail; sub-pixel motion,
# so no tile is static), downscaled bicubic by the scale and encoded H.264 CRF 18 like real footage.
# The last rows per scale are the totals over all clips (MACs summed, PSNR from the summed
# squared error). Needs a release build and the photo set.
set -euo pipefail
cd "$(dirname "$0")/.."
UPRES=${UPRES:-$(swift build -c release --show-bin-path)/upres}
PHOTOS=${PHOTOS:-$(ls /var/tmp/upres-train/photos/val/*.png 2>/dev/null || true)}
FRAMES=${FRAMES:-48}
SIZE=${SIZE:-1280x720}          # HR (output) size
SCALES=${SCALES:-"2 3 4"}
PRECISION=${PRECISION:-fp32}
# A dearer multiply-add per scale (--mac-cost): the routing at about the medium branch's cost,
# for the comparison at equal multiply-adds.
mac_cost() { case $1 in 2) echo "${MAC_COST_X2:-2}";; 3) echo "${MAC_COST_X3:-2}";; *) echo "${MAC_COST_X4:-2}";; esac; }
WORK=${WORK:-$(mktemp -d /tmp/upres-routing.XXXXXX)}
[ -x "$UPRES" ] || { echo "bench-routing: no upres binary at $UPRES (make release)" >&2; exit 1; }
[ -n "$PHOTOS" ] || { echo "bench-routing: no validation photos (make -C training prepare)" >&2; exit 1; }

macs() {  # multiply_adds and multiply_adds_all_hard of the last progress event, and the class totals
  python3 - "$1" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "progress":
        last = e
c = last["classes_total"]
print(last["multiply_adds"], last["multiply_adds_all_hard"],
      "/".join(str(c[k]) for k in ("static", "flat", "easy", "medium", "hard")))
EOF
}

W=${SIZE%x*}; H=${SIZE#*x}
psnr() {  # Y-PSNR (ffmpeg psnr filter) of $1 against $2
  ffmpeg -nostdin -i "$1" -i "$2" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 | sed -n 's/.*PSNR y:\([0-9.inf]*\).*/\1/p' | tail -1
}
echo "upres routing benchmark: $(date -u +%FT%TZ), $(echo "$PHOTOS" | wc -w) clips of $FRAMES frames, output ${W}x${H}, $PRECISION"
printf '%-5s %-26s %-22s %9s %10s %9s  %s\n' scale clip run "Y-PSNR" "MACs/px" "vs hard" "tiles static/flat/easy/medium/hard"
for s in $SCALES; do
  mc=$(mac_cost "$s")
  runs=("routed (default)|" "routed, bf16|--precision bf16" "routed, --mac-cost $mc|--mac-cost $mc" "hard on every tile|--classes off --branch hard" \
        "medium on every tile|--classes off --branch medium" "easy on every tile|--classes off --branch easy")
  w=$((W / s / 2 * 2)); h=$((H / s / 2 * 2))
  declare -A sum_m=() sum_err=() sum_all=()
  nclips=0
  for photo in $PHOTOS; do
    clip=$(basename "$photo" .png); clip=${clip#*-}; clip=${clip%%_by_*}
    ref="$WORK/ref-$clip-x$s.mkv"   # ground truth, a multiple of the scale, so LR x s = HR exactly
    # 16:9 crop of the photo at 2560 wide, a window 1.15x the output size (downscaled, never
    # upscaled) zooming in slowly while it pans across.
    z0=$(echo "2560 / (1.15 * $W)" | bc -l)
    ffmpeg -nostdin -v error -y -loop 1 -i "$photo" -vf "scale=2560:-2,crop=2560:1440,zoompan=z='$z0+0.001*on':x='(iw-iw/zoom)*on/$FRAMES':y='(ih-ih/zoom)/2':d=$FRAMES:s=$((w * s))x$((h * s)):fps=24,format=yuv420p" \
      -frames:v "$FRAMES" -c:v ffv1 "$ref"
    lr="$WORK/lr-$clip-x$s.mp4"
    ffmpeg -nostdin -v error -y -i "$ref" -vf "scale=$w:$h:flags=bicubic" -c:v libx264 -preset medium -crf 18 "$lr"
    lz="$WORK/lanczos-$clip-x$s.mkv"
    ffmpeg -nostdin -v error -y -i "$lr" -vf "scale=$((w * s)):$((h * s)):flags=lanczos" -c:v ffv1 "$lz"
    p=$(psnr "$lz" "$ref")
    printf '%-5s %-26s %-22s %9s\n' "x$s" "$clip" "ffmpeg lanczos" "$p"
    sum_err[lanczos]=$(echo "${sum_err[lanczos]:-0} + e(-$p / 10 * l(10))" | bc -l)
    for variant in "${runs[@]}"; do
      name=${variant%%|*}; args=${variant#*|}
      q="$WORK/q-x$s-${name//[^a-z]/_}.mkv"
      # shellcheck disable=SC2086
      "$UPRES" "$lr" -o "$q" --scale "$s" --codec ffv1 --overwrite --no-resume --precision "$PRECISION" \
        --progress json --progress-interval 0.2 $args > "$WORK/events.json"
      read -r m all cls <<<"$(macs "$WORK/events.json")"
      p=$(psnr "$q" "$ref")
      printf '%-5s %-26s %-22s %9s %10.0f %8.1f%%  %s\n' "x$s" "$clip" "$name" "$p" \
        "$(echo "$m / ($w * $h * $FRAMES)" | bc -l)" "$(echo "100 * $m / $all" | bc -l)" "$cls"
      sum_m[$name]=$(echo "${sum_m[$name]:-0} + $m" | bc -l)
      sum_all[$name]=$(echo "${sum_all[$name]:-0} + $all" | bc -l)
      sum_err[$name]=$(echo "${sum_err[$name]:-0} + e(-$p / 10 * l(10))" | bc -l)
    done
    nclips=$((nclips + 1))
  done
  # All clips have the same size and length: PSNR of the whole set from the mean squared error.
  total() { echo "-10 * l(${sum_err[$1]} / $nclips) / l(10)" | bc -l; }
  printf '%-5s %-26s %-22s %9.3f\n' "x$s" "ALL $nclips clips" "ffmpeg lanczos" "$(total lanczos)"
  for variant in "${runs[@]}"; do
    name=${variant%%|*}
    printf '%-5s %-26s %-22s %9.3f %10.0f %8.1f%%\n' "x$s" "ALL $nclips clips" "$name" "$(total "$name")" \
      "$(echo "${sum_m[$name]} / ($w * $h * $FRAMES * $nclips)" | bc -l)" "$(echo "100 * ${sum_m[$name]} / ${sum_all[$name]}" | bc -l)"
  done
  unset sum_m sum_err sum_all
done
echo "work folder: $WORK"
