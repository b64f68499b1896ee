/* weft/sem.h - counting and bounded semaphores (Python's threading.Semaphore
 * and BoundedSemaphore, multiprocessing.Semaphore with WEFT_SHARED).
 *
 * A semaphore holds a count. Acquire takes one unit, waiting while the count
 * is 0; release gives back n units and wakes up to n waiters. A bounded
 * semaphore remembers its initial value as a maximum, and a release that
 * would raise the count above it returns EOVERFLOW and changes nothing:
 * that catches a release without a matching acquire, as Python's
 * BoundedSemaphore does with ValueError.
 *
 *     static weft_sem slots;             // at most 4 downloads at a time
 *     weft_sem_init_bounded(&slots, 4, WEFT_PRIVATE);
 *     ...
 *     weft_sem_acquire(&slots);
 *     download(url);
 *     weft_sem_release(&slots, 1);
 *
 * Invariants: 0 <= count <= max; every unit released is taken by exactly
 * one acquire. Not FIFO: a thread arriving while others sleep may take a
 * unit first. A semaphore has no owner, so any thread may release.
 *
 * Fork: the count lives in the semaphore's memory. A WEFT_SHARED semaphore
 * in MAP_SHARED memory is shared with children; a private one is copied. */
#ifndef WEFT_SEM_H
#define WEFT_SEM_H

#include <stdint.h>

#include "weft/api.h"
#include "weft/flags.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

/* The largest count and maximum a semaphore can hold. */
#define WEFT_SEM_VALUE_MAX 0x7fffffffu

typedef struct weft_sem {
    uint32_t count;   /* futex word: units available */
    uint32_t waiters; /* threads that may be asleep on count */
    uint32_t max;     /* WEFT_SEM_VALUE_MAX unless bounded */
    uint32_t flags;   /* WEFT_SHARED or 0 */
} weft_sem;

/* weft_sem_init - make *s a semaphore holding value units.
 * Blocks:   never.
 * Requires: *s not in use; flags is WEFT_PRIVATE or WEFT_SHARED.
 * Returns:  0; EINVAL for a value above WEFT_SEM_VALUE_MAX or unknown flags.
 * Threads:  any thread. */
int weft_sem_init(weft_sem *s, unsigned value, unsigned flags);

/* weft_sem_init_bounded - as weft_sem_init, and value is also the maximum
 * (Python's BoundedSemaphore). Returns 0 or EINVAL. */
int weft_sem_init_bounded(weft_sem *s, unsigned value, unsigned flags);

/* weft_sem_destroy - end the life of *s.
 * Requires: no thread waits on *s. Returns 0; EBUSY if one may (nothing
 * changes). */
int weft_sem_destroy(weft_sem *s);

/* weft_sem_acquire - take one unit, waiting while there is none.
 * Blocks:   until a unit is available. Signals do not interrupt it.
 * Returns:  0.
 * Threads:  any thread (any process, for WEFT_SHARED). */
int weft_sem_acquire(weft_sem *s);

/* weft_sem_try_acquire - take one unit if there is one.
 * Blocks:   never. Returns 0 or EAGAIN (count was 0). */
int weft_sem_try_acquire(weft_sem *s);

/* weft_sem_acquire_until - take one unit, giving up at a deadline.
 * Blocks:   until a unit is taken or CLOCK_MONOTONIC passes deadline_ns
 *           (absolute; a past deadline makes one attempt).
 * Returns:  0 or ETIMEDOUT (nothing taken). */
int weft_sem_acquire_until(weft_sem *s, int64_t deadline_ns);

/* weft_sem_acquire_for - as _until with a relative timeout_ns.
 * Returns:  0, ETIMEDOUT, or EINVAL for timeout_ns < 0. */
int weft_sem_acquire_for(weft_sem *s, int64_t timeout_ns);

/* weft_sem_release - give back n units and wake up to n waiters.
 * Blocks:   never (may make one futex wake system call).
 * Returns:  0; EINVAL for n == 0; EOVERFLOW if the count would pass the
 *           maximum (bounded: the initial value; else WEFT_SEM_VALUE_MAX),
 *           and then nothing changes.
 * Threads:  any thread; async-signal-safe. */
int weft_sem_release(weft_sem *s, unsigned n);

/* weft_sem_value - the count now: a snapshot, stale by the time it is read
 * unless nothing else uses *s. */
unsigned weft_sem_value(const weft_sem *s);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_SEM_H */
