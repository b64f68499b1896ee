/* weft/deadlock.h - the opt-in lock-order deadlock detector.
 *
 * When on, every weft_lock and weft_rlock acquire is checked against a
 * global lock-order graph: an edge A -> B means "some thread held A while
 * acquiring B". A new edge that closes a cycle is a potential deadlock even
 * if the threads involved never actually blocked (the lockdep / Abseil
 * approach): thread 1 taking A then B and, at another time, thread 2 taking
 * B then A is reported on the second order's first acquire.
 *
 * Modes: WEFT_DEADLOCK_OFF (default: one predictable branch per acquire and
 * release), WEFT_DEADLOCK_REPORT (the acquire that would close the cycle
 * returns EDEADLK without taking the lock, after printing a report to
 * stderr), WEFT_DEADLOCK_ABORT (print the report, then abort()). The
 * environment variable WEFT_DEADLOCK=report|abort selects a mode at program
 * start; weft_deadlock_set_mode() changes it at run time.
 *
 * The report names each lock of the cycle (by the name given with
 * weft_deadlock_name, else by its address and where it was first acquired)
 * and, for each edge, the thread and the call sites that created it.
 *
 * Not checked: try-acquires (they cannot block, so they add no edge and are
 * never reported, though a lock taken by try still orders later acquires);
 * re-entry of an rlock the thread already holds. Destroying a lock removes
 * it from the graph, so a new lock at the same address starts clean; a lock
 * whose memory is freed without weft_*_destroy keeps its edges.
 *
 * Process-private: the graph is per process; shared (WEFT_SHARED) rlocks
 * take part within each process. */
#ifndef WEFT_DEADLOCK_H
#define WEFT_DEADLOCK_H

#include <stddef.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

enum weft_deadlock_mode {
    WEFT_DEADLOCK_OFF = 0,
    WEFT_DEADLOCK_REPORT = 1,
    WEFT_DEADLOCK_ABORT = 2
};

/* weft_deadlock_set_mode - turn the detector on or off.
 * Blocks:   never.
 * Requires: no thread holds a weft lock while the mode changes (the
 *           detector tracks what each thread holds only while it is on).
 * Returns:  0; EINVAL for an unknown mode.
 * Threads:  any thread. */
int weft_deadlock_set_mode(enum weft_deadlock_mode mode);

/* weft_deadlock_mode - the current mode. */
enum weft_deadlock_mode weft_deadlock_mode(void);

/* weft_deadlock_name - give a weft lock (weft_lock or weft_rlock) a name
 * for reports. The string is copied (up to 63 bytes).
 * Returns:  0; ENOMEM. Threads: any thread. */
int weft_deadlock_name(const void *lock, const char *name);

/* weft_deadlock_last_report - copy the text of the most recent report into
 * buf (NUL-terminated, truncated to n bytes).
 * Returns:  the report's full length, 0 if there has been none. */
size_t weft_deadlock_last_report(char *buf, size_t n);

/* weft_deadlock_reset - forget the whole graph and the last report (for
 * tests and for programs that change their locking phase). */
void weft_deadlock_reset(void);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_DEADLOCK_H */
