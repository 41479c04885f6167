#!/usr/bin/env bash
# make test-slurm: the Slurm scripts of docs/segments.md (docs/slurm/, run as they are) on a live
# one-node Slurm cluster started here: munged, slurmctld and slurmd with their own key, socket,
# ports, state and logs in a temporary folder. Submits the array job and its join for a real
# clip with audio and subtitles and compares the result with a one-machine run (frames, pts,
# audio and subtitle packets); then again with one task's upres killed (kill -9: the task
# requeues itself) and another task requeued by hand (scontrol requeue) mid-run: both resume
# from their last finished part. Prints "identical" for each. Stops every daemon it started and
# removes its folder however it ends.
#
# UPRES_BIN: the upres binary (make test-slurm passes the debug build that make test uses).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
UPRES_BIN=${UPRES_BIN:-$REPO/.build/debug/upres}
[ -x "$UPRES_BIN" ] || { echo "test-slurm: no upres binary at $UPRES_BIN (run swift build)" >&2; exit 1; }
started=$(date +%s)
say() { echo "test-slurm: $*"; }
fail() { echo "test-slurm: FAILED: $*" >&2; exit 1; }

# --- Packages: Debian's slurm-wlm and munge, without starting their system services. ---------
missing=""
for p in slurm-wlm munge python3 ffmpeg; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing$missing"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # No service may start during the installation (the daemons here are started by hand).
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
    fi
    if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$')" ]; then
        $SUDO apt-get update -qq >/dev/null
    fi
    install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
    # Stale package lists: update them once and try again.
    install || { $SUDO apt-get update -qq >/dev/null && install; } \
        || { [ -z "$policy" ] || $SUDO rm -f "$policy"; fail "apt-get install$missing"; }
    [ -z "$policy" ] || $SUDO rm -f "$policy"
fi
[ "$(id -u)" -eq 0 ] || fail "slurmd runs jobs as root here (SlurmUser=root): run as root"

# --- The cluster's folder, and the cleanup that runs however the script ends. ----------------
T=$(mktemp -d /tmp/upres-slurm.XXXXXX)
chmod 755 "$T"   # munged wants the socket's folders searchable by all
mkdir -p "$T/munge" "$T/run" "$T/state" "$T/spool" "$T/log" "$T/shared"
chmod 700 "$T/munge"
DAEMONS=()
export SLURM_CONF="$T/slurm.conf"

cleanup() {
    local rc=$?
    set +e
    if [ -f "$SLURM_CONF" ] && [ ${#DAEMONS[@]} -gt 1 ]; then
        scancel --full --user="$(id -un)" >/dev/null 2>&1
        for _ in $(seq 1 40); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.25; done
    fi
    # Daemons in reverse order of start: slurmd, slurmctld, munged; TERM, then KILL after 10 s.
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        pid=${DAEMONS[$i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # What the jobs left (slurmstepd, srun, upres: their working folder is in $T), by pid.
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] && continue
        case "$(readlink "$p/cwd" 2>/dev/null)" in "$T"|"$T"/*) kill -KILL "$pid" 2>/dev/null && say "killed leftover $pid";; esac
    done
    if [ $rc -ne 0 ]; then
        for f in "$T"/log/*.log "$T"/shared/logs*/*.log; do
            [ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
        done >&2
    fi
    left=0
    for pid in "${DAEMONS[@]}"; do kill -0 "$pid" 2>/dev/null && left=$((left + 1)); done
    rm -rf "$T"
    [ $left -eq 0 ] || { echo "test-slurm: $left daemons still running" >&2; rc=1; }
    say "stopped ${#DAEMONS[@]} daemons (munged, slurmctld, slurmd), removed $T ($(( $(date +%s) - started )) s)"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# until_ok SECONDS CMD...: polls CMD every 0.05 s until it succeeds, or fails after SECONDS.
until_ok() {
    local limit=$1; shift
    local end=$(( $(date +%s) + limit ))
    until "$@" 2>/dev/null; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# --- munged: its own key and socket. --------------------------------------------------------
if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$T/munge/munge.key"
else
    dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 400 "$T/munge/munge.key"
SOCKET="$T/run/munge.socket"
# The daemons run in $T (so do the slurmstepd processes slurmd starts: the cleanup finds them there).
(cd "$T" && exec munged -F --key-file="$T/munge/munge.key" --socket="$SOCKET" --pid-file="$T/run/munged.pid" \
    --seed-file="$T/munge/munged.seed" 2>"$T/log/munged.log") &
DAEMONS+=($!)
munge_ok() { munge -n -S "$SOCKET" | unmunge -S "$SOCKET" >/dev/null; }
until_ok 20 munge_ok || fail "munged did not start: $(cat "$T/log/munged.log")"

# --- slurm.conf: this host only, free ports, no cgroups, everything in $T. --------------------
NODE=$(hostname -s)
NODELINE=$(slurmd -C | head -n 1)
case "$NODELINE" in "NodeName=$NODE "*) ;; *) fail "slurmd -C: unexpected node line: $NODELINE";; esac
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cat > "$SLURM_CONF" <<EOF
ClusterName=upres-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: how long a requeued job waits before it may start again (120 s by default).
AuthInfo=socket=$SOCKET,cred_expire=10
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
KillWait=5
SlurmctldDebug=info
SlurmdDebug=info
$NODELINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=upres Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

(cd "$T" && exec slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1) &
DAEMONS+=($!)
(cd "$T" && exec slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1) &
DAEMONS+=($!)
node_idle() { [ "$(sinfo -h -n "$NODE" -o %T)" = idle ]; }
until_ok 60 node_idle || fail "the node did not come up: $(sinfo 2>&1; tail -n 5 "$T/log/slurmctld.log" "$T/log/slurmd.log")"
say "slurm $(slurmd -V | cut -d' ' -f2) up: $NODE, ports $CTLD_PORT/$SLURMD_PORT, munged ${DAEMONS[0]}, slurmctld ${DAEMONS[1]}, slurmd ${DAEMONS[2]}"

# --- The clip: 160x90, 10 s, a keyframe every 0.5 s, AAC audio, SRT subtitles. ----------------
S="$T/shared"
printf '1\n00:00:00,500 --> 00:00:02,500\nfirst\n\n2\n00:00:03,000 --> 00:00:05,500\nsecond\n\n3\n00:00:06,000 --> 00:00:09,500\nthird\n' > "$S/in.srt"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=160x90:rate=24:duration=10 \
    -f lavfi -i sine=frequency=440:duration=10:sample_rate=48000 -i "$S/in.srt" -map 0 -map 1 -map 2 \
    -c:v libx264 -preset ultrafast -g 12 -c:a aac -c:s srt "$S/in.mkv"
# The default model (real work, slow enough to be killed between parts), parts of 0.5 s.
OPTIONS="--codec ffv1 --segment-seconds 0.5"
# shellcheck disable=SC2086
"$UPRES_BIN" "$S/in.mkv" -o "$S/one.mkv" $OPTIONS --threads 1 -q
SEGMENTS=3

signature() {   # frames, pts, audio and subtitle packets
    ffmpeg -nostdin -v error -i "$1" -map 0:v -f framemd5 - | grep -v '^#'
    ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$1"
    ffmpeg -nostdin -v error -i "$1" -map 0:a -map 0:s -c copy -f framemd5 - | grep -v '^#'
}
signature "$S/one.mkv" > "$T/one.sig"
frames=$(ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$S/one.mkv" | wc -l)
[ "$frames" -eq 240 ] || fail "the one-machine run has $frames frames, not 240"

# submit NAME: docs/slurm/submit.sh as a user runs it (in the folder for the logs); sets ARRAY, JOIN.
submit() {
    mkdir -p "$S/logs-$1"
    local line
    line=$(cd "$S/logs-$1" && SHARED="$S" INPUT=in.mkv OUTPUT="$1.mkv" SEGMENTS=$SEGMENTS UPRES="$UPRES_BIN" \
           UPRES_OPTIONS="$OPTIONS" sh "$REPO/docs/slurm/submit.sh" --cpus-per-task=1 --mem=500M)
    echo "$line"
    ARRAY=$(echo "$line" | sed -n 's/^upres: array job \([0-9]*\) .*/\1/p')
    JOIN=$(echo "$line" | sed -n 's/.*; join job \([0-9]*\) after it$/\1/p')
    [ -n "$ARRAY" ] && [ -n "$JOIN" ] || fail "submit.sh printed: $line"
}
field() { scontrol show job -o "$1" | grep -o "$2=[^ ]*" | cut -d= -f2; }
queue_empty() { [ -z "$(squeue -h -j "$ARRAY,$JOIN" 2>/dev/null)" ]; }
# finish NAME: waits for the array and the join (squeue), checks their states, compares.
finish() {
    until_ok 180 queue_empty || fail "$1: jobs still queued after 180 s: $(squeue)"
    local states
    states=$(scontrol show job -o "$ARRAY" | grep -o 'JobState=[A-Z]*' | sort | uniq -c | tr -s ' ')
    [ "$states" = " $SEGMENTS JobState=COMPLETED" ] || fail "$1: array tasks: $states"
    [ "$(field "$JOIN" JobState)" = COMPLETED ] || fail "$1: the join: $(field "$JOIN" JobState) $(field "$JOIN" Reason)"
    for k in $(seq 1 $SEGMENTS); do
        [ -f "$S/$1.mkv.segment-$k-of-$SEGMENTS" ] || fail "$1: no segment $k"
        [ ! -e "$S/.$1.mkv.segment-$k-of-$SEGMENTS.upres" ] || fail "$1: segment $k's work folder is left"
    done
    signature "$S/$1.mkv" > "$T/$1.sig"
    cmp -s "$T/one.sig" "$T/$1.sig" || fail "$1: differs from the one-machine run: $(diff "$T/one.sig" "$T/$1.sig" | head -5)"
    echo identical
}

# --- 1. The array and the join, plainly. ------------------------------------------------------
say "1. array job of $SEGMENTS segments, then the join (afterok), compared with a one-machine run"
submit plain
finish plain

# --- 2. One task's upres killed (kill -9), another task requeued (scontrol requeue), mid-run. ---
say "2. the same with task 2's upres killed (kill -9) and task 3 requeued (scontrol requeue) mid-run"
submit requeued
# parts K: segment K's finished parts, all its parts and the finished parts' frames, from its
# work folder's state.json (read with the shell alone: this is polled).
parts() {
    local json done frames d f n=0 total=0 sum=0
    json=$(tr -d ' \n' < "$S/.requeued.mkv.segment-$1-of-$SEGMENTS.upres/state.json") || return 1
    [[ $json =~ \"done\":\[([a-z,]*)\] ]] || return 1
    IFS=, read -ra done <<< "${BASH_REMATCH[1]}"
    [[ $json =~ \"frames\":\[([0-9,]*)\] ]] || return 1
    IFS=, read -ra frames <<< "${BASH_REMATCH[1]}"
    for i in "${!done[@]}"; do
        total=$((total + 1))
        [ "${done[$i]}" = true ] && { n=$((n + 1)); sum=$((sum + frames[i])); }
    done
    echo "$n $total $sum"
}
part_done() { local p; p=$(parts "$1") && [ "${p%% *}" -ge 1 ]; }
until_ok 120 part_done 2 || fail "task 2 never finished a part"
read -r done2 total2 frames2 < <(parts 2)
[ "$done2" -lt "$total2" ] || fail "task 2 finished before it could be killed"
pid=$(cat "$S/.requeued.mkv.segment-2-of-$SEGMENTS.upres/lock")
kill -KILL "$pid"
say "killed task 2's upres (pid $pid) after $done2 of $total2 parts ($frames2 frames)"
until_ok 120 part_done 3 || fail "task 3 never finished a part"
read -r done3 total3 frames3 < <(parts 3)
[ "$done3" -lt "$total3" ] || fail "task 3 finished before it could be requeued"
scontrol requeue "${ARRAY}_3"
say "requeued task 3 (scontrol requeue) after $done3 of $total3 parts ($frames3 frames)"
finish requeued
log2="$S/logs-requeued/upres-${ARRAY}_2.log"
log3="$S/logs-requeued/upres-${ARRAY}_3.log"
[ "$(field "${ARRAY}_2" Restarts)" -ge 1 ] && [ "$(field "${ARRAY}_3" Restarts)" -ge 1 ] \
    || fail "tasks 2 and 3 were not requeued: restarts $(field "${ARRAY}_2" Restarts), $(field "${ARRAY}_3" Restarts)"
grep -q "attempt 2" "$log2" && grep -q "ended with status 137; requeueing it" "$log2" || fail "task 2's log: $(cat "$log2")"
grep -q "resuming: $frames2 of " "$log2" && grep -q "($frames2 resumed from an earlier run)" "$log2" \
    || fail "task 2 did not resume from its $frames2 frames: $(cat "$log2")"
grep -q "attempt 2" "$log3" || fail "task 3's log: $(cat "$log3")"
resumed3=$(sed -n 's/.*segment 3 of [0-9]*: resuming: \([0-9]*\) of .*/\1/p' "$log3" | tail -n 1)
[ -n "$resumed3" ] && [ "$resumed3" -ge "$frames3" ] || fail "task 3 did not resume from its $frames3 frames: $(cat "$log3")"
say "task 2 resumed from $frames2 frames, task 3 from $resumed3 (its log: $(grep -c attempt "$log3") attempts)"
echo "--- task 2's log:"; cat "$log2"
echo "--- task 3's log:"; cat "$log3"
