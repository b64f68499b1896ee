#!/usr/bin/env bash
# check.sh - build weft's libraries as shared objects in a scratch directory
# and check what they export:
#   - each has the SONAME libweft_<module>.so.<MAJOR> (version.h's major);
#   - every defined dynamic symbol starts with weft_ and is declared in a
#     public header of its module: internals (weft__* of the src/ headers,
#     static helpers) stay hidden (weft/api.h);
#   - a program linked against them gets weft_version() == version.h's.
#   check.sh WEFT_SRC CC
set -euo pipefail
src=$1 cc=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-symbols.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cmake -S "$src" -B "$scratch/build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DWEFT_TESTS=OFF -DWEFT_BENCH=OFF -DWEFT_EXAMPLES=OFF \
    -DWEFT_FUZZ=OFF -DWEFT_INSTALL=OFF >/dev/null
cmake --build "$scratch/build" -j2 --target weft_sync weft_core weft_ipc weft_pool >/dev/null
ver_h=$src/sync/include/weft/version.h
major=$(sed -n 's/^#define WEFT_VERSION_MAJOR \([0-9]*\)$/\1/p' "$ver_h")
minor=$(sed -n 's/^#define WEFT_VERSION_MINOR \([0-9]*\)$/\1/p' "$ver_h")
patch=$(sed -n 's/^#define WEFT_VERSION_PATCH \([0-9]*\)$/\1/p' "$ver_h")
bad=0
total=0
for m in sync core ipc pool; do
    lib=$(find "$scratch/build" -name "libweft_$m.so.$major.$minor.$patch" -print -quit)
    if [ -z "$lib" ]; then
        echo "check.sh: libweft_$m.so.$major.$minor.$patch not built" >&2
        exit 1
    fi
    soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    if [ "$soname" != "libweft_$m.so.$major" ]; then
        echo "check.sh: $m: SONAME '$soname', want libweft_$m.so.$major" >&2
        bad=1
    fi
    n=0
    while read -r sym; do
        n=$((n + 1))
        case "$sym" in
        weft_*) ;;
        *)
            echo "check.sh: $m exports $sym (not weft_*)" >&2
            bad=1
            continue
            ;;
        esac
        if ! grep -qw -- "$sym" "$src/$m"/include/weft/*.h; then
            echo "check.sh: $m exports $sym, declared in no public header of $m" >&2
            bad=1
        fi
    done < <(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u)
    echo "check.sh: libweft_$m.so ($soname): $n symbols exported"
    total=$((total + n))
done
cat >"$scratch/v.c" <<'PROG'
#include <stdio.h>
#include "weft/version.h"
int main(void)
{
    printf("%s\n", weft_version());
    return 0;
}
PROG
libdir=$(dirname "$(find "$scratch/build" -name "libweft_sync.so" -print -quit)")
"$cc" -std=c11 -I "$src/sync/include" -o "$scratch/v" "$scratch/v.c" -L "$libdir" -lweft_sync
got=$(LD_LIBRARY_PATH=$libdir "$scratch/v")
if [ "$got" != "$major.$minor.$patch" ]; then
    echo "check.sh: weft_version() says $got, version.h $major.$minor.$patch" >&2
    bad=1
fi
[ $bad -eq 0 ] || exit 1
echo "check.sh: ok ($total symbols, all weft_* and public; weft_version $got)"
