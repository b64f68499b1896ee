/* weft/ppool.h - a pool of worker processes forked from the parent that
 * run tasks and report their outcomes through futures (Python's
 * concurrent.futures.ProcessPoolExecutor with the fork start method) - and
 * that survives its workers' deaths.
 *
 *     static int crunch(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
 *     {
 *         ...;                       // runs in a worker process
 *         memcpy(out, &sum, sizeof sum);
 *         *out_len = sizeof sum;
 *         return 0;
 *     }
 *
 *     weft_ppool *pool;
 *     weft_ppool_create(&pool, NULL);              // one worker per CPU
 *     weft_future *f;
 *     weft_ppool_submit(pool, crunch, data, len, &f);
 *     void *bytes;
 *     if (weft_future_result(f, &bytes) == 0)      // weft_future_size(f) bytes
 *         ...;
 *     weft_future_free(f);
 *     weft_ppool_free(pool);
 *
 * A task is a function (valid in the forked workers: any function of the
 * program) with argument bytes, copied at submit; it writes its result
 * bytes, up to max_result, and returns 0 or an error code (the future's
 * error). Tasks and results travel over weft_queue blocks in shared memory
 * (weft/queue.h): one inbox per worker, one result queue.
 *
 * Workers that die: a worker that ends while running a task - killed by a
 * signal, crashed, or exited from inside the task - fails that task only:
 * its future's error is EOWNERDEAD and weft_future_worker gives the
 * worker's pid and exit code (minus the signal number). Tasks that the
 * worker had been sent but not started go to other workers, as if never
 * sent. The pool forks a replacement and stays usable; if that fork fails
 * (EAGAIN, ENOMEM) the other workers go on and the pool forks again every
 * 100 ms until it works (with no worker left, it breaks instead: EAGAIN).
 * Workers that die before they are ready - an initializer that crashes or
 * exits - are replaced too, but 4 * max_workers + 4 such deaths in a row,
 * with no task finished between them, break the pool: EOWNERDEAD, and
 * unfinished tasks fail with EPIPE (SIGKILL, which comes from outside the
 * worker, is not counted). With
 * WEFT_PPOOL_BREAK_ON_DEATH it does what Python's pool does instead: the
 * first death breaks the pool, every unfinished task fails (EOWNERDEAD for
 * the one that was running, EPIPE for the others), the other workers are
 * terminated and later submissions return EPIPE.
 *
 * Deadlines: weft_ppool_submit_until gives a task an absolute deadline. A
 * task still queued then fails with ETIMEDOUT without running; a task
 * running then has its worker killed (SIGKILL, by a timer the worker arms
 * for that task alone) and replaced, and fails with ETIMEDOUT
 * (weft_future_worker names the killed worker). A worker killed by SIGKILL
 * from elsewhere while running a task past its deadline is reported the
 * same way.
 *
 * Lifetime of workers: max_tasks_per_child ends a worker (cleanly) after
 * that many tasks and forks a new one. Workers are daemon children of a
 * thread the pool owns: they are killed by the kernel if the parent dies.
 *
 * CPUs: a worker that finds itself on the CPU of a thread that waits for
 * each of its results in turn (the two would take turns on that CPU)
 * moves to another CPU its affinity allows, by narrowing its affinity and
 * setting it back at once (sched_setaffinity), at most once every 10 ms;
 * a worker's affinity is otherwise left as the parent's (or as its
 * initializer or tasks set it). An affinity set on a worker from outside
 * at the instant it moves may be undone, and a worker that has moved
 * keeps the CPUs it had then, not ones a cpuset adds later.
 *
 * Threads: every function may be called from any thread of the parent.
 * Callbacks of the pool's futures run in the pool's collector thread.
 * Not for use inside the workers (a worker's copy of the pool is inert). */
#ifndef WEFT_PPOOL_H
#define WEFT_PPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/api.h"
#include "weft/future.h"
#include "weft/tpool.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_ppool weft_ppool;

/* A process task: arg[0..len) in, result bytes out[0..*out_len) (out_cap
 * is max_result; *out_len starts at 0). Returns 0 or an error code. */
typedef int (*weft_ptask_fn)(const void *arg, size_t len, void *out, size_t out_cap,
                             size_t *out_len);

/* Flags (weft_ppool_opts.flags). */
#define WEFT_PPOOL_BREAK_ON_DEATH 1u /* Python's BrokenProcessPool behaviour */

/* Options for weft_ppool_create; zero fields take the defaults. */
typedef struct weft_ppool_opts {
    size_t max_workers;         /* default: the number of online CPUs */
    /* Run in each worker before its first task. A nonzero return breaks
     * the pool as a death would in BREAK_ON_DEATH mode (unfinished tasks
     * fail with EPIPE; weft_ppool_broken returns the code). */
    int (*initializer)(void *arg);
    void *initarg;
    size_t max_tasks_per_child; /* 0: workers live until shutdown */
    size_t max_arg;             /* largest argument (default 64 KiB) */
    size_t max_result;          /* largest result (default 64 KiB) */
    /* Tasks sent ahead to each worker, at most 64; 1 gives the fairest
     * spread of long tasks. 0 (the default) adapts: from 2 up to as many
     * as the worker runs in about 50 us (64 tasks of a microsecond),
     * measured as its results come in, and never more than two of
     * max_arg's size. */
    unsigned prefetch;
    unsigned flags;
} weft_ppool_opts;

/* weft_ppool_create - fork the workers and start the pool's threads.
 * Blocks:   until every worker is forked.
 * Returns:  0; EINVAL (out NULL, bad opts); ENOMEM; EAGAIN (no more
 *           processes or threads: nothing is left running). */
int weft_ppool_create(weft_ppool **out, const weft_ppool_opts *opts);

/* weft_ppool_submit - queue fn over a copy of arg[0..len). With out not
 * NULL, *out gets the future (one reference); with out NULL the task is
 * fire-and-forget.
 * Blocks:   never for a worker.
 * Returns:  0; EINVAL (fn NULL, arg NULL with len > 0); EMSGSIZE (len >
 *           max_arg); ESHUTDOWN; EPIPE (broken); ENOMEM. */
int weft_ppool_submit(weft_ppool *p, weft_ptask_fn fn, const void *arg, size_t len,
                      weft_future **out);

/* weft_ppool_submit_until - submit with a deadline for the task (absolute
 * CLOCK_MONOTONIC; WEFT_DEADLINE_NEVER: none): see the top of this file. */
int weft_ppool_submit_until(weft_ppool *p, weft_ptask_fn fn, const void *arg, size_t len,
                            int64_t task_deadline_ns, weft_future **out);

/* weft_ppool_shutdown - stop taking tasks; queued tasks still run unless
 * flags has WEFT_POOL_CANCEL_PENDING (tasks not yet sent to a worker are
 * cancelled; one sent to a worker that died before starting it is sent
 * again, since its future already reported running). Without WEFT_POOL_NOWAIT, waits until every task is done and
 * every worker has ended and been reaped. Idempotent. A submit that
 * returns 0 while another thread shuts the pool down was taken before
 * the shutdown: it runs, even with CANCEL_PENDING if it came after the
 * cancelling; submits that start after shutdown returns get ESHUTDOWN.
 * Returns:  0; EDEADLK (from a callback of one of the pool's futures
 *           without NOWAIT: the pool's own thread cannot wait for itself). */
int weft_ppool_shutdown(weft_ppool *p, unsigned flags);

/* weft_ppool_free - shutdown (waiting) and free. NULL: no-op. Call it
 * once every other call on the pool, in any thread, has returned.
 * Returns:  0; EDEADLK (from a callback of the pool: nothing is freed). */
int weft_ppool_free(weft_ppool *p);

/* weft_ppool_workers - the pids of the live workers (up to cap of them
 * into pids, which may be NULL when cap is 0); returns how many live. */
size_t weft_ppool_workers(weft_ppool *p, pid_t *pids, size_t cap);

/* weft_ppool_broken - nonzero once the pool is broken: EOWNERDEAD (a
 * worker died in BREAK_ON_DEATH mode, or too many died getting ready),
 * the initializer's error code, EAGAIN (no worker left and none could be
 * forked) or EPROTO (the result queue was damaged). */
int weft_ppool_broken(weft_ppool *p);

/* weft_ppool_replaced - workers forked to replace ones that ended. */
size_t weft_ppool_replaced(weft_ppool *p);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_PPOOL_H */
