/* weft/event.h - an event flag (Python's threading.Event and
 * multiprocessing.Event with WEFT_SHARED).
 *
 * An event is a flag that threads wait for: set() raises it and wakes every
 * waiter, clear() lowers it, wait() returns at once while it is raised.
 *
 * The one correct wait loop. An event says "something may have happened",
 * not "one thing happened once": a set between another thread's wait and its
 * clear is absorbed. When the event announces work, keep the work itself in
 * state protected by a lock, clear before looking, and look again after
 * every wake-up:
 *
 *     for (;;) {
 *         weft_event_clear(&ev);           // 1. lower the flag first,
 *         while (take_work(&q, &item))     // 2. then drain everything,
 *             handle(item);
 *         weft_event_wait(&ev);            // 3. then sleep until a set
 *     }                                     //    that came after step 1.
 *
 * and producers add the work before weft_event_set(&ev). A set that races
 * with step 1 or 2 leaves the flag raised, so step 3 returns at once and the
 * loop looks again: no work is ever left waiting. The tempting order
 * "wait; clear; drain the one item the set announced" loses work: two sets
 * before the clear wake one drain for two items.
 *
 * Invariants: a waiter returns 0 only after observing the flag raised; every
 * thread waiting when set() is called is woken. Zero-initialised: cleared,
 * process-private (WEFT_EVENT_INIT).
 *
 * Fork: the flag lives in the event's memory; waiters are not copied. */
#ifndef WEFT_EVENT_H
#define WEFT_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/flags.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_event {
    uint32_t word;  /* 0 clear, 1 set, 2 clear with possible sleepers */
    uint32_t flags; /* WEFT_SHARED or 0 */
} weft_event;

#define WEFT_EVENT_INIT {0, 0}

/* weft_event_init - make *ev a cleared event.
 * Returns:  0; EINVAL for unknown flags. */
int weft_event_init(weft_event *ev, unsigned flags);

/* weft_event_destroy - end the life of *ev.
 * Requires: no thread waits on *ev (not detectable: a waiter that timed out
 *           leaves the same trace as one asleep). A thread whose wait
 *           returned may destroy it (and reuse its memory) while the
 *           setter is still inside weft_event_set. Returns 0. */
int weft_event_destroy(weft_event *ev);

/* weft_event_set - raise the flag and wake every waiter.
 * Blocks:   never (one futex wake system call if anyone may sleep).
 * Threads:  any thread (any process, for WEFT_SHARED); async-signal-safe. */
void weft_event_set(weft_event *ev);

/* weft_event_clear - lower the flag. Blocks: never. */
void weft_event_clear(weft_event *ev);

/* weft_event_is_set - whether the flag is raised (a snapshot). */
bool weft_event_is_set(const weft_event *ev);

/* weft_event_wait - wait until the flag is raised.
 * Blocks:   until set (returns at once if it is). Signals do not interrupt.
 * Returns:  0. */
int weft_event_wait(weft_event *ev);

/* weft_event_wait_until - wait until set or CLOCK_MONOTONIC passes
 * deadline_ns. Returns 0 (the flag was seen raised) or ETIMEDOUT. */
int weft_event_wait_until(weft_event *ev, int64_t deadline_ns);

/* weft_event_wait_for - as _until with a relative timeout_ns.
 * Returns 0, ETIMEDOUT, or EINVAL for timeout_ns < 0. */
int weft_event_wait_for(weft_event *ev, int64_t timeout_ns);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_EVENT_H */
