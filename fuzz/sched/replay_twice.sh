#!/usr/bin/env bash
# replay_twice.sh FUZZER REPLAY SCRATCH [INPUT PATTERN]... - the
# interleaving scheduler replays a failing schedule exactly.
#   1. Each INPUT (a schedule that makes sched_selftest fail) fails twice in
#      a row, printing PATTERN, with byte-identical output: the report and
#      the full schedule trace (WEFT_SCHED_TRACE=1).
#   2. The fuzzer, from nothing, finds a failing input within a bounded
#      number of runs, and that input replays twice, identically, too.
set -uo pipefail
fuzzer=$1 replay=$2 scratch=$3
shift 3
rm -rf "$scratch" && mkdir -p "$scratch/corpus" || exit 1

replay_twice() { # INPUT NAME PATTERN
    local i
    for i in 1 2; do
        WEFT_SCHED_TRACE=1 "$replay" "$1" >"$scratch/$2.$i" 2>&1
        local rc=$?
        if [ $rc -eq 0 ]; then
            echo "FAIL: $2: replay $i passed; the schedule should fail"
            cat "$scratch/$2.$i"
            return 1
        fi
        grep -q "$3" "$scratch/$2.$i" || {
            echo "FAIL: $2: replay $i failed without \"$3\""; cat "$scratch/$2.$i"; return 1; }
    done
    # ASan's report names the process id; everything else must match.
    if ! diff <(grep -v '^==[0-9]*==' "$scratch/$2.1") <(grep -v '^==[0-9]*==' "$scratch/$2.2"); then
        echo "FAIL: $2: the two replays differ"
        return 1
    fi
    echo "ok: $2 failed twice with the same schedule ($(grep -c 'step ' "$scratch/$2.1") trace lines)"
}

n=0
while [ $# -ge 2 ]; do
    n=$((n + 1))
    replay_twice "$1" "known$n" "$2" || exit 1
    shift 2
done
(cd "$scratch" && "$fuzzer" -runs=5000 -seed=7 corpus >fuzz.log 2>&1)
found=$(find "$scratch" -maxdepth 1 -name 'crash-*' | head -1)
if [ -z "$found" ]; then
    echo "FAIL: the fuzzer found no failing schedule in 5000 runs"
    tail -20 "$scratch/fuzz.log"
    exit 1
fi
replay_twice "$found" found "weft sched: " || exit 1
