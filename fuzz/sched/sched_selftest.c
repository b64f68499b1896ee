/* sched_selftest.c - a harness with a bug on purpose, to test the
 * scheduler itself (replay_twice.sh): two threads increment a counter in
 * two steps with no lock, and the invariant wants both increments. Every
 * schedule that switches between a thread's two steps loses one, so the
 * fuzzer finds a failing input at once and its replay must fail the same
 * way, with the same printed schedule, every time. */
#include <string.h>

#include "sched_harness.h"

static int counter;

static void body(int idx, void *ctx)
{
    (void)idx, (void)ctx;
    split_increment(&counter);
}

static int sched_one(const uint8_t *data, size_t len)
{
    counter = 0;
    (void)sched_variant(&data, &len);
    sched_run_or_die(data, len, 2, body, NULL);
    SCHED_CHECK(counter == 2);
    return 0;
}
