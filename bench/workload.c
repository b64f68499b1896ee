/* workload.c - CPU-bound and I/O-bound work for weft-bench and weft-demo;
 * see workload.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "weft/core.h"

/* The functions below run under the caller's GIL, or without one when g is
 * NULL, which the thread-safety analysis cannot follow: they are excluded
 * from it (each releases and retakes g in pairs). */

/* One step: a few dependent multiplications, about as much as a bytecode
 * loop iteration of CPython. */
static inline uint64_t step(uint64_t x, long i)
{
    for (int k = 0; k < 8; k++)
        x = x * 6364136223846793005u + (uint64_t)i + 1442695040888963407u;
    return x;
}

uint64_t wl_cpu(weft_gil *g, long steps) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    uint64_t x = 1;
    for (long i = 0; i < steps; i++) {
        x = step(x, i);
        if (g != NULL)
            (void)weft_gil_check(g);
    }
    return x;
}

long wl_cpu_steps_for(int64_t ns)
{
    long steps = 1 << 14;
    for (;;) {
        int64_t t0 = bench_now_ns();
        /* The result feeds the loop's exit, so the work cannot be dropped. */
        uint64_t x = wl_cpu(NULL, steps);
        int64_t dt = bench_now_ns() - t0 + (int64_t)(x & 1);
        if (dt >= 20000000 || steps >= (1L << 40)) {
            double per = (double)dt / (double)steps;
            long want = (long)((double)ns / per);
            return want > 0 ? want : 1;
        }
        steps *= 2;
    }
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void wl_sleep(weft_gil *g, int64_t ns) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (g != NULL)
        bench_must(weft_gil_blocking_begin(g) == 0);
    sleep_ns(ns);
    if (g != NULL)
        bench_must(weft_gil_blocking_end(g) == 0);
}

void wl_run_threads(int n, int (*fn)(void *), void *arg)
{
    weft_thread *th[64];
    bench_must(n > 0 && n <= 64);
    for (int i = 0; i < n; i++)
        bench_must(weft_thread_spawn(&th[i], fn, arg, NULL) == 0);
    for (int i = 0; i < n; i++) {
        bench_must(weft_thread_join(th[i], NULL) == 0);
        weft_thread_unref(th[i]);
    }
}

void wl_run_procs(int n, int (*fn)(void *), void *arg)
{
    weft_proc *p[64];
    bench_must(n > 0 && n <= 64);
    for (int i = 0; i < n; i++)
        bench_must(weft_proc_spawn(&p[i], fn, arg, NULL) == 0);
    for (int i = 0; i < n; i++) {
        int code = -1;
        bench_must(weft_proc_join(p[i], &code) == 0 && code == 0);
        bench_must(weft_proc_free(p[i]) == 0);
    }
}

void wl_echo_start(wl_echo *e)
{
    int up[2], down[2];
    bench_must(pipe2(up, O_CLOEXEC) == 0);
    bench_must(pipe2(down, O_CLOEXEC) == 0);
    e->pid = fork();
    bench_must(e->pid >= 0);
    if (e->pid == 0) {
        (void)close(up[1]);
        (void)close(down[0]);
        char c;
        while (read(up[0], &c, 1) == 1)
            if (write(down[1], &c, 1) != 1)
                break;
        _exit(0);
    }
    (void)close(up[0]);
    (void)close(down[1]);
    e->to_child = up[1];
    e->from_child = down[0];
}

void wl_echo_stop(wl_echo *e)
{
    (void)close(e->to_child);
    (void)close(e->from_child);
    int st = 0;
    while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR) {
    }
}

void wl_echo_once(wl_echo *e, weft_gil *g) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    char c = 'x';
    if (g != NULL)
        bench_must(weft_gil_blocking_begin(g) == 0);
    bench_must(write(e->to_child, &c, 1) == 1);
    if (g != NULL) {
        bench_must(weft_gil_blocking_end(g) == 0);
        bench_must(weft_gil_blocking_begin(g) == 0);
    }
    bench_must(read(e->from_child, &c, 1) == 1);
    if (g != NULL)
        bench_must(weft_gil_blocking_end(g) == 0);
}
