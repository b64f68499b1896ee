/* sched_cond.c - weft_cond under every interleaving: a producer hands four
 * items to two consumers through a counter guarded by a lock; consumers
 * wait on the condition while it is zero. The variant byte picks notify(1)
 * or notify_all, and plain or deadline waits (a schedule-made timeout is a
 * legal outcome: the consumer checks and waits again). A lost wake-up
 * leaves a consumer blocked for ever, which the scheduler reports as a
 * deadlock; every item must be taken exactly once. */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/cond.h"
#include "weft/lock.h"

#define ITEMS 4

static struct {
    unsigned variant;
    weft_lock lk;
    weft_cond cv;
    int available WEFT_GUARDED_BY(lk);
    int taken[2];
} H;

static void produce(void)
{
    for (int i = 0; i < ITEMS; i++) {
        SCHED_CHECK(weft_lock_acquire(&H.lk) == 0);
        H.available++;
        SCHED_CHECK((H.variant & 1 ? weft_cond_notify_all(&H.cv) : weft_cond_notify(&H.cv, 1)) == 0);
        SCHED_CHECK(weft_lock_release(&H.lk) == 0);
    }
}

static void consume(int who)
{
    for (int i = 0; i < ITEMS / 2; i++) {
        SCHED_CHECK(weft_lock_acquire(&H.lk) == 0);
        while (H.available == 0) {
            int r = H.variant & 2 ? weft_cond_wait_until(&H.cv, &H.lk, far_deadline())
                                  : weft_cond_wait(&H.cv, &H.lk);
            SCHED_CHECK(r == 0 || r == ETIMEDOUT);
        }
        H.available--;
        H.taken[who]++;
        SCHED_CHECK(weft_lock_release(&H.lk) == 0);
    }
}

static void body(int idx, void *ctx)
{
    (void)ctx;
    if (idx == 0)
        produce();
    else
        consume(idx - 1);
}

static int sched_one(const uint8_t *data, size_t len) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    weft_lock_init(&H.lk);
    SCHED_CHECK(weft_cond_init(&H.cv, 0) == 0);
    sched_run_or_die(data, len, 3, body, NULL);
    SCHED_CHECK(H.available == 0 && H.taken[0] == ITEMS / 2 && H.taken[1] == ITEMS / 2);
    SCHED_CHECK(weft_cond_destroy(&H.cv) == 0);
    SCHED_CHECK(weft_lock_destroy(&H.lk) == 0);
    return 0;
}
