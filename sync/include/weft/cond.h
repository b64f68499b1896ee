/* weft/cond.h - condition variables (Python's threading.Condition, and
 * multiprocessing.Condition with WEFT_SHARED), used with a weft_lock or a
 * weft_rlock.
 *
 * A thread that holds the lock waits for a change of state that another
 * thread makes under the same lock and then notifies. The wait releases the
 * lock, sleeps, and takes the lock back before returning (with every level
 * of an rlock restored), whether it was notified or timed out.
 *
 * As with pthreads, a wait may return without a notify (spuriously), and a
 * notify(1) may wake more than one waiter. So always wait for a predicate,
 * in a loop or with the predicate form, which re-checks it after every
 * wake-up (Python's wait_for):
 *
 *     weft_lock_acquire(&mu);
 *     while (queue_empty(&q))                 // or weft_cond_wait_pred_until
 *         weft_cond_wait(&nonempty, &mu);
 *     item = queue_pop(&q);
 *     weft_lock_release(&mu);
 *
 *     weft_lock_acquire(&mu);                 // producer
 *     queue_push(&q, item);
 *     weft_cond_notify(&nonempty, 1);
 *     weft_lock_release(&mu);
 *
 * Invariants: no lost wake-up: a waiter that began waiting before a notify
 * (that is, released the lock before the notifier took it) is woken by it.
 * notify(n) wakes at most about n waiters; notify_all wakes one and moves
 * the rest onto the lock's own queue, where each is woken by the release
 * before it (no thundering herd on the lock). All waiters of one weft_cond
 * must use the same lock at the same time.
 *
 * Fork: waiters are not copied into a child; a WEFT_SHARED cond in shared
 * memory keeps working across processes (with a WEFT_SHARED lock or rlock;
 * notify_all then wakes every waiter, as the lock's queue cannot be named
 * across address spaces). */
#ifndef WEFT_COND_H
#define WEFT_COND_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/flags.h"
#include "weft/lock.h"
#include "weft/rlock.h"
#include "weft/tsa.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_cond {
    uint32_t seq;     /* futex word: bumped by every notify */
    uint32_t waiters; /* threads between counting themselves in and out */
    uint32_t flags;   /* WEFT_SHARED or 0 */
    uint32_t pad;
    uint32_t *lock_word; /* the waiters' lock word (private conds only) */
} weft_cond;

#define WEFT_COND_INIT {0, 0, 0, 0, 0}

/* A predicate for the _pred forms: true when the waited-for state holds.
 * Called with the lock held. */
typedef bool (*weft_cond_pred)(void *arg);

/* weft_cond_init - make *c a condition with no waiters.
 * Returns:  0; EINVAL for unknown flags. */
int weft_cond_init(weft_cond *c, unsigned flags);

/* weft_cond_destroy - end the life of *c.
 * Returns:  0; EBUSY if threads wait on it (nothing changes). */
int weft_cond_destroy(weft_cond *c);

/* weft_cond_wait - release *lk, sleep until notified, re-acquire *lk.
 * Blocks:   until notified (or spuriously woken); then until *lk is free.
 * Requires: the caller holds *lk.
 * Returns:  0, with *lk held again; EPERM if *lk is not locked (in checked
 *           builds: not by the caller), and then nothing happens.
 * Threads:  any thread; not async-signal-safe. */
int weft_cond_wait(weft_cond *c, weft_lock *lk) WEFT_REQUIRES(lk);

/* weft_cond_wait_until - as weft_cond_wait, giving up at deadline_ns
 * (absolute CLOCK_MONOTONIC). Returns 0 or ETIMEDOUT; *lk is held again
 * either way. */
int weft_cond_wait_until(weft_cond *c, weft_lock *lk, int64_t deadline_ns)
    WEFT_REQUIRES(lk);

/* weft_cond_wait_for - as _until with a relative timeout_ns.
 * Returns 0, ETIMEDOUT, or EINVAL (timeout_ns < 0; *lk untouched). */
int weft_cond_wait_for(weft_cond *c, weft_lock *lk, int64_t timeout_ns)
    WEFT_REQUIRES(lk);

/* weft_cond_wait_pred_until - wait until pred(arg) is true (Python's
 * wait_for): checks it first, then after every wake-up.
 * Blocks:   until pred(arg) holds or deadline_ns passes
 *           (WEFT_DEADLINE_NEVER: no limit).
 * Requires: the caller holds *lk; pred reads state that *lk protects.
 * Returns:  0 when pred(arg) held; ETIMEDOUT when it still did not hold
 *           after the deadline (it is checked once more then). *lk is held. */
int weft_cond_wait_pred_until(weft_cond *c, weft_lock *lk, weft_cond_pred pred,
                              void *arg, int64_t deadline_ns) WEFT_REQUIRES(lk);

/* weft_cond_wait_rlock, weft_cond_wait_rlock_until, weft_cond_wait_rlock_for,
 * weft_cond_wait_rlock_pred_until - the same four waits with a weft_rlock:
 * every level the caller holds is released for the wait and restored after
 * it. Requires: the caller holds
 * *rl. Returns as above; EPERM if the caller does not hold *rl; with a
 * WEFT_SHARED rlock also EOWNERDEAD (re-acquired, after another holder died
 * holding it: repair and call weft_rlock_consistent) or ENOTRECOVERABLE
 * (not re-acquired). */
int weft_cond_wait_rlock(weft_cond *c, weft_rlock *rl) WEFT_REQUIRES(rl);
int weft_cond_wait_rlock_until(weft_cond *c, weft_rlock *rl,
                               int64_t deadline_ns) WEFT_REQUIRES(rl);
int weft_cond_wait_rlock_for(weft_cond *c, weft_rlock *rl, int64_t timeout_ns)
    WEFT_REQUIRES(rl);
int weft_cond_wait_rlock_pred_until(weft_cond *c, weft_rlock *rl,
                                    weft_cond_pred pred, void *arg,
                                    int64_t deadline_ns) WEFT_REQUIRES(rl);

/* weft_cond_notify - wake up to n threads waiting on *c.
 * Blocks:   never (one futex system call when someone waits).
 * Requires: nothing, but notify while holding the lock the waiters use if a
 *           waiter must not miss it (Python requires it; here it is the
 *           usual way to make the state change and the notify one step).
 * Returns:  0. */
int weft_cond_notify(weft_cond *c, unsigned n);

/* weft_cond_notify_all - wake every thread waiting on *c.
 * Requires: as weft_cond_notify. Returns: 0. */
int weft_cond_notify_all(weft_cond *c);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_COND_H */
