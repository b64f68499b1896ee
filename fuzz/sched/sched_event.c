/* sched_event.c - weft_event under every interleaving: two threads wait
 * (plain, or with a deadline they retry after a schedule-made timeout, by
 * the variant byte) while a third clears and then sets the event. Every
 * waiter must return, and must find the event set when it does: a set that
 * does not wake a sleeper is a deadlock the scheduler reports. */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/event.h"

static struct {
    unsigned variant;
    weft_event ev;
    int returned;
} H;

static void body(int idx, void *ctx)
{
    (void)ctx;
    if (idx == 0) {
        weft_event_clear(&H.ev);
        weft_event_set(&H.ev);
        if (H.variant & 2)
            weft_event_set(&H.ev); /* setting twice changes nothing */
        return;
    }
    if (H.variant & 1) {
        int r;
        while ((r = weft_event_wait_until(&H.ev, far_deadline())) != 0)
            SCHED_CHECK(r == ETIMEDOUT);
    } else {
        SCHED_CHECK(weft_event_wait(&H.ev) == 0);
    }
    SCHED_CHECK(weft_event_is_set(&H.ev));
    H.returned++;
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    SCHED_CHECK(weft_event_init(&H.ev, 0) == 0);
    sched_run_or_die(data, len, 3, body, NULL);
    SCHED_CHECK(H.returned == 2 && weft_event_is_set(&H.ev));
    SCHED_CHECK(weft_event_destroy(&H.ev) == 0);
    return 0;
}
