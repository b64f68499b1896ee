/* bench_ppool.c - scenario `ppool`: weft_ppool against CPython's
 * concurrent.futures.ProcessPoolExecutor (fork context), same run.
 *
 * Both pools have WORKERS worker processes, made and each given one task
 * before the clock starts. A task's argument is an 8-byte integer and its
 * result the same integer, checked by the waiter.
 * Metrics, in ns per task (the inverse of tasks or round trips per second):
 *   fire_forget    submit N tasks without futures (weft: out NULL; CPython:
 *                  submit, its futures dropped), then shut the pool down
 *                  waiting for them all (weft_ppool_free;
 *                  shutdown(wait=True)). weft's tasks count themselves in
 *                  a shared counter, so a lost task cannot pass for speed.
 *   submit_result  one task at a time: submit with a future and wait for
 *                  its result
 *   future_batch   submit N tasks with futures, then wait for each result
 *                  in submission order
 * CPython runs a twentieth of the tasks (bench_cpython), through
 * bench/peers/ppool.py. The ratios are weft's cost over CPython's (see
 * bench.h): below 1.0 means weft is faster. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "weft/future.h"
#include "weft/ppool.h"
#include "weft/shm.h"

enum { WORKERS = 2 }; /* ppool.py's WORKERS */

/* Tasks run, counted by the workers in shared memory (made once, kept for
 * the program's life). */
static weft_shm *ran_shm;
static long *ran;

static int echo_task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    if (len != sizeof(int64_t) || cap < len)
        return EINVAL;
    memcpy(out, arg, len);
    *out_len = len;
    (void)__atomic_fetch_add(ran, 1, __ATOMIC_RELAXED);
    return 0;
}

static weft_future *submit(weft_ppool *p, int64_t i, bool future)
{
    weft_future *f = NULL;
    bench_must(weft_ppool_submit(p, echo_task, &i, sizeof i, future ? &f : NULL) == 0);
    return f;
}

static void check_free(weft_future *f, int64_t want)
{
    void *v = NULL;
    bench_must(weft_future_result(f, &v) == 0 && weft_future_size(f) == sizeof want);
    int64_t got = 0;
    memcpy(&got, v, sizeof got);
    bench_must(got == want);
    weft_future_free(f);
}

/* A pool whose workers have each run a task; the counter starts at 0. */
static weft_ppool *pool_make(void)
{
    if (ran == NULL) {
        bench_must(weft_shm_create(&ran_shm, NULL, sizeof *ran) == 0);
        ran = (long *)weft_shm_addr(ran_shm);
    }
    weft_ppool_opts o;
    memset(&o, 0, sizeof o);
    o.max_workers = WORKERS;
    weft_ppool *p = NULL;
    bench_must(weft_ppool_create(&p, &o) == 0);
    weft_future *fs[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        fs[i] = submit(p, i, true);
    for (int i = 0; i < WORKERS; i++)
        check_free(fs[i], i);
    __atomic_store_n(ran, 0, __ATOMIC_RELAXED);
    return p;
}

static double weft_fire_forget(void *ctx, long ops)
{
    (void)ctx;
    weft_ppool *p = pool_make();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        (void)submit(p, i, false);
    bench_must(weft_ppool_free(p) == 0);
    int64_t dt = bench_now_ns() - t0;
    bench_must(__atomic_load_n(ran, __ATOMIC_RELAXED) == ops);
    return (double)dt / (double)ops;
}

static double weft_submit_result(void *ctx, long ops)
{
    (void)ctx;
    weft_ppool *p = pool_make();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        check_free(submit(p, i, true), i);
    int64_t dt = bench_now_ns() - t0;
    bench_must(weft_ppool_free(p) == 0);
    return (double)dt / (double)ops;
}

static double weft_future_batch(void *ctx, long ops)
{
    (void)ctx;
    weft_future **fs = (weft_future **)calloc((size_t)ops, sizeof(weft_future *));
    bench_must(fs != NULL);
    weft_ppool *p = pool_make();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        fs[i] = submit(p, i, true);
    for (long i = 0; i < ops; i++)
        check_free(fs[i], i);
    int64_t dt = bench_now_ns() - t0;
    bench_must(weft_ppool_free(p) == 0);
    free(fs);
    return (double)dt / (double)ops;
}

static struct bench_py py_fire_forget = {"ppool.py", "fire_forget"};
static struct bench_py py_submit_result = {"ppool.py", "submit_result"};
static struct bench_py py_future_batch = {"ppool.py", "future_batch"};

void bench_ppool(void)
{
    bench_impl ff[] = {
        {"weft", weft_fire_forget, NULL},
        {"cpython", bench_cpython, &py_fire_forget},
    };
    bench_compare("ppool", "fire_forget", 40000, ff, (int)(sizeof ff / sizeof ff[0]));
    bench_impl sr[] = {
        {"weft", weft_submit_result, NULL},
        {"cpython", bench_cpython, &py_submit_result},
    };
    bench_compare("ppool", "submit_result", 10000, sr, (int)(sizeof sr / sizeof sr[0]));
    bench_impl fb[] = {
        {"weft", weft_future_batch, NULL},
        {"cpython", bench_cpython, &py_future_batch},
    };
    bench_compare("ppool", "future_batch", 40000, fb, (int)(sizeof fb / sizeof fb[0]));
}
