/* lockimpl.h - what weft_cond needs from the locks it works with
 * (internal): give up a lock completely for a wait, and take it back
 * through the contended path afterwards (see cond.c for why). */
#ifndef WEFT_SYNC_LOCKIMPL_H
#define WEFT_SYNC_LOCKIMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/lock.h"
#include "weft/rlock.h"

/* Whether the caller holds *lk: exact in checked builds, "someone does"
 * otherwise (all an unchecked lock records). */
bool weft__lock_held(const weft_lock *lk);
/* Release *lk held by the caller, as weft_lock_release does. */
void weft__lock_release_for_wait(weft_lock *lk);
/* Take *lk back after a wait, leaving the word "contended". */
void weft__lock_reacquire(weft_lock *lk);

/* Release every level of *rl held by the caller; returns how many. */
uint32_t weft__rlock_release_all(weft_rlock *rl);
/* Take *rl back with that many levels, leaving a private word "contended".
 * Returns 0, or for a shared rlock EOWNERDEAD (held) or ENOTRECOVERABLE
 * (not held). */
int weft__rlock_reacquire(weft_rlock *rl, uint32_t levels);

#endif /* WEFT_SYNC_LOCKIMPL_H */
