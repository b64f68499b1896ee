#!/bin/bash
# expect_output.sh - run a command and judge it by exit status and output.
#   expect_output.sh [--status zero|nonzero] [--must RE]... [--must-not RE]... -- CMD...
# Passes when the status is as asked, every --must extended regex matches the
# combined stdout+stderr, and no --must-not regex does. Prints the output on
# failure, so ctest --output-on-failure shows why.
status=any
must=()
mustnot=()
while [ $# -gt 0 ]; do
    case "$1" in
    --status) status=$2; shift 2 ;;
    --must) must+=("$2"); shift 2 ;;
    --must-not) mustnot+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "expect_output.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
out=$("$@" 2>&1)
rc=$?
fail=()
case "$status" in
zero) [ "$rc" -eq 0 ] || fail+=("exit status $rc, expected 0") ;;
nonzero) [ "$rc" -ne 0 ] || fail+=("exit status 0, expected non-zero") ;;
esac
for re in "${must[@]}"; do
    grep -Eq -- "$re" <<<"$out" || fail+=("missing: $re")
done
for re in "${mustnot[@]}"; do
    grep -Eq -- "$re" <<<"$out" && fail+=("unexpected: $re")
done
if [ ${#fail[@]} -ne 0 ]; then
    printf '%s\n' "$out"
    printf 'expect_output.sh: FAILED: %s\n' "${fail[@]}"
    exit 1
fi
echo "expect_output.sh: ok (exit status $rc)"
