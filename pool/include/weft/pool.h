/* weft/pool.h - the pool module: futures (weft/future.h) and the thread
 * pool (weft/tpool.h) and the process pool (weft/ppool.h).
 * Depends on: weft/ipc.h, weft/core.h, weft/sync.h, libc, Linux. */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include "weft/future.h"
#include "weft/ipc.h"
#include "weft/ppool.h"
#include "weft/tpool.h"

#endif /* WEFT_POOL_H */
