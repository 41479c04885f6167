#!/bin/sh
# A split upres job without a scheduler: SEGMENTS runs, JOBS at a time, on this machine, or over
# ssh on HOSTS (each sees SHARED at the same path and has upres on its PATH), then the join.
#   SHARED=/shared INPUT=in.mkv OUTPUT=out.mkv SEGMENTS=8 JOBS=2 sh upres-segments.sh
#   HOSTS="node1 node2 node3 node4" SHARED=/shared INPUT=in.mkv OUTPUT=out.mkv SEGMENTS=8 sh upres-segments.sh
# With HOSTS, segment K runs on host number ((K - 1) mod hosts) + 1, JOBS defaults to the host
# count. A segment that fails or is killed is run again (it resumes from its last finished part),
# up to 3 times; the join runs when every segment has succeeded.
set -eu
: "${SHARED:?set SHARED: the folder with the input and the outputs}"
: "${INPUT:?set INPUT: the input file in SHARED}"
: "${OUTPUT:?set OUTPUT: the output file in SHARED}"
: "${SEGMENTS:?set SEGMENTS: the number of segments}"
export SHARED INPUT OUTPUT SEGMENTS UPRES="${UPRES:-upres}" UPRES_OPTIONS="${UPRES_OPTIONS:-}" HOSTS="${HOSTS:-}"
set -- $HOSTS
JOBS=${JOBS:-$#}
[ "$JOBS" -gt 0 ] || JOBS=$(nproc)

seq 1 "$SEGMENTS" | xargs -P "$JOBS" -I{} sh -c '
    k=$1
    set -- $HOSTS
    run="$UPRES \"$SHARED/$INPUT\" -o \"$SHARED/$OUTPUT\" --segments $SEGMENTS --segment $k $UPRES_OPTIONS -q"
    for attempt in 1 2 3; do
        if [ $# -eq 0 ]; then
            sh -c "$run"
        else
            eval host=\${$(( (k - 1) % $# + 1 ))}
            ssh -n "$host" "$run"
        fi
        status=$?
        [ "$status" -eq 0 ] && exit 0
        echo "upres: segment $k of $SEGMENTS ended with status $status (attempt $attempt)" >&2
        [ "$status" -le 2 ] && exit 1   # bad input or options: no retry
    done
    exit 1' sh {}
"$UPRES" join "$SHARED/$INPUT" -o "$SHARED/$OUTPUT" --segments "$SEGMENTS" $UPRES_OPTIONS -q
