/* sched_selftest.c - a harness with bugs on purpose, to test the scheduler
 * itself (replay_twice.sh). Variant byte even: two threads increment a
 * counter in two steps with no lock, and the invariant wants both
 * increments; every schedule that switches between a thread's two steps
 * loses one. Odd: the two threads take two locks in opposite orders; a
 * schedule that switches between a thread's two acquires deadlocks. The
 * fuzzer finds failing inputs at once, and each replay must fail the same
 * way, with the same printed schedule, every time. */
#include <string.h>

#include "sched_harness.h"
#include "weft/lock.h"

static unsigned variant;
static int counter;
static weft_lock locks[2];

static void body(int idx, void *ctx) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)ctx;
    if ((variant & 1) == 0) {
        split_increment(&counter);
        return;
    }
    weft_lock *first = &locks[idx & 1], *second = &locks[(idx + 1) & 1];
    SCHED_CHECK(weft_lock_acquire(first) == 0);
    SCHED_CHECK(weft_lock_acquire(second) == 0);
    SCHED_CHECK(weft_lock_release(second) == 0);
    SCHED_CHECK(weft_lock_release(first) == 0);
}

static int sched_one(const uint8_t *data, size_t len)
{
    counter = 0;
    variant = sched_variant(&data, &len);
    weft_lock_init(&locks[0]);
    weft_lock_init(&locks[1]);
    sched_run_or_die(data, len, 2, body, NULL);
    if ((variant & 1) == 0)
        SCHED_CHECK(counter == 2);
    return 0;
}
