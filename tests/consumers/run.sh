#!/usr/bin/env bash
# run.sh - build and run one consumer project against weft.
#   run.sh find_package|add_subdirectory|pkg_config WEFT_SRC WEFT_BUILD CC LIBDIR
# find_package and pkg_config install WEFT_BUILD into a scratch prefix first.
set -euo pipefail
mode=$1 src=$2 build=$3 cc=$4 libdir=$5
here=$(cd "$(dirname "$0")" && pwd)
scratch=$build/consumers/$mode
rm -rf "$scratch"
mkdir -p "$scratch"
install_weft() {
    cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
}
case "$mode" in
find_package)
    install_weft
    cmake -S "$here/find_package" -B "$scratch/build" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
    cmake --build "$scratch/build" >/dev/null
    "$scratch/build/consumer"
    ;;
add_subdirectory)
    cmake -S "$here/add_subdirectory" -B "$scratch/build" -DCMAKE_C_COMPILER="$cc" \
        -DWEFT_SOURCE_DIR="$src" >/dev/null
    cmake --build "$scratch/build" -j2 >/dev/null
    "$scratch/build/consumer"
    ;;
pkg_config)
    install_weft
    export PKG_CONFIG_PATH="$scratch/prefix/$libdir/pkgconfig"
    flags=$(pkg-config --cflags --libs weft)
    # shellcheck disable=SC2086 # pkg-config output is a list of flags
    "$cc" -std=c11 -o "$scratch/consumer" "$here/consumer.c" $flags
    "$scratch/consumer"
    ;;
*)
    echo "run.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
