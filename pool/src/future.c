/* future.c - futures, waiting on sets of them, as-completed iteration.
 *
 * Design / invariants:
 *   - One 32-bit word holds the state and a WAITING bit. Waiters set the bit
 *     and sleep on the word (futex); the completer swaps the final state in
 *     and wakes only when the bit was set, so a completion nobody waits for
 *     makes no system call. A waiter on the CPU of the task's thread sets
 *     YIELDED instead and yields to it, before it sleeps as above: a hint
 *     for the pool's worker, which then yields back (see tpool.c).
 *   - Completion and cancellation happen under the future's lock, which also
 *     guards the callback list and the registered set waiters. The outcome
 *     fields are written before the word is stored with release; readers
 *     load the word with acquire and then read them without the lock.
 *   - Set waiters (wait_set, as_completed) register one node per future.
 *     Nodes are notified under the future's lock, and unregistering takes
 *     that lock, so a notification never touches a waiter that has gone.
 *     Callbacks (user code) run outside every lock.
 *   - pending -> running is a compare-and-swap with no lock: only the task's
 *     runner calls it, and it races only with cancel, which changes the word
 *     by compare-and-swap as well. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrordesc_np, sigdescr_np; also predefined by g++/clang++: C++ pass */
#endif
#include "weft/future.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/futex.h"
#include "weft/time.h"

#include "hb.h"
#include "poolimpl.h"

/* A set waiter: what a node reports to. */
struct fut_waiter {
    weft_lock mu;
    uint32_t seq;   /* bumped on each notification; waiters sleep on it */
    size_t ndone;   /* nodes notified */
    size_t nerror;  /* of them, done with an error */
    size_t *ready;  /* as_completed: indexes in notification order */
    size_t nready;
};

struct weft__fut_node {
    struct weft__fut_node *next, *prev;
    struct fut_waiter *w;
    size_t index;
    bool linked;
};

static uint32_t load_state(const weft_future *f)
{
    uint32_t s = __atomic_load_n(&f->word, __ATOMIC_ACQUIRE) & WEFT__FUT_STATE;
    if (s >= WEFT_FUTURE_DONE)
        WEFT__POOL_HB_AFTER(&f->word);
    return s;
}

int weft_future_create(weft_future **out)
{
    if (out == NULL)
        return EINVAL;
    /* malloc, not calloc: calloc skips the thread's cache of freed blocks,
     * so a submit-and-wait loop would go to the shared arena each time.
     * The empty asm keeps the compiler from folding malloc + memset into
     * calloc, which clang does. */
    weft_future *f = (weft_future *)malloc(sizeof *f);
    if (f == NULL)
        return ENOMEM;
    __asm__ __volatile__("" : : "r"(f) : "memory");
    memset(f, 0, sizeof *f);
    weft_lock_init(&f->mu);
    f->refs = 1;
    f->spin = WEFT_FUTURE_SPIN_ROUNDS;
    WEFT__POOL_HG_ATOMIC(&f->word);
    WEFT__POOL_HG_ATOMIC(&f->refs);
    WEFT__POOL_HG_ATOMIC(&f->cpu);
    WEFT__POOL_HG_ATOMIC(&f->yield_cpu);
    *out = f;
    return 0;
}

weft_future *weft_future_ref(weft_future *f)
{
    __atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

void weft_future_free(weft_future *f)
{
    if (f == NULL)
        return;
    WEFT__POOL_HB_BEFORE(&f->refs);
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    WEFT__POOL_HB_AFTER(&f->refs);
    /* Callbacks of a future that never completed are dropped with it. */
    for (struct weft__fut_cb *c = f->cbs, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    if (f->value_free != NULL)
        f->value_free(f->value);
    (void)weft_lock_destroy(&f->mu);
    free(f);
}

weft_future_state weft_future_state_get(const weft_future *f)
{
    return (weft_future_state)load_state(f);
}

bool weft_future_done(const weft_future *f)
{
    return load_state(f) >= WEFT_FUTURE_DONE;
}

bool weft_future_running(const weft_future *f)
{
    return load_state(f) == WEFT_FUTURE_RUNNING;
}

bool weft_future_cancelled(const weft_future *f)
{
    return load_state(f) == WEFT_FUTURE_CANCELLED;
}

static void notify_node(struct weft__fut_node *n, bool failed)
{
    struct fut_waiter *w = n->w;
    weft_lock_acquire(&w->mu);
    w->ndone++;
    if (failed)
        w->nerror++;
    if (w->ready != NULL)
        w->ready[w->nready++] = n->index;
    weft_lock_release(&w->mu);
    __atomic_fetch_add(&w->seq, 1, __ATOMIC_RELEASE);
    (void)weft_futex_wake(&w->seq, INT32_MAX, WEFT_PRIVATE);
}

/* Move f to `state` (DONE or CANCELLED) from any state in `from` (a bit
 * set of states), with the outcome already written by the caller under
 * f->mu; wake the waiters and run the callbacks. Called with f->mu held;
 * returns with it released. */
static int finish_locked(weft_future *f, uint32_t state, uint32_t from) WEFT_RELEASE(f->mu)
{
    uint32_t old = __atomic_load_n(&f->word, __ATOMIC_RELAXED);
    WEFT__POOL_HB_BEFORE(&f->word);
    do {
        if (!(from & (1u << (old & WEFT__FUT_STATE)))) {
            weft_lock_release(&f->mu);
            return EINVAL;
        }
    } while (!__atomic_compare_exchange_n(&f->word, &old, state, false, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    bool failed = state == WEFT_FUTURE_DONE && f->error != 0;
    for (struct weft__fut_node *n = f->nodes; n != NULL; n = n->next) {
        n->linked = false;
        notify_node(n, failed);
    }
    f->nodes = NULL;
    struct weft__fut_cb *cbs = f->cbs;
    f->cbs = f->cbs_last = NULL;
    weft_lock_release(&f->mu);
    if (old & WEFT__FUT_WAITING)
        (void)weft_futex_wake(&f->word, INT32_MAX, WEFT_PRIVATE);
    /* A callback may drop the last reference the caller knew of; the
     * completer's own reference keeps f alive through the loop. */
    for (struct weft__fut_cb *c = cbs, *next; c != NULL; c = next) {
        next = c->next;
        c->cb(f, c->arg);
        free(c);
    }
    return 0;
}

#define FROM_PENDING (1u << WEFT_FUTURE_PENDING)
#define FROM_LIVE ((1u << WEFT_FUTURE_PENDING) | (1u << WEFT_FUTURE_RUNNING))

int weft_future_cancel(weft_future *f)
{
    weft_lock_acquire(&f->mu);
    uint32_t s = load_state(f);
    if (s == WEFT_FUTURE_CANCELLED) {
        weft_lock_release(&f->mu);
        return 0;
    }
    int rc = finish_locked(f, WEFT_FUTURE_CANCELLED, FROM_PENDING);
    if (rc != 0) {
        /* Lost to set_running or already done: the outcome is not ours. */
        return EBUSY;
    }
    return 0;
}

int weft_future_set_running(weft_future *f)
{
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 10 /* seeded bug (ci/mutants): a cancel between the check and the
                    store is overwritten */
    uint32_t seen = __atomic_load_n(&f->word, __ATOMIC_ACQUIRE);
    if ((seen & WEFT__FUT_STATE) == WEFT_FUTURE_CANCELLED)
        return ECANCELED;
    if ((seen & WEFT__FUT_STATE) != WEFT_FUTURE_PENDING)
        return EINVAL;
    seen = __atomic_load_n(&f->word, __ATOMIC_RELAXED);
    __atomic_store_n(&f->word, (seen & ~WEFT__FUT_STATE) | WEFT_FUTURE_RUNNING, __ATOMIC_RELEASE);
    return 0;
#endif
    uint32_t old = __atomic_load_n(&f->word, __ATOMIC_RELAXED);
    do {
        uint32_t s = old & WEFT__FUT_STATE;
        if (s == WEFT_FUTURE_CANCELLED)
            return ECANCELED;
        if (s != WEFT_FUTURE_PENDING)
            return EINVAL;
    } while (!__atomic_compare_exchange_n(&f->word, &old,
                                          (old & ~WEFT__FUT_STATE) | WEFT_FUTURE_RUNNING, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return 0;
}

/* Complete f with the outcome given. here: refuse (EAGAIN) if f has done
 * callbacks. early: if not NULL and f has no done callbacks, add one to
 * *early just before f becomes done (and set *raised); see
 * weft__future_complete_task. */
static int complete(weft_future *f, int error, void *value, size_t size, void (*value_free)(void *),
                    bool worker, pid_t pid, int exitcode, bool here, uint32_t *early,
                    bool *raised)
{
    weft_lock_acquire(&f->mu);
    if (load_state(f) >= WEFT_FUTURE_DONE) {
        weft_lock_release(&f->mu);
        return EINVAL;
    }
    if (here && f->cbs != NULL) {
        weft_lock_release(&f->mu);
        return EAGAIN;
    }
    f->error = error;
    f->value = value;
    f->size = size;
    f->value_free = value_free;
    f->has_worker = worker;
    f->worker_pid = pid;
    f->worker_exit = exitcode;
    if (early != NULL && f->cbs == NULL) {
        /* Ordered before the release that makes f done. */
        __atomic_fetch_add(early, 1u, __ATOMIC_RELAXED);
        *raised = true;
    }
    return finish_locked(f, WEFT_FUTURE_DONE, FROM_LIVE);
}

int weft_future_set_result(weft_future *f, void *value, size_t size, void (*value_free)(void *))
{
    return complete(f, 0, value, size, value_free, false, 0, 0, false, NULL, NULL);
}

int weft_future_set_error(weft_future *f, int error)
{
    if (error == 0)
        return EINVAL;
    return complete(f, error, NULL, 0, NULL, false, 0, 0, false, NULL, NULL);
}

int weft_future_set_worker_error(weft_future *f, int error, pid_t pid, int exitcode)
{
    if (error == 0)
        return EINVAL;
    return complete(f, error, NULL, 0, NULL, true, pid, exitcode, false, NULL, NULL);
}

int weft__future_complete_here(weft_future *f, int error, void *value, size_t size,
                               void (*value_free)(void *))
{
    return complete(f, error, value, size, value_free, false, 0, 0, true, NULL, NULL);
}

bool weft__future_complete_task(weft_future *f, int error, void *value, uint32_t *finishing)
{
    bool raised = false;
    (void)complete(f, error, value, 0, NULL, false, 0, 0, false, finishing, &raised);
    return raised;
}

bool weft__future_pin(weft_future *f, uint32_t *count)
{
    weft_lock_acquire(&f->mu);
    bool live = load_state(f) < WEFT_FUTURE_DONE;
    if (live)
        __atomic_fetch_add(count, 1u, __ATOMIC_RELAXED);
    weft_lock_release(&f->mu);
    return live;
}

int weft_future_add_done_callback(weft_future *f, weft_future_cb cb, void *arg)
{
    if (cb == NULL)
        return EINVAL;
    weft_lock_acquire(&f->mu);
    if (load_state(f) >= WEFT_FUTURE_DONE) {
        weft_lock_release(&f->mu);
        cb(f, arg);
        return 0;
    }
    struct weft__fut_cb *c = (struct weft__fut_cb *)malloc(sizeof *c);
    if (c == NULL) {
        weft_lock_release(&f->mu);
        return ENOMEM;
    }
    c->next = NULL;
    c->cb = cb;
    c->arg = arg;
    if (f->cbs_last != NULL)
        f->cbs_last->next = c;
    else
        f->cbs = c;
    f->cbs_last = c;
    weft_lock_release(&f->mu);
    return 0;
}

int weft_future_wait_until(weft_future *f, int64_t deadline_ns)
{
    if (f->pool != NULL && load_state(f) == WEFT_FUTURE_PENDING)
        (void)weft__tpool_help(f);
    if (f->ppool != NULL && load_state(f) < WEFT_FUTURE_DONE)
        weft__ppool_help(f, deadline_ns);
    /* Spin, but not while the task's thread is on this CPU: it cannot run
     * until this thread stops. Yield to it instead (unless the deadline
     * has passed), marking the word so that it yields back once it has
     * completed f (as it starts its next task or goes idle); a yield that
     * brings no result (the thread was not ready to run here) leaves the
     * wait to the futex. */
    uint32_t here = f->spin > 0 ? weft__pool_cpu() : 0;
    for (uint32_t i = 0; i < f->spin; i++) {
        if (load_state(f) >= WEFT_FUTURE_DONE)
            return 0;
        if (here != 0 && __atomic_load_n(&f->cpu, __ATOMIC_RELAXED) == here) {
            if (deadline_ns != WEFT_DEADLINE_NEVER && weft_time_now_ns() >= deadline_ns)
                break; /* a poll: no time to give away */
            __atomic_store_n(&f->yield_cpu, here, __ATOMIC_RELAXED);
            (void)__atomic_fetch_or(&f->word, WEFT__FUT_YIELDED, __ATOMIC_RELEASE);
            (void)sched_yield();
            if (load_state(f) >= WEFT_FUTURE_DONE)
                return 0;
            break;
        }
        weft__pool_relax();
    }
    for (;;) {
        uint32_t old = __atomic_load_n(&f->word, __ATOMIC_ACQUIRE);
        if ((old & WEFT__FUT_STATE) >= WEFT_FUTURE_DONE)
            return 0;
        if (!(old & WEFT__FUT_WAITING) &&
            !__atomic_compare_exchange_n(&f->word, &old, old | WEFT__FUT_WAITING, false,
                                         __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        if (weft_futex_wait(&f->word, old | WEFT__FUT_WAITING, deadline_ns, WEFT_PRIVATE) ==
            ETIMEDOUT)
            return load_state(f) >= WEFT_FUTURE_DONE ? 0 : ETIMEDOUT;
    }
}

int weft_future_wait_for(weft_future *f, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_future_wait_until(f, weft_time_deadline_ns(timeout_ns));
}

int weft_future_error(const weft_future *f)
{
    uint32_t s = load_state(f);
    if (s < WEFT_FUTURE_DONE)
        return EINPROGRESS;
    return s == WEFT_FUTURE_CANCELLED ? ECANCELED : f->error;
}

int weft_future_result_until(weft_future *f, int64_t deadline_ns, void **value)
{
    int rc = weft_future_wait_until(f, deadline_ns);
    if (rc != 0)
        return rc;
    rc = weft_future_error(f);
    if (rc == 0 && value != NULL)
        *value = f->value;
    return rc;
}

int weft_future_result_for(weft_future *f, int64_t timeout_ns, void **value)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_future_result_until(f, weft_time_deadline_ns(timeout_ns), value);
}

int weft_future_result(weft_future *f, void **value)
{
    return weft_future_result_until(f, WEFT_DEADLINE_NEVER, value);
}

size_t weft_future_size(const weft_future *f)
{
    if (load_state(f) != WEFT_FUTURE_DONE || f->error != 0)
        return 0;
    return f->size;
}

int weft_future_worker(const weft_future *f, pid_t *pid, int *exitcode)
{
    if (load_state(f) != WEFT_FUTURE_DONE || !f->has_worker)
        return ENOENT;
    if (pid != NULL)
        *pid = f->worker_pid;
    if (exitcode != NULL)
        *exitcode = f->worker_exit;
    return 0;
}

/* Thread-safe texts (glibc 2.32+), where strerror and strsignal are not. */
static const char *error_text(int e)
{
    const char *t = strerrordesc_np(e);
    return t != NULL ? t : "unknown error";
}

static const char *signal_text(int sig)
{
    const char *t = sigdescr_np(sig);
    return t != NULL ? t : "unknown signal";
}

size_t weft_future_describe(const weft_future *f, char *buf, size_t size)
{
    int n;
    uint32_t s = load_state(f);
    if (buf == NULL)
        size = 0;
    if (s == WEFT_FUTURE_PENDING)
        n = snprintf(buf, size, "pending");
    else if (s == WEFT_FUTURE_RUNNING)
        n = snprintf(buf, size, "running");
    else if (s == WEFT_FUTURE_CANCELLED)
        n = snprintf(buf, size, "cancelled");
    else if (f->error == 0)
        n = snprintf(buf, size, "done");
    else if (f->has_worker && f->worker_exit < 0)
        n = snprintf(buf, size, "error %d (%s): worker %ld ended by signal %d (%s) while running the task",
                     f->error, error_text(f->error), (long)f->worker_pid, -f->worker_exit,
                     signal_text(-f->worker_exit));
    else if (f->has_worker)
        n = snprintf(buf, size, "error %d (%s): worker %ld exited with status %d while running the task",
                     f->error, error_text(f->error), (long)f->worker_pid, f->worker_exit);
    else
        n = snprintf(buf, size, "error %d (%s)", f->error, error_text(f->error));
    return n < 0 ? 0 : (size_t)n;
}

/* ---- set waiters ---- */

/* Register node i of w on f; notifies at once if f is already done. */
static void node_register(weft_future *f, struct weft__fut_node *n, struct fut_waiter *w, size_t i)
{
    n->w = w;
    n->index = i;
    n->prev = NULL;
    weft_lock_acquire(&f->mu);
    uint32_t s = load_state(f);
    if (s >= WEFT_FUTURE_DONE) {
        n->linked = false;
        notify_node(n, s == WEFT_FUTURE_DONE && f->error != 0);
    } else {
        n->linked = true;
        n->next = f->nodes;
        if (f->nodes != NULL)
            f->nodes->prev = n;
        f->nodes = n;
    }
    weft_lock_release(&f->mu);
}

static void node_unregister(weft_future *f, struct weft__fut_node *n)
{
    weft_lock_acquire(&f->mu);
    if (n->linked) {
        if (n->prev != NULL)
            n->prev->next = n->next;
        else
            f->nodes = n->next;
        if (n->next != NULL)
            n->next->prev = n->prev;
        n->linked = false;
    }
    weft_lock_release(&f->mu);
}

/* Let a pool worker run one pending task of its own pool before sleeping;
 * true if it ran one (the caller looks at its condition again: a wait for
 * the first completion must not run the whole set). */
static bool help_one(weft_future *const *fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fs[i]->pool != NULL && load_state(fs[i]) == WEFT_FUTURE_PENDING &&
            weft__tpool_help(fs[i]))
            return true;
    return false;
}

static bool met(const struct fut_waiter *w, size_t n, weft_future_when when)
{
    switch (when) {
    case WEFT_FIRST_COMPLETED:
        return w->ndone > 0;
    case WEFT_FIRST_EXCEPTION:
        return w->nerror > 0 || w->ndone == n;
    case WEFT_ALL_COMPLETED:
    default:
        return w->ndone == n;
    }
}

int weft_future_wait_set_until(weft_future *const *fs, size_t n, weft_future_when when,
                               int64_t deadline_ns, bool *done, size_t *ndone)
{
    if (when != WEFT_FIRST_COMPLETED && when != WEFT_FIRST_EXCEPTION && when != WEFT_ALL_COMPLETED)
        return EINVAL;
    if (n > 0 && fs == NULL)
        return EINVAL;
    for (size_t i = 0; i < n; i++)
        if (fs[i] == NULL)
            return EINVAL;
    int rc = 0;
    if (n > 0) {
        struct weft__fut_node *nodes = (struct weft__fut_node *)calloc(n, sizeof *nodes);
        if (nodes == NULL)
            return ENOMEM;
        struct fut_waiter w;
        memset(&w, 0, sizeof w);
        weft_lock_init(&w.mu);
        for (size_t i = 0; i < n; i++)
            node_register(fs[i], &nodes[i], &w, i);
        for (;;) {
            uint32_t seen = __atomic_load_n(&w.seq, __ATOMIC_ACQUIRE);
            weft_lock_acquire(&w.mu);
            bool ok = met(&w, n, when);
            weft_lock_release(&w.mu);
            if (ok)
                break;
            if (rc == ETIMEDOUT)
                break;
            if (help_one(fs, n))
                continue;
            if (weft_futex_wait(&w.seq, seen, deadline_ns, WEFT_PRIVATE) == ETIMEDOUT)
                rc = ETIMEDOUT; /* look once more, then give up */
        }
        for (size_t i = 0; i < n; i++)
            node_unregister(fs[i], &nodes[i]);
        free(nodes);
        (void)weft_lock_destroy(&w.mu);
        if (rc == ETIMEDOUT && met(&w, n, when))
            rc = 0;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        bool d = load_state(fs[i]) >= WEFT_FUTURE_DONE;
        if (done != NULL)
            done[i] = d;
        count += d;
    }
    if (ndone != NULL)
        *ndone = count;
    return rc;
}

/* ---- as_completed ---- */

struct weft_as_completed {
    struct fut_waiter w;
    size_t n;      /* distinct futures */
    size_t next;   /* ready entries yielded */
    weft_future **fs;
    struct weft__fut_node *nodes;
};

static int cmp_ptr(const void *a, const void *b)
{
    const weft_future *const *x = (const weft_future *const *)a;
    const weft_future *const *y = (const weft_future *const *)b;
    return (*x > *y) - (*x < *y);
}

int weft_as_completed_create(weft_as_completed **out, weft_future *const *fs, size_t n)
{
    if (out == NULL || (n > 0 && fs == NULL))
        return EINVAL;
    for (size_t i = 0; i < n; i++)
        if (fs[i] == NULL)
            return EINVAL;
    size_t m1 = n ? n : 1;
    weft_as_completed *it = (weft_as_completed *)calloc(1, sizeof *it);
    weft_future **sorted = (weft_future **)malloc(m1 * sizeof(weft_future *));
    /* Distinct futures in set order: a sorted copy finds each future's
     * first copy, whose taken[] flag says whether it is in already. */
    bool *taken = (bool *)calloc(m1, sizeof *taken);
    if (it != NULL) {
        it->fs = (weft_future **)malloc(m1 * sizeof(weft_future *));
        it->nodes = (struct weft__fut_node *)calloc(m1, sizeof *it->nodes);
        it->w.ready = (size_t *)malloc(m1 * sizeof *it->w.ready);
    }
    if (it == NULL || sorted == NULL || taken == NULL || it->fs == NULL || it->nodes == NULL ||
        it->w.ready == NULL) {
        if (it != NULL) {
            free(it->fs);
            free(it->nodes);
            free(it->w.ready);
        }
        free(it);
        free(sorted);
        free(taken);
        return ENOMEM;
    }
    if (n > 0)
        memcpy(sorted, fs, n * sizeof(weft_future *));
    qsort(sorted, n, sizeof(weft_future *), cmp_ptr);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        weft_future **hit = (weft_future **)bsearch(&fs[i], sorted, n, sizeof(weft_future *), cmp_ptr);
        while (hit > sorted && hit[-1] == fs[i])
            hit--;
        size_t k = (size_t)(hit - sorted);
        if (taken[k])
            continue;
        taken[k] = true;
        it->fs[m++] = weft_future_ref(fs[i]);
    }
    free(taken);
    free(sorted);
    it->n = m;
    weft_lock_init(&it->w.mu);
    for (size_t i = 0; i < m; i++)
        node_register(it->fs[i], &it->nodes[i], &it->w, i);
    *out = it;
    return 0;
}

int weft_as_completed_next_until(weft_as_completed *it, int64_t deadline_ns, weft_future **f)
{
    bool timed_out = false;
    for (;;) {
        uint32_t seen = __atomic_load_n(&it->w.seq, __ATOMIC_ACQUIRE);
        weft_lock_acquire(&it->w.mu);
        size_t ready = it->w.nready;
        weft_lock_release(&it->w.mu);
        if (it->next < ready) {
            *f = it->fs[it->w.ready[it->next++]];
            return 0;
        }
        if (it->next == it->n)
            return ENOENT;
        if (timed_out)
            return ETIMEDOUT;
        if (help_one(it->fs, it->n))
            continue;
        if (weft_futex_wait(&it->w.seq, seen, deadline_ns, WEFT_PRIVATE) == ETIMEDOUT)
            timed_out = true;
    }
}

void weft_as_completed_free(weft_as_completed *it)
{
    if (it == NULL)
        return;
    for (size_t i = 0; i < it->n; i++) {
        node_unregister(it->fs[i], &it->nodes[i]);
        weft_future_free(it->fs[i]);
    }
    (void)weft_lock_destroy(&it->w.mu);
    free(it->w.ready);
    free(it->nodes);
    free(it->fs);
    free(it);
}
