/* sched_gil.c - the GIL under every interleaving: three threads take it,
 * run three units of work calling the eval breaker between them, and let
 * it go; the variant byte picks the mode (faithful or fair) and whether
 * the middle unit is blocking work done without the GIL. Only one thread
 * may hold it at a time, and every thread must finish: a drop request
 * nobody honours, or a handoff nobody wakes for, is a deadlock the
 * scheduler reports (waits on the switch interval are timed, so the
 * schedule decides when an interval expires). */
#include <string.h>

#include "sched_harness.h"
#include "weft/gil.h"

#define THREADS 3
#define UNITS 3

static struct {
    unsigned variant;
    weft_gil g;
    int holder; /* 1 + index of the thread holding it, 0: none */
    int units;
} H;

static void enter(int idx)
{
    SCHED_CHECK(H.holder == 0);
    H.holder = idx + 1;
}

static void leave(int idx)
{
    SCHED_CHECK(H.holder == idx + 1);
    H.holder = 0;
}

static void body(int idx, void *ctx) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)ctx;
    SCHED_CHECK(weft_gil_acquire(&H.g) == 0);
    enter(idx);
    for (int u = 0; u < UNITS; u++) {
        if (u == 1 && (H.variant & 2)) {
            leave(idx);
            SCHED_CHECK(weft_gil_blocking_begin(&H.g) == 0);
            WEFT_SCHED_POINT();
            SCHED_CHECK(weft_gil_blocking_end(&H.g) == 0);
            enter(idx);
        }
        split_increment(&H.units);
        leave(idx);
        SCHED_CHECK(weft_gil_check(&H.g) == 0);
        enter(idx);
        SCHED_CHECK(weft_gil_held(&H.g));
    }
    leave(idx);
    SCHED_CHECK(weft_gil_release(&H.g) == 0);
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    weft_gil_opts o = {.mode = (H.variant & 1) ? WEFT_GIL_FAIR : WEFT_GIL_FAITHFUL};
    SCHED_CHECK(weft_gil_init(&H.g, &o) == 0);
    sched_run_or_die(data, len, THREADS, body, NULL);
    SCHED_CHECK(H.units == THREADS * UNITS && H.holder == 0);
    SCHED_CHECK(weft_gil_destroy(&H.g) == 0);
    return 0;
}
