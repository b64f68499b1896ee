/* weft/sync.h - the sync module: locks and the clocks their waits use.
 * Depends on: libc, Linux futexes. Include this or the single headers. */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "weft/lock.h"
#include "weft/time.h"
#include "weft/tsa.h"

#endif /* WEFT_SYNC_H */
