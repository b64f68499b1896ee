/* bench_core.c - scenarios thread and proc: the cost of starting a thread
 * or a child process and waiting for it, the first thing every example
 * does.
 *
 *   thread  spawn_join  weft_thread_spawn + join + unref, vs
 *                       pthread_create + pthread_join, vs CPython's
 *                       threading.Thread start + join
 *   proc    spawn_join  weft_proc_spawn + join + free of a child that
 *                       returns at once, vs fork + _exit + waitpid, vs
 *                       CPython's multiprocessing.Process (fork context) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/core.h"

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static void *nothing_pt(void *arg)
{
    return arg;
}

static double weft_thread_sj(void *ctx, long ops)
{
    (void)ctx;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        weft_thread *t;
        if (weft_thread_spawn(&t, nothing, NULL, NULL) != 0 || weft_thread_join(t, NULL) != 0)
            abort();
        weft_thread_unref(t);
    }
    return (double)(bench_now_ns() - t0) / (double)ops;
}

static double pt_thread_sj(void *ctx, long ops)
{
    (void)ctx;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing_pt, NULL) != 0 || pthread_join(t, NULL) != 0)
            abort();
    }
    return (double)(bench_now_ns() - t0) / (double)ops;
}

static double weft_proc_sj(void *ctx, long ops)
{
    (void)ctx;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        weft_proc *p;
        int code = -1;
        if (weft_proc_spawn(&p, nothing, NULL, NULL) != 0 || weft_proc_join(p, &code) != 0 ||
            code != 0 || weft_proc_free(p) != 0)
            abort();
    }
    return (double)(bench_now_ns() - t0) / (double)ops;
}

static double fork_proc_sj(void *ctx, long ops)
{
    (void)ctx;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        pid_t pid = fork();
        if (pid < 0)
            abort();
        if (pid == 0)
            _exit(0);
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || st != 0)
            abort();
    }
    return (double)(bench_now_ns() - t0) / (double)ops;
}

static struct bench_py py_thread = {"core.py", "thread"};
static struct bench_py py_proc = {"core.py", "proc"};

void bench_thread(void)
{
    bench_impl impls[] = {{"weft", weft_thread_sj, NULL},
                          {"pthread", pt_thread_sj, NULL},
                          {"cpython", bench_cpython, &py_thread}};
    bench_compare("thread", "spawn_join", 4000, impls, 3);
}

void bench_proc(void)
{
    bench_impl impls[] = {{"weft", weft_proc_sj, NULL},
                          {"fork", fork_proc_sj, NULL},
                          {"cpython", bench_cpython, &py_proc}};
    bench_compare("proc", "spawn_join", 400, impls, 3);
}
