/* bench_tpool.c - scenario `tpool`: weft_tpool against GLib's GThreadPool
 * and CPython's concurrent.futures.ThreadPoolExecutor, same run.
 *
 * Every pool has at most WORKERS threads, started on demand by all three
 * (GLib's non-exclusive pool takes them from GLib's cache of idle threads
 * when it has some; weft and CPython start theirs in each run, which costs
 * two thread starts over thousands of tasks).
 * Metrics, in ns per task (the inverse of tasks or round trips per second):
 *   fire_forget    submit N tasks without futures (weft: out NULL; GLib:
 *                  g_thread_pool_push; CPython: submit, its futures
 *                  dropped), then shut the pool down waiting for them all
 *                  (weft_tpool_free; g_thread_pool_free(pool, FALSE, TRUE);
 *                  shutdown(wait=True)). The pool is made before the clock
 *                  starts. The C tasks count themselves with one relaxed
 *                  atomic add, so a lost task cannot pass for speed.
 *   submit_result  one task at a time: submit with a future and wait for its
 *                  result (weft_future_result; GLib: the task pushes its
 *                  data to a reply GAsyncQueue that the caller pops, GLib's
 *                  usual way to get a value back from a thread;
 *                  CPython: submit(f).result())
 *   future_batch   submit N tasks with futures, then wait for each result in
 *                  submission order (GLib: each task carries its own
 *                  completion - a GMutex, a GCond and a flag, allocated per
 *                  task as a future is - the closest GLib has to futures)
 * For the last two, the pool is made and has run one task (so one worker is
 * up) before the clock starts. The tasks return at once (with a token as
 * their result where there is one, checked). CPython runs a twentieth of
 * the tasks (bench_cpython), through bench/peers/tpool.py.
 * The ratios are weft's cost over the peer's, as for every scenario (see
 * bench.h): below 1.0 means weft is faster. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "weft/future.h"
#include "weft/tpool.h"
#ifdef WEFT_BENCH_GLIB
#include <glib.h>
#endif

enum { WORKERS = 2 }; /* tpool.py's WORKERS */

/* A task's result, checked by the waiter. */
static char token;

/* ---- weft ---------------------------------------------------------------- */

static int count_task(void *arg, void **result)
{
    (void)result;
    (void)__atomic_fetch_add((long *)arg, 1, __ATOMIC_RELAXED);
    return 0;
}

static int echo_task(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static weft_tpool *weft_pool_make(void)
{
    weft_tpool_opts o;
    memset(&o, 0, sizeof o);
    o.max_workers = WORKERS;
    weft_tpool *p = NULL;
    bench_must(weft_tpool_create(&p, &o) == 0);
    return p;
}

static void weft_roundtrip(weft_tpool *p)
{
    weft_future *f = NULL;
    bench_must(weft_tpool_submit(p, echo_task, &token, &f) == 0);
    void *v = NULL;
    bench_must(weft_future_result(f, &v) == 0 && v == &token);
    weft_future_free(f);
}

static double weft_fire_forget(void *ctx, long ops)
{
    (void)ctx;
    long ran = 0;
    weft_tpool *p = weft_pool_make();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        bench_must(weft_tpool_submit(p, count_task, &ran, NULL) == 0);
    bench_must(weft_tpool_free(p) == 0);
    int64_t dt = bench_now_ns() - t0;
    bench_must(__atomic_load_n(&ran, __ATOMIC_RELAXED) == ops);
    return (double)dt / (double)ops;
}

static double weft_submit_result(void *ctx, long ops)
{
    (void)ctx;
    weft_tpool *p = weft_pool_make();
    weft_roundtrip(p);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        weft_roundtrip(p);
    int64_t dt = bench_now_ns() - t0;
    bench_must(weft_tpool_free(p) == 0);
    return (double)dt / (double)ops;
}

static double weft_future_batch(void *ctx, long ops)
{
    (void)ctx;
    weft_future **fs = (weft_future **)calloc((size_t)ops, sizeof(weft_future *));
    bench_must(fs != NULL);
    weft_tpool *p = weft_pool_make();
    weft_roundtrip(p);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        bench_must(weft_tpool_submit(p, echo_task, &token, &fs[i]) == 0);
    for (long i = 0; i < ops; i++) {
        void *v = NULL;
        bench_must(weft_future_result(fs[i], &v) == 0 && v == &token);
        weft_future_free(fs[i]);
    }
    int64_t dt = bench_now_ns() - t0;
    bench_must(weft_tpool_free(p) == 0);
    free(fs);
    return (double)dt / (double)ops;
}

/* ---- GLib ---------------------------------------------------------------- */

#ifdef WEFT_BENCH_GLIB
static GThreadPool *glib_pool_make(GFunc fn, gpointer user_data)
{
    GThreadPool *p = g_thread_pool_new(fn, user_data, WORKERS, FALSE, NULL);
    bench_must(p != NULL);
    return p;
}

static void glib_count(gpointer data, gpointer user_data)
{
    (void)user_data;
    (void)__atomic_fetch_add((long *)data, 1, __ATOMIC_RELAXED);
}

static double glib_fire_forget(void *ctx, long ops)
{
    (void)ctx;
    long ran = 0;
    GThreadPool *p = glib_pool_make(glib_count, NULL);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        bench_must(g_thread_pool_push(p, &ran, NULL));
    g_thread_pool_free(p, FALSE, TRUE);
    int64_t dt = bench_now_ns() - t0;
    bench_must(__atomic_load_n(&ran, __ATOMIC_RELAXED) == ops);
    return (double)dt / (double)ops;
}

/* The task sends its data back on the reply queue (user_data). */
static void glib_reply(gpointer data, gpointer user_data)
{
    g_async_queue_push((GAsyncQueue *)user_data, data);
}

static void glib_roundtrip(GThreadPool *p, GAsyncQueue *reply)
{
    bench_must(g_thread_pool_push(p, &token, NULL));
    bench_must(g_async_queue_pop(reply) == (gpointer)&token);
}

static double glib_submit_result(void *ctx, long ops)
{
    (void)ctx;
    GAsyncQueue *reply = g_async_queue_new();
    GThreadPool *p = glib_pool_make(glib_reply, reply);
    glib_roundtrip(p, reply);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        glib_roundtrip(p, reply);
    int64_t dt = bench_now_ns() - t0;
    g_thread_pool_free(p, FALSE, TRUE);
    g_async_queue_unref(reply);
    return (double)dt / (double)ops;
}

/* A task with its own completion: GLib's nearest thing to a future. */
struct glib_task {
    GMutex mu;
    GCond cv;
    gboolean done; /* under mu */
    void *result;  /* under mu */
};

static void glib_complete(gpointer data, gpointer user_data)
{
    struct glib_task *t = (struct glib_task *)data;
    g_mutex_lock(&t->mu);
    t->result = user_data;
    t->done = TRUE;
    /* Signalled under the lock: once the waiter sees done it frees t. */
    g_cond_signal(&t->cv);
    g_mutex_unlock(&t->mu);
}

static struct glib_task *glib_task_push(GThreadPool *p)
{
    struct glib_task *t = g_new0(struct glib_task, 1);
    g_mutex_init(&t->mu);
    g_cond_init(&t->cv);
    bench_must(g_thread_pool_push(p, t, NULL));
    return t;
}

static void glib_task_wait_free(struct glib_task *t)
{
    g_mutex_lock(&t->mu);
    while (!t->done)
        g_cond_wait(&t->cv, &t->mu);
    void *v = t->result;
    g_mutex_unlock(&t->mu);
    bench_must(v == &token);
    g_cond_clear(&t->cv);
    g_mutex_clear(&t->mu);
    g_free(t);
}

static double glib_future_batch(void *ctx, long ops)
{
    (void)ctx;
    struct glib_task **ts = (struct glib_task **)calloc((size_t)ops, sizeof(struct glib_task *));
    bench_must(ts != NULL);
    GThreadPool *p = glib_pool_make(glib_complete, &token);
    glib_task_wait_free(glib_task_push(p));
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        ts[i] = glib_task_push(p);
    for (long i = 0; i < ops; i++)
        glib_task_wait_free(ts[i]);
    int64_t dt = bench_now_ns() - t0;
    g_thread_pool_free(p, FALSE, TRUE);
    free(ts);
    return (double)dt / (double)ops;
}
#endif /* WEFT_BENCH_GLIB */

/* ---- the scenario -------------------------------------------------------- */

static struct bench_py py_fire_forget = {"tpool.py", "fire_forget"};
static struct bench_py py_submit_result = {"tpool.py", "submit_result"};
static struct bench_py py_future_batch = {"tpool.py", "future_batch"};

void bench_tpool(void)
{
    bench_impl ff[] = {
        {"weft", weft_fire_forget, NULL},
#ifdef WEFT_BENCH_GLIB
        {"glib", glib_fire_forget, NULL},
#endif
        {"cpython", bench_cpython, &py_fire_forget},
    };
    bench_compare("tpool", "fire_forget", 200000, ff, (int)(sizeof ff / sizeof ff[0]));
    bench_impl sr[] = {
        {"weft", weft_submit_result, NULL},
#ifdef WEFT_BENCH_GLIB
        {"glib", glib_submit_result, NULL},
#endif
        {"cpython", bench_cpython, &py_submit_result},
    };
    bench_compare("tpool", "submit_result", 10000, sr, (int)(sizeof sr / sizeof sr[0]));
    bench_impl fb[] = {
        {"weft", weft_future_batch, NULL},
#ifdef WEFT_BENCH_GLIB
        {"glib", glib_future_batch, NULL},
#endif
        {"cpython", bench_cpython, &py_future_batch},
    };
    bench_compare("tpool", "future_batch", 50000, fb, (int)(sizeof fb / sizeof fb[0]));
}
