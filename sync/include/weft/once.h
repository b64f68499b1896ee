/* weft/once.h - run an initialiser exactly once (pthread_once with an
 * argument and a deadline-free, futex-based wait).
 *
 *     static weft_once table_once = WEFT_ONCE_INIT;
 *     static void build_table(void *arg) { ... }
 *     ...
 *     weft_once_call(&table_once, build_table, NULL);
 *     // the table is built, and what build_table wrote is visible here
 *
 * Invariants: among all calls on one weft_once, exactly one runs fn; every
 * call returns only after that run has finished, and what fn wrote
 * happens-before the return of every call. fn must not call weft_once_call
 * on the same object (it would wait for itself: EDEADLK is returned).
 *
 * Fork: a fork() while fn runs in another thread leaves the child's copy
 * "running" for ever; callers in the child would wait for ever. Do not fork
 * during initialisation (as with pthread_once). */
#ifndef WEFT_ONCE_H
#define WEFT_ONCE_H

#include <stdint.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_once {
    uint32_t state; /* 0 not run, 1 running, 2 running with waiters, 3 done */
    int32_t runner; /* thread id of the running thread */
} weft_once;

#define WEFT_ONCE_INIT {0, 0}

/* weft_once_call - run fn(arg) if no call on *once has run it yet.
 * Blocks:   while another thread runs the initialiser.
 * Returns:  0 once the initialiser has run (by this or another call);
 *           EDEADLK if called from inside the initialiser itself.
 * Threads:  any thread of the process. */
int weft_once_call(weft_once *once, void (*fn)(void *arg), void *arg);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_ONCE_H */
