/* weft/tpool.h - a pool of worker threads that runs tasks and reports
 * their outcomes through futures (Python's
 * concurrent.futures.ThreadPoolExecutor).
 *
 *     static int fetch(void *arg, void **result) { ...; *result = page; return 0; }
 *
 *     weft_tpool *pool;
 *     weft_tpool_create(&pool, NULL);               // min(32, CPUs + 4) workers
 *     weft_future *f;
 *     weft_tpool_submit(pool, fetch, url, &f);
 *     void *page;
 *     if (weft_future_result(f, &page) == 0) ...
 *     weft_future_free(f);
 *     weft_tpool_free(pool);                        // waits for queued tasks
 *
 * A task returns 0 and may store a result pointer (the future's result), or
 * returns an error code (the future's error). Tasks start in about
 * submission order as workers become free: when the queue backs up, a
 * worker takes its share of it at once (up to 64 tasks, run in order), and
 * a worker with nothing to do takes the next task of another's share, so
 * no task waits behind a running one while a worker is free. Workers start
 * on demand, one per submission that finds none idle (none when the queue
 * is empty and a worker is just finishing a task: that one takes it), up
 * to max_workers, and live until shutdown.
 *
 * Tasks that wait on tasks: a worker that waits (weft_future_wait_until,
 * result, wait_set, as_completed) on a future of its own pool whose task is
 * still pending takes that task off the queue and runs it itself. So a task
 * may submit subtasks and wait for them even when every worker is busy, and
 * recursion never deadlocks the pool. What can still deadlock is a cycle
 * through tasks that are already running: task A waits on running task B
 * while B waits on A (or on something A holds), as with any threads.
 *
 * Fork: a pool survives into a child of fork() with no workers and an empty
 * queue. Tasks queued or running in the parent at the fork belong to the
 * parent; their futures' copies in the child are done with ECHILD (a wait
 * there returns at once). The child may submit (new workers start) and must
 * shut its copy down with weft_tpool_free like any pool.
 *
 * Exit: workers are daemon threads (weft/thread.h): weft_core_shutdown does
 * not wait for them. Free the pool before exit to run what is queued.
 *
 * Threads: every function may be called from any thread, including from
 * tasks of the pool, except where a comment says otherwise. */
#ifndef WEFT_TPOOL_H
#define WEFT_TPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_tpool weft_tpool;

/* A task: returns 0 (and may set *result, which starts as NULL) or an error
 * code. */
typedef int (*weft_task_fn)(void *arg, void **result);

/* Options for weft_tpool_create; zero fields take the defaults. */
typedef struct weft_tpool_opts {
    size_t max_workers;       /* default min(32, CPUs + 4), as Python */
    const char *name_prefix;  /* workers are "<prefix>_<i>"; default
                                 "ThreadPool-<n>" (copied) */
    /* Run by each worker before its first task. A nonzero return breaks the
     * pool, as Python's BrokenThreadPool: queued tasks fail with EPIPE,
     * later submissions return EPIPE, weft_tpool_broken returns the code. */
    int (*initializer)(void *arg);
    void *initarg;
    size_t stack_size;        /* worker stacks; 0: the default */
} weft_tpool_opts;

/* Flags for weft_tpool_shutdown. */
#define WEFT_POOL_NOWAIT 1u         /* return at once; free waits */
#define WEFT_POOL_CANCEL_PENDING 2u /* cancel tasks not yet started */

/* weft_tpool_create - a pool with no workers yet.
 * Returns:  0; EINVAL (out NULL); ENOMEM. */
int weft_tpool_create(weft_tpool **out, const weft_tpool_opts *opts);

/* weft_tpool_submit - queue fn(arg). With out not NULL, *out gets the
 * task's future (one reference, for the caller to free); with out NULL the
 * task is fire-and-forget: no future is made and its return is ignored.
 * Blocks:   never waits for a worker; starts one when none is idle and
 *           fewer than max_workers run.
 * Returns:  0; EINVAL (fn NULL); ESHUTDOWN (the pool is shut down); EPIPE
 *           (the pool is broken); ENOMEM. A task is queued even when no new
 *           worker could be started (EAGAIN from the system), as long as
 *           the pool has one; with none, submit returns that error and
 *           queues nothing. */
int weft_tpool_submit(weft_tpool *p, weft_task_fn fn, void *arg, weft_future **out);

/* weft_tpool_map_until - run fn(args[i], &results[i]) for i in [0, n), in
 * chunks of `chunk` items per task (0: 1), and wait for all of them
 * (Executor.map with chunksize; results come back in order).
 * errors (may be NULL) gets each item's return code, or for the items of a
 * chunk that never ran that chunk's error: ECANCELED (cancelled), EPIPE
 * (the pool broke), ECHILD (a forked copy of the pool); results (may be
 * NULL when the items' results are not wanted) starts all NULL.
 * Blocks:   until every item ran or CLOCK_MONOTONIC passes deadline_ns;
 *           then chunks not started are cancelled (their errors[i] are
 *           ECANCELED) and the call still waits for chunks that started,
 *           so nothing writes to results or errors after it returns.
 * Returns:  0 when every item returned 0; the error of the first item (by
 *           index) that failed; ETIMEDOUT; EINVAL (fn NULL, or n > 0 with
 *           args NULL); the errors of submit. */
int weft_tpool_map_until(weft_tpool *p, weft_task_fn fn, void *const *args, size_t n,
                         size_t chunk, void **results, int *errors, int64_t deadline_ns);

/* weft_tpool_shutdown - stop taking tasks (Executor.shutdown). Queued
 * tasks still run unless flags has WEFT_POOL_CANCEL_PENDING (their futures
 * are cancelled). Without WEFT_POOL_NOWAIT, waits until every task has run
 * and every worker has ended. Idempotent.
 * Returns:  0; EDEADLK (called from a task of this pool without NOWAIT: the
 *           pool is shut down but the call cannot wait for itself). */
int weft_tpool_shutdown(weft_tpool *p, unsigned flags);

/* weft_tpool_free - shut down (waiting for queued tasks) and free the pool.
 * NULL: no-op.
 * Returns:  0; EDEADLK (called from a task of this pool: nothing is freed). */
int weft_tpool_free(weft_tpool *p);

/* weft_tpool_max_workers - the bound given at create (or the default). */
size_t weft_tpool_max_workers(const weft_tpool *p);

/* weft_tpool_workers - worker threads started and not yet ended. */
size_t weft_tpool_workers(weft_tpool *p);

/* weft_tpool_broken - the initializer's error code if it broke the pool,
 * else 0. */
int weft_tpool_broken(weft_tpool *p);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_TPOOL_H */
