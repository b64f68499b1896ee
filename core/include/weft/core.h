/* weft/core.h - the core module: threads (weft/thread.h), thread-local
 * values (weft/local.h), timers (weft/timer.h) and child processes
 * (weft/proc.h), and what a program does at exit with the ones still
 * running. Depends on: weft/sync.h, libc, Linux (pidfd, prctl).
 *
 * Exit, as Python's interpreter does it: weft_core_shutdown() waits for
 * every non-daemon thread weft started, then terminates daemon children and
 * waits for every child; daemon threads are left to die with the process.
 * Call it before returning from main(), or call weft_core_atexit() once
 * and let exit() do it. A forked child spawned by weft_proc_spawn does it
 * itself after its function returns.
 *
 * Fork from a multi-threaded parent: the child has one thread. weft's own
 * registries (threads, children) are made consistent in the child by
 * pthread_atfork handlers: the forking thread is the child's main thread,
 * other threads' handles report not alive, children's handles are not the
 * child's. A weft lock or condition that another thread held or waited on
 * at the fork stays in that state in the child (see weft/lock.h): the child
 * may use weft objects that no other thread was using at the fork, and all
 * of weft_thread, weft_timer, weft_local and weft_proc. */
#ifndef WEFT_CORE_H
#define WEFT_CORE_H

#include <stdint.h>

#include "weft/api.h"
#include "weft/local.h"
#include "weft/proc.h"
#include "weft/sync.h"
#include "weft/thread.h"
#include "weft/timer.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

/* weft_core_shutdown_until - weft_thread_shutdown_until, then
 * weft_proc_shutdown_until, with one deadline.
 * Blocks:   until both are done or CLOCK_MONOTONIC passes deadline_ns.
 * Returns:  0; ETIMEDOUT. */
int weft_core_shutdown_until(int64_t deadline_ns);

/* weft_core_shutdown - weft_core_shutdown_until with no deadline. */
void weft_core_shutdown(void);

/* weft_core_atexit - make exit() (and returning from main) run
 * weft_core_shutdown first. Registered once however often it is called.
 * Returns:  0; ENOMEM when atexit() has no room. */
int weft_core_atexit(void);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_CORE_H */
