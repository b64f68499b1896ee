/* fuzz_sync_ops.c - input bytes are programs over every sync/ primitive,
 * run by 2-4 threads at once; the harness checks each primitive's
 * invariants.
 *
 * Input: byte 0 picks the thread count (2-4) and, with its top bit, the
 * process mode: then every object is WEFT_SHARED in MAP_SHARED memory and
 * the "threads" are forked processes (the condition then uses a shared
 * rlock). Byte 1 is the number of barrier rounds (0-3) every worker takes
 * part in; the rest are dealt round-robin to the workers, one operation per
 * byte (low 3 bits: which; the high bits: a small timeout or argument):
 *   0 rlock acquire (nested when held)   1 rlock release (EPERM if none)
 *   2 sem acquire_for                    3 sem release of a held unit
 *   4 cond: produce a token (lock, ++, notify, unlock)
 *   5 cond: consume a token with wait_pred_until and a short deadline
 *   6 event set / clear / wait_for, by the high bits; in thread mode a high
 *     value instead calls weft_once_call (once is process-private)
 *   7 barrier wait, if this thread has rounds left
 * Every wait that could block for ever in a correct program has a timeout,
 * except rlock acquires (a thread releases the rlock before each barrier
 * wait) and barrier waits (every thread makes them equally often); so a
 * hang is a bug. Invariants:
 *   rlock   never two owners (an inside counter), depth as counted, EPERM
 *           exactly when the caller holds nothing;
 *   sem     bounded at 2: units held by threads + value == 2 at the end,
 *           and releasing a held unit never overflows;
 *   cond    tokens consumed never exceed tokens produced, and the count
 *           under the lock equals produced - consumed;
 *   event   a wait that returns 0 saw a set that happened;
 *   once    the initialiser ran exactly once, before any call returned;
 *   barrier each round hands out every index 0..n-1 exactly once;
 *   all     every thread finishes within a watchdog bound. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "weft/sync.h"

#define MAX_THREADS 4
#define MAX_OPS 64
#define MAX_ROUNDS 3
#define WATCHDOG_NS (5LL * 1000000000LL)
#define US 1000LL

struct world {
    int nthreads, rounds, shared;
    weft_rlock rl;
    weft_rlock crl; /* the condition's lock in process mode */
    int inside; /* atomic: owners of rl */
    weft_sem sem;
    weft_lock lk;
    weft_cond cond;
    long tokens;   /* guarded by lk */
    long produced; /* guarded by lk */
    long consumed; /* guarded by lk */
    weft_event ev;
    long sets; /* atomic: sets made */
    weft_once once;
    int once_runs; /* written by the initialiser only */
    weft_barrier bar;
    int arrivals[MAX_ROUNDS][MAX_THREADS]; /* atomic: per round and index */
    uint8_t ops[MAX_THREADS][MAX_OPS];
    int nops[MAX_THREADS];
    int held_units[MAX_THREADS];
    int done[MAX_THREADS]; /* atomic */
};

struct worker {
    struct world *w;
    int id;
};

static void fail(const char *what, int thread)
{
    (void)fprintf(stderr, "fuzz_sync_ops: %s (thread %d)\n", what, thread);
    abort();
}

static bool has_token(void *p)
{
    return ((struct world *)p)->tokens > 0;
}

/* Holding is decided by the input at run time (depth), which static
 * thread-safety analysis cannot follow; the harness checks it dynamically. */
static void rlock_op(struct world *w, int me, int *depth, int release)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (release) {
        if (*depth == 0) {
            if (weft_rlock_release(&w->rl) != EPERM)
                fail("rlock release without holding did not give EPERM", me);
            return;
        }
        /* Leave the critical section before the last level goes. */
        if (*depth == 1 && __atomic_fetch_sub(&w->inside, 1, __ATOMIC_RELAXED) != 1)
            fail("rlock had another owner at release", me);
        if (weft_rlock_release(&w->rl) != 0)
            fail("rlock release failed", me);
        --*depth;
        return;
    }
    if (weft_rlock_acquire(&w->rl) != 0)
        fail("rlock acquire failed", me);
    if (++*depth == 1 && __atomic_fetch_add(&w->inside, 1, __ATOMIC_RELAXED) != 0)
        fail("rlock has two owners", me);
    if (weft_rlock_depth(&w->rl) != (unsigned)*depth)
        fail("rlock depth differs from the count of acquires", me);
}

static void sem_op(struct world *w, int me, int release, int64_t timeout)
{
    if (release) {
        if (w->held_units[me] == 0)
            return;
        if (weft_sem_release(&w->sem, 1) != 0)
            fail("releasing a held unit of a bounded sem failed", me);
        w->held_units[me]--;
        return;
    }
    int r = weft_sem_acquire_for(&w->sem, timeout);
    if (r == 0)
        w->held_units[me]++;
    else if (r != ETIMEDOUT)
        fail("sem acquire_for failed", me);
}

static void cond_op(struct world *w, int me, int consume, int64_t timeout)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if ((w->shared ? weft_rlock_acquire(&w->crl) : weft_lock_acquire(&w->lk)) != 0)
        fail("lock acquire failed", me);
    if (!consume) {
        w->tokens++;
        w->produced++;
        (void)weft_cond_notify(&w->cond, 1);
    } else {
        int64_t deadline = weft_time_deadline_ns(timeout);
        int r = w->shared ? weft_cond_wait_rlock_pred_until(
                                &w->cond, &w->crl, has_token, w, deadline)
                          : weft_cond_wait_pred_until(&w->cond, &w->lk,
                                                      has_token, w, deadline);
        if (r == 0) {
            if (w->tokens <= 0)
                fail("wait_pred returned 0 without a token", me);
            w->tokens--;
            w->consumed++;
        } else if (r != ETIMEDOUT) {
            fail("cond wait failed", me);
        }
    }
    if (w->tokens != w->produced - w->consumed || w->consumed > w->produced)
        fail("token accounting broken", me);
    if (w->shared)
        (void)weft_rlock_release(&w->crl);
    else
        (void)weft_lock_release(&w->lk);
}

static void init_once(void *arg)
{
    ((struct world *)arg)->once_runs++;
}

static void event_op(struct world *w, int me, uint8_t arg)
{
    if (!w->shared && arg >= 24) {
        if (weft_once_call(&w->once, init_once, w) != 0 || w->once_runs != 1)
            fail("once: initialiser not run exactly once before return", me);
        return;
    }
    switch (arg % 3) {
    case 0:
        __atomic_fetch_add(&w->sets, 1, __ATOMIC_RELEASE);
        weft_event_set(&w->ev);
        break;
    case 1:
        weft_event_clear(&w->ev);
        break;
    default: {
        int r = weft_event_wait_for(&w->ev, (int64_t)(arg % 4) * 50 * US);
        if (r == 0 && __atomic_load_n(&w->sets, __ATOMIC_ACQUIRE) == 0)
            fail("event wait returned 0 before any set", me);
        if (r != 0 && r != ETIMEDOUT)
            fail("event wait failed", me);
    }
    }
}

static void barrier_op(struct world *w, int me, int *round)
{
    unsigned idx = 99;
    int r = weft_barrier_wait_for(&w->bar, &idx, 2000LL * 1000 * US);
    if (r != 0)
        fail("barrier wait failed (a round never completed)", me);
    if (idx >= (unsigned)w->nthreads)
        fail("barrier index out of range", me);
    if (__atomic_fetch_add(&w->arrivals[*round][idx], 1, __ATOMIC_RELAXED) != 0)
        fail("barrier index handed out twice in one round", me);
    (*round)++;
}

static void *run_worker(void *arg)
{
    struct worker *wk = (struct worker *)arg;
    struct world *w = wk->w;
    int me = wk->id, depth = 0, round = 0;
    for (int k = 0; k < w->nops[me]; k++) {
        uint8_t op = w->ops[me][k];
        uint8_t hi = op >> 3;
        int64_t timeout = (int64_t)(hi % 4) * 50 * US;
        switch (op & 7) {
        case 0: rlock_op(w, me, &depth, 0); break;
        case 1: rlock_op(w, me, &depth, 1); break;
        case 2: sem_op(w, me, 0, timeout); break;
        case 3: sem_op(w, me, 1, 0); break;
        case 4: cond_op(w, me, 0, 0); break;
        case 5: cond_op(w, me, 1, timeout); break;
        case 6: event_op(w, me, hi); break;
        default:
            /* Never hold the rlock across a barrier: another thread may
             * block on it before reaching the barrier (a real deadlock). */
            if (round < w->rounds) {
                while (depth > 0)
                    rlock_op(w, me, &depth, 1);
                barrier_op(w, me, &round);
            }
            break;
        }
    }
    while (depth > 0)
        rlock_op(w, me, &depth, 1);
    while (round < w->rounds) /* every thread takes every round */
        barrier_op(w, me, &round);
    while (w->held_units[me] > 0)
        sem_op(w, me, 1, 0);
    __atomic_store_n(&w->done[me], 1, __ATOMIC_RELEASE);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The world: a static object for threads, a MAP_SHARED mapping (made once,
 * reused by every run in persistent mode) for processes. */
static struct world *world_for(int shared)
{
    static struct world private_world;
    static struct world *shared_world;
    if (!shared)
        return &private_world;
    if (shared_world == NULL) {
        /* MAP_ANONYMOUS takes fd -1 (mmap(2)); cppcheck's model of mmap
         * does not know that flag and reports a false invalidFunctionArg. */
        int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED | MAP_ANONYMOUS;
        // cppcheck-suppress invalidFunctionArg
        void *p = mmap(NULL, sizeof *shared_world, prot, flags, -1, 0);
        if (p == MAP_FAILED)
            fail("mmap failed", -1);
        shared_world = (struct world *)p;
    }
    return shared_world;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int shared = (data[0] & 0x80) != 0;
    struct world *w = world_for(shared);
    memset(w, 0, sizeof *w);
    unsigned flags = shared ? WEFT_SHARED : WEFT_PRIVATE;
    w->shared = shared;
    w->nthreads = 2 + (data[0] & 0x7f) % 3;
    w->rounds = data[1] % (MAX_ROUNDS + 1);
    if (weft_rlock_init(&w->rl, flags) != 0 ||
        weft_rlock_init(&w->crl, flags) != 0 ||
        weft_sem_init_bounded(&w->sem, 2, flags) != 0 ||
        weft_cond_init(&w->cond, flags) != 0 ||
        weft_event_init(&w->ev, flags) != 0 ||
        weft_barrier_init(&w->bar, (unsigned)w->nthreads, NULL, NULL, flags) != 0)
        fail("init failed", -1);
    weft_lock_init(&w->lk);
    for (size_t k = 2; k < size; k++) {
        int t = (int)((k - 2) % (size_t)w->nthreads);
        if (w->nops[t] < MAX_OPS)
            w->ops[t][w->nops[t]++] = data[k];
    }
    struct worker wk[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    pid_t pid[MAX_THREADS];
    (void)fflush(NULL);
    for (int t = 0; t < w->nthreads; t++) {
        wk[t].w = w;
        wk[t].id = t;
        if (!shared) {
            if (pthread_create(&tid[t], NULL, run_worker, &wk[t]) != 0)
                fail("pthread_create failed", t);
            continue;
        }
        pid[t] = fork();
        if (pid[t] < 0)
            fail("fork failed", t);
        if (pid[t] == 0) {
            (void)run_worker(&wk[t]);
            _exit(0);
        }
    }
    if (shared)
        fuzz_reap_or_abort(pid, w->done, w->nthreads, WATCHDOG_NS);
    else
        fuzz_join_or_abort(tid, w->done, w->nthreads, WATCHDOG_NS, NULL, NULL);
    if (weft_sem_value(&w->sem) != 2)
        fail("semaphore units lost or created", -1);
    if (weft_rlock_destroy(&w->rl) != 0 || weft_rlock_destroy(&w->crl) != 0 ||
        weft_cond_destroy(&w->cond) != 0 || weft_sem_destroy(&w->sem) != 0 ||
        weft_barrier_destroy(&w->bar) != 0)
        fail("destroy after a clean run failed", -1);
    for (int r = 0; r < w->rounds; r++)
        for (int i = 0; i < w->nthreads; i++)
            if (w->arrivals[r][i] != 1)
                fail("barrier round missed an index", -1);
    return 0;
}
