#!/usr/bin/env bash
# run.sh - vendor weft's module folders into a scratch project outside the
# tree and build and run one program with them, as a user who copies the
# folders would.
#   run.sh TOP MODE WEFT_SRC CC
# TOP: sync, core, ipc or pool - that folder and the folders it depends on
#   (sync <- core <- ipc <- pool) are copied, and nothing else of weft.
# MODE: cc (the one command in TOP's README), add_subdirectory or sources
#   (tests/vendor/CMakeLists.txt).
# The program is one of weft's examples (its module's own); its output must
# contain the example's known answer.
set -euo pipefail
top=$1 mode=$2 src=$3 cc=$4
case "$top" in
sync) deps=(sync) example=lock_counter want='counter = 400000 (expected 400000)' ;;
core) deps=(sync core) example=proc_workers want='Process-5 exit code 16' ;;
ipc) deps=(sync core ipc) example=queue_workers want='sum of squares 1..30 = 9455' ;;
pool) deps=(sync core ipc pool) example=process_pool want='workers replaced: 1' ;;
*) echo "run.sh: unknown module $top" >&2; exit 2 ;;
esac
scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-vendor-$top-$mode.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/third_party/weft"
for m in "${deps[@]}"; do
    cp -R "$src/$m" "$scratch/third_party/weft/$m"
done
cp "$src/examples/$example.c" "$scratch/main.c"
cd "$scratch"
case "$mode" in
cc)
    # The command of the module's README, with the copied folders' paths.
    incs=() srcs=()
    for m in "${deps[@]}"; do
        incs+=(-I "third_party/weft/$m/include")
        srcs+=(third_party/weft/"$m"/src/*.c)
    done
    "$cc" -std=c11 -O2 -Wall -Werror "${incs[@]}" -o prog main.c "${srcs[@]}" -pthread
    prog=./prog
    ;;
add_subdirectory | sources)
    cp "$src/tests/vendor/CMakeLists.txt" "$scratch/CMakeLists.txt"
    cmake -S . -B build -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
        -DWEFT_VENDOR_TOP="$top" -DWEFT_VENDOR_MODE="$mode" >/dev/null
    cmake --build build -j2 >/dev/null
    prog=build/prog
    ;;
*)
    echo "run.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
out=$("$prog")
if ! grep -qF -- "$want" <<<"$out"; then
    printf '%s\n' "$out"
    echo "run.sh: $top ($mode): missing \"$want\"" >&2
    exit 1
fi
echo "vendor $top ($mode, ${deps[*]}): ok"
