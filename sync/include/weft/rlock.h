/* weft/rlock.h - a reentrant lock (Python's threading.RLock and
 * multiprocessing.RLock with WEFT_SHARED).
 *
 * The thread that holds an rlock may acquire it again; it must release it
 * as many times as it acquired it before another thread can take it. Only
 * the holder may release (EPERM otherwise). An rlock works as the lock of a
 * weft_cond: a wait releases every level and restores them afterwards.
 *
 *     static weft_rlock mu = WEFT_RLOCK_INIT;
 *     void outer(void) { weft_rlock_acquire(&mu); inner(); weft_rlock_release(&mu); }
 *     void inner(void) { weft_rlock_acquire(&mu); ...;    weft_rlock_release(&mu); }
 *
 * Invariants: owner != 0 exactly when count > 0; only the owner changes
 * count. The underlying lock algorithm is weft_lock's (spin, then sleep).
 *
 * Thread-safety analysis: clang before 20 has no reentrant capabilities, so
 * it reports a nested acquire of the same rlock in one function; annotate
 * the nested level's function with WEFT_REQUIRES instead.
 *
 * Process-shared and robust (WEFT_SHARED): the rlock may live in memory
 * shared between processes. If its holder dies holding it (its process is
 * killed, or the thread exits), the next acquirer gets EOWNERDEAD and holds
 * the rlock (one level): the data it protects may be half-updated. Repair
 * it and call weft_rlock_consistent() before releasing; a release without
 * that makes the rlock unrecoverable, and every later acquire (and every
 * waiter then) gets ENOTRECOVERABLE - the POSIX robust-mutex model. Waiters
 * asleep when the holder dies are woken, one at a time, as for a release.
 * Taking a shared rlock and letting go of its last level are each one
 * sequentially consistent read-modify-write of the lock word: with a
 * seq_cst fence after them (free on x86), callers may use them as full
 * barriers.
 *
 *     int r = weft_rlock_acquire(&shm->mu);
 *     if (r == EOWNERDEAD) {
 *         repair(shm);
 *         weft_rlock_consistent(&shm->mu);
 *     } else if (r != 0) {
 *         return r;                       // ENOTRECOVERABLE
 *     }
 *
 * Fork: a child created by fork() keeps the forking thread's levels of a
 * WEFT_PRIVATE rlock (that thread's copy may release them). A WEFT_SHARED
 * rlock is owned by a thread of one process: a child never inherits its
 * parent's levels. */
#ifndef WEFT_RLOCK_H
#define WEFT_RLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/flags.h"
#include "weft/tsa.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct WEFT_CAPABILITY("mutex") weft_rlock {
    uint32_t word;  /* the lock word (a robust futex word when shared) */
    int32_t owner;  /* thread id of the holder, 0 when free */
    uint32_t count; /* levels held by the owner */
    uint32_t flags; /* WEFT_SHARED or 0 */
    uint32_t state; /* shared: 1 while inconsistent after EOWNERDEAD */
    uint32_t sleepers; /* shared: threads that may sleep on `word` */
    void *robust_prev; /* shared: the holder's robust-list links, which */
    void *robust_next; /* must stay 24 and 32 bytes after `word` */
} weft_rlock;

#define WEFT_RLOCK_INIT {0, 0, 0, 0, 0, 0, 0, 0}

/* weft_rlock_init - make *rl a free rlock (robust when WEFT_SHARED; not
 * reentrant with WEFT_NORECURSE, see weft/flags.h).
 * Returns:  0; EINVAL for unknown flags; ENOTSUP for WEFT_SHARED where
 *           robust futexes cannot be used (a libc with another robust-list
 *           layout). */
int weft_rlock_init(weft_rlock *rl, unsigned flags);

/* weft_rlock_destroy - end the life of *rl.
 * Returns:  0; EBUSY if it is held (nothing changes). */
int weft_rlock_destroy(weft_rlock *rl);

/* weft_rlock_acquire - acquire one level of *rl.
 * Blocks:   until no other thread holds it; never if the caller holds it.
 * Returns:  0; EAGAIN if the caller already holds UINT32_MAX levels;
 *           EDEADLK if it holds a WEFT_NORECURSE rlock (nothing changes).
 *           WEFT_SHARED only: EOWNERDEAD (held, with one level; the
 *           previous holder died holding it), ENOTRECOVERABLE (not held).
 * Threads:  any thread; not async-signal-safe. */
int weft_rlock_acquire(weft_rlock *rl) WEFT_ACQUIRE(rl);

/* weft_rlock_try_acquire - acquire one level if no other thread holds it.
 * Blocks:   never. Returns 0, EBUSY (another thread holds it), EAGAIN, or
 *           (shared) EOWNERDEAD / ENOTRECOVERABLE as weft_rlock_acquire. */
int weft_rlock_try_acquire(weft_rlock *rl) WEFT_TRY_ACQUIRE(0, rl);

/* weft_rlock_acquire_until - acquire one level, giving up at deadline_ns
 * (absolute CLOCK_MONOTONIC). Returns 0, ETIMEDOUT, EAGAIN, or (shared)
 * EOWNERDEAD / ENOTRECOVERABLE as weft_rlock_acquire. */
int weft_rlock_acquire_until(weft_rlock *rl, int64_t deadline_ns)
    WEFT_TRY_ACQUIRE(0, rl);

/* weft_rlock_acquire_for - as _until with a relative timeout_ns.
 * Returns 0, ETIMEDOUT, EAGAIN, or EINVAL for timeout_ns < 0. */
int weft_rlock_acquire_for(weft_rlock *rl, int64_t timeout_ns)
    WEFT_TRY_ACQUIRE(0, rl);

/* weft_rlock_release - release one level; the last one frees the lock and
 * wakes a waiter (or, after an EOWNERDEAD never made consistent, makes the
 * rlock unrecoverable and wakes every waiter).
 * Returns:  0; EPERM if the caller does not hold *rl (nothing changes).
 * Threads:  the holder. */
int weft_rlock_release(weft_rlock *rl) WEFT_RELEASE(rl);

/* weft_rlock_consistent - declare the state *rl protects repaired after
 * an acquire returned EOWNERDEAD, so releasing it keeps it usable.
 * Requires: the caller holds *rl.
 * Returns:  0; EINVAL if *rl is not in that state; EPERM if the caller
 *           does not hold it. */
int weft_rlock_consistent(weft_rlock *rl);

/* weft_rlock_is_owned - whether the calling thread holds *rl (exact, unlike
 * a lock's is_locked: only the caller can change the answer). */
bool weft_rlock_is_owned(const weft_rlock *rl);

/* weft_rlock_is_locked - whether some thread holds *rl (Python's
 * locked()). For a WEFT_SHARED rlock whose holder died, 0 until the next
 * acquire takes it (it is free to take).
 * Returns:  a snapshot that may be stale by the time the caller reads it:
 *           fit for assertions, statistics, and for choosing how long to
 *           sleep, not for deciding to acquire.
 * Threads:  any thread. */
bool weft_rlock_is_locked(const weft_rlock *rl);

/* weft_rlock_depth - levels the calling thread holds (0 if it does not). */
unsigned weft_rlock_depth(const weft_rlock *rl);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_RLOCK_H */
