/* once.c - weft_once on one futex word.
 *
 * Design / invariants
 *   0 -> 1 (compare-and-swap) elects the runner. Others move 1 -> 2 to say
 *   they sleep, and sleep while the word is 2. The runner stores 3 with
 *   release order after fn returns and wakes everyone if it took out a 2.
 *   The fast path is one acquire load of 3. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/once.h"

#include <errno.h>

#include "annotate.h"
#include "atomic.h"
#include "futex.h"
#include "self.h"
#include "weft/time.h"

enum { NOT_RUN = 0, RUNNING = 1, WAITED = 2, DONE = 3 };

int weft_once_call(weft_once *once, void (*fn)(void *arg), void *arg)
{
    uint32_t c = weft__load_acquire(&once->state);
    if (c == DONE) {
        WEFT__ANN_HAPPENS_AFTER(once);
        return 0;
    }
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 7 /* seeded bug (ci/mutants): two callers may both see NOT_RUN */
    if (c == NOT_RUN && (weft__load_relaxed(&once->state) == NOT_RUN)) {
        weft__store_relaxed(&once->state, RUNNING);
#else
    if (c == NOT_RUN && weft__cas_acquire(&once->state, &c, RUNNING)) {
#endif
        weft__store_relaxed_i32(&once->runner, weft__self_private());
        fn(arg);
        weft__store_relaxed_i32(&once->runner, 0);
        WEFT__ANN_HAPPENS_BEFORE(once);
        if (__atomic_exchange_n(&once->state, DONE, __ATOMIC_RELEASE) == WAITED)
            (void)weft__futex_wake(&once->state, INT32_MAX, false);
        return 0;
    }
    if (weft__load_relaxed_i32(&once->runner) == weft__self_private())
        return EDEADLK;
    for (;;) {
        c = weft__load_acquire(&once->state);
        if (c == DONE) {
            WEFT__ANN_HAPPENS_AFTER(once);
            return 0;
        }
        if (c == RUNNING &&
            !__atomic_compare_exchange_n(&once->state, &c, WAITED, false,
                                         __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        (void)weft__futex_wait(&once->state, WAITED, WEFT_DEADLINE_NEVER, false);
    }
}
