#!/usr/bin/env bash
# End-to-end pipeline benchmark (decode -> tiles -> SR -> encode), side by side in one run:
# upres with its default (routed) model family and precision (int8 where the CPU has VNNI), in
# bf16, with every tile alone (--tile 128: no merged windows), upres --classes off (the hard
# branch on every tile), upres with 1 worker, and ffmpeg's Lanczos scaler with the same encoder settings; then
# 1 against 2 workers with raw output (the pipeline's own scaling) and 1 worker pinned to one
# core (taskset) for the end-to-end scaling with the encoder.
#
# Clips: a held-out validation photo (never used in training) panned and zoomed into a
# ground-truth HR clip (lossless), and its LR version (bicubic /2, then H.264 CRF 18 like real
# footage). Quality = Y-PSNR of each output against the HR clip, measured on lossless (FFV1)
# outputs so the encoder does not blur the comparison; speed = wall time with libx264 output.
#
#   scripts/bench-pipeline.sh                 # 640x360 -> 1280x720 and 1280x720 -> 2560x1440
#   SIZES="640x360" FRAMES=48 scripts/bench-pipeline.sh
#   VARIANTS="routed (default)|;bf16|--precision bf16" scripts/bench-pipeline.sh   # name|args;...
#
# Needs a release build (make release) and the photo set (make -C training prepare).
set -euo pipefail
cd "$(dirname "$0")/.."
UPRES=${UPRES:-$(swift build -c release --show-bin-path)/upres}
PHOTO=${PHOTO:-/var/tmp/upres-train/photos/val/lomiri-picosdeeuropa_by_Aitzol_Berasategi.png}
FRAMES=${FRAMES:-72}
SIZES=${SIZES:-"640x360 1280x720"}
ENC=(-c:v libx264 -preset veryfast -crf 18)
WORK=${WORK:-$(mktemp -d /tmp/upres-bench.XXXXXX)}
[ -x "$UPRES" ] || { echo "bench-pipeline: no upres binary at $UPRES (make release)" >&2; exit 1; }
[ -f "$PHOTO" ] || { echo "bench-pipeline: no photo $PHOTO (make -C training prepare)" >&2; exit 1; }

secs() { /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }; cat "$WORK/time"; }
psnr() { ffmpeg -nostdin -i "$1" -i "$2" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 | sed -n 's/.*PSNR y:\([0-9.]*\).*/\1/p' | tail -1; }

echo "upres pipeline benchmark: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), photo $(basename "$PHOTO"), $FRAMES frames"
printf '%-11s %-30s %8s %8s %9s %10s %8s\n' input run seconds fps "MP/s in" "peak RSS" "Y-PSNR"
for size in $SIZES; do
  w=${size%x*}; h=${size#*x}; W=$((w * 2)); H=$((h * 2))
  hr="$WORK/hr-$W.mkv"; lr="$WORK/lr-$w.mp4"
  # Real motion: a slow zoom and pan over the photo (sub-pixel, so no tile stays identical).
  ffmpeg -nostdin -v error -y -loop 1 -i "$PHOTO" -vf "scale=3840:-2,zoompan=z='1.15+0.0015*on':x='iw/3+on*3':y='ih/3+on*1.5':d=$FRAMES:s=${W}x${H}:fps=24,format=yuv420p" \
    -frames:v "$FRAMES" -c:v ffv1 "$hr"
  ffmpeg -nostdin -v error -y -i "$hr" -vf "scale=$w:$h:flags=bicubic" "${ENC[@]}" -preset medium "$lr"
  mp=$(echo "$w * $h * $FRAMES / 1000000" | bc -l)
  row() {  # name, seconds+rss, quality file
    read -r t rss <<<"$2"
    printf '%-11s %-30s %8.2f %8.2f %9.2f %8d MB %8s\n' "$size" "$1" "$t" "$(echo "$FRAMES / $t" | bc -l)" \
      "$(echo "$mp / $t" | bc -l)" "$((rss / 1024))" "${3:+$(psnr "$3" "$hr")}"
  }
  ffq="$WORK/q-lanczos-$w.mkv"
  ffmpeg -nostdin -v error -y -i "$lr" -vf "scale=$W:$H:flags=lanczos" -c:v ffv1 "$ffq"
  row "ffmpeg lanczos" "$(secs ffmpeg -nostdin -v error -y -i "$lr" -vf "scale=$W:$H:flags=lanczos" "${ENC[@]}" "$WORK/ff-$w.mp4")" "$ffq"
  VARIANTS=${VARIANTS:-"routed (default)|;bf16|--precision bf16;tile alone (--tile 128)|--tile 128;classes off (hard)|--classes off;routed, 1 worker|--threads 1;no reuse|--no-reuse"}
  IFS=';' read -ra variants <<<"$VARIANTS"
  for variant in "${variants[@]}"; do
    name=${variant%%|*}; args=${variant#*|}
    q="$WORK/q-$w-${name//[^a-z0-9]/_}.mkv"
    # shellcheck disable=SC2086
    "$UPRES" "$lr" -o "$q" --codec ffv1 --overwrite -q $args
    # shellcheck disable=SC2086
    row "upres $name" "$(secs "$UPRES" "$lr" -o "$WORK/u-$w.mp4" --codec libx264 --preset veryfast --crf 18 --overwrite -q $args)" "$q"
  done
  # Thread scaling without the encoder's share (x264 runs beside the workers and takes a core
  # share the workers cannot have: Amdahl), and with x264 when --threads 1 gets one core only.
  for variant in "raw out, 1 worker|--threads 1" "raw out, 2 workers|--threads 2"; do
    name=${variant%%|*}; args=${variant#*|}
    # shellcheck disable=SC2086
    row "upres $name" "$(secs "$UPRES" "$lr" -o "$WORK/u-$w.nut" --codec rawvideo --overwrite -q $args)" ""
  done
  row "upres 1 worker on 1 core" "$(secs taskset -c 0 "$UPRES" "$lr" -o "$WORK/u-$w.mp4" --codec libx264 --preset veryfast --crf 18 --overwrite -q --threads 1)" ""
done
echo "work folder: $WORK"
