#!/bin/bash
# check_workers.sh MODE PROGRAM - run examples/thread_workers and check the
# order properties of its output, which thread scheduling may otherwise
# shuffle:
#   join:   every worker starts before it finishes, all five finish, and
#           the summary line comes last.
#   daemon: every worker starts, none finishes, main's line comes last.
mode=$1
prog=$2
out=$("$prog" $([ "$mode" = daemon ] && echo daemon)) || { echo "exit status $?"; exit 1; }
printf '%s\n' "$out"
fail() { echo "check_workers.sh: $*"; exit 1; }
for i in 0 1 2 3 4; do
    s=$(grep -n "^Worker $i (worker-$i) starting$" <<<"$out" | cut -d: -f1)
    [ -n "$s" ] || fail "worker $i did not start"
    f=$(grep -n "^Worker $i finished$" <<<"$out" | cut -d: -f1)
    if [ "$mode" = join ]; then
        [ -n "$f" ] || fail "worker $i did not finish"
        [ "$s" -lt "$f" ] || fail "worker $i finished before it started"
    else
        [ -z "$f" ] || fail "daemon worker $i finished"
    fi
done
last=$(tail -n 1 <<<"$out")
case "$mode" in
join) [ "$last" = "All workers finished, results sum to 10" ] || fail "last line: $last" ;;
daemon) [ "$last" = "Main exiting; 5 threads still running" ] || fail "last line: $last" ;;
esac
[ "$(wc -l <<<"$out")" -eq $([ "$mode" = join ] && echo 11 || echo 6) ] || fail "line count"
echo "check_workers.sh: ok ($mode)"
