/* weft/lock.h - a mutual-exclusion lock (Python's threading.Lock, owned).
 *
 * weft_lock is one 32-bit futex word: 0 unlocked, 1 locked, 2 locked and a
 * thread may be asleep waiting for it. A zero-initialised weft_lock is an
 * unlocked lock, so static and calloc'd locks need no init call:
 *
 *     static weft_lock mu = WEFT_LOCK_INIT;
 *     static long hits WEFT_GUARDED_BY(mu);
 *
 *     void count(void) {
 *         weft_lock_acquire(&mu);
 *         hits++;
 *         weft_lock_release(&mu);
 *     }
 *
 * Invariants: at most one thread holds a lock; the thread that acquired it is
 * the one that releases it (unlike Python's Lock, weft_lock is owned: that is
 * what lets ThreadSanitizer, Helgrind and Clang's thread-safety analysis check
 * it). The lock is not recursive (see weft_rlock) and not fair: a releasing
 * thread may take it back before a woken waiter runs, which is what makes
 * contended throughput high.
 *
 * Acquiring spins briefly (a bounded number of pause instructions) before it
 * sleeps in the kernel, and releasing makes a system call only when a thread
 * may be asleep.
 *
 * Checked builds (WEFT_CHECKED defined, on in the `debug` preset) add the
 * owner's thread id to the struct: a release by a thread that does not hold
 * the lock returns EPERM and changes nothing, an acquire by the holder returns
 * EDEADLK instead of hanging, and weft_lock_assert_held() checks the owner.
 * Without it a release of an unlocked lock still returns EPERM, but a release
 * by a thread other than the holder is not detected. WEFT_CHECKED changes the
 * layout, so it must be the same for weft and for all code that includes this
 * header (the CMake targets carry it as a usage requirement).
 *
 * Tools: the lock tells ThreadSanitizer (always, when built with
 * -fsanitize=thread) and Helgrind (when built with WEFT_VALGRIND_ANNOTATIONS)
 * that it is a lock, so races on data it protects and lock-order inversions
 * are reported as for a pthread mutex.
 *
 * Fork: a lock lives in the memory it was placed in. In a child created by
 * fork() a lock that the forking thread held is still held by that thread's
 * copy and may be released by it; a lock another thread held stays locked for
 * ever in the child. weft_lock is private to a process (its one word has no
 * room for a holder's id, which robustness needs): for a lock shared through
 * MAP_SHARED memory use weft_rlock with WEFT_SHARED | WEFT_NORECURSE, which
 * is robust when a holder dies (Python's multiprocessing.Lock). */
#ifndef WEFT_LOCK_H
#define WEFT_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/tsa.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct WEFT_CAPABILITY("mutex") weft_lock {
    uint32_t word; /* 0 unlocked, 1 locked, 2 locked with possible sleepers */
#ifdef WEFT_CHECKED
    int32_t owner; /* thread id of the holder, 0 when unlocked */
#endif
} weft_lock;

/* Static initialiser: an unlocked lock (all-zero bytes are one too). */
#ifdef WEFT_CHECKED
#define WEFT_LOCK_INIT {0, 0}
#else
#define WEFT_LOCK_INIT {0}
#endif

/* weft_lock_init - make *lk an unlocked lock.
 * Blocks:   never.
 * Requires: *lk is not in use (not held, no waiters). Zeroing the memory has
 *           the same effect; this call also tells race detectors about it.
 * Threads:  any thread. */
void weft_lock_init(weft_lock *lk);

/* weft_lock_destroy - end the life of *lk.
 * Blocks:   never.
 * Requires: no thread waits for *lk.
 * Returns:  0; EBUSY if *lk is held (then nothing changes and the lock can
 *           still be released and destroyed).
 * Threads:  any thread. */
int weft_lock_destroy(weft_lock *lk);

/* weft_lock_acquire - acquire *lk, waiting as long as it takes.
 * Blocks:   until acquired.
 * Requires: the caller does not hold *lk.
 * Returns:  0 (the lock is held); EDEADLK, lock not taken, in checked builds
 *           when the caller already holds it.
 * Threads:  any thread; not async-signal-safe. */
int weft_lock_acquire(weft_lock *lk) WEFT_ACQUIRE(lk);

/* weft_lock_try_acquire - acquire *lk if no thread holds it.
 * Blocks:   never.
 * Returns:  0 (the lock is held), EBUSY (held by some thread, the caller
 *           included).
 * Threads:  any thread. */
int weft_lock_try_acquire(weft_lock *lk) WEFT_TRY_ACQUIRE(0, lk);

/* weft_lock_acquire_until - acquire *lk, giving up at a deadline.
 * Blocks:   until acquired or CLOCK_MONOTONIC reaches deadline_ns (absolute,
 *           see weft/time.h); a deadline in the past makes one attempt.
 * Requires: the caller does not hold *lk.
 * Returns:  0 (the lock is held), ETIMEDOUT (the deadline passed and the lock
 *           was still held), EDEADLK as weft_lock_acquire.
 * Threads:  any thread; not async-signal-safe. */
int weft_lock_acquire_until(weft_lock *lk, int64_t deadline_ns)
    WEFT_TRY_ACQUIRE(0, lk);

/* weft_lock_acquire_for - acquire *lk, giving up after timeout_ns.
 * Blocks:   at most about timeout_ns nanoseconds; 0 makes one attempt.
 * Requires: the caller does not hold *lk.
 * Returns:  as weft_lock_acquire_until; EINVAL if timeout_ns < 0.
 * Threads:  any thread; not async-signal-safe. */
int weft_lock_acquire_for(weft_lock *lk, int64_t timeout_ns)
    WEFT_TRY_ACQUIRE(0, lk);

/* weft_lock_release - release *lk and wake one waiter if there is one.
 * Blocks:   never (may make one futex wake system call).
 * Requires: the caller holds *lk.
 * Returns:  0; EPERM if *lk is not locked, or, in checked builds, if another
 *           thread holds it (in both cases nothing changes).
 * Threads:  the thread that acquired *lk; async-signal-safe when the thread
 *           it interrupted does not touch *lk. */
int weft_lock_release(weft_lock *lk) WEFT_RELEASE(lk);

/* weft_lock_is_locked - whether some thread holds *lk (Python's locked()).
 * Blocks:   never.
 * Returns:  a snapshot that may be stale by the time the caller reads it:
 *           fit for assertions and statistics, not for deciding to acquire.
 * Threads:  any thread. */
bool weft_lock_is_locked(const weft_lock *lk);

/* weft_lock_assert_held - abort with a message unless *lk is held.
 * Blocks:   never.
 * Requires: nothing; tells the thread-safety analysis that *lk is held.
 * Returns:  only if *lk is locked (in checked builds: by the caller).
 * Threads:  any thread. */
void weft_lock_assert_held(const weft_lock *lk) WEFT_ASSERT_CAPABILITY(lk);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_LOCK_H */
