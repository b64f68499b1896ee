/* weft/futex.h - wait on a 32-bit word until it changes, and wake its
 * waiters: the one wait/wake layer every weft primitive blocks through,
 * for primitives built outside sync/ (ipc's shared-memory queue).
 *
 * A futex is any aligned uint32_t. A waiter sleeps only while the word
 * still holds the value it expects, checked atomically with going to sleep,
 * so a change made (and followed by a wake) between a waiter's check of its
 * condition and its sleep is never missed. Build waits as an event count:
 *
 *     for (;;) {
 *         uint32_t seen = __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE);
 *         if (ready(w))                       // look after reading seq
 *             break;
 *         if (weft_futex_wait(&w->seq, seen, deadline, 0) == ETIMEDOUT)
 *             return ETIMEDOUT;               // (look once more first)
 *     }
 *     // waker: make ready(w) true; then
 *     __atomic_fetch_add(&w->seq, 1, __ATOMIC_RELEASE);
 *     weft_futex_wake(&w->seq, INT32_MAX, 0);
 *
 * Interleaving schedulers and ports to other kernels hook in here, so
 * code that blocks through this header is explored with the rest of weft.
 * Words in memory shared between processes need WEFT_SHARED, in the waiter
 * and in the waker alike. */
#ifndef WEFT_FUTEX_H
#define WEFT_FUTEX_H

#include <stdint.h>

#include "weft/api.h"
#include "weft/flags.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

/* weft_futex_wait - sleep while *word == expected.
 * Blocks:   until woken, until *word != expected, until a signal, or until
 *           CLOCK_MONOTONIC reaches deadline_ns (absolute;
 *           WEFT_DEADLINE_NEVER waits without limit, a past deadline
 *           returns ETIMEDOUT at once when the word still holds expected).
 * Returns:  0 for every wake-up, changed value, signal or spurious return:
 *           the caller looks again; ETIMEDOUT; EINVAL for a NULL or
 *           misaligned word or flags other than WEFT_PRIVATE/WEFT_SHARED.
 * Threads:  any thread; async-signal-safe. */
int weft_futex_wait(const uint32_t *word, uint32_t expected,
                    int64_t deadline_ns, unsigned flags);

/* weft_futex_wake - wake up to n threads sleeping on word (INT32_MAX: all;
 * n <= 0 wakes none).
 * Returns:  the number woken, or -EINVAL for a NULL or misaligned word or
 *           unknown flags.
 * Threads:  any thread; async-signal-safe. */
int weft_futex_wake(const uint32_t *word, int n, unsigned flags);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_FUTEX_H */
