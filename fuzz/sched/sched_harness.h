/* sched_harness.h - what the interleaving harnesses share.
 *
 * Each harness runs a few threads through one protocol under the
 * interleaving scheduler (sync/src/interleave.h): the input is the schedule.
 * Byte 0 picks the scenario's variant, the rest goes to the scheduler.
 * Invariants are checked during and at the end of every run; a failure
 * prints the schedule and aborts, so the fuzzer keeps the input. */
#ifndef WEFT_SCHED_HARNESS_H
#define WEFT_SCHED_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "interleave.h"
#include "weft/deadlock.h"
#include "weft/time.h"

#define SCHED_CHECK(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            weft__sched_fail("invariant failed: " #c " (" __FILE__ ")");     \
    } while (0)

/* A deadline no run reaches: only the schedule times waits out. */
static inline int64_t far_deadline(void)
{
    return weft_time_deadline_ns(3600LL * 1000000000LL);
}

/* Split the input: the variant byte, then the schedule. */
static inline unsigned sched_variant(const uint8_t **data, size_t *len)
{
    if (*len == 0)
        return 0;
    unsigned v = (*data)[0];
    (*data)++;
    (*len)--;
    return v;
}

/* Run and insist that the run itself worked. */
static inline void sched_run_or_die(const uint8_t *data, size_t len, int n,
                                    weft__sched_body body, void *ctx)
{
    int r = weft__sched_run(data, len, n, body, ctx);
    if (r != 0)
        weft__sched_fail("weft__sched_run failed");
}

/* A non-atomic read-modify-write the schedule can split: a lost update
 * shows when two threads are inside together. */
static inline void split_increment(int *counter)
{
    int v = *counter;
    WEFT_SCHED_POINT();
    *counter = v + 1;
}

/* The harness's one run, defined by each harness. The entry point below
 * makes one warm-up run with an empty schedule first, in every process:
 * first uses that set up process-wide state (registries, thread-exit
 * hooks) take schedule points of their own, and a replay in a fresh
 * process must meet the same state as the fuzzer's long-lived one. */
static int sched_one(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static int warm;
    static const uint8_t none[1] = {0};
    if (!warm) {
        warm = 1;
        /* Runs must not depend on the environment (WEFT_DEADLOCK) nor on
         * lock-order history kept from earlier inputs. */
        (void)weft_deadlock_set_mode(WEFT_DEADLOCK_OFF);
        (void)sched_one(none, 0);
    }
    return sched_one(data, len);
}

#endif /* WEFT_SCHED_HARNESS_H */
