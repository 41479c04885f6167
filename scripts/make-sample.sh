#!/bin/sh
# Builds the bundled demo clip samples/harbour-pan.mp4 that `make demo` upscales.
#
# Source picture: "Evening Glow" by Ian Hex (rowing boats moored at a lake
# shore at sunset), taken from the Debian package plasma-workspace-wallpapers
# (debian/copyright: "Copyright: 2014 KDE Visual Design Group", "License: GPL-2+";
# the wallpaper's own metadata.json says "License": "LGPLv3"). Both allow
# redistribution; see samples/README.md.
# Audio: synthesised here (a slow two-chord pad over filtered-noise "waves"),
# no external audio; dedicated to the public domain (CC0).
#
# Result: 320x180, yuv420p, BT.709 tv range, 24 fps, 144 frames (6.0 s),
# H.264 (libx264) + AAC stereo 48 kHz, +faststart MP4.
#
# Needs: apt-get (Debian), dpkg, ffmpeg/ffprobe (5.1). Network only to the
# Debian archive. Set UPRES_WALLPAPER_DEB=/path/to/plasma-workspace-wallpapers_*.deb
# to use an already-downloaded package instead of `apt-get download`.
#
# Usage: scripts/make-sample.sh [OUTPUT]   (default: samples/harbour-pan.mp4)
set -eu

PKG=plasma-workspace-wallpapers
PKG_VERSION_EXPECTED="4:5.27.5-2"
PHOTO=usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg
PHOTO_SHA256=586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-"$ROOT/samples/harbour-pan.mp4"}

FRAMES=144          # 6 s at 24 fps
FPS=24
DUR=6
FADE_OUT_AT=4.8    # DUR - 1.2

for tool in ffmpeg ffprobe dpkg dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "make-sample: missing tool: $tool" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/upres-sample.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# --- 1. fetch the photo from the Debian package -------------------------------
if [ -n "${UPRES_WALLPAPER_DEB:-}" ]; then
  DEB=$UPRES_WALLPAPER_DEB
else
  command -v apt-get >/dev/null 2>&1 || { echo "make-sample: apt-get not found" >&2; exit 1; }
  # apt-get download runs as _apt where it can; give it a directory it may write.
  chmod 755 "$TMP"
  mkdir "$TMP/deb"
  chmod 777 "$TMP/deb"
  echo "make-sample: downloading $PKG (~94 MB) ..." >&2
  if ! (cd "$TMP/deb" && apt-get download -q "$PKG" >/dev/null 2>&1); then
    # Package lists may be missing or stale (fresh container): refresh and retry.
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    (cd "$TMP/deb" && apt-get download -q "$PKG" >/dev/null)
  fi
  DEB=$(ls "$TMP"/deb/"$PKG"_*.deb)
fi
VERSION=$(dpkg-deb -f "$DEB" Version)
if [ "$VERSION" != "$PKG_VERSION_EXPECTED" ]; then
  echo "make-sample: note: $PKG is $VERSION, the clip was made from $PKG_VERSION_EXPECTED" >&2
fi
mkdir "$TMP/x"
dpkg -x "$DEB" "$TMP/x"
SRC="$TMP/x/$PHOTO"
[ -f "$SRC" ] || { echo "make-sample: $PHOTO not in $DEB" >&2; exit 1; }
if [ "$(sha256sum "$SRC" | cut -d' ' -f1)" != "$PHOTO_SHA256" ]; then
  echo "make-sample: warning: photo checksum differs from the one the clip was made from" >&2
fi

# --- 2. render ----------------------------------------------------------------
# Video: crop the 2560x1600 photo to 16:9 (2560x1440), convert JPEG full-range
# BT.601 to RGB, then a slow eased pan from the right-hand boats leftwards to the
# "27 to Carry 4" boat while zooming in from 1.12x to 1.45x. zoompan crops in
# source pixels (1 source px = 1/8 output px), so the motion is smooth. Finally
# RGB -> BT.709 limited-range yuv420p.
P="(on/$((FRAMES - 1)))"
E="($P*$P*(3-2*$P))"                       # smoothstep easing 0..1
ZOOM="1.12+0.33*$E"
X="(iw-iw/zoom)*(0.92-0.86*$E)"
Y="(ih-ih/zoom)*(0.40+0.50*$E)"
VF="crop=2560:1440:0:80,scale=in_range=pc:in_color_matrix=bt601:flags=bicubic,format=rgb24"
VF="$VF,zoompan=z='$ZOOM':x='$X':y='$Y':d=$FRAMES:s=320x180:fps=$FPS"
VF="$VF,scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p,setsar=1"

# Audio: a soft pad, Cmaj9 sliding into Am9 halfway (smooth logistic crossfade),
# the right channel detuned by ~0.4 Hz for width and a slow 0.25 Hz swell; under
# it two independent brown-noise channels, low-passed and swelled every 3 s like
# waves on a shore. Fade in 0.8 s, fade out over the last 1.2 s.
W="(1/(1+exp(-(t-3)*3)))"
SW="(0.8+0.2*sin(2*PI*0.25*t))"
chord() { # $1 = detune in Hz
  d=$1
  echo "$SW*((1-$W)*(0.07*sin(2*PI*(130.81+$d)*t)+0.05*sin(2*PI*(196.00+$d)*t)+0.04*sin(2*PI*(329.63+$d)*t)+0.03*sin(2*PI*(493.88+$d)*t)+0.025*sin(2*PI*(587.33+$d)*t))+$W*(0.07*sin(2*PI*(110.00+$d)*t)+0.05*sin(2*PI*(164.81+$d)*t)+0.04*sin(2*PI*(261.63+$d)*t)+0.03*sin(2*PI*(392.00+$d)*t)+0.025*sin(2*PI*(493.88+$d)*t)))"
}
PAD="aevalsrc=exprs='$(chord 0)|$(chord 0.4)':s=48000:d=$DUR:c=stereo"
WAVE="aformat=sample_fmts=fltp:channel_layouts=mono,lowpass=f=700,highpass=f=60,volume=eval=frame:volume='0.15+0.85*pow(sin(PI*(t+0.4)/3),4)'"
AF="$PAD[pad];"
AF="${AF}anoisesrc=c=brown:seed=20240601:a=0.5:r=48000:d=$DUR,$WAVE[wl];"
AF="${AF}anoisesrc=c=brown:seed=19700101:a=0.5:r=48000:d=$DUR,$WAVE[wr];"
AF="${AF}[wl][wr]amerge=inputs=2[waves];"
AF="${AF}[pad][waves]amix=inputs=2:normalize=0:weights='1 0.6',volume=1.6,"
AF="${AF}afade=t=in:d=0.8,afade=t=out:st=$FADE_OUT_AT:d=1.2,"
AF="${AF}aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,atrim=end_sample=$((DUR * 48000))"

mkdir -p "$(dirname "$OUT")"
TITLE="Evening Glow: rowing boats at a lake shore, slow pan (upres sample clip)"
COMMENT="Photo 'Evening Glow' by Ian Hex, Debian $PKG $VERSION (GPL-2+ per debian/copyright; LGPLv3 per its metadata.json). Audio synthesised by scripts/make-sample.sh, CC0."

ffmpeg -nostdin -hide_banner -loglevel error -y \
  -i "$SRC" \
  -filter_complex "$AF[aout]" \
  -filter_complex "[0:v]$VF[vout]" \
  -map "[vout]" -map "[aout]" \
  -r $FPS \
  -c:v libx264 -preset slow -crf 20 -profile:v high -g 48 -threads 1 \
  -x264-params "colorprim=bt709:transfer=bt709:colormatrix=bt709:range=tv" \
  -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv \
  -c:a aac -b:a 96k -ar 48000 -ac 2 \
  -map_metadata -1 -map_chapters -1 \
  -metadata title="$TITLE" -metadata comment="$COMMENT" \
  -metadata:s:v:0 language=eng -metadata:s:a:0 language=eng \
  -metadata:s:v:0 handler_name=VideoHandler -metadata:s:a:0 handler_name=SoundHandler \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -movflags +faststart \
  "$TMP/out.mp4"
mv -f "$TMP/out.mp4" "$OUT"

echo "$OUT"
