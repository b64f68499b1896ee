/* bench_sync.c - scenarios rlock, cond, sem, event, barrier, lock_shared:
 * each sync/ primitive against its POSIX counterpart (and CPython's).
 *
 *   rlock        uncontended   acquire+release of one level, vs a
 *                              PTHREAD_MUTEX_RECURSIVE mutex
 *   cond         pingpong_2t   one round trip between two threads that
 *                              take turns through a lock + condition, vs
 *                              pthread_mutex_t + pthread_cond_t
 *   sem          pingpong_2t   round trip through two semaphores, vs sem_t
 *   event        pingpong_2t   round trip through two events, vs the
 *                              mutex + cond + flag a C programmer writes
 *   barrier      round_2t      one round of a 2-party barrier, vs
 *                              pthread_barrier_t
 *   lock_shared  contended_2p  acquire+increment+release by 2 processes on
 *                              a lock in MAP_SHARED memory, vs a robust
 *                              process-shared pthread_mutex_t */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/sync.h"

static void start2(void *(*fn)(void *), void *arg, pthread_t *t)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        abort();
}

/* --- rlock --------------------------------------------------------------- */

static double weft_rlock_unc(void *ctx, long ops)
{
    (void)ctx;
    weft_rlock rl = WEFT_RLOCK_INIT;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        (void)weft_rlock_acquire(&rl);
        (void)weft_rlock_release(&rl);
    }
    return (double)(bench_now_ns() - t0) / (double)ops;
}

static double pt_rlock_unc(void *ctx, long ops)
{
    (void)ctx;
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    (void)pthread_mutexattr_init(&a);
    (void)pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    (void)pthread_mutex_init(&m, &a);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        (void)pthread_mutex_lock(&m);
        (void)pthread_mutex_unlock(&m);
    }
    int64_t t1 = bench_now_ns();
    (void)pthread_mutex_destroy(&m);
    (void)pthread_mutexattr_destroy(&a);
    return (double)(t1 - t0) / (double)ops;
}

/* --- cond ping-pong ------------------------------------------------------ */

struct wcond_pp {
    weft_lock lk;
    weft_cond c;
    long turn, ops;
};

static void *wcond_peer(void *p)
{
    struct wcond_pp *s = (struct wcond_pp *)p;
    (void)weft_lock_acquire(&s->lk);
    for (long i = 0; i < s->ops; i++) {
        while (s->turn % 2 == 0)
            (void)weft_cond_wait(&s->c, &s->lk);
        s->turn++;
        (void)weft_cond_notify(&s->c, 1);
    }
    (void)weft_lock_release(&s->lk);
    return NULL;
}

static double weft_cond_pp(void *ctx, long ops)
{
    (void)ctx;
    struct wcond_pp s = {WEFT_LOCK_INIT, WEFT_COND_INIT, 0, ops};
    pthread_t t;
    start2(wcond_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    (void)weft_lock_acquire(&s.lk);
    for (long i = 0; i < ops; i++) {
        while (s.turn % 2 == 1)
            (void)weft_cond_wait(&s.c, &s.lk);
        s.turn++;
        (void)weft_cond_notify(&s.c, 1);
    }
    (void)weft_lock_release(&s.lk);
    (void)pthread_join(t, NULL);
    return (double)(bench_now_ns() - t0) / (double)ops;
}

struct pcond_pp {
    pthread_mutex_t m;
    pthread_cond_t c;
    long turn, ops;
};

static void *pcond_peer(void *p)
{
    struct pcond_pp *s = (struct pcond_pp *)p;
    (void)pthread_mutex_lock(&s->m);
    for (long i = 0; i < s->ops; i++) {
        while (s->turn % 2 == 0)
            (void)pthread_cond_wait(&s->c, &s->m);
        s->turn++;
        (void)pthread_cond_signal(&s->c);
    }
    (void)pthread_mutex_unlock(&s->m);
    return NULL;
}

static double pt_cond_pp(void *ctx, long ops)
{
    (void)ctx;
    struct pcond_pp s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ops};
    pthread_t t;
    start2(pcond_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    (void)pthread_mutex_lock(&s.m);
    for (long i = 0; i < ops; i++) {
        while (s.turn % 2 == 1)
            (void)pthread_cond_wait(&s.c, &s.m);
        s.turn++;
        (void)pthread_cond_signal(&s.c);
    }
    (void)pthread_mutex_unlock(&s.m);
    (void)pthread_join(t, NULL);
    return (double)(bench_now_ns() - t0) / (double)ops;
}

/* --- sem ping-pong ------------------------------------------------------- */

struct wsem_pp {
    weft_sem ping, pong;
    long ops;
};

static void *wsem_peer(void *p)
{
    struct wsem_pp *s = (struct wsem_pp *)p;
    for (long i = 0; i < s->ops; i++) {
        (void)weft_sem_acquire(&s->ping);
        (void)weft_sem_release(&s->pong, 1);
    }
    return NULL;
}

static double weft_sem_pp(void *ctx, long ops)
{
    (void)ctx;
    struct wsem_pp s;
    (void)weft_sem_init(&s.ping, 0, WEFT_PRIVATE);
    (void)weft_sem_init(&s.pong, 0, WEFT_PRIVATE);
    s.ops = ops;
    pthread_t t;
    start2(wsem_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        (void)weft_sem_release(&s.ping, 1);
        (void)weft_sem_acquire(&s.pong);
    }
    int64_t t1 = bench_now_ns();
    (void)pthread_join(t, NULL);
    return (double)(t1 - t0) / (double)ops;
}

struct psem_pp {
    sem_t ping, pong;
    long ops;
};

static void *psem_peer(void *p)
{
    struct psem_pp *s = (struct psem_pp *)p;
    for (long i = 0; i < s->ops; i++) {
        while (sem_wait(&s->ping) != 0) {
        }
        (void)sem_post(&s->pong);
    }
    return NULL;
}

static double pt_sem_pp(void *ctx, long ops)
{
    (void)ctx;
    struct psem_pp s;
    (void)sem_init(&s.ping, 0, 0);
    (void)sem_init(&s.pong, 0, 0);
    s.ops = ops;
    pthread_t t;
    start2(psem_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        (void)sem_post(&s.ping);
        while (sem_wait(&s.pong) != 0) {
        }
    }
    int64_t t1 = bench_now_ns();
    (void)pthread_join(t, NULL);
    (void)sem_destroy(&s.ping);
    (void)sem_destroy(&s.pong);
    return (double)(t1 - t0) / (double)ops;
}

/* --- event ping-pong ----------------------------------------------------- */

struct wev_pp {
    weft_event ping, pong;
    long ops;
};

static void *wev_peer(void *p)
{
    struct wev_pp *s = (struct wev_pp *)p;
    for (long i = 0; i < s->ops; i++) {
        (void)weft_event_wait(&s->ping);
        weft_event_clear(&s->ping);
        weft_event_set(&s->pong);
    }
    return NULL;
}

static double weft_event_pp(void *ctx, long ops)
{
    (void)ctx;
    struct wev_pp s = {WEFT_EVENT_INIT, WEFT_EVENT_INIT, ops};
    pthread_t t;
    start2(wev_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        weft_event_set(&s.ping);
        (void)weft_event_wait(&s.pong);
        weft_event_clear(&s.pong);
    }
    int64_t t1 = bench_now_ns();
    (void)pthread_join(t, NULL);
    return (double)(t1 - t0) / (double)ops;
}

/* The event a C programmer writes with pthreads. */
struct pev {
    pthread_mutex_t m;
    pthread_cond_t c;
    int flag;
};

static void pev_set(struct pev *e)
{
    (void)pthread_mutex_lock(&e->m);
    e->flag = 1;
    (void)pthread_cond_broadcast(&e->c);
    (void)pthread_mutex_unlock(&e->m);
}

static void pev_wait_clear(struct pev *e)
{
    (void)pthread_mutex_lock(&e->m);
    while (!e->flag)
        (void)pthread_cond_wait(&e->c, &e->m);
    e->flag = 0;
    (void)pthread_mutex_unlock(&e->m);
}

struct pev_pp {
    struct pev ping, pong;
    long ops;
};

static void *pev_peer(void *p)
{
    struct pev_pp *s = (struct pev_pp *)p;
    for (long i = 0; i < s->ops; i++) {
        pev_wait_clear(&s->ping);
        pev_set(&s->pong);
    }
    return NULL;
}

static double pt_event_pp(void *ctx, long ops)
{
    (void)ctx;
    struct pev_pp s = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
                       {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
                       ops};
    pthread_t t;
    start2(pev_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        pev_set(&s.ping);
        pev_wait_clear(&s.pong);
    }
    int64_t t1 = bench_now_ns();
    (void)pthread_join(t, NULL);
    return (double)(t1 - t0) / (double)ops;
}

/* --- barrier ------------------------------------------------------------- */

struct wbar {
    weft_barrier b;
    long ops;
};

static void *wbar_peer(void *p)
{
    struct wbar *s = (struct wbar *)p;
    for (long i = 0; i < s->ops; i++)
        (void)weft_barrier_wait(&s->b, NULL);
    return NULL;
}

static double weft_barrier_round(void *ctx, long ops)
{
    (void)ctx;
    struct wbar s;
    (void)weft_barrier_init(&s.b, 2, NULL, NULL, WEFT_PRIVATE);
    s.ops = ops;
    pthread_t t;
    start2(wbar_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        (void)weft_barrier_wait(&s.b, NULL);
    int64_t t1 = bench_now_ns();
    (void)pthread_join(t, NULL);
    return (double)(t1 - t0) / (double)ops;
}

struct pbar {
    pthread_barrier_t b;
    long ops;
};

static void *pbar_peer(void *p)
{
    struct pbar *s = (struct pbar *)p;
    for (long i = 0; i < s->ops; i++)
        (void)pthread_barrier_wait(&s->b);
    return NULL;
}

static double pt_barrier_round(void *ctx, long ops)
{
    (void)ctx;
    struct pbar s;
    (void)pthread_barrier_init(&s.b, NULL, 2);
    s.ops = ops;
    pthread_t t;
    start2(pbar_peer, &s, &t);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++)
        (void)pthread_barrier_wait(&s.b);
    int64_t t1 = bench_now_ns();
    (void)pthread_join(t, NULL);
    (void)pthread_barrier_destroy(&s.b);
    return (double)(t1 - t0) / (double)ops;
}

/* --- lock_shared --------------------------------------------------------- */

struct shm_lock {
    weft_rlock wl;
    pthread_mutex_t pm;
    long counter;
};

static void shm_loop(struct shm_lock *s, long n, int use_weft)
{
    for (long i = 0; i < n; i++) {
        if (use_weft) {
            (void)weft_rlock_acquire(&s->wl);
            s->counter++;
            (void)weft_rlock_release(&s->wl);
        } else {
            if (pthread_mutex_lock(&s->pm) == EOWNERDEAD)
                (void)pthread_mutex_consistent(&s->pm);
            s->counter++;
            (void)pthread_mutex_unlock(&s->pm);
        }
    }
}

static double shared_2p(long ops, int use_weft)
{
    weft_shm *block;
    struct shm_lock *s = (struct shm_lock *)bench_shared(sizeof *s, &block);
    (void)weft_rlock_init(&s->wl, WEFT_SHARED);
    pthread_mutexattr_t a;
    (void)pthread_mutexattr_init(&a);
    (void)pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    (void)pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    (void)pthread_mutex_init(&s->pm, &a);
    (void)pthread_mutexattr_destroy(&a);
    int64_t t0 = bench_now_ns();
    (void)fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        shm_loop(s, ops / 2, use_weft);
        _exit(0);
    }
    shm_loop(s, ops / 2, use_weft);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            abort();
    int64_t t1 = bench_now_ns();
    long counted = s->counter;
    long expected = 2 * (ops / 2);
    (void)pthread_mutex_destroy(&s->pm);
    bench_must(weft_shm_detach(block) == 0);
    if (counted != expected) {
        (void)fprintf(stderr, "lock_shared: lost updates\n");
        abort();
    }
    return (double)(t1 - t0) / (double)expected;
}

static double weft_shared_2p(void *ctx, long ops)
{
    (void)ctx;
    return shared_2p(ops, 1);
}

static double pt_shared_2p(void *ctx, long ops)
{
    (void)ctx;
    return shared_2p(ops, 0);
}

/* --- CPython peers ------------------------------------------------------- */

static struct bench_py py_rlock = {"sync.py", "rlock"};
static struct bench_py py_cond = {"sync.py", "cond"};
static struct bench_py py_sem = {"sync.py", "sem"};
static struct bench_py py_event = {"sync.py", "event"};
static struct bench_py py_barrier = {"sync.py", "barrier"};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

void bench_rlock(void)
{
    bench_impl v[] = {{"weft", weft_rlock_unc, NULL},
                      {"pthread", pt_rlock_unc, NULL},
                      {"cpython", bench_cpython, &py_rlock}};
    bench_compare("rlock", "uncontended", 4000000, v, N(v));
}

void bench_cond(void)
{
    bench_impl v[] = {{"weft", weft_cond_pp, NULL},
                      {"pthread", pt_cond_pp, NULL},
                      {"cpython", bench_cpython, &py_cond}};
    bench_compare("cond", "pingpong_2t", 100000, v, N(v));
}

void bench_sem(void)
{
    bench_impl v[] = {{"weft", weft_sem_pp, NULL},
                      {"posix", pt_sem_pp, NULL},
                      {"cpython", bench_cpython, &py_sem}};
    bench_compare("sem", "pingpong_2t", 100000, v, N(v));
}

void bench_event(void)
{
    bench_impl v[] = {{"weft", weft_event_pp, NULL},
                      {"pthread", pt_event_pp, NULL},
                      {"cpython", bench_cpython, &py_event}};
    bench_compare("event", "pingpong_2t", 100000, v, N(v));
}

void bench_barrier(void)
{
    bench_impl v[] = {{"weft", weft_barrier_round, NULL},
                      {"pthread", pt_barrier_round, NULL},
                      {"cpython", bench_cpython, &py_barrier}};
    bench_compare("barrier", "round_2t", 100000, v, N(v));
}

void bench_lock_shared(void)
{
    bench_impl v[] = {{"weft", weft_shared_2p, NULL},
                      {"pthread", pt_shared_2p, NULL}};
    bench_compare("lock_shared", "contended_2p", 2000000, v, N(v));
}
