/* test_tpool.c - weft_tpool: submit and results, fire-and-forget, worker
 * names and bounds, nested waits, map, shutdown modes, broken pools, fork,
 * errors, and a stress of submitters, cancellers and waiters. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sync/helpers.h"
#include "weft/pool.h"

/* Integers 0..16383 carried in task arguments and results as addresses
 * in one table. */
static int table[1 << 14];

static void *ip(int v)
{
    return &table[v];
}

static int pi(const void *p)
{
    return p != NULL ? (int)((const int *)p - table) : -1;
}

static int square(void *arg, void **result)
{
    int v = pi(arg);
    *result = ip(v * v);
    return 0;
}

static int fail_with(void *arg, void **result)
{
    (void)result;
    return pi(arg);
}

static int name_of_worker(void *arg, void **result)
{
    (void)arg;
    char *name = (char *)malloc(32);
    if (name == NULL)
        return ENOMEM;
    WT_EQ(weft_thread_name(weft_thread_current(), name, 32), 0);
    *result = name;
    return 0;
}

WT_CASE(test_tpool_submit_result_error_names, "unit valgrind helgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 2, .name_prefix = "sq"};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    WT_EQ(weft_tpool_max_workers(p), 2u);
    WT_EQ(weft_tpool_workers(p), 0u); /* on demand */
    weft_future *fs[10];
    for (int i = 0; i < 10; i++)
        WT_EQ(weft_tpool_submit(p, square, ip(i), &fs[i]), 0);
    WT_LE(weft_tpool_workers(p), 2u);
    for (int i = 0; i < 10; i++) {
        void *v = NULL;
        WT_EQ(weft_future_result(fs[i], &v), 0);
        WT_EQ(pi(v), i * i);
        weft_future_free(fs[i]);
    }
    weft_future *f;
    WT_EQ(weft_tpool_submit(p, fail_with, ip(EIO), &f), 0);
    WT_EQ(weft_future_result(f, NULL), EIO);
    WT_EQ(weft_future_error(f), EIO);
    weft_future_free(f);
    WT_EQ(weft_tpool_submit(p, name_of_worker, NULL, &f), 0);
    void *name = NULL;
    WT_EQ(weft_future_result(f, &name), 0);
    WT_TRUE(strncmp((char *)name, "sq_", 3) == 0);
    free(name);
    weft_future_free(f);
    WT_EQ(weft_tpool_submit(p, NULL, NULL, &f), EINVAL);
    WT_EQ(weft_tpool_broken(p), 0);
    WT_EQ(weft_tpool_free(p), 0);
    WT_EQ(weft_tpool_free(NULL), 0);
    WT_EQ(weft_tpool_create(NULL, NULL), EINVAL);
    /* Default bound: min(32, CPUs + 4). */
    WT_EQ(weft_tpool_create(&p, NULL), 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    WT_EQ(weft_tpool_max_workers(p), (size_t)(cpus + 4 < 32 ? cpus + 4 : 32));
    WT_EQ(weft_tpool_free(p), 0);
}

/* Submit a task and wait for it, n times over. */
static void submit_and_wait_loop(weft_tpool *p, long n)
{
    for (long i = 0; i < n; i++) {
        weft_future *f;
        WT_EQ(weft_tpool_submit(p, square, ip((int)(i % 10)), &f), 0);
        void *v = NULL;
        WT_EQ(weft_future_result(f, &v), 0);
        WT_EQ(pi(v), (int)((i % 10) * (i % 10)));
        weft_future_free(f);
    }
}

/* A thread that submits a task and waits for it, over and over, keeps the
 * pool at one worker: the worker counts itself as finishing before the
 * waiter can see the result, so the next submit leaves the task to it
 * instead of starting a second worker for a ring of one task. The same
 * with the process on one CPU, where the waiter sleeps at once rather
 * than spin for a worker that cannot run meanwhile. */
WT_CASE(test_tpool_submit_and_wait_loop_keeps_one_worker, "unit valgrind helgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 4};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    submit_and_wait_loop(p, wt_iters(2000));
    WT_EQ(weft_tpool_workers(p), 1u);
    WT_EQ(weft_tpool_free(p), 0);

    cpu_set_t was, one;
    WT_EQ(sched_getaffinity(0, sizeof was, &was), 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    WT_EQ(sched_setaffinity(0, sizeof one, &one), 0); /* workers inherit it */
    WT_EQ(weft_tpool_create(&p, &o), 0);
    submit_and_wait_loop(p, wt_iters(2000));
    WT_EQ(weft_tpool_workers(p), 1u);
    WT_EQ(weft_tpool_free(p), 0);
    WT_EQ(sched_setaffinity(0, sizeof was, &was), 0);
}

static int bump(void *arg, void **result)
{
    (void)result;
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_RELAXED);
    return 0;
}

WT_CASE(test_tpool_fire_and_forget_all_run, "unit valgrind helgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 3};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    int count = 0;
    int n = (int)wt_iters(20000);
    for (int i = 0; i < n; i++)
        WT_EQ(weft_tpool_submit(p, bump, &count, NULL), 0);
    WT_EQ(weft_tpool_free(p), 0); /* waits for every queued task */
    WT_EQ(count, n);
}

/* fib(n) as tasks that submit their two halves and wait for them. */
struct fib {
    weft_tpool *pool;
    int n;
};

static int fib_task(void *arg, void **result)
{
    struct fib *a = (struct fib *)arg;
    if (a->n < 2) {
        *result = ip(a->n);
        return 0;
    }
    struct fib l = {a->pool, a->n - 1}, r = {a->pool, a->n - 2};
    weft_future *fl, *fr;
    int rc = weft_tpool_submit(a->pool, fib_task, &l, &fl);
    if (rc != 0)
        return rc;
    rc = weft_tpool_submit(a->pool, fib_task, &r, &fr);
    if (rc != 0) {
        (void)weft_future_wait_until(fl, WEFT_DEADLINE_NEVER);
        weft_future_free(fl);
        return rc;
    }
    void *vl = NULL, *vr = NULL;
    weft_future *both[2] = {fl, fr};
    if (a->n % 2)
        rc = weft_future_wait_set_until(both, 2, WEFT_ALL_COMPLETED, WEFT_DEADLINE_NEVER, NULL,
                                        NULL);
    if (rc == 0)
        rc = weft_future_result(fr, &vr);
    if (rc == 0)
        rc = weft_future_result(fl, &vl);
    weft_future_free(fl);
    weft_future_free(fr);
    *result = ip(pi(vl) + pi(vr));
    return rc;
}

WT_CASE(test_tpool_nested_waits_never_deadlock, "unit valgrind helgrind")
{
    /* One worker: every subtask is run by the task that waits on it. */
    for (size_t workers = 1; workers <= 3; workers++) {
        weft_tpool *p;
        weft_tpool_opts o = {.max_workers = workers};
        WT_EQ(weft_tpool_create(&p, &o), 0);
        struct fib root = {p, 12};
        weft_future *f;
        WT_EQ(weft_tpool_submit(p, fib_task, &root, &f), 0);
        void *v = NULL;
        WT_EQ(weft_future_result(f, &v), 0);
        WT_EQ(pi(v), 144);
        weft_future_free(f);
        WT_EQ(weft_tpool_free(p), 0);
    }
}

/* A task of a one-worker pool that submits two subtasks and waits for the
 * first to complete: it runs one of them itself, and only one. */
struct first_of_two {
    weft_tpool *pool;
    int ran; /* subtasks run (atomic) */
};

static int count_run(void *arg, void **result)
{
    (void)result;
    (void)__atomic_fetch_add(&((struct first_of_two *)arg)->ran, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int wait_first_of_two(void *arg, void **result)
{
    struct first_of_two *a = (struct first_of_two *)arg;
    weft_future *fs[2];
    WT_EQ(weft_tpool_submit(a->pool, count_run, a, &fs[0]), 0);
    WT_EQ(weft_tpool_submit(a->pool, count_run, a, &fs[1]), 0);
    size_t ndone = 0;
    WT_EQ(weft_future_wait_set_until(fs, 2, WEFT_FIRST_COMPLETED, WEFT_DEADLINE_NEVER, NULL,
                                     &ndone), 0);
    WT_EQ(ndone, 1u);
    WT_EQ(__atomic_load_n(&a->ran, __ATOMIC_SEQ_CST), 1);
    weft_as_completed *it;
    WT_EQ(weft_as_completed_create(&it, fs, 2), 0);
    weft_future *f = NULL;
    WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), 0);
    WT_TRUE(f == fs[0]); /* done already: the other is not run for it */
    WT_EQ(__atomic_load_n(&a->ran, __ATOMIC_SEQ_CST), 1);
    WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), 0);
    WT_TRUE(f == fs[1]);
    WT_EQ(__atomic_load_n(&a->ran, __ATOMIC_SEQ_CST), 2);
    weft_as_completed_free(it);
    weft_future_free(fs[0]);
    weft_future_free(fs[1]);
    *result = ip(1);
    return 0;
}

WT_CASE(test_tpool_worker_waiting_for_first_runs_one, "unit valgrind helgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 1};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    struct first_of_two a = {p, 0};
    weft_future *f;
    WT_EQ(weft_tpool_submit(p, wait_first_of_two, &a, &f), 0);
    void *v = NULL;
    WT_EQ(weft_future_result(f, &v), 0);
    WT_EQ(pi(v), 1);
    weft_future_free(f);
    WT_EQ(weft_tpool_free(p), 0);
}

static int wait_event_task(void *arg, void **result)
{
    (void)result;
    weft_event_wait((weft_event *)arg);
    return 0;
}

WT_CASE(test_tpool_shutdown_cancel_pending_and_errors, "unit valgrind helgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 1};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    weft_event gate;
    weft_event_init(&gate, 0);
    weft_future *blocker, *queued[4];
    WT_EQ(weft_tpool_submit(p, wait_event_task, &gate, &blocker), 0);
    for (int i = 0; i < 4; i++)
        WT_EQ(weft_tpool_submit(p, square, ip(i), &queued[i]), 0);
    while (!weft_future_running(blocker))
        sleep_ns(MS / 10);
    WT_EQ(weft_future_cancel(blocker), EBUSY);
    WT_EQ(weft_future_cancel(queued[0]), 0); /* a pending one */
    WT_EQ(weft_tpool_shutdown(p, WEFT_POOL_NOWAIT | WEFT_POOL_CANCEL_PENDING), 0);
    for (int i = 0; i < 4; i++) {
        WT_TRUE(weft_future_cancelled(queued[i]));
        WT_EQ(weft_future_result(queued[i], NULL), ECANCELED);
    }
    weft_future *f;
    WT_EQ(weft_tpool_submit(p, square, NULL, &f), ESHUTDOWN);
    WT_EQ(weft_tpool_submit(p, square, NULL, NULL), ESHUTDOWN);
    weft_event_set(&gate);
    WT_EQ(weft_tpool_shutdown(p, 0), 0); /* idempotent; now waits */
    WT_EQ(weft_future_result(blocker, NULL), 0);
    WT_EQ(weft_tpool_workers(p), 0u);
    WT_EQ(weft_tpool_free(p), 0);
    weft_future_free(blocker);
    for (int i = 0; i < 4; i++)
        weft_future_free(queued[i]);
    weft_event_destroy(&gate);
}

/* Two workers, both blocked, then a third blocker and NQ squares queued;
 * the first worker is let go and takes a batch from the ring: the third
 * blocker, which stops it, and squares behind it. */
enum { NQ = 9 };

struct batched {
    weft_tpool *pool;
    weft_event gate[3];
    weft_future *blocker[3], *q[NQ];
};

static void batch_behind_blocker(struct batched *b)
{
    weft_tpool_opts o = {.max_workers = 2};
    WT_EQ(weft_tpool_create(&b->pool, &o), 0);
    for (int i = 0; i < 3; i++)
        weft_event_init(&b->gate[i], 0);
    for (int i = 0; i < 2; i++)
        WT_EQ(weft_tpool_submit(b->pool, wait_event_task, &b->gate[i], &b->blocker[i]), 0);
    for (int i = 0; i < 2; i++)
        while (!weft_future_running(b->blocker[i]))
            sleep_ns(MS / 10);
    WT_EQ(weft_tpool_submit(b->pool, wait_event_task, &b->gate[2], &b->blocker[2]), 0);
    for (int i = 0; i < NQ; i++)
        WT_EQ(weft_tpool_submit(b->pool, square, ip(i), &b->q[i]), 0);
    weft_event_set(&b->gate[0]);
    while (!weft_future_running(b->blocker[2]))
        sleep_ns(MS / 10);
}

static void batched_free(struct batched *b)
{
    for (int i = 0; i < 3; i++)
        weft_event_set(&b->gate[i]);
    WT_EQ(weft_tpool_free(b->pool), 0);
    for (int i = 0; i < 3; i++) {
        WT_EQ(weft_future_result(b->blocker[i], NULL), 0);
        weft_future_free(b->blocker[i]);
        weft_event_destroy(&b->gate[i]);
    }
    for (int i = 0; i < NQ; i++)
        weft_future_free(b->q[i]);
}

/* No task waits behind a blocked one while another worker is free: the
 * second worker, let go, runs the ring and then the squares in the first
 * one's batch. */
WT_CASE(test_tpool_free_worker_runs_tasks_batched_behind_a_blocked_one, "unit valgrind helgrind")
{
    struct batched b;
    batch_behind_blocker(&b);
    weft_event_set(&b.gate[1]);
    int64_t deadline = weft_time_now_ns() + (int64_t)10000 * MS;
    for (int i = 0; i < NQ; i++) {
        void *v = NULL;
        WT_EQ(weft_future_result_until(b.q[i], deadline, &v), 0);
        WT_EQ(pi(v), i * i);
    }
    WT_TRUE(!weft_future_done(b.blocker[2]));
    batched_free(&b);
}

/* Shutdown with CANCEL_PENDING cancels the tasks a worker took in its
 * batch but has not started, as it does those in the ring. */
WT_CASE(test_tpool_cancel_pending_cancels_batched_tasks, "unit valgrind helgrind")
{
    struct batched b;
    batch_behind_blocker(&b);
    WT_EQ(weft_tpool_shutdown(b.pool, WEFT_POOL_NOWAIT | WEFT_POOL_CANCEL_PENDING), 0);
    for (int i = 0; i < NQ; i++)
        WT_EQ(weft_future_result_until(b.q[i], 0, NULL), ECANCELED);
    batched_free(&b);
}

static int shutdown_own_pool(void *arg, void **result)
{
    (void)result;
    weft_tpool *p = (weft_tpool *)arg;
    WT_EQ(weft_tpool_free(p), EDEADLK);
    return weft_tpool_shutdown(p, 0);
}

WT_CASE(test_tpool_shutdown_from_task_is_edeadlk, "unit valgrind")
{
    weft_tpool *p;
    WT_EQ(weft_tpool_create(&p, NULL), 0);
    weft_future *f;
    WT_EQ(weft_tpool_submit(p, shutdown_own_pool, p, &f), 0);
    WT_EQ(weft_future_result(f, NULL), EDEADLK);
    weft_future_free(f);
    WT_EQ(weft_tpool_submit(p, square, NULL, NULL), ESHUTDOWN);
    WT_EQ(weft_tpool_free(p), 0);
}

static int init_fails(void *arg)
{
    return pi(arg);
}

WT_CASE(test_tpool_initializer_failure_breaks_pool, "unit valgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 2, .initializer = init_fails, .initarg = ip(EACCES)};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    weft_future *f;
    int rc = weft_tpool_submit(p, square, ip(3), &f);
    WT_EQ(rc, 0);
    WT_EQ(weft_future_result(f, NULL), EPIPE);
    weft_future_free(f);
    while (weft_tpool_broken(p) == 0)
        sleep_ns(MS / 10);
    WT_EQ(weft_tpool_broken(p), EACCES);
    WT_EQ(weft_tpool_submit(p, square, ip(3), &f), EPIPE);
    WT_EQ(weft_tpool_free(p), 0);

    /* A map over a pool that breaks: the items of chunks that never ran
     * say why (the first chunk was queued before the worker broke the
     * pool; later ones may have been refused at submit). */
    o.initarg = ip(EACCES);
    WT_EQ(weft_tpool_create(&p, &o), 0);
    void *args[4] = {ip(1), ip(2), ip(3), ip(4)};
    int errors[4];
    WT_EQ(weft_tpool_map_until(p, square, args, 4, 1, NULL, errors, WEFT_DEADLINE_NEVER), EPIPE);
    WT_EQ(errors[0], EPIPE);
    for (int i = 1; i < 4; i++)
        WT_TRUE(errors[i] == EPIPE || errors[i] == ECANCELED);
    WT_EQ(weft_tpool_free(p), 0);

    /* A good initializer runs once per worker, before its tasks. */
    o.initializer = init_fails;
    o.initarg = ip(0);
    WT_EQ(weft_tpool_create(&p, &o), 0);
    WT_EQ(weft_tpool_submit(p, square, ip(3), &f), 0);
    void *v = NULL;
    WT_EQ(weft_future_result(f, &v), 0);
    WT_EQ(pi(v), 9);
    weft_future_free(f);
    WT_EQ(weft_tpool_free(p), 0);
}

/* The third worker's initializer waits for a gate, then fails. */
struct third_fails {
    int calls;
    weft_event gate;
};

static int init_third_fails(void *arg)
{
    struct third_fails *t = (struct third_fails *)arg;
    if (__atomic_add_fetch(&t->calls, 1, __ATOMIC_RELAXED) < 3)
        return 0;
    weft_event_wait(&t->gate);
    return EIO;
}

/* A pool that breaks fails the tasks workers took in batches but have not
 * started, as it fails those in the ring. */
WT_CASE(test_tpool_initializer_failure_fails_batched_tasks, "unit valgrind")
{
    struct third_fails t = {0};
    weft_event_init(&t.gate, 0);
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 3, .initializer = init_third_fails, .initarg = &t};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    weft_event gate[3];
    weft_future *blocker[3], *q[NQ];
    for (int i = 0; i < 3; i++)
        weft_event_init(&gate[i], 0);
    for (int i = 0; i < 2; i++)
        WT_EQ(weft_tpool_submit(p, wait_event_task, &gate[i], &blocker[i]), 0);
    for (int i = 0; i < 2; i++)
        while (!weft_future_running(blocker[i]))
            sleep_ns(MS / 10);
    /* This submit starts the third worker, which waits in its initializer. */
    WT_EQ(weft_tpool_submit(p, wait_event_task, &gate[2], &blocker[2]), 0);
    for (int i = 0; i < NQ; i++)
        WT_EQ(weft_tpool_submit(p, square, ip(i), &q[i]), 0);
    weft_event_set(&gate[0]); /* its worker takes blocker 2 and squares */
    while (!weft_future_running(blocker[2]))
        sleep_ns(MS / 10);
    weft_event_set(&t.gate);
    int64_t deadline = weft_time_now_ns() + (int64_t)10000 * MS;
    for (int i = 0; i < NQ; i++)
        WT_EQ(weft_future_result_until(q[i], deadline, NULL), EPIPE);
    WT_EQ(weft_tpool_broken(p), EIO);
    for (int i = 1; i < 3; i++)
        weft_event_set(&gate[i]);
    WT_EQ(weft_tpool_free(p), 0);
    for (int i = 0; i < 3; i++) {
        WT_EQ(weft_future_result(blocker[i], NULL), 0);
        weft_future_free(blocker[i]);
        weft_event_destroy(&gate[i]);
    }
    for (int i = 0; i < NQ; i++)
        weft_future_free(q[i]);
    weft_event_destroy(&t.gate);
}

static void *set_gate_later(void *arg)
{
    sleep_ns(30 * MS);
    weft_event_set((weft_event *)arg);
    return NULL;
}

static int square_or_fail(void *arg, void **result)
{
    int v = pi(arg);
    if (v % 10 == 7)
        return EDOM + v;
    *result = ip(v * v);
    return 0;
}

WT_CASE(test_tpool_map_ordered_chunks_errors_deadline, "unit valgrind helgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 3};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    enum { N = 100 };
    void *args[N], *results[N];
    int errors[N];
    for (int i = 0; i < N; i++)
        args[i] = ip(i);
    for (size_t chunk = 0; chunk <= 33; chunk += 11) {
        WT_EQ(weft_tpool_map_until(p, square, args, 7, chunk, results, errors, WEFT_DEADLINE_NEVER),
              0);
        for (int i = 0; i < 7; i++) {
            WT_EQ(pi(results[i]), i * i);
            WT_EQ(errors[i], 0);
        }
    }
    /* The first failing item by index decides the return. */
    WT_EQ(weft_tpool_map_until(p, square_or_fail, args, N, 8, results, errors, WEFT_DEADLINE_NEVER),
          EDOM + 7);
    for (int i = 0; i < N; i++)
        WT_EQ(errors[i], i % 10 == 7 ? EDOM + i : 0);
    WT_EQ(weft_tpool_map_until(p, square_or_fail, args, N, 3, NULL, NULL, WEFT_DEADLINE_NEVER),
          EDOM + 7);
    WT_EQ(weft_tpool_map_until(p, square, NULL, 3, 1, NULL, NULL, 0), EINVAL);
    WT_EQ(weft_tpool_map_until(p, NULL, args, 3, 1, NULL, NULL, 0), EINVAL);
    WT_EQ(weft_tpool_map_until(p, square, NULL, 0, 1, NULL, NULL, 0), 0);

    /* A deadline: what had not started is cancelled, what had is waited
     * for; nothing is written after the call returns. */
    weft_event gate;
    weft_event_init(&gate, 0);
    void *gates[N];
    for (int i = 0; i < N; i++)
        gates[i] = &gate;
    weft_future *late;
    WT_EQ(weft_tpool_submit(p, wait_event_task, &gate, &late), 0);
    int64_t until = weft_time_deadline_ns(5 * MS);
    /* The gate opens well after the deadline, while map waits for the
     * chunks that started. */
    pthread_t opener = spawn(set_gate_later, &gate);
    WT_EQ(weft_tpool_map_until(p, wait_event_task, gates, 6, 1, NULL, errors, until), ETIMEDOUT);
    bool gate_was_open = weft_event_is_set(&gate);
    join(opener);
    int cancelled = 0;
    for (int i = 0; i < 6; i++) {
        WT_TRUE(errors[i] == 0 || errors[i] == ECANCELED);
        cancelled += errors[i] == ECANCELED;
        /* A chunk that ran waited for the gate, and map waited for it. (On
         * a loaded machine no chunk may have started by the deadline.) */
        if (errors[i] == 0)
            WT_TRUE(gate_was_open);
    }
    WT_GE(cancelled, 4); /* at most two of the three workers were free */
    WT_EQ(weft_future_result(late, NULL), 0);
    weft_future_free(late);
    weft_event_destroy(&gate);
    WT_EQ(weft_tpool_free(p), 0);
}

static int fork_in_task(void *arg, void **result)
{
    (void)result;
    (void)arg;
    return 0;
}

static int child_uses_pool(void *arg)
{
    weft_tpool *p = ((weft_tpool **)arg)[0];
    weft_future *queued = ((weft_future **)arg)[1];
    weft_future *running = ((weft_future **)arg)[2];
    /* Copies of the parent's tasks are done here with ECHILD. */
    if (weft_future_result(queued, NULL) != ECHILD || weft_future_result(running, NULL) != ECHILD)
        return 1;
    if (weft_tpool_workers(p) != 0)
        return 2;
    weft_future *f;
    if (weft_tpool_submit(p, square, ip(6), &f) != 0)
        return 3;
    void *v = NULL;
    if (weft_future_result(f, &v) != 0 || pi(v) != 36)
        return 4;
    weft_future_free(f);
    return weft_tpool_free(p) == 0 ? 0 : 5;
}

WT_CASE(test_tpool_fork_child_gets_usable_pool, "unit valgrind")
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = 1};
    WT_EQ(weft_tpool_create(&p, &o), 0);
    weft_event gate;
    weft_event_init(&gate, 0);
    weft_future *running, *queued;
    WT_EQ(weft_tpool_submit(p, wait_event_task, &gate, &running), 0);
    WT_EQ(weft_tpool_submit(p, fork_in_task, NULL, &queued), 0);
    while (!weft_future_running(running))
        sleep_ns(MS / 10);
    void *args[3] = {p, queued, running};
    pid_t pid = fork_child(child_uses_pool, args);
    WT_EQ(reap(pid), 0);
    weft_event_set(&gate);
    WT_EQ(weft_future_result(running, NULL), 0);
    WT_EQ(weft_future_result(queued, NULL), 0);
    weft_future_free(running);
    weft_future_free(queued);
    WT_EQ(weft_tpool_free(p), 0);
    weft_event_destroy(&gate);
}

static int child_sees_batch_failed(void *arg)
{
    struct batched *b = (struct batched *)arg;
    int64_t deadline = weft_time_now_ns() + (int64_t)10000 * MS;
    for (int i = 0; i < NQ; i++)
        if (weft_future_result_until(b->q[i], deadline, NULL) != ECHILD)
            return 1;
    if (weft_future_result_until(b->blocker[1], deadline, NULL) != ECHILD ||
        weft_future_result_until(b->blocker[2], deadline, NULL) != ECHILD)
        return 2;
    weft_future *f;
    if (weft_tpool_submit(b->pool, square, ip(5), &f) != 0)
        return 3;
    void *v = NULL;
    if (weft_future_result(f, &v) != 0 || pi(v) != 25)
        return 4;
    weft_future_free(f);
    return weft_tpool_free(b->pool) == 0 ? 0 : 5;
}

/* A fork child fails the copies of tasks held in a worker's batch, as it
 * does those in the ring and those running. */
WT_CASE(test_tpool_fork_child_fails_batched_tasks, "unit valgrind")
{
    struct batched b;
    batch_behind_blocker(&b);
    WT_EQ(reap(fork_child(child_sees_batch_failed, &b)), 0);
    weft_event_set(&b.gate[1]);
    for (int i = 0; i < NQ; i++) {
        void *v = NULL;
        WT_EQ(weft_future_result(b.q[i], &v), 0);
        WT_EQ(pi(v), i * i);
    }
    batched_free(&b);
}

/* Submitters, cancellers and waiters at once: every future completes
 * exactly once (its callback counts), with its own task's outcome. */
struct stress {
    weft_tpool *pool;
    int completions;
    int ran;
};

static void on_done(weft_future *f, void *arg)
{
    (void)f;
    __atomic_fetch_add(&((struct stress *)arg)->completions, 1, __ATOMIC_RELAXED);
}

static int stress_task(void *arg, void **result)
{
    struct stress *s = (struct stress *)arg;
    __atomic_fetch_add(&s->ran, 1, __ATOMIC_RELAXED);
    *result = s;
    return 0;
}

static void *stress_submitter(void *arg)
{
    struct stress *s = (struct stress *)arg;
    long n = wt_iters(3000);
    for (long i = 0; i < n; i++) {
        weft_future *f;
        WT_EQ(weft_tpool_submit(s->pool, stress_task, s, &f), 0);
        WT_EQ(weft_future_add_done_callback(f, on_done, s), 0);
        if (i % 3 == 0)
            (void)weft_future_cancel(f);
        if (i % 5 == 0) {
            void *v = NULL;
            int rc = weft_future_result(f, &v);
            WT_TRUE((rc == 0 && v == s) || rc == ECANCELED);
        }
        weft_future_free(f);
    }
    return NULL;
}

WT_CASE(test_tpool_stress_every_future_completes_once, "stress")
{
    struct stress s = {NULL, 0, 0};
    weft_tpool_opts o = {.max_workers = 3};
    WT_EQ(weft_tpool_create(&s.pool, &o), 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn(stress_submitter, &s);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    WT_EQ(weft_tpool_free(s.pool), 0);
    long n = wt_iters(3000);
    WT_EQ(s.completions, (int)(3 * n));
    WT_LE(s.ran, (int)(3 * n));
    WT_GE(s.ran, (int)(3 * (n - (n + 2) / 3)));
}

/* Batches under load: two submitters queue tasks of mixed lengths faster
 * than three workers run them, so workers take batches and steal from
 * each other; a shutdown with CANCEL_PENDING lands in the middle. Every
 * future the pool accepted completes exactly once, with its result or
 * cancelled, and no task runs twice. */
struct churn {
    weft_tpool *pool;
    int accepted, completions, ran, cancelled;
    int shut;
};

static int churn_task(void *arg, void **result)
{
    struct churn *c = (struct churn *)arg;
    int ran = __atomic_add_fetch(&c->ran, 1, __ATOMIC_RELAXED);
    if (ran % 7 == 0)
        sleep_ns((int64_t)20000 * (ran % 3));
    *result = c;
    return 0;
}

static void churn_done(weft_future *f, void *arg)
{
    struct churn *c = (struct churn *)arg;
    __atomic_fetch_add(&c->completions, 1, __ATOMIC_RELAXED);
    if (weft_future_cancelled(f))
        __atomic_fetch_add(&c->cancelled, 1, __ATOMIC_RELAXED);
}

static void *churn_submitter(void *arg)
{
    struct churn *c = (struct churn *)arg;
    long n = wt_iters(4000);
    for (long i = 0; i < n; i++) {
        weft_future *f = NULL;
        int rc = weft_tpool_submit(c->pool, churn_task, c, &f);
        if (rc == ESHUTDOWN) {
            WT_TRUE(__atomic_load_n(&c->shut, __ATOMIC_ACQUIRE));
            break;
        }
        WT_EQ(rc, 0);
        __atomic_fetch_add(&c->accepted, 1, __ATOMIC_RELAXED);
        WT_EQ(weft_future_add_done_callback(f, churn_done, c), 0);
        if (i % 11 == 0)
            (void)weft_future_cancel(f);
        if (i % 97 == 0) {
            void *v = NULL;
            rc = weft_future_result(f, &v);
            WT_TRUE((rc == 0 && v == c) || rc == ECANCELED);
        }
        weft_future_free(f);
    }
    return NULL;
}

WT_CASE(test_tpool_stress_batches_steals_and_cancel_pending, "stress")
{
    struct churn c;
    memset(&c, 0, sizeof c);
    weft_tpool_opts o = {.max_workers = 3};
    WT_EQ(weft_tpool_create(&c.pool, &o), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        t[i] = spawn(churn_submitter, &c);
    while (__atomic_load_n(&c.accepted, __ATOMIC_RELAXED) < (int)wt_iters(4000))
        sleep_ns(MS / 10);
    __atomic_store_n(&c.shut, 1, __ATOMIC_RELEASE);
    WT_EQ(weft_tpool_shutdown(c.pool, WEFT_POOL_NOWAIT | WEFT_POOL_CANCEL_PENDING), 0);
    for (int i = 0; i < 2; i++)
        join(t[i]);
    WT_EQ(weft_tpool_free(c.pool), 0);
    WT_EQ(c.completions, c.accepted);
    WT_EQ(c.ran + c.cancelled, c.accepted);
}

WT_MAIN()
