#!/bin/sh
# Queues a split upres job on Slurm: the array (one task per segment), then the join, which runs
# when every task has succeeded. Run it in the folder the logs should go to, e.g.:
#   SHARED=/shared INPUT=in.mkv OUTPUT=out.mkv SEGMENTS=16 UPRES_OPTIONS="--scale 2" \
#       sh submit.sh --partition=gpu
# Options after submit.sh go to sbatch, for both jobs.
set -eu
: "${SHARED:?set SHARED: a folder every node sees}"
: "${INPUT:?set INPUT: the input file in SHARED}"
: "${OUTPUT:?set OUTPUT: the output file in SHARED}"
: "${SEGMENTS:?set SEGMENTS: the number of segments (array tasks)}"
export SHARED INPUT OUTPUT SEGMENTS UPRES="${UPRES:-upres}" UPRES_OPTIONS="${UPRES_OPTIONS:-}"
here=$(dirname "$0")
array=$(sbatch --parsable --array="1-$SEGMENTS" "$@" "$here/upres-array.sbatch")
array=${array%%;*}
join=$(sbatch --parsable --dependency="afterok:$array" "$@" "$here/upres-join.sbatch")
echo "upres: array job $array ($SEGMENTS segments); join job ${join%%;*} after it"
