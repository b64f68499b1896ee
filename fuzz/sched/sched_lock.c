/* sched_lock.c - mutual exclusion of weft_lock and weft_rlock under every
 * interleaving: three threads each take the lock twice (plain, with a
 * deadline, or by try-acquire in a loop, by the variant byte; the rlock
 * re-entered once inside) and increment a shared counter in two steps the
 * schedule may split. No thread may find another inside, no update may be
 * lost, and nobody may deadlock. */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/lock.h"
#include "weft/rlock.h"

#define THREADS 3
#define ROUNDS 2

static struct {
    unsigned variant;
    weft_lock lk;
    weft_rlock rl;
    int inside;
    int counter;
    int timeouts;
} H;

static void take(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    bool rlock = (H.variant & 1) != 0;
    switch ((H.variant >> 1) % 3) {
    case 0:
        SCHED_CHECK((rlock ? weft_rlock_acquire(&H.rl) : weft_lock_acquire(&H.lk)) == 0);
        break;
    case 1:
        /* A schedule-made timeout is a legal outcome: try again. */
        for (;;) {
            int64_t d = far_deadline();
            int r = rlock ? weft_rlock_acquire_until(&H.rl, d) : weft_lock_acquire_until(&H.lk, d);
            if (r == 0)
                break;
            SCHED_CHECK(r == ETIMEDOUT);
            H.timeouts++;
        }
        break;
    default:
        while ((rlock ? weft_rlock_try_acquire(&H.rl) : weft_lock_try_acquire(&H.lk)) != 0)
            WEFT_SCHED_SPIN();
        break;
    }
    if (rlock)
        SCHED_CHECK(weft_rlock_acquire(&H.rl) == 0); /* re-entered */
}

static void give(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (H.variant & 1) {
        SCHED_CHECK(weft_rlock_release(&H.rl) == 0);
        SCHED_CHECK(weft_rlock_is_owned(&H.rl));
        SCHED_CHECK(weft_rlock_release(&H.rl) == 0);
    } else {
        SCHED_CHECK(weft_lock_release(&H.lk) == 0);
    }
}

static void body(int idx, void *ctx)
{
    (void)idx, (void)ctx;
    for (int r = 0; r < ROUNDS; r++) {
        take();
        SCHED_CHECK(H.inside == 0);
        H.inside = 1;
        split_increment(&H.counter);
        H.inside = 0;
        give();
    }
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    weft_lock_init(&H.lk);
    SCHED_CHECK(weft_rlock_init(&H.rl, 0) == 0);
    sched_run_or_die(data, len, THREADS, body, NULL);
    SCHED_CHECK(H.counter == THREADS * ROUNDS);
    SCHED_CHECK(!weft_lock_is_locked(&H.lk) && !weft_rlock_is_locked(&H.rl));
    SCHED_CHECK(weft_lock_destroy(&H.lk) == 0);
    SCHED_CHECK(weft_rlock_destroy(&H.rl) == 0);
    return 0;
}
