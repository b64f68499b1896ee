#!/usr/bin/env bash
# run.sh - write the amalgamation (ci/amalgamate) into a scratch directory,
# compile it as C11 and as C++ (every C++ compiler found: g++, clang++), and
# build weft's examples against it with one cc command each - their
# `#include "weft/....h"` lines turned into `#include "weft.h"`, as a user
# switching to the one file would - and check their answers.
#   run.sh WEFT_SRC CC
set -euo pipefail
src=$1 cc=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-amalgam.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
python3 "$src/ci/amalgamate" "$scratch"
cd "$scratch"
printf '#define WEFT_IMPLEMENTATION\n#include "weft.h"\n' >impl.c
flags=(-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror)
"$cc" "${flags[@]}" -c impl.c -o impl.o
cxx_done=0
for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null || continue
    "$cxx" -x c++ -std=c++17 -O2 -Wall -Werror -c impl.c -o "impl-$cxx.o"
    echo "amalgam: C++ ($cxx): compiled"
    cxx_done=$((cxx_done + 1))
done
[ $cxx_done -gt 0 ] || { echo "run.sh: no C++ compiler" >&2; exit 1; }
check() { # example want [impl object]
    local ex=$1 want=$2 obj=${3:-impl.o}
    sed 's|^#include "weft/[a-z]*\.h"|#include "weft.h"|' "$src/examples/$ex.c" >"$ex.c"
    "$cc" "${flags[@]}" -o "$ex" "$ex.c" "$obj" -pthread
    out=$("./$ex")
    if ! grep -qF -- "$want" <<<"$out"; then
        printf '%s\n' "$out"
        echo "run.sh: $ex against the amalgamation: missing \"$want\"" >&2
        exit 1
    fi
    echo "amalgam: $ex ($obj): ok"
}
check lock_counter 'counter = 400000 (expected 400000)'
check proc_workers 'Process-5 exit code 16'
check queue_workers 'sum of squares 1..30 = 9455'
check thread_pool 'as completed: 7 done, 1 failed'
check process_pool 'workers replaced: 1'
# The implementation compiled as C++, linked into a C program.
for obj in impl-*.o; do
    check process_pool 'workers replaced: 1' "$obj"
done
# Only the public API is external: every defined global is a weft_*
# function declared in the public part of weft.h.
bad=$(nm impl.o | awk '$2 ~ /^[TDBR]$/ { print $3 }' | grep -v '^weft_[a-z]' || true)
if [ -n "$bad" ]; then
    echo "run.sh: the amalgamation exports internals: $bad" >&2
    exit 1
fi
echo "amalgam: ok ($(nm impl.o | awk '$2 == "T"' | wc -l) functions exported)"
