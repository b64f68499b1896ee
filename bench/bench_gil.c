/* bench_gil.c - scenario `gil`: weft_gil against CPython's GIL, same run.
 *
 * Metrics (see workload.h for the work; "x" is a time over a time):
 *   cpu_2threads       2 CPU-bound threads under a faithful GIL, wall time
 *                      over running the same work sequentially (the inverse
 *                      of the speedup), vs CPython's threading
 *   cpu_2threads_fair  the same under a fair GIL, vs the faithful one
 *   cpu_2procs         2 processes (weft_proc) over sequential, vs CPython's
 *                      multiprocessing (fork)
 *   switch_5ms, switch_1ms, switch_100us
 *                      ns per change of holder between two CPU-bound threads
 *                      at that switch interval (faithful), vs CPython with
 *                      sys.setswitchinterval
 *   io_echo_faithful   ns per echo through a pipe to a child (a blocking
 *                      section around the write and one around the read)
 *                      while a CPU-bound thread runs, faithful GIL, vs CPython
 *   io_echo_fair       the same under a fair GIL, vs the same echo with no
 *                      CPU-bound thread (alone)
 * For the cpu metrics ops are milliseconds of work per task; for switch,
 * milliseconds of running; for io, echoes. CPython gets the same ops, except
 * for io_echo_fair, where it would take too long and is left out. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "weft/core.h"
#include "weft/gil.h"
#include "workload.h"

static long steps_per_ms;

static void gil_make(weft_gil *g, int mode, int64_t interval_ns)
{
    weft_gil_opts o;
    memset(&o, 0, sizeof o);
    o.mode = mode;
    o.interval_ns = interval_ns;
    bench_must(weft_gil_init(g, &o) == 0);
}

/* ---- CPU-bound: threads and processes over sequential ---------------- */

struct cpu_task {
    weft_gil *g;
    long steps;
};

static volatile uint64_t cpu_sink;

static int cpu_task_main(void *p) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct cpu_task *t = (struct cpu_task *)p;
    bench_must(weft_gil_acquire(t->g) == 0);
    cpu_sink = wl_cpu(t->g, t->steps);
    bench_must(weft_gil_release(t->g) == 0);
    return 0;
}

static int64_t run_sequential(struct cpu_task *t)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        (void)cpu_task_main(t);
    return bench_now_ns() - t0;
}

static double cpu_threads(void *ctx, long ops)
{
    const int *mode = (const int *)ctx;
    weft_gil g;
    gil_make(&g, *mode, 0);
    struct cpu_task t = {&g, ops * steps_per_ms};
    int64_t seq = run_sequential(&t);
    int64_t t0 = bench_now_ns();
    wl_run_threads(2, cpu_task_main, &t);
    int64_t par = bench_now_ns() - t0;
    bench_must(weft_gil_destroy(&g) == 0);
    return (double)par / (double)seq;
}

static double cpu_procs(void *ctx, long ops)
{
    (void)ctx;
    weft_gil g; /* each child works under its own copy, as each Python
                   process has its own interpreter */
    gil_make(&g, WEFT_GIL_FAITHFUL, 0);
    struct cpu_task t = {&g, ops * steps_per_ms};
    int64_t seq = run_sequential(&t);
    int64_t t0 = bench_now_ns();
    wl_run_procs(2, cpu_task_main, &t);
    int64_t par = bench_now_ns() - t0;
    bench_must(weft_gil_destroy(&g) == 0);
    return (double)par / (double)seq;
}

/* ---- switch rate --------------------------------------------------------- */

struct duel {
    weft_gil g;
    int last;       /* under g */
    long switches;  /* under g */
    int64_t end;
};

struct duelist {
    struct duel *d;
    int me;
};

static int duel_main(void *p) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct duelist *a = (struct duelist *)p;
    struct duel *d = a->d;
    uint64_t x = 1;
    bench_must(weft_gil_acquire(&d->g) == 0);
    for (long n = 1;; n++) {
        if (d->last != a->me) {
            d->switches++;
            d->last = a->me;
        }
        x = wl_cpu(&d->g, 1) + x;
        if ((n & 255) == 0 && bench_now_ns() >= d->end)
            break;
    }
    cpu_sink = x;
    bench_must(weft_gil_release(&d->g) == 0);
    return 0;
}

static double switch_rate(void *ctx, long ops)
{
    const int64_t *interval = (const int64_t *)ctx;
    struct duel d;
    memset(&d, 0, sizeof d);
    gil_make(&d.g, WEFT_GIL_FAITHFUL, *interval);
    d.last = -1;
    int64_t t0 = bench_now_ns();
    d.end = t0 + ops * 1000000;
    weft_thread *th[2];
    struct duelist a[2] = {{&d, 0}, {&d, 1}};
    for (int i = 0; i < 2; i++)
        bench_must(weft_thread_spawn(&th[i], duel_main, &a[i], NULL) == 0);
    for (int i = 0; i < 2; i++) {
        bench_must(weft_thread_join(th[i], NULL) == 0);
        weft_thread_unref(th[i]);
    }
    int64_t dt = bench_now_ns() - t0;
    bench_must(weft_gil_destroy(&d.g) == 0);
    return (double)dt / (double)(d.switches > 0 ? d.switches : 1);
}

/* ---- I/O latency under a CPU-bound thread --------------------------------- */

struct io_ctx {
    int mode;
    int with_cpu;
};

struct spinner {
    weft_gil *g;
    int stop; /* atomic */
};

static int spinner_main(void *p) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct spinner *s = (struct spinner *)p;
    uint64_t x = 0;
    bench_must(weft_gil_acquire(s->g) == 0);
    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
        x += wl_cpu(s->g, 64);
    cpu_sink = x;
    bench_must(weft_gil_release(s->g) == 0);
    return 0;
}

static double io_echo(void *ctx, long ops) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    const struct io_ctx *c = (const struct io_ctx *)ctx;
    weft_gil g;
    gil_make(&g, c->mode, 0);
    wl_echo e;
    wl_echo_start(&e);
    bench_must(weft_gil_acquire(&g) == 0);
    struct spinner s = {&g, 0};
    weft_thread *th = NULL;
    if (c->with_cpu)
        bench_must(weft_thread_spawn(&th, spinner_main, &s, NULL) == 0);
    for (int i = 0; i < 3; i++) /* the spinner gets going */
        wl_echo_once(&e, &g);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        wl_echo_once(&e, &g);
    int64_t dt = bench_now_ns() - t0;
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
    bench_must(weft_gil_release(&g) == 0);
    if (th != NULL) {
        bench_must(weft_thread_join(th, NULL) == 0);
        weft_thread_unref(th);
    }
    wl_echo_stop(&e);
    bench_must(weft_gil_destroy(&g) == 0);
    return (double)dt / (double)ops;
}

/* ---- CPython -------------------------------------------------------------- */

static double cpython_gil(void *ctx, long ops)
{
    return bench_python("gil.py", (const char *)ctx, ops);
}

void bench_gil(void)
{
    steps_per_ms = wl_cpu_steps_for(1000000);
    static int faithful = WEFT_GIL_FAITHFUL, fair = WEFT_GIL_FAIR;
    static char cpu2t[] = "cpu_2threads", cpu2p[] = "cpu_2procs";
    bench_impl ct[] = {{"weft", cpu_threads, &faithful}, {"cpython", cpython_gil, cpu2t}};
    bench_compare_unit("gil", "cpu_2threads", "x", 200, ct, 2);
    bench_impl cf[] = {{"weft", cpu_threads, &fair}, {"faithful", cpu_threads, &faithful}};
    bench_compare_unit("gil", "cpu_2threads_fair", "x", 200, cf, 2);
    bench_impl cp[] = {{"weft", cpu_procs, NULL}, {"cpython", cpython_gil, cpu2p}};
    bench_compare_unit("gil", "cpu_2procs", "x", 200, cp, 2);

    static int64_t iv[3] = {5000000, 1000000, 100000};
    static char py_sw[3][16] = {"switch_5000", "switch_1000", "switch_100"};
    static const char *names[3] = {"switch_5ms", "switch_1ms", "switch_100us"};
    for (int i = 0; i < 3; i++) {
        bench_impl sw[] = {{"weft", switch_rate, &iv[i]}, {"cpython", cpython_gil, py_sw[i]}};
        bench_compare_unit("gil", names[i], "ns/switch", 300, sw, 2);
    }

    static struct io_ctx io_faithful = {WEFT_GIL_FAITHFUL, 1}, io_fair = {WEFT_GIL_FAIR, 1},
                         io_alone = {WEFT_GIL_FAIR, 0};
    static char py_io[] = "io_echo";
    bench_impl iof[] = {{"weft", io_echo, &io_faithful}, {"cpython", cpython_gil, py_io}};
    bench_compare_unit("gil", "io_echo_faithful", "ns/echo", 30, iof, 2);
    bench_impl ior[] = {{"weft", io_echo, &io_fair}, {"alone", io_echo, &io_alone}};
    bench_compare_unit("gil", "io_echo_fair", "ns/echo", 3000, ior, 2);
}
