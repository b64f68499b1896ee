/* futex.c - Linux futex wait/wake behind sync/'s one wait layer.
 *
 * Design / invariants: waits use FUTEX_WAIT_BITSET with an absolute
 * CLOCK_MONOTONIC timeout, so a wait restarted after EINTR or a spurious
 * wake-up keeps its original deadline and no wait drifts. Errors other than
 * ETIMEDOUT (EAGAIN: the value changed; EINTR: a signal) mean "look again"
 * to every caller, so they are folded into 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "weft/futex.h"
#include "weft/time.h"

#ifdef WEFT_SCHED
#include "interleave.h"
/* The sched build models the waits and wakes of the threads its scheduler
 * runs (interleave.h); every other thread makes the real system calls. */
#define SCHED_MODEL(call)                                                      \
    do {                                                                       \
        if (weft__sched_active())                                              \
            return call;                                                       \
    } while (0)
#else
#define SCHED_MODEL(call) ((void)0)
#endif

static int futex_op(int op, bool shared)
{
    return shared ? op : (op | FUTEX_PRIVATE_FLAG);
}

int weft__futex_wait(const uint32_t *word, uint32_t expected,
                     int64_t deadline_ns, bool shared)
{
    SCHED_MODEL(weft__sched_futex_wait(word, expected, deadline_ns));
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (deadline_ns != WEFT_DEADLINE_NEVER) {
        if (deadline_ns < 0)
            deadline_ns = 0;
        ts.tv_sec = (time_t)(deadline_ns / 1000000000);
        ts.tv_nsec = (long)(deadline_ns % 1000000000);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, word, futex_op(FUTEX_WAIT_BITSET, shared),
                     expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == -1 && errno == ETIMEDOUT)
        return ETIMEDOUT;
    return 0;
}

int weft__futex_wake(const uint32_t *word, int n, bool shared)
{
    SCHED_MODEL(weft__sched_futex_wake(word, n, shared));
    long r = syscall(SYS_futex, word, futex_op(FUTEX_WAKE, shared), n, NULL,
                     NULL, 0);
    return r < 0 ? 0 : (int)r;
}

int weft__futex_requeue(const uint32_t *from, uint32_t expected, int wake,
                        const uint32_t *to, bool shared)
{
    SCHED_MODEL(weft__sched_futex_requeue(from, expected, wake, to, shared));
    /* The fourth argument of FUTEX_CMP_REQUEUE is the requeue count, passed
     * in the timeout slot. */
    long r = syscall(SYS_futex, from, futex_op(FUTEX_CMP_REQUEUE, shared), wake,
                     (unsigned long)INT32_MAX, to, expected);
    return r == -1 ? errno : 0;
}

static bool word_ok(const uint32_t *word, unsigned flags)
{
    return word && ((uintptr_t)word & 3u) == 0 && (flags & ~WEFT_SHARED) == 0;
}

int weft_futex_wait(const uint32_t *word, uint32_t expected,
                    int64_t deadline_ns, unsigned flags)
{
    if (!word_ok(word, flags))
        return EINVAL;
    return weft__futex_wait(word, expected, deadline_ns, (flags & WEFT_SHARED) != 0);
}

int weft_futex_wake(const uint32_t *word, int n, unsigned flags)
{
    if (!word_ok(word, flags))
        return -EINVAL;
    if (n <= 0)
        return 0;
    return weft__futex_wake(word, n, (flags & WEFT_SHARED) != 0);
}
