/* bench_lock.c - scenario `lock`: weft_lock against pthread_mutex_t (and
 * GMutex and CPython's threading.Lock when present).
 *
 * Metrics (cost per acquire+release pair, ns):
 *   uncontended_1t  one thread in a process that has never had another
 *                (glibc and weft both skip atomics then); measured only when
 *                `lock` is the first scenario to run;
 *   uncontended  one thread acquires and releases in a loop, in a process
 *                that has other threads (the usual case for a lock);
 *   contended_2t two threads, each acquire, increment a shared counter,
 *                release; total wall time over total pairs (the inverse of
 *                throughput). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define HAVE_SINGLE_THREADED 1
#endif
#endif

#include "bench.h"
#include "weft/lock.h"
#ifdef WEFT_BENCH_GLIB
#include <glib.h>
#endif

/* Each implementation gets direct calls in its own loops (no function
 * pointers in the timed path), generated from one template. */
#define LOCK_IMPL(NAME, TYPE, INIT, LOCK, UNLOCK, DESTROY)                      \
    static double NAME##_uncontended(void *ctx, long ops)                      \
    {                                                                          \
        (void)ctx;                                                             \
        TYPE lk;                                                               \
        INIT(&lk);                                                             \
        int64_t t0 = bench_now_ns();                                           \
        for (long i = 0; i < ops; i++) {                                       \
            LOCK(&lk);                                                         \
            UNLOCK(&lk);                                                       \
        }                                                                      \
        int64_t t1 = bench_now_ns();                                           \
        DESTROY(&lk);                                                          \
        return (double)(t1 - t0) / (double)ops;                                \
    }                                                                          \
    struct NAME##_shared {                                                     \
        TYPE lk;                                                               \
        long counter;                                                          \
        long per_thread;                                                       \
        pthread_barrier_t start;                                               \
    };                                                                         \
    static void *NAME##_worker(void *p)                                        \
    {                                                                          \
        struct NAME##_shared *s = (struct NAME##_shared *)p;                   \
        (void)pthread_barrier_wait(&s->start);                                 \
        for (long i = 0; i < s->per_thread; i++) {                             \
            LOCK(&s->lk);                                                      \
            s->counter++;                                                      \
            UNLOCK(&s->lk);                                                    \
        }                                                                      \
        return NULL;                                                           \
    }                                                                          \
    static double NAME##_contended(void *ctx, long ops)                        \
    {                                                                          \
        (void)ctx;                                                             \
        struct NAME##_shared s;                                                \
        INIT(&s.lk);                                                           \
        s.counter = 0;                                                         \
        s.per_thread = ops / 2;                                                \
        pthread_barrier_init(&s.start, NULL, 3);                               \
        pthread_t t[2];                                                        \
        for (int i = 0; i < 2; i++)                                            \
            if (pthread_create(&t[i], NULL, NAME##_worker, &s) != 0)           \
                abort();                                                       \
        (void)pthread_barrier_wait(&s.start);                                  \
        int64_t t0 = bench_now_ns();                                           \
        for (int i = 0; i < 2; i++)                                            \
            pthread_join(t[i], NULL);                                          \
        int64_t t1 = bench_now_ns();                                           \
        pthread_barrier_destroy(&s.start);                                     \
        if (s.counter != 2 * s.per_thread) {                                   \
            (void)fprintf(stderr, "lock bench: %s lost updates\n", #NAME);     \
            abort();                                                           \
        }                                                                      \
        DESTROY(&s.lk);                                                        \
        return (double)(t1 - t0) / (double)(2 * s.per_thread);                 \
    }

#define WEFT_INIT(l) weft_lock_init(l)
#define WEFT_LOCK(l) (void)weft_lock_acquire(l)
#define WEFT_UNLOCK(l) (void)weft_lock_release(l)
#define WEFT_DESTROY(l) (void)weft_lock_destroy(l)
LOCK_IMPL(weft, weft_lock, WEFT_INIT, WEFT_LOCK, WEFT_UNLOCK, WEFT_DESTROY)

#define PT_INIT(l) pthread_mutex_init(l, NULL)
#define PT_LOCK(l) pthread_mutex_lock(l)
#define PT_UNLOCK(l) pthread_mutex_unlock(l)
#define PT_DESTROY(l) pthread_mutex_destroy(l)
LOCK_IMPL(pthread, pthread_mutex_t, PT_INIT, PT_LOCK, PT_UNLOCK, PT_DESTROY)

#ifdef WEFT_BENCH_GLIB
LOCK_IMPL(glib, GMutex, g_mutex_init, g_mutex_lock, g_mutex_unlock, g_mutex_clear)
#endif

static struct bench_py py_uncontended = {"lock.py", "uncontended"};
static struct bench_py py_contended = {"lock.py", "contended"};

static void *idle(void *arg)
{
    return arg;
}

void bench_lock(void)
{
    bench_impl unc[] = {
        {"weft", weft_uncontended, NULL},
        {"pthread", pthread_uncontended, NULL},
#ifdef WEFT_BENCH_GLIB
        {"glib", glib_uncontended, NULL},
#endif
        {"cpython", bench_cpython, &py_uncontended},
    };
    int nunc = (int)(sizeof unc / sizeof unc[0]);
#ifdef HAVE_SINGLE_THREADED
    if (__libc_single_threaded)
        bench_compare("lock", "uncontended_1t", 4000000, unc, nunc);
#endif
    /* From here on the process is multi-threaded, as a locking program is. */
    pthread_t t;
    if (pthread_create(&t, NULL, idle, NULL) != 0)
        abort();
    pthread_join(t, NULL);
    bench_compare("lock", "uncontended", 4000000, unc, nunc);
    bench_impl con[] = {
        {"weft", weft_contended, NULL},
        {"pthread", pthread_contended, NULL},
#ifdef WEFT_BENCH_GLIB
        {"glib", glib_contended, NULL},
#endif
        {"cpython", bench_cpython, &py_contended},
    };
    bench_compare("lock", "contended_2t", 2000000, con,
                  (int)(sizeof con / sizeof con[0]));
}
