/* futex.h - the one wait/wake layer of sync/ (internal).
 *
 * Every blocking wait in sync/ goes through weft__futex_wait and every wake
 * through weft__futex_wake: this is where an interleaving scheduler hooks in
 * and where a port to another kernel would start. */
#ifndef WEFT_SYNC_FUTEX_H
#define WEFT_SYNC_FUTEX_H

#include <stdbool.h>
#include <stdint.h>

/* weft__futex_wait - sleep while *word == expected.
 * Blocks:   until woken, until *word != expected (checked atomically with
 *           going to sleep), until a signal interrupts, or until
 *           CLOCK_MONOTONIC reaches deadline_ns (WEFT_DEADLINE_NEVER: no
 *           limit; a past deadline returns ETIMEDOUT at once).
 * Returns:  ETIMEDOUT, or 0 for every other outcome: callers re-check their
 *           condition in a loop, so a wake-up, a changed value, EINTR and a
 *           spurious return are all "look again".
 * shared:   false for process-private words (faster kernel hashing), true
 *           for words in memory shared between processes. */
int weft__futex_wait(const uint32_t *word, uint32_t expected,
                     int64_t deadline_ns, bool shared);

/* weft__futex_wake - wake up to n threads sleeping on word (n >= 1;
 * INT32_MAX wakes all). Returns the number woken. */
int weft__futex_wake(const uint32_t *word, int n, bool shared);

/* weft__futex_requeue - if *from == expected, wake up to `wake` threads
 * sleeping on from and move all the others to sleep on to (both words
 * private, or both shared). Returns 0; EAGAIN if *from != expected; or the
 * kernel's error (EFAULT, EINVAL), after which the caller must wake instead. */
int weft__futex_requeue(const uint32_t *from, uint32_t expected, int wake,
                        const uint32_t *to, bool shared);

#endif /* WEFT_SYNC_FUTEX_H */
