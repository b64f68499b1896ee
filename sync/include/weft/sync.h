/* weft/sync.h - the sync module: locks, reentrant locks, conditions,
 * semaphores, events, barriers, once, and the deadlines their waits use.
 * Depends on: libc, Linux futexes. Include this or the single headers. */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "weft/barrier.h"
#include "weft/cond.h"
#include "weft/deadlock.h"
#include "weft/event.h"
#include "weft/flags.h"
#include "weft/futex.h"
#include "weft/gil.h"
#include "weft/lock.h"
#include "weft/once.h"
#include "weft/rlock.h"
#include "weft/sem.h"
#include "weft/time.h"
#include "weft/tsa.h"
#include "weft/version.h"

#endif /* WEFT_SYNC_H */
