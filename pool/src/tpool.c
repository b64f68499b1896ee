/* tpool.c - the thread pool.
 *
 * Design / invariants:
 *   - One lock (p->mu) guards the task ring, the idle stack, the worker
 *     list, the batches' filling and clearing (below) and the flags. A
 *     submission is one lock round: push the task, and pop an idle worker
 *     to wake (or decide to start one). Tasks carry no allocation of their
 *     own: the ring holds (fn, arg, future) by value and grows by doubling.
 *   - Each idle worker waits on its own word. A submitter pops exactly one
 *     idle worker under the lock and sets its word after unlocking, so one
 *     task wakes at most one worker and no wake-up is lost. The idle stack
 *     is LIFO: the worker that went idle last, the one most likely still
 *     spinning, gets the task.
 *   - A submitter that pops an idle worker hands it the task (as its batch
 *     of one, below) instead of queueing it: the worker runs it without
 *     taking p->mu. The ring holds the tasks no idle worker took.
 *   - Batches: a worker takes tasks in batches, in one lock round each:
 *     first from other workers' batches (half of the unclaimed tasks of
 *     the first batch that has some: those are older than the ring's), else
 *     its share of the ring (count / workers, rounded up), at most
 *     BATCH_MAX. A task in a batch is claimed by exchanging its fn with
 *     NULL - by the batch's worker as it comes to it, by a thief, or by a
 *     shutdown that cancels it or a broken pool that fails it - so it runs
 *     once, and no task waits behind a long one while another worker is
 *     free. Batches of two or more are listed in p->batchers for thieves.
 *     When the ring backs up, this makes the lock round trips between
 *     submitters and workers one per batch instead of one per task.
 *   - A submitter wakes no idle worker while another worker is finishing
 *     a task (p->finishing): that one takes p->mu next and finds the task.
 *     Nor does it start a worker for a ring of one task. Read under p->mu
 *     and lowered under it, a nonzero count means some worker's critical
 *     section comes after the submitter's. A worker counts itself from
 *     just before the future of the last task of its batch becomes done,
 *     so that a thread that waits for the result and submits again finds
 *     it counted (not a reason to start a second worker); when that future
 *     has done callbacks, from after they ran, since a callback may wait
 *     on work of the pool. A worker that takes tasks and leaves some for
 *     another (in the ring, or in the batch it stole from) wakes an idle
 *     worker to take them.
 *   - An idle worker spins on its word for IDLE_SPINS pauses before it
 *     sleeps, announcing the sleep with W_ASLEEP: a task submitted within
 *     that window costs the submitter no system call and the worker no
 *     context switch (a sleeping hand-off costs microseconds). A worker
 *     that has just woken a sleeping waiter yields once first: on a
 *     shared CPU the waiter runs at once instead of after the spin.
 *   - Each future says which CPU its task runs on or most likely will
 *     (f->cpu: the claiming worker's, the idle worker's it is handed to,
 *     or the finishing worker's when it goes to the ring), so that a
 *     waiter on that CPU yields to that thread instead of spinning for a
 *     thread that cannot run until it stops (see weft_future_wait_until).
 *     The worker that completes such a future yields back (before its
 *     next task, or as it goes idle), and when idle then checks its word
 *     once instead of spinning: if the waiter did not run (the scheduler
 *     gave the CPU back to the worker), spinning would only keep it from
 *     running.
 *   - References: the ring holds one to each task's future, and moves it
 *     into the batch that takes the task; a thief or a cancelling shutdown
 *     takes one of its own. The batch's worker drops its reference as soon
 *     as it has run the task (so the waiter, which made the future, most
 *     often frees it); the rest of a batch's are dropped after it is
 *     cleared (under p->mu, once every task in it is claimed), outside the
 *     lock. A claimed task runs if weft_future_set_running succeeds;
 *     it fails when the task was cancelled or already run by a waiter that
 *     helped (see weft__tpool_help).
 *   - Each worker's batch, and the futures it runs while helping (chained
 *     through `outer` links under p->mu), name the futures a fork child
 *     must fail: their tasks run in the parent.
 *   - Fork: prepare takes the registry lock and every pool's lock; the
 *     child empties each pool (the parent runs those tasks), fails the
 *     copied futures with ECHILD and releases the locks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/tpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/futex.h"
#include "weft/lock.h"
#include "weft/thread.h"
#include "weft/time.h"

#include "hb.h"
#include "poolimpl.h"

enum { PREFIX_MAX = 48 };

struct task {
    weft_task_fn fn;
    void *arg;
    weft_future *f; /* NULL: fire-and-forget */
};

/* A task being run by a worker: a stack through helped tasks. */
struct running {
    weft_future *f;
    struct running *outer;
};

/* Tasks a worker takes from the ring in one lock round, at most. */
enum { BATCH_MAX = 64 };

struct worker {
    weft_tpool *pool;
    weft_thread *t;
    uint32_t wake;           /* W_IDLE, W_WOKEN or W_ASLEEP (below) */
    uint32_t idle_cpu;       /* its CPU (plus one) as it went idle (p->mu) */
    size_t index;
    struct running *running; /* innermost task it runs while helping (p->mu) */
    /* The tasks it took: filled and cleared under p->mu (by the submitter
     * that hands it one while it is idle, or by itself); a task's fn is
     * claimed by an atomic exchange with NULL (see run_batch, steal). */
    struct task batch[BATCH_MAX];
    size_t nbatch;
    size_t bpos;             /* its index in p->batchers, or NO_BPOS (p->mu) */
    struct worker *next;     /* every worker of the pool (p->mu) */
};

#define NO_BPOS ((size_t)-1)

struct weft_tpool {
    weft_lock mu;
    struct task *ring WEFT_GUARDED_BY(mu);
    /* cap: 0 or a power of two, so an index wraps with a mask */
    size_t cap WEFT_GUARDED_BY(mu), head WEFT_GUARDED_BY(mu), count WEFT_GUARDED_BY(mu);
    struct worker **idle WEFT_PT_GUARDED_BY(mu); /* stack of sleeping workers (set at create) */
    size_t nidle WEFT_GUARDED_BY(mu);
    struct worker **batchers WEFT_PT_GUARDED_BY(mu); /* workers with batches of 2+ */
    size_t nbatchers WEFT_GUARDED_BY(mu);
    /* Workers between the end of a task and taking mu to look for the next
     * one (atomic: raised without mu, lowered under it). */
    uint32_t finishing;
    uint32_t finisher_cpu; /* CPU (plus one) of the last to count itself
                              there (atomic; a hint for waiters) */
    struct worker *workers WEFT_GUARDED_BY(mu);
    size_t nworkers WEFT_GUARDED_BY(mu); /* started and not ended */
    size_t started WEFT_GUARDED_BY(mu);  /* names: <prefix>_<started> */
    bool shutdown WEFT_GUARDED_BY(mu);
    int broken WEFT_GUARDED_BY(mu);
    weft_lock join_mu; /* one shutdown at a time joins the workers */
    size_t max;
    int (*initializer)(void *);
    void *initarg;
    size_t stack_size;
    char prefix[PREFIX_MAX];
    weft_tpool *reg_next, *reg_prev; /* the registry, for fork */
};

/* Every pool of the process, for the fork handlers. */
static weft_lock reg_mu = WEFT_LOCK_INIT;
static weft_tpool *reg_head WEFT_GUARDED_BY(reg_mu);
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static uint32_t pool_serial;

/* The worker the calling thread is, if any. */
static __thread struct worker *self;

/* ---- running a task ---- */

/* What running a task did, for its worker (see worker_main). */
enum {
    RAN_RAISED = 1, /* raised p->finishing (see weft__future_complete_task) */
    RAN_WOKE = 2,   /* completed a future that a thread slept on */
    RAN_YIELDED = 4 /* completed a future whose waiter, on this CPU,
                       yielded to this thread for it */
};

/* Run fn(arg) as the task of f (f may be NULL) and complete f with the
 * outcome; finishing: see weft__future_complete_task. Returns RAN_ flags. */
static unsigned run_task(weft_future *f, weft_task_fn fn, void *arg, uint32_t *finishing)
{
    if (f != NULL)
        __atomic_store_n(&f->cpu, weft__pool_cpu(), __ATOMIC_RELAXED);
    void *result = NULL;
    int rc = fn(arg, &result);
    if (f == NULL)
        return 0;
    uint32_t word = __atomic_load_n(&f->word, __ATOMIC_ACQUIRE);
    unsigned ran = (word & WEFT__FUT_WAITING) ? RAN_WOKE : 0;
    /* A waiter that yielded from another CPU (the hint it went by was
     * stale) is not waiting for this one: spinning is right here. */
    if ((word & WEFT__FUT_YIELDED) &&
        __atomic_load_n(&f->yield_cpu, __ATOMIC_RELAXED) == weft__pool_cpu())
        ran |= RAN_YIELDED;
    if (weft__future_complete_task(f, rc, rc == 0 ? result : NULL, finishing))
        ran |= RAN_RAISED;
    return ran;
}

void weft__tpool_run(weft_future *f, weft_task_fn fn, void *arg)
{
    (void)run_task(f, fn, arg, NULL);
}

static void push_running(struct worker *w, struct running *r, weft_future *f)
{
    weft_tpool *p = w->pool;
    weft_lock_acquire(&p->mu);
    r->f = f;
    r->outer = w->running;
    w->running = r;
    weft_lock_release(&p->mu);
}

bool weft__tpool_help(weft_future *f)
{
    struct worker *w = self;
    if (w == NULL || w->pool != f->pool)
        return false;
    if (weft_future_set_running(f) != 0)
        return false;
    struct running r;
    push_running(w, &r, f);
    weft__tpool_run(f, f->task.tp.fn, f->task.tp.arg);
    weft_lock_acquire(&w->pool->mu);
    w->running = r.outer;
    weft_lock_release(&w->pool->mu);
    return true;
}

/* ---- the queue ---- */

static int ring_push(weft_tpool *p, const struct task *t) WEFT_REQUIRES(p->mu)
{
    if (p->count == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        struct task *nr = (struct task *)malloc(ncap * sizeof *nr);
        if (nr == NULL)
            return ENOMEM;
        for (size_t i = 0; i < p->count; i++)
            nr[i] = p->ring[(p->head + i) & (p->cap - 1)];
        free(p->ring);
        p->ring = nr;
        p->cap = ncap;
        p->head = 0;
    }
    p->ring[(p->head + p->count) & (p->cap - 1)] = *t;
    p->count++;
    return 0;
}

static struct task ring_pop(weft_tpool *p) WEFT_REQUIRES(p->mu)
{
    struct task t = p->ring[p->head];
    p->head = (p->head + 1) & (p->cap - 1);
    p->count--;
    return t;
}

/* An idle worker's word: W_IDLE (spinning), W_ASLEEP (in futex_wait,
 * wake it), W_WOKEN (go look at the queue). */
enum { W_IDLE = 0, W_WOKEN = 1, W_ASLEEP = 2 };

/* Pauses an idle worker spins before it sleeps (~60 us): longer than a
 * submit-and-wait round trip, short next to a scheduler tick. */
#ifndef WEFT_TPOOL_IDLE_SPINS
#define WEFT_TPOOL_IDLE_SPINS 2000
#endif
#define IDLE_SPINS WEFT_TPOOL_IDLE_SPINS

static void wake_worker(struct worker *w)
{
    WEFT__POOL_HB_BEFORE(&w->wake);
    if (__atomic_exchange_n(&w->wake, (uint32_t)W_WOKEN, __ATOMIC_ACQ_REL) == W_ASLEEP)
        (void)weft_futex_wake(&w->wake, 1, WEFT_PRIVATE);
}

/* Wait, as an idle worker, until wake_worker(w). ran: what its last
 * tasks did (RAN_ flags). After completing a future whose waiter slept
 * (RAN_WOKE) or yielded to it (RAN_YIELDED), first let the threads that
 * wait for this CPU run - that waiter may be among them, and would wait
 * for the spin to end or the scheduler to preempt it (a no-op when no
 * thread waits). After RAN_YIELDED, do not spin: see the top of file. */
static void wait_for_wake(struct worker *w, unsigned ran)
{
    uint32_t spins = IDLE_SPINS;
    if (ran & (RAN_WOKE | RAN_YIELDED))
        (void)sched_yield();
    if (ran & RAN_YIELDED)
        spins = 1;
    for (uint32_t i = 0; i < spins; i++) {
        if (__atomic_load_n(&w->wake, __ATOMIC_ACQUIRE) == W_WOKEN)
            return;
        weft__pool_relax();
    }
    uint32_t idle = W_IDLE;
    if (__atomic_compare_exchange_n(&w->wake, &idle, (uint32_t)W_ASLEEP, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&w->wake, __ATOMIC_ACQUIRE) != W_WOKEN)
            (void)weft_futex_wait(&w->wake, W_ASLEEP, WEFT_DEADLINE_NEVER, WEFT_PRIVATE);
    }
}

/* Settle a queued task's future without running it: cancelled, or failed
 * with error if it is still pending (a waiter may be running it: helped
 * tasks keep their own outcome). Drops the reference it came with. */
static void settle(weft_future *f, int error, bool cancel)
{
    if (f == NULL)
        return;
    if (cancel)
        (void)weft_future_cancel(f);
    else if (weft_future_set_running(f) == 0)
        (void)weft_future_set_error(f, error);
    weft_future_free(f);
}

/* Claim a batch slot: its fn, or NULL if a thief or a cancel took it. */
static weft_task_fn claim(struct task *slot)
{
    return __atomic_exchange_n(&slot->fn, (weft_task_fn)NULL, __ATOMIC_ACQ_REL);
}

static void fill_slot(struct task *slot, weft_task_fn fn, void *arg, weft_future *f)
{
    slot->arg = arg;
    slot->f = f;
    __atomic_store_n(&slot->fn, fn, __ATOMIC_RELAXED);
}

/* Claim the unclaimed tasks of v's batch into fs[*n .. cap), with a
 * reference of their own (the batch's is v's to drop). */
static void claim_all(struct worker *v, weft_future **fs, size_t *n, size_t cap)
{
    for (size_t i = 0; i < v->nbatch && *n < cap; i++) {
        struct task *slot = &v->batch[i];
        if (__atomic_load_n(&slot->fn, __ATOMIC_RELAXED) == NULL || claim(slot) == NULL)
            continue;
        if (slot->f != NULL)
            fs[(*n)++] = weft_future_ref(slot->f);
    }
}

/* Settle every task not started: those in the ring and the unclaimed ones
 * in the workers' batches (handed-over tasks included; the batchers are
 * looked at too, since a shutdown that waits takes the worker list to
 * join it). Called with p->mu held, returns with it released, completing
 * the futures outside it. */
static void drain_queue(weft_tpool *p, int error, bool cancel) WEFT_RELEASE(p->mu)
{
    enum { CHUNK = 64 };
    for (;;) {
        weft_future *fs[CHUNK]; /* each with a reference that settle drops */
        size_t n = 0;
        while (n < CHUNK && p->count > 0) {
            struct task t = ring_pop(p); /* the ring's reference */
            if (t.f != NULL)
                fs[n++] = t.f;
        }
        for (struct worker *v = p->workers; v != NULL && n < CHUNK; v = v->next)
            claim_all(v, fs, &n, CHUNK);
        for (size_t b = 0; b < p->nbatchers && n < CHUNK; b++)
            claim_all(p->batchers[b], fs, &n, CHUNK);
        weft_lock_release(&p->mu);
        for (size_t i = 0; i < n; i++)
            settle(fs[i], error, cancel);
        if (n < CHUNK)
            return;
        weft_lock_acquire(&p->mu);
    }
}

/* ---- workers ---- */

/* Run a claimed task; finishing and the return: see run_task. */
static unsigned run_claimed(weft_task_fn fn, void *arg, weft_future *f, uint32_t *finishing)
{
    if (f == NULL || weft_future_set_running(f) == 0)
        return run_task(f, fn, arg, finishing);
    return 0;
}

/* Give w, whose batch was empty, its n tasks just filled in; a batch of
 * two or more is listed for thieves. */
static void set_batch(weft_tpool *p, struct worker *w, size_t n) WEFT_REQUIRES(p->mu)
{
    w->nbatch = n;
    if (n > 1) {
        w->bpos = p->nbatchers;
        p->batchers[p->nbatchers++] = w;
    }
}

/* Take w's share of the ring as its batch; returns its size. */
static size_t take_batch(weft_tpool *p, struct worker *w) WEFT_REQUIRES(p->mu)
{
    size_t k = (p->count + p->nworkers - 1) / p->nworkers;
    if (k > BATCH_MAX)
        k = BATCH_MAX;
    for (size_t i = 0; i < k; i++) {
        struct task t = ring_pop(p);
        fill_slot(&w->batch[i], t.fn, t.arg, t.f);
    }
    set_batch(p, w, k);
    return k;
}

/* Run the n tasks of w's batch that no thief or cancel claimed first.
 * The last one, if it completes a future with no done callbacks, raises
 * p->finishing as it does (see weft_tpool_submit). Returns RAN_RAISED if
 * it did, RAN_WOKE if any of them woke a sleeping waiter, RAN_YIELDED if
 * any completed a future whose waiter yielded to this thread; before the
 * next task, the worker yields back to such a waiter. */
static unsigned run_batch(struct worker *w, size_t n)
{
    unsigned ran = 0;
    for (size_t i = 0; i < n; i++) {
        struct task *slot = &w->batch[i];
        weft_task_fn fn = claim(slot);
        if (fn == NULL)
            continue;
        weft_future *f = slot->f;
        uint32_t *finishing = NULL;
        if (i + 1 == n) {
            finishing = &w->pool->finishing;
            __atomic_store_n(&w->pool->finisher_cpu, weft__pool_cpu(), __ATOMIC_RELAXED);
        }
        unsigned r = run_claimed(fn, slot->arg, f, finishing);
        ran = (ran & (RAN_WOKE | RAN_YIELDED)) | r;
        if ((r & RAN_YIELDED) && i + 1 < n)
            (void)sched_yield(); /* the waiter runs now, not after the batch */
        if (f != NULL) {
            /* The batch's reference, dropped now: a waiter that is
             * already watching drops the last one, on the thread that
             * allocated it, which keeps malloc's arenas uncontended. */
            slot->f = NULL;
            weft_future_free(f);
        }
    }
    return ran;
}

/* Empty w's batch, each task in it claimed: the references it held go to
 * hold[], to be dropped once p->mu is released; returns their count. */
static size_t clear_batch(weft_tpool *p, struct worker *w, weft_future **hold)
    WEFT_REQUIRES(p->mu)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nbatch; i++)
        if (w->batch[i].f != NULL)
            hold[n++] = w->batch[i].f;
    w->nbatch = 0;
    if (w->bpos != NO_BPOS) {
        struct worker *last = p->batchers[--p->nbatchers];
        p->batchers[w->bpos] = last;
        last->bpos = w->bpos;
        w->bpos = NO_BPOS;
    }
    return n;
}

static void drop_refs(weft_future **fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        weft_future_free(fs[i]);
}

/* Take half (rounded up) of the unclaimed tasks of the first batch that
 * has some, as w's batch, with references of its own to their futures.
 * The batch's worker claims from the front, thieves from the back: the
 * unclaimed tasks are a run [lo, hi). Returns the count taken; *left
 * says whether that batch still has tasks for another thief. */
static size_t steal(weft_tpool *p, struct worker *w, bool *left) WEFT_REQUIRES(p->mu)
{
    for (size_t b = 0; b < p->nbatchers; b++) {
        struct worker *v = p->batchers[b];
        size_t lo = 0, hi = v->nbatch;
        while (lo < hi && __atomic_load_n(&v->batch[lo].fn, __ATOMIC_RELAXED) == NULL)
            lo++;
        while (hi > lo && __atomic_load_n(&v->batch[hi - 1].fn, __ATOMIC_RELAXED) == NULL)
            hi--;
        size_t n = 0;
        for (size_t i = hi - (hi - lo + 1) / 2; i < hi; i++) {
            struct task *slot = &v->batch[i];
            weft_task_fn fn = claim(slot);
            if (fn == NULL)
                continue; /* its worker came to it meanwhile */
            fill_slot(&w->batch[n++], fn, slot->arg,
                      slot->f != NULL ? weft_future_ref(slot->f) : NULL);
        }
        if (n == 0)
            continue;
        set_batch(p, w, n);
        *left = hi - lo > 1;
        return n;
    }
    return 0;
}

static int worker_main(void *arg)
{
    struct worker *w = (struct worker *)arg;
    weft_tpool *p = w->pool;
    self = w;
    if (p->initializer != NULL) {
        int rc = p->initializer(p->initarg);
        if (rc != 0) {
            weft_lock_acquire(&p->mu);
            if (p->broken == 0)
                p->broken = rc;
            struct worker **idle = p->idle;
            size_t nidle = p->nidle;
            p->nidle = 0;
            /* Other idle workers leave as well. */
            for (size_t i = 0; i < nidle; i++)
                wake_worker(idle[i]);
            p->nworkers--;
            drain_queue(p, EPIPE, false);
            return rc;
        }
    }
    weft_future *hold[BATCH_MAX];
    size_t nhold = 0;
    unsigned ran = 0;
    weft_lock_acquire(&p->mu);
    for (;;) {
        nhold = clear_batch(p, w, hold);
        if (p->broken != 0)
            break;
        bool left = false;
        size_t n = steal(p, w, &left);
        if (n == 0 && p->count > 0)
            n = take_batch(p, w);
        if (n > 0) {
            /* Tasks left for another worker (in the ring, or in the batch
             * stolen from): an idle one gets up to take them (submitters
             * wake none while a worker finishes, see weft_tpool_submit). */
            struct worker *helper = NULL;
            if ((left || p->count > 0) && p->nidle > 0)
                helper = p->idle[--p->nidle];
            weft_lock_release(&p->mu);
            if (helper != NULL)
                wake_worker(helper);
        } else {
            if (p->shutdown)
                break;
            p->idle[p->nidle++] = w;
            w->idle_cpu = weft__pool_cpu();
            __atomic_store_n(&w->wake, (uint32_t)W_IDLE, __ATOMIC_RELAXED);
            weft_lock_release(&p->mu);
            drop_refs(hold, nhold);
            nhold = 0;
            wait_for_wake(w, ran);
            ran = 0;
            WEFT__POOL_HB_AFTER(&w->wake);
            /* The submitter that woke us may have handed us its task. */
            n = w->nbatch;
            if (n == 0) {
                weft_lock_acquire(&p->mu); /* woken to look: tasks, shutdown, broken */
                continue;
            }
        }
        drop_refs(hold, nhold);
        ran = run_batch(w, n);
        if (!(ran & RAN_RAISED)) {
            __atomic_store_n(&p->finisher_cpu, weft__pool_cpu(), __ATOMIC_RELAXED);
            __atomic_fetch_add(&p->finishing, 1, __ATOMIC_RELAXED);
        }
        weft_lock_acquire(&p->mu);
        __atomic_fetch_sub(&p->finishing, 1, __ATOMIC_RELAXED);
    }
    p->nworkers--;
    weft_lock_release(&p->mu);
    drop_refs(hold, nhold);
    return 0;
}

/* Start a worker; called with p->mu held (the new worker waits for it). */
static int start_worker(weft_tpool *p) WEFT_REQUIRES(p->mu)
{
    struct worker *w = (struct worker *)calloc(1, sizeof *w);
    if (w == NULL)
        return ENOMEM;
    w->pool = p;
    w->index = p->started;
    w->bpos = NO_BPOS;
    for (size_t i = 0; i < BATCH_MAX; i++)
        WEFT__POOL_HG_ATOMIC(&w->batch[i].fn); /* only ever accessed atomically */
    WEFT__POOL_HG_ATOMIC(&w->wake);
    char name[PREFIX_MAX + 24];
    (void)snprintf(name, sizeof name, "%s_%zu", p->prefix, p->started);
    weft_thread_opts o = {.name = name, .daemon = true, .stack_size = p->stack_size};
    int rc = weft_thread_spawn(&w->t, worker_main, w, &o);
    if (rc != 0) {
        free(w);
        return rc;
    }
    p->started++;
    p->nworkers++;
    w->next = p->workers;
    p->workers = w;
    return 0;
}

/* ---- fork ---- */

static void fork_prepare(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_acquire(&reg_mu);
    for (weft_tpool *p = reg_head; p != NULL; p = p->reg_next)
        weft_lock_acquire(&p->mu);
}

static void fork_parent(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    for (weft_tpool *p = reg_head; p != NULL; p = p->reg_next)
        weft_lock_release(&p->mu);
    weft_lock_release(&reg_mu);
}

/* A future copied from the parent, where its task runs: done with ECHILD
 * here. Its waiters and callbacks belong to threads of the parent (the
 * forking thread was in none of them), so they are dropped, not run; its
 * lock may have been held by a thread that does not exist here. */
static void fail_copy(weft_future *f)
{
    weft_lock_init(&f->mu);
    if ((f->word & WEFT__FUT_STATE) >= WEFT_FUTURE_DONE)
        return;
    f->nodes = NULL;
    for (struct weft__fut_cb *c = f->cbs, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    f->cbs = f->cbs_last = NULL;
    f->error = ECHILD;
    f->word = WEFT_FUTURE_DONE;
}

static void fork_child(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    /* The forking thread's worker record (if it is a worker) is freed
     * below: in the child it is no pool's worker. */
    self = NULL;
    for (weft_tpool *p = reg_head; p != NULL; p = p->reg_next) {
        for (struct worker *w = p->workers, *next; w != NULL; w = next) {
            next = w->next;
            for (struct running *r = w->running; r != NULL; r = r->outer)
                fail_copy(r->f);
            for (size_t i = 0; i < w->nbatch; i++) {
                if (w->batch[i].f != NULL) {
                    fail_copy(w->batch[i].f);
                    weft_future_free(w->batch[i].f);
                }
            }
            weft_thread_unref(w->t);
            free(w);
        }
        p->workers = NULL;
        p->nworkers = 0;
        p->nidle = 0;
        p->nbatchers = 0;
        __atomic_store_n(&p->finishing, 0u, __ATOMIC_RELAXED); /* the parent's workers */
        while (p->count > 0) {
            struct task t = ring_pop(p);
            if (t.f != NULL) {
                fail_copy(t.f);
                weft_future_free(t.f);
            }
        }
        /* A shutdown of another thread may have held join_mu: gone. The
         * forking thread holds mu and reg_mu (prepare took them). */
        weft_lock_init(&p->join_mu);
        weft_lock_release(&p->mu);
    }
    weft_lock_release(&reg_mu);
}

static void install_atfork(void)
{
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- the API ---- */

static size_t default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    return cpus + 4 < 32 ? (size_t)cpus + 4 : 32;
}

int weft_tpool_create(weft_tpool **out, const weft_tpool_opts *opts)
{
    if (out == NULL)
        return EINVAL;
    weft_tpool_opts o;
    memset(&o, 0, sizeof o);
    if (opts != NULL)
        o = *opts;
    weft_tpool *p = (weft_tpool *)calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->max = o.max_workers ? o.max_workers : default_workers();
    p->idle = (struct worker **)calloc(p->max, sizeof(struct worker *));
    p->batchers = (struct worker **)calloc(p->max, sizeof(struct worker *));
    if (p->idle == NULL || p->batchers == NULL) {
        free(p->idle);
        free(p->batchers);
        free(p);
        return ENOMEM;
    }
    weft_lock_init(&p->mu);
    weft_lock_init(&p->join_mu);
    WEFT__POOL_HG_ATOMIC(&p->finishing); /* only ever accessed atomically */
    WEFT__POOL_HG_ATOMIC(&p->finisher_cpu);
    p->initializer = o.initializer;
    p->initarg = o.initarg;
    p->stack_size = o.stack_size;
    if (o.name_prefix != NULL)
        (void)snprintf(p->prefix, sizeof p->prefix, "%s", o.name_prefix);
    else
        (void)snprintf(p->prefix, sizeof p->prefix, "ThreadPool-%u",
                       __atomic_fetch_add(&pool_serial, 1, __ATOMIC_RELAXED));
    (void)pthread_once(&atfork_once, install_atfork);
    weft_lock_acquire(&reg_mu);
    p->reg_next = reg_head;
    if (reg_head != NULL)
        reg_head->reg_prev = p;
    reg_head = p;
    weft_lock_release(&reg_mu);
    *out = p;
    return 0;
}

int weft_tpool_submit(weft_tpool *p, weft_task_fn fn, void *arg, weft_future **out)
{
    if (fn == NULL)
        return EINVAL;
    struct task t = {fn, arg, NULL};
    if (out != NULL) {
        int rc = weft_future_create(&t.f);
        if (rc != 0)
            return rc;
        t.f->pool = p;
        t.f->task.tp.fn = fn;
        t.f->task.tp.arg = arg;
        t.f->refs = 2; /* the caller's and the queue's */
    }
    struct worker *wake = NULL;
    weft_lock_acquire(&p->mu);
    int rc = p->broken ? EPIPE : p->shutdown ? ESHUTDOWN : 0;
    /* A worker that is finishing a task takes mu after us and finds this
     * one in the ring: waking an idle worker would only bounce the work
     * between them, and starting one for a ring of one task would leave a
     * spare. Otherwise an idle worker gets the task by hand. */
    bool finishing = __atomic_load_n(&p->finishing, __ATOMIC_RELAXED) > 0;
    if (rc == 0 && p->nidle > 0 && !finishing) {
        wake = p->idle[--p->nidle];
        fill_slot(&wake->batch[0], t.fn, t.arg, t.f); /* its batch is empty */
        wake->nbatch = 1;
        if (t.f != NULL) /* where it will most likely run */
            __atomic_store_n(&t.f->cpu, wake->idle_cpu, __ATOMIC_RELAXED);
    } else if (rc == 0) {
        /* (With batches out, the finishing worker may steal from them
         * and leave this task: then start one as before.) */
        bool taken = finishing && p->count == 0 && p->nbatchers == 0;
        if (p->nidle == 0 && p->nworkers < p->max && !taken) {
            int src = start_worker(p);
            if (src != 0 && p->nworkers == 0)
                rc = src;
        }
        if (rc == 0)
            rc = ring_push(p, &t);
        if (rc == 0 && finishing && t.f != NULL) /* likely the finisher's */
            __atomic_store_n(&t.f->cpu, __atomic_load_n(&p->finisher_cpu, __ATOMIC_RELAXED),
                             __ATOMIC_RELAXED);
    }
    weft_lock_release(&p->mu);
    if (rc != 0) {
        if (t.f != NULL) {
            t.f->refs = 1;
            weft_future_free(t.f);
        }
        return rc;
    }
    if (wake != NULL)
        wake_worker(wake);
    if (out != NULL)
        *out = t.f;
    return 0;
}

int weft_tpool_shutdown(weft_tpool *p, unsigned flags)
{
    weft_lock_acquire(&p->mu);
    p->shutdown = true;
    struct worker **idle = p->idle;
    for (size_t i = 0; i < p->nidle; i++)
        wake_worker(idle[i]);
    p->nidle = 0;
    if (flags & WEFT_POOL_CANCEL_PENDING)
        drain_queue(p, EPIPE, true);
    else
        weft_lock_release(&p->mu);
    if (flags & WEFT_POOL_NOWAIT)
        return 0;
    if (self != NULL && self->pool == p)
        return EDEADLK;
    weft_lock_acquire(&p->join_mu);
    weft_lock_acquire(&p->mu);
    struct worker *ws = p->workers;
    p->workers = NULL;
    weft_lock_release(&p->mu);
    for (struct worker *w = ws, *next; w != NULL; w = next) {
        next = w->next;
        (void)weft_thread_join(w->t, NULL);
        weft_thread_unref(w->t);
        free(w);
    }
    weft_lock_release(&p->join_mu);
    return 0;
}

int weft_tpool_free(weft_tpool *p)
{
    if (p == NULL)
        return 0;
    if (self != NULL && self->pool == p)
        return EDEADLK;
    (void)weft_tpool_shutdown(p, 0);
    weft_lock_acquire(&reg_mu);
    if (p->reg_prev != NULL)
        p->reg_prev->reg_next = p->reg_next;
    else
        reg_head = p->reg_next;
    if (p->reg_next != NULL)
        p->reg_next->reg_prev = p->reg_prev;
    weft_lock_release(&reg_mu);
    weft_lock_acquire(&p->mu);
    /* A broken pool may still hold tasks submitted before it broke
     * (drain_queue already failed those it saw). */
    drain_queue(p, EPIPE, false);
    weft_lock_acquire(&p->mu);
    struct task *ring = p->ring;
    p->ring = NULL;
    weft_lock_release(&p->mu);
    free(ring);
    free(p->idle);
    free(p->batchers);
    (void)weft_lock_destroy(&p->mu);
    (void)weft_lock_destroy(&p->join_mu);
    free(p);
    return 0;
}

size_t weft_tpool_max_workers(const weft_tpool *p)
{
    return p->max;
}

size_t weft_tpool_workers(weft_tpool *p)
{
    weft_lock_acquire(&p->mu);
    size_t n = p->nworkers;
    weft_lock_release(&p->mu);
    return n;
}

int weft_tpool_broken(weft_tpool *p)
{
    weft_lock_acquire(&p->mu);
    int b = p->broken;
    weft_lock_release(&p->mu);
    return b;
}
