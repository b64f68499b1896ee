/* weft/future.h - the outcome of a task that runs elsewhere (Python's
 * concurrent.futures.Future, wait and as_completed).
 *
 * A future is pending, then running, then done - or cancelled while still
 * pending. Done means the task finished: with error 0 and a result (a
 * pointer and a size), or with a nonzero error code, the C form of an
 * exception. Pools (weft/tpool.h, weft/ppool.h) make futures; code that runs
 * tasks its own way makes them with weft_future_create and completes them
 * with set_running, set_result and set_error.
 *
 *     weft_future *f;
 *     weft_tpool_submit(pool, task, arg, &f);
 *     void *value;
 *     int rc = weft_future_result_for(f, 1000000000, &value);
 *     // 0: value is the task's result; ETIMEDOUT: not done within 1 s
 *     // (or the task itself failed with ETIMEDOUT: weft_future_done tells);
 *     // ECANCELED; else the task's own error code.
 *     weft_future_free(f);
 *
 * Invariants: the state only moves forward (pending -> running -> done,
 * pending -> cancelled, pending -> done); a future completes exactly once,
 * and its result, error and worker fields never change after that. Done
 * callbacks run exactly once each, after the completion is visible to
 * every waiter.
 *
 * Lifetime: futures are reference-counted. Whoever makes a future holds one
 * reference, weft_future_ref adds one and weft_future_free drops one; the
 * last drop frees the result with the free function given with it. Pools
 * keep their own reference while they need it, so a submitter may drop its
 * future at once (fire-and-forget with a future).
 *
 * Threads: every function may be called from any thread; a future is shared
 * by threads of one process (process pools complete their futures in the
 * parent). Not async-signal-safe. Errors: 0 or a positive errno code. */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_future weft_future;

typedef enum weft_future_state {
    WEFT_FUTURE_PENDING = 0,
    WEFT_FUTURE_RUNNING = 1,
    WEFT_FUTURE_DONE = 2,      /* finished, with a result or an error */
    WEFT_FUTURE_CANCELLED = 3
} weft_future_state;

/* A done callback: runs once, with the future done or cancelled. */
typedef void (*weft_future_cb)(weft_future *f, void *arg);

/* weft_future_create - a new pending future, with one reference.
 * Returns:  0; EINVAL (out NULL); ENOMEM. */
int weft_future_create(weft_future **out);

/* weft_future_ref - add a reference; returns f. */
weft_future *weft_future_ref(weft_future *f);

/* weft_future_free - drop a reference; the last one frees the future and
 * its result (with the free function given to set_result). NULL: no-op.
 * Requires: no call on f in flight through the reference being dropped. */
void weft_future_free(weft_future *f);

/* weft_future_state_get - the state now (it may move on at once). */
weft_future_state weft_future_state_get(const weft_future *f);

/* weft_future_done - finished or cancelled (Future.done()).
 * weft_future_running - running now. weft_future_cancelled - cancelled. */
bool weft_future_done(const weft_future *f);
bool weft_future_running(const weft_future *f);
bool weft_future_cancelled(const weft_future *f);

/* weft_future_cancel - cancel a pending future: it will never run, its
 * waiters wake and its callbacks run (Future.cancel()).
 * Returns:  0 (cancelled now or before); EBUSY (running or done: nothing
 *           changes). */
int weft_future_cancel(weft_future *f);

/* weft_future_wait_until - wait until f is done or cancelled.
 * Blocks:   until then or until CLOCK_MONOTONIC passes deadline_ns
 *           (WEFT_DEADLINE_NEVER: no limit). A worker of a thread pool that
 *           waits on a pending task of its own pool runs that task itself
 *           first (see weft/tpool.h).
 * Returns:  0; ETIMEDOUT. */
int weft_future_wait_until(weft_future *f, int64_t deadline_ns);
/* weft_future_wait_for - wait_until with a relative timeout (EINVAL if < 0). */
int weft_future_wait_for(weft_future *f, int64_t timeout_ns);

/* weft_future_result_until - wait as wait_until, then report the outcome
 * (Future.result(timeout)).
 * Returns:  0 and *value (if value is not NULL) set to the result;
 *           ETIMEDOUT (not done by the deadline - or the task failed with
 *           ETIMEDOUT: weft_future_done tells which); ECANCELED; otherwise
 *           the task's error code (see weft_future_error). */
int weft_future_result_until(weft_future *f, int64_t deadline_ns, void **value);
/* weft_future_result_for - result_until with a relative timeout (EINVAL if < 0). */
int weft_future_result_for(weft_future *f, int64_t timeout_ns, void **value);
/* weft_future_result - result_until without a deadline. */
int weft_future_result(weft_future *f, void **value);

/* weft_future_error - the outcome without waiting (Future.exception()):
 * 0 (done with a result), the task's error code, ECANCELED, or EINPROGRESS
 * while pending or running. Pools use these codes for failures of their
 * own: EOWNERDEAD (the worker process running the task died: see
 * weft_future_worker), ETIMEDOUT (the task's deadline passed), EPIPE (the
 * pool broke or shut down before the task ran; not for cancelled tasks),
 * ECHILD (a thread pool's copy of the task in a forked child). */
int weft_future_error(const weft_future *f);

/* weft_future_size - the size given with the result (a process pool's
 * result bytes); 0 unless done with error 0. */
size_t weft_future_size(const weft_future *f);

/* weft_future_worker - for a future a process pool failed because its
 * worker ended: the worker's pid and exit code (minus the signal number if
 * a signal ended it, as weft_proc_join). Either pointer may be NULL.
 * Returns:  0; ENOENT (no worker ended under this future). */
int weft_future_worker(const weft_future *f, pid_t *pid, int *exitcode);

/* weft_future_describe - a one-line account of the outcome for logs, e.g.
 * "done", "error 110 (Connection timed out)", "cancelled", or "worker 4242
 * ended by signal 9 (Killed) while running the task". Truncated to size
 * (NUL-terminated when size > 0). Returns the length of the whole text. */
size_t weft_future_describe(const weft_future *f, char *buf, size_t size);

/* weft_future_add_done_callback - call cb(f, arg) once f is done or
 * cancelled: at once in the calling thread if it already is, else in the
 * thread that completes it, after its waiters can see the outcome.
 * Callbacks run in the order they were added. A callback may call any
 * function on f, including free of a reference it owns.
 * Returns:  0; EINVAL (cb NULL); ENOMEM (nothing is registered). */
int weft_future_add_done_callback(weft_future *f, weft_future_cb cb, void *arg);

/* Completing a future: what a pool (or any code that runs tasks) calls. */

/* weft_future_set_running - pending -> running
 * (Future.set_running_or_notify_cancel).
 * Returns:  0; ECANCELED (cancelled: do not run the task); EINVAL (already
 *           running or done). */
int weft_future_set_running(weft_future *f);

/* weft_future_set_result - done with error 0 and this result; value_free
 * (may be NULL) frees value when the future is freed.
 * Returns:  0; EINVAL (already done or cancelled: the future keeps its
 *           outcome, and value is NOT freed). */
int weft_future_set_result(weft_future *f, void *value, size_t size, void (*value_free)(void *));

/* weft_future_set_error - done with this error code (nonzero).
 * Returns:  0; EINVAL (error 0, or already done or cancelled). */
int weft_future_set_error(weft_future *f, int error);

/* weft_future_set_worker_error - done with error, recording the worker
 * process that ended under the task (see weft_future_worker). */
int weft_future_set_worker_error(weft_future *f, int error, pid_t pid, int exitcode);

/* Waiting on several futures (concurrent.futures.wait). */
typedef enum weft_future_when {
    WEFT_FIRST_COMPLETED = 0, /* any is done or cancelled */
    WEFT_FIRST_EXCEPTION = 1, /* any is done with an error; else all done */
    WEFT_ALL_COMPLETED = 2
} weft_future_when;

/* weft_future_wait_set_until - wait until the n futures meet `when`.
 * Blocks:   until then or until CLOCK_MONOTONIC passes deadline_ns.
 * Returns:  0 or ETIMEDOUT, and in both cases *ndone (if not NULL) and
 *           done[i] (if done is not NULL) say which were done or cancelled
 *           at the end; EINVAL (n > 0 with fs NULL, a NULL entry, bad
 *           when); ENOMEM. A future may appear more than once. n == 0
 *           returns 0 at once. */
int weft_future_wait_set_until(weft_future *const *fs, size_t n, weft_future_when when,
                               int64_t deadline_ns, bool *done, size_t *ndone);

/* As-completed iteration (concurrent.futures.as_completed): yields each
 * future of a set once, in the order they complete (ones already done
 * first, in set order).
 *
 *     weft_as_completed *it;
 *     weft_as_completed_create(&it, fs, n);
 *     weft_future *f;
 *     while (weft_as_completed_next_until(it, deadline, &f) == 0) use(f);
 *     weft_as_completed_free(it);
 */
typedef struct weft_as_completed weft_as_completed;

/* weft_as_completed_create - start iterating over fs[0..n) (the entries
 * are borrowed: they must live until free; duplicates are yielded once).
 * Returns:  0; EINVAL (out NULL, or n > 0 with fs or an entry NULL); ENOMEM. */
int weft_as_completed_create(weft_as_completed **out, weft_future *const *fs, size_t n);

/* weft_as_completed_next_until - the next future to complete.
 * Blocks:   until one completes or CLOCK_MONOTONIC passes deadline_ns.
 * Returns:  0 and *f set; ETIMEDOUT (some still pending: call again to
 *           go on); ENOENT (every future has been yielded). */
int weft_as_completed_next_until(weft_as_completed *it, int64_t deadline_ns, weft_future **f);

/* weft_as_completed_free - stop iterating. NULL is a no-op. */
void weft_as_completed_free(weft_as_completed *it);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_FUTURE_H */
