/* time.c - CLOCK_MONOTONIC deadlines shared by every weft wait. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/time.h"

#include <time.h>

#ifdef WEFT_SCHED
#include "interleave.h"
#endif

int64_t weft_time_now_ns(void)
{
#ifdef WEFT_SCHED
    /* Threads the interleaving scheduler runs read its virtual clock, so
     * that code which looks at the time replays exactly. */
    if (weft__sched_active())
        return weft__sched_now();
#endif
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t weft_time_deadline_ns(int64_t timeout_ns)
{
    int64_t now = weft_time_now_ns();
    if (timeout_ns <= 0)
        return now;
    if (timeout_ns > WEFT_DEADLINE_NEVER - now)
        return WEFT_DEADLINE_NEVER;
    return now + timeout_ns;
}
