/* sched_sem.c - weft_sem under every interleaving. Three threads share a
 * semaphore of 1 as a lock (never two inside), then a second semaphore of 0
 * hands two permits from thread 0 to threads 1 and 2, released one at a
 * time or both at once (variant byte), taken by plain or deadline acquires
 * (a schedule-made timeout is legal: try again). A lost wake-up is a
 * deadlock the scheduler reports; a permit may not be made or lost. */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/sem.h"

static struct {
    unsigned variant;
    weft_sem mutex, handoff;
    int inside;
    int counter;
} H;

static void take(weft_sem *s)
{
    if (H.variant & 2) {
        SCHED_CHECK(weft_sem_acquire(s) == 0);
        return;
    }
    int r;
    while ((r = weft_sem_acquire_until(s, far_deadline())) != 0)
        SCHED_CHECK(r == ETIMEDOUT);
}

static void body(int idx, void *ctx)
{
    (void)ctx;
    take(&H.mutex);
    SCHED_CHECK(H.inside == 0);
    H.inside = 1;
    split_increment(&H.counter);
    H.inside = 0;
    SCHED_CHECK(weft_sem_release(&H.mutex, 1) == 0);
    if (idx == 0) {
        if (H.variant & 1) {
            SCHED_CHECK(weft_sem_release(&H.handoff, 2) == 0);
        } else {
            SCHED_CHECK(weft_sem_release(&H.handoff, 1) == 0);
            SCHED_CHECK(weft_sem_release(&H.handoff, 1) == 0);
        }
    } else {
        take(&H.handoff);
    }
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    SCHED_CHECK(weft_sem_init(&H.mutex, 1, 0) == 0);
    SCHED_CHECK(weft_sem_init(&H.handoff, 0, 0) == 0);
    sched_run_or_die(data, len, 3, body, NULL);
    SCHED_CHECK(H.counter == 3);
    SCHED_CHECK(weft_sem_try_acquire(&H.mutex) == 0);
    SCHED_CHECK(weft_sem_try_acquire(&H.mutex) == EAGAIN);
    SCHED_CHECK(weft_sem_try_acquire(&H.handoff) == EAGAIN);
    SCHED_CHECK(weft_sem_destroy(&H.mutex) == 0);
    SCHED_CHECK(weft_sem_destroy(&H.handoff) == 0);
    return 0;
}
