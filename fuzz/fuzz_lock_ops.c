/* fuzz_lock_ops.c - input bytes are a program of lock operations run by 2-4
 * threads over 1-3 weft_locks; the harness checks the lock's invariants.
 *
 * Input: byte 0 picks the thread count (2-4), byte 1 the lock count (1-3);
 * the rest are dealt round-robin to the threads, one operation per byte:
 *   bits 0-1  lock index (mod lock count)
 *   bits 2-3  0 acquire, 1 try_acquire, 2 acquire_for, 3 hold (yield while
 *             holding what is held)
 *   bits 4-5  acquire_for timeout: 0, 50, 100 or 200 microseconds
 * An operation on a lock the thread holds releases it. A thread acquires
 * locks only in increasing index order when it may block; an out-of-order
 * acquire is made a try, so a correct lock can never deadlock here.
 *
 * Invariants checked:
 *   - never two holders: a per-lock holder count goes 0 -> 1 on every
 *     acquire and 1 -> 0 on every release;
 *   - mutual exclusion of data: a plain per-lock counter incremented under
 *     the lock equals the number of acquisitions (and TSan sees no race);
 *   - timeouts honoured: ETIMEDOUT only after the full timeout elapsed;
 *   - no lost wake-up / no hang: every thread finishes within a watchdog
 *     bound (seconds, against milliseconds of work), else abort with a
 *     report of who holds what.
 * One source for AFL++ (afl-clang-fast -fsanitize=fuzzer), libFuzzer
 * (clang -fsanitize=fuzzer) and the corpus replay (replay_main.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_common.h"
#include "weft/lock.h"
#include "weft/time.h"

#define MAX_THREADS 4
#define MAX_LOCKS 3
#define MAX_OPS 64
#define WATCHDOG_NS (5LL * 1000000000LL)

static const int64_t timeouts_ns[4] = {0, 50000, 100000, 200000};

struct slot {
    weft_lock lk;
    int holders;       /* atomic */
    long data;         /* plain, guarded by lk */
};

struct prog {
    int nthreads, nlocks;
    struct slot locks[MAX_LOCKS];
    uint8_t ops[MAX_THREADS][MAX_OPS];
    int nops[MAX_THREADS];
    long acquisitions[MAX_THREADS][MAX_LOCKS];
    int done[MAX_THREADS]; /* atomic */
};

struct worker {
    struct prog *p;
    int id;
};

static void fail(const char *what, int thread, int lock)
{
    (void)fprintf(stderr, "fuzz_lock_ops: %s (thread %d, lock %d)\n", what, thread,
            lock);
    abort();
}

static void took(struct prog *p, int self, int i)
{
    struct slot *s = &p->locks[i];
    if (__atomic_fetch_add(&s->holders, 1, __ATOMIC_RELAXED) != 0)
        fail("two holders", self, i);
    s->data++;
    p->acquisitions[self][i]++;
}

/* Which locks a thread holds is decided by the input at run time (a bit
 * mask), which static thread-safety analysis cannot follow; the harness
 * checks holding dynamically instead. */
static void release(struct prog *p, int self, int i)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct slot *s = &p->locks[i];
    if (__atomic_fetch_sub(&s->holders, 1, __ATOMIC_RELAXED) != 1)
        fail("holder count wrong at release", self, i);
    if (weft_lock_release(&s->lk) != 0)
        fail("release of a held lock failed", self, i);
}

static int highest_held(unsigned held)
{
    int h = -1;
    for (int i = 0; i < MAX_LOCKS; i++)
        if (held & (1u << i))
            h = i;
    return h;
}

/* See release(): holding is dynamic here. */
static void *run_worker(void *arg) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct worker *w = (struct worker *)arg;
    struct prog *p = w->p;
    unsigned held = 0;
    for (int k = 0; k < p->nops[w->id]; k++) {
        uint8_t op = p->ops[w->id][k];
        int i = (op & 3) % p->nlocks;
        int kind = (op >> 2) & 3;
        int64_t timeout = timeouts_ns[(op >> 4) & 3];
        if (kind == 3) {
            if (held != 0)
                sched_yield();
            continue;
        }
        if (held & (1u << i)) {
            release(p, w->id, i);
            held &= ~(1u << i);
            continue;
        }
        int may_block = i > highest_held(held);
        int r;
        if (kind == 1 || (kind == 0 && !may_block)) {
            r = weft_lock_try_acquire(&p->locks[i].lk);
            if (r != 0 && r != EBUSY)
                fail("try_acquire returned an unexpected error", w->id, i);
        } else if (kind == 2) {
            int64_t t0 = weft_time_now_ns();
            r = weft_lock_acquire_for(&p->locks[i].lk, timeout);
            if (r == ETIMEDOUT && weft_time_now_ns() - t0 < timeout)
                fail("ETIMEDOUT before the timeout elapsed", w->id, i);
            if (r != 0 && r != ETIMEDOUT)
                fail("acquire_for returned an unexpected error", w->id, i);
        } else {
            r = weft_lock_acquire(&p->locks[i].lk);
            if (r != 0)
                fail("acquire failed", w->id, i);
        }
        if (r == 0) {
            took(p, w->id, i);
            held |= 1u << i;
        }
    }
    for (int i = MAX_LOCKS - 1; i >= 0; i--)
        if (held & (1u << i))
            release(p, w->id, i);
    __atomic_store_n(&p->done[w->id], 1, __ATOMIC_RELEASE);
    return NULL;
}

static void print_locks(void *arg)
{
    const struct prog *p = (const struct prog *)arg;
    for (int i = 0; i < p->nlocks; i++)
        (void)fprintf(stderr, "lock %d: locked=%d holders=%d\n", i,
                      (int)weft_lock_is_locked(&p->locks[i].lk),
                      __atomic_load_n(&p->locks[i].holders, __ATOMIC_RELAXED));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static struct prog p; /* reset below: persistent mode reuses it */
    memset(&p, 0, sizeof p);
    p.nthreads = 2 + data[0] % 3;
    p.nlocks = 1 + data[1] % MAX_LOCKS;
    for (int i = 0; i < p.nlocks; i++)
        weft_lock_init(&p.locks[i].lk);
    for (size_t k = 2; k < size; k++) {
        int t = (int)((k - 2) % (size_t)p.nthreads);
        if (p.nops[t] < MAX_OPS)
            p.ops[t][p.nops[t]++] = data[k];
    }
    pthread_t tid[MAX_THREADS];
    struct worker w[MAX_THREADS];
    for (int t = 0; t < p.nthreads; t++) {
        w[t].p = &p;
        w[t].id = t;
        if (pthread_create(&tid[t], NULL, run_worker, &w[t]) != 0)
            fail("pthread_create failed", t, -1);
    }
    fuzz_join_or_abort(tid, p.done, p.nthreads, WATCHDOG_NS, print_locks, &p);
    for (int i = 0; i < p.nlocks; i++) {
        long sum = 0;
        for (int t = 0; t < p.nthreads; t++)
            sum += p.acquisitions[t][i];
        if (weft_lock_is_locked(&p.locks[i].lk))
            fail("lock still held after every thread released it", -1, i);
        if (p.locks[i].data != sum)
            fail("lost update under the lock", -1, i);
        if (weft_lock_destroy(&p.locks[i].lk) != 0)
            fail("destroy of an unlocked lock failed", -1, i);
    }
    return 0;
}
