/* deadlock.h - hooks from the locks into the deadlock detector (internal).
 *
 * Locks call these only when weft__dl_mode is non-zero (the one branch the
 * detector costs when off). `site` is the caller's return address. */
#ifndef WEFT_SYNC_DEADLOCK_H
#define WEFT_SYNC_DEADLOCK_H

#include <stdbool.h>

#include "weft/deadlock.h"

extern int weft__dl_mode; /* relaxed atomic: enum weft_deadlock_mode */

static inline bool weft__dl_on(void)
{
    return __builtin_expect(__atomic_load_n(&weft__dl_mode, __ATOMIC_RELAXED) != 0, 0);
}

/* Before a blocking or timed acquire: 0, or EDEADLK (report mode; do not
 * take the lock). Aborts in abort mode. */
int weft__dl_before_acquire(const void *lock, const void *site);
/* After any successful acquire (try included). */
void weft__dl_acquired(const void *lock, const void *site);
/* Before the release that frees the lock. */
void weft__dl_released(const void *lock);
/* When a lock is destroyed. */
void weft__dl_destroyed(const void *lock);

#endif /* WEFT_SYNC_DEADLOCK_H */
