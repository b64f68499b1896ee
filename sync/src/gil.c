/* gil.c - weft_gil: CPython's GIL (faithful mode) and a FIFO-handoff mode
 * without its convoy effect (fair mode).
 *
 * Design / invariants
 *   `locked` and `holder` change only under mu; `drop_request` and the
 *   counters are atomics read without it. `holder` is the last holder, kept
 *   after a release (it is how a switch is told from a re-take).
 *
 *   Faithful mode follows CPython's take_gil/drop_gil (Python/ceval_gil.c).
 *   A waiter sleeps on `cond` for one interval at a time. When an interval
 *   ends with the GIL still held and switch_number unchanged, it sets
 *   drop_request; a switch restarts its interval. The new holder clears the
 *   request. A forced drop (yield) releases, wakes one waiter, and then waits
 *   on switch_cond until `holder` is some other thread: the taker sets holder
 *   under switch_mu and signals it, so the wait cannot miss it. If every
 *   waiter has gone (only a deadline can make one leave), the yielder stops
 *   waiting: it checks before each wait and at each interval tick. A
 *   voluntary release makes the same switch wait only while a drop request
 *   is pending, as CPython's drop_gil does. Waiters are not ordered: whichever the kernel wakes first and wins mu takes the GIL.
 *
 *   Fair mode (the design choice, and why). The convoy effect comes from two
 *   things: a thread back from I/O waits a whole interval before it may ask
 *   for the GIL, and even then any thread may barge in. Priority scheduling
 *   by estimated run time (the BFS patch proposed for bpo-7946) fixes both
 *   but needs a clock per bytecode and a tuned heuristic; Ruby's GVL and
 *   OCaml's master lock use a FIFO queue with direct handoff. weft takes the
 *   queue and adds one bit of classification: a thread whose last hold ended
 *   voluntarily within one interval is I/O-bound. So:
 *     - Waiters queue in FIFO order, in two classes: priority (I/O-bound)
 *       and normal. A release hands the GIL to the head of the priority queue
 *       unless the normal head has waited two intervals (so CPU-bound threads
 *       cannot starve), else to the normal head: `holder` and the waiter's
 *       word are set under mu, and the GIL is never free while anyone waits
 *       (locked == 0 implies both queues are empty). No barging means no
 *       forced-switch wait: a yielder queues itself behind the new holder
 *       in the same critical section.
 *     - A priority waiter sets drop_request at once; a normal waiter after
 *       one interval without a switch, as in faithful mode. After a
 *       priority grant drop_request stays 1 while priority waiters remain;
 *       after a normal grant it is 0, so that holder gets a whole interval.
 *     - Between CPU-bound threads this is the faithful schedule (switch
 *       after each interval), so throughput is the same; an I/O-bound thread
 *       gets the GIL within one check of the holder instead of an interval.
 *   A waiter spins on its word for a few microseconds, then sleeps on it
 *   (W_SLEEP); the granter exchanges W_GRANTED in and makes the futex wake
 *   only if it took out W_SLEEP, still under mu: an exiting thread frees its
 *   word only under mu, so the wake never touches freed memory.
 *
 *   Happens-before: every change of holder goes through mu (faithful) or
 *   the waiter's word (release exchange, acquire load; Helgrind is told), so
 *   what one holder wrote is visible to the next. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/gil.h"

#include <errno.h>
#include <string.h>

#include "annotate.h"
#include "atomic.h"
#include "futex.h"
#include "gilimpl.h"
#include "weft/time.h"

enum { PRIO = 0, NORMAL = 1, HEAD = 0, TAIL = 1 };

/* How long a fair-mode waiter spins before it sleeps. */
#ifndef WEFT_GIL_SPIN_NS
#define WEFT_GIL_SPIN_NS 20000
#endif
#define SPIN_NS WEFT_GIL_SPIN_NS

static int64_t now_ns(void)
{
    return weft_time_now_ns();
}

static int64_t interval_of(const weft_gil *g)
{
    int64_t iv = __atomic_load_n(&g->interval_ns, __ATOMIC_RELAXED);
    return iv < WEFT_GIL_MIN_INTERVAL_NS ? WEFT_GIL_MIN_INTERVAL_NS : iv;
}

static void emit(weft_gil *g, unsigned ev)
{
    if ((g->hook_events & ev) != 0)
        g->hook(g, ev, g->hook_arg);
}

static struct weft__gil_member *holder_of(const weft_gil *g)
{
    return __atomic_load_n(&g->holder, __ATOMIC_RELAXED);
}

static bool is_locked(const weft_gil *g)
{
    return weft__load_relaxed(&g->locked) != 0;
}

/* Whether m's thread holds g: its own flag, set and cleared by itself as it
 * takes and lets go, so no other thread's progress can make it look held. */
static bool holds(const struct weft__gil_member *m)
{
    return m != NULL && m->held;
}

static uint32_t waiters_of(const weft_gil *g)
{
    return weft__load_relaxed(&g->waiters);
}

static void set_waiters(weft_gil *g, uint32_t n) WEFT_REQUIRES(g->mu)
{
    weft__store_relaxed(&g->waiters, n);
}

/* Set the drop request (mu held); returns its number, which lets the
 * requester withdraw it later only if it is still its own. */
static uint64_t request_drop(weft_gil *g, struct weft__gil_member *m)
    WEFT_REQUIRES(g->mu)
{
    weft__store_relaxed(&g->drop_request, 1);
    uint64_t seq = ++g->drop_seq;
    weft__gil_add(&g->stats.drop_requests, 1);
    weft__gil_add(&m->stats.drop_requests, 1);
    emit(g, WEFT_GIL_EV_DROP_REQUEST);
    return seq;
}

/* Withdraw the caller's request `seq` (mu held), if nobody answered it (no
 * switch since switch_at) and nobody made a newer one. */
static void withdraw_drop(weft_gil *g, uint64_t seq, uint64_t switch_at)
    WEFT_REQUIRES(g->mu)
{
    if (seq != 0 && g->drop_seq == seq && g->switch_number == switch_at)
        weft__store_relaxed(&g->drop_request, 0);
}

/* Make m the holder; true if that is a switch. */
static bool set_holder(weft_gil *g, struct weft__gil_member *m)
    WEFT_REQUIRES(g->mu)
{
    weft__store_relaxed(&g->locked, 1);
    if (holder_of(g) == m)
        return false;
    __atomic_store_n(&g->holder, m, __ATOMIC_RELAXED);
    g->switch_number++;
    return true;
}

/* The new holder's bookkeeping; waited_since is 0 for an uncontended take. */
static void took(weft_gil *g, struct weft__gil_member *m, bool switched,
                 int64_t waited_since)
{
    int64_t t = now_ns();
    m->held = true;
    g->held_since = t;
    weft__gil_add(&g->stats.acquisitions, 1);
    weft__gil_add(&m->stats.acquisitions, 1);
    if (switched) {
        weft__gil_add(&g->stats.switches, 1);
        weft__gil_add(&m->stats.switches, 1);
    }
    if (waited_since != 0) {
        weft__gil_add(&g->stats.contended, 1);
        weft__gil_add(&m->stats.contended, 1);
        weft__gil_count_wait(&g->stats, t - waited_since);
        weft__gil_count_wait(&m->stats, t - waited_since);
    }
}

/* The holder's bookkeeping as it lets go. */
static void letting_go(weft_gil *g, struct weft__gil_member *m, bool forced)
{
    int64_t held = now_ns() - g->held_since;
    weft__gil_add_ns(&g->stats.held_ns, held);
    weft__gil_add_ns(&m->stats.held_ns, held);
    if (forced) {
        weft__gil_add(&g->stats.forced_drops, 1);
        weft__gil_add(&m->stats.forced_drops, 1);
    }
    m->io_bound = !forced && held < interval_of(g);
    m->held = false;
}

/* ---- faithful mode ---------------------------------------------------- */

static int take_faithful(weft_gil *g, struct weft__gil_member *m,
                         int64_t deadline_ns, bool yielder)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)weft_lock_acquire(&g->mu);
    if (yielder)
        g->yielders--;
    int64_t since = 0;
    if (is_locked(g)) {
        uint64_t req_seq = 0, req_switch = 0;
        since = now_ns();
        set_waiters(g, waiters_of(g) + 1);
        emit(g, WEFT_GIL_EV_REQUEST);
        while (is_locked(g)) {
            uint64_t saved = g->switch_number;
            int64_t iv_end = now_ns() + interval_of(g);
            (void)weft_cond_wait_until(&g->cond, &g->mu,
                                       iv_end < deadline_ns ? iv_end : deadline_ns);
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 8 /* seeded bug (ci/mutants): a waiter stops waiting after one wake */
            break;
#endif
            if (!is_locked(g))
                break;
            int64_t t = now_ns();
            if (t >= iv_end && g->switch_number == saved &&
                weft__load_relaxed(&g->drop_request) == 0) {
                req_seq = request_drop(g, m);
                req_switch = saved;
            }
            if (t >= deadline_ns) {
                set_waiters(g, waiters_of(g) - 1);
                withdraw_drop(g, req_seq, req_switch);
                weft__gil_add(&g->stats.timeouts, 1);
                weft__gil_add(&m->stats.timeouts, 1);
                (void)weft_lock_release(&g->mu);
                return ETIMEDOUT;
            }
        }
        set_waiters(g, waiters_of(g) - 1);
    }
    (void)weft_lock_acquire(&g->switch_mu);
    bool switched = set_holder(g, m);
    (void)weft_cond_notify(&g->switch_cond, 1);
    (void)weft_lock_release(&g->switch_mu);
    weft__store_relaxed(&g->drop_request, 0);
    took(g, m, switched, since);
    (void)weft_lock_release(&g->mu);
    emit(g, WEFT_GIL_EV_ACQUIRED);
    return 0;
}

/* Release; then, for a forced drop or while a drop request is pending (as
 * CPython's drop_gil), wait until another thread took the GIL. A forced
 * dropper counts as a yielder until its re-take (destroy sees it). */
static void drop_faithful(weft_gil *g, struct weft__gil_member *m, bool forced)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    emit(g, WEFT_GIL_EV_RELEASED);
    letting_go(g, m, forced);
    (void)weft_lock_acquire(&g->mu);
    if (forced)
        g->yielders++;
    weft__store_relaxed(&g->locked, 0);
    (void)weft_cond_notify(&g->cond, 1);
    (void)weft_lock_release(&g->mu);
    if (!forced && weft__load_relaxed(&g->drop_request) == 0)
        return;
    (void)weft_lock_acquire(&g->switch_mu);
    if (holder_of(g) == m) {
        weft__store_relaxed(&g->drop_request, 0);
        /* Until another thread took it - or everyone who could take it
         * has given up (only a deadline makes a waiter leave). */
        while (holder_of(g) == m && (is_locked(g) || waiters_of(g) != 0))
            (void)weft_cond_wait_until(&g->switch_cond, &g->switch_mu,
                                       now_ns() + interval_of(g));
    }
    (void)weft_lock_release(&g->switch_mu);
}

/* ---- fair mode -------------------------------------------------------- */

static void enqueue(weft_gil *g, struct weft__gil_waiter *w) WEFT_REQUIRES(g->mu)
{
    struct weft__gil_waiter **q = g->queue[w->prio ? PRIO : NORMAL];
    w->next = NULL;
    if (q[TAIL] != NULL)
        q[TAIL]->next = w;
    else
        q[HEAD] = w;
    q[TAIL] = w;
    set_waiters(g, waiters_of(g) + 1);
}

static void unqueue(weft_gil *g, struct weft__gil_waiter *w) WEFT_REQUIRES(g->mu)
{
    struct weft__gil_waiter **q = g->queue[w->prio ? PRIO : NORMAL];
    struct weft__gil_waiter *prev = NULL;
    for (struct weft__gil_waiter *p = q[HEAD]; p != NULL; prev = p, p = p->next) {
        if (p != w)
            continue;
        if (prev != NULL)
            prev->next = w->next;
        else
            q[HEAD] = w->next;
        if (q[TAIL] == w)
            q[TAIL] = prev;
        set_waiters(g, waiters_of(g) - 1);
        return;
    }
}

/* Hand the GIL to the next waiter, or free it if there is none. Called by
 * the holder, or for an exited holder, with mu held. */
static void handoff(weft_gil *g, int64_t now) WEFT_REQUIRES(g->mu)
{
    struct weft__gil_waiter *prio = g->queue[PRIO][HEAD];
    struct weft__gil_waiter *norm = g->queue[NORMAL][HEAD];
    struct weft__gil_waiter *w = prio;
    if (w == NULL || (norm != NULL && now - norm->since >= 2 * interval_of(g)))
        w = norm;
    if (w == NULL) {
        weft__store_relaxed(&g->locked, 0);
        weft__store_relaxed(&g->drop_request, 0);
        return;
    }
    unqueue(g, w);
    w->switched = set_holder(g, w->member);
    /* After a priority grant the next priority waiter asks at once; after
     * a normal one (none left, or the oldest had waited too long) the
     * priority waiters ask again after an interval: a whole slice. */
    weft__store_relaxed(&g->drop_request, w->prio && g->queue[PRIO][HEAD] != NULL);
    WEFT__ANN_HAPPENS_BEFORE(&w->word);
    if (weft__xchg_release(&w->word, W_GRANTED) == W_SLEEP)
        (void)weft__futex_wake(&w->word, 1, false);
}

/* Wait until the handoff makes w's thread the holder, requesting a drop as
 * the mode says; on the deadline, leave the queue. */
static int wait_granted(weft_gil *g, struct weft__gil_member *m,
                        int64_t since, int64_t deadline_ns, uint64_t req_seq,
                        uint64_t saved) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct weft__gil_waiter *w = &m->waiter;
    uint64_t req_switch = saved;
    int64_t iv_end = since + interval_of(g);
    int64_t spin_end = since + SPIN_NS;
    for (unsigned i = 1; weft__load_acquire(&w->word) != W_GRANTED; i++) {
        weft__cpu_relax();
        if ((i & 63) == 0 && now_ns() >= spin_end)
            break;
    }
    while (weft__load_acquire(&w->word) != W_GRANTED) {
        uint32_t v = W_WAIT;
        if (weft__cas_acquire(&w->word, &v, W_SLEEP) || v == W_SLEEP)
            (void)weft__futex_wait(&w->word, W_SLEEP,
                                   iv_end < deadline_ns ? iv_end : deadline_ns, false);
        if (weft__load_acquire(&w->word) == W_GRANTED)
            break;
        int64_t t = now_ns();
        if (t < iv_end && t < deadline_ns)
            continue;
        (void)weft_lock_acquire(&g->mu);
        if (weft__load_relaxed(&w->word) == W_GRANTED) {
            (void)weft_lock_release(&g->mu);
            break;
        }
        if (t >= iv_end) {
            if (g->switch_number == saved &&
                weft__load_relaxed(&g->drop_request) == 0) {
                req_seq = request_drop(g, m);
                req_switch = saved;
            }
            saved = g->switch_number;
            iv_end = t + interval_of(g);
        }
        if (t >= deadline_ns) {
            unqueue(g, w);
            if (g->queue[PRIO][HEAD] == NULL)
                withdraw_drop(g, req_seq, req_switch);
            weft__gil_add(&g->stats.timeouts, 1);
            weft__gil_add(&m->stats.timeouts, 1);
            (void)weft_lock_release(&g->mu);
            return ETIMEDOUT;
        }
        (void)weft_lock_release(&g->mu);
    }
    WEFT__ANN_HAPPENS_AFTER(&w->word);
    took(g, m, w->switched, since);
    emit(g, WEFT_GIL_EV_ACQUIRED);
    return 0;
}

/* Queue m's waiter (mu held); returns the number of the drop request it
 * made, or 0. */
static uint64_t join_queue(weft_gil *g, struct weft__gil_member *m, bool prio,
                           int64_t since) WEFT_REQUIRES(g->mu)
{
    struct weft__gil_waiter *w = &m->waiter;
    weft__store_relaxed(&w->word, W_WAIT);
    w->prio = prio;
    w->switched = false;
    w->since = since;
    enqueue(g, w);
    emit(g, WEFT_GIL_EV_REQUEST);
    if (prio && weft__load_relaxed(&g->drop_request) == 0)
        return request_drop(g, m);
    return 0;
}

static int take_fair(weft_gil *g, struct weft__gil_member *m,
                     int64_t deadline_ns) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)weft_lock_acquire(&g->mu);
    if (!is_locked(g)) { /* then no one waits either */
        bool switched = set_holder(g, m);
        took(g, m, switched, 0);
        (void)weft_lock_release(&g->mu);
        emit(g, WEFT_GIL_EV_ACQUIRED);
        return 0;
    }
    int64_t since = now_ns();
    if (since >= deadline_ns) { /* one attempt, made */
        weft__gil_add(&g->stats.timeouts, 1);
        weft__gil_add(&m->stats.timeouts, 1);
        (void)weft_lock_release(&g->mu);
        return ETIMEDOUT;
    }
    uint64_t req_seq = join_queue(g, m, m->io_bound, since);
    uint64_t saved = g->switch_number;
    (void)weft_lock_release(&g->mu);
    return wait_granted(g, m, since, deadline_ns, req_seq, saved);
}

static void release_fair(weft_gil *g, struct weft__gil_member *m)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    emit(g, WEFT_GIL_EV_RELEASED);
    letting_go(g, m, false);
    (void)weft_lock_acquire(&g->mu);
    handoff(g, now_ns());
    (void)weft_lock_release(&g->mu);
}

static int yield_fair(weft_gil *g, struct weft__gil_member *m)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)weft_lock_acquire(&g->mu);
    if (waiters_of(g) == 0) {
        weft__store_relaxed(&g->drop_request, 0);
        (void)weft_lock_release(&g->mu);
        return 0;
    }
    emit(g, WEFT_GIL_EV_RELEASED);
    letting_go(g, m, true);
    int64_t t = now_ns();
    handoff(g, t);
    (void)join_queue(g, m, false, t);
    uint64_t saved = g->switch_number;
    (void)weft_lock_release(&g->mu);
    return wait_granted(g, m, t, WEFT_DEADLINE_NEVER, 0, saved);
}

/* ---- the public functions --------------------------------------------- */

int weft_gil_init(weft_gil *g, const weft_gil_opts *opts)
{
    weft_gil_opts o;
    memset(&o, 0, sizeof o);
    if (opts != NULL)
        o = *opts;
    const unsigned all = WEFT_GIL_EV_REQUEST | WEFT_GIL_EV_ACQUIRED |
                         WEFT_GIL_EV_RELEASED | WEFT_GIL_EV_DROP_REQUEST;
    if ((o.mode != WEFT_GIL_FAITHFUL && o.mode != WEFT_GIL_FAIR) ||
        o.interval_ns < 0 || (o.hook_events & ~all) != 0 ||
        (o.hook_events != 0 && o.hook == NULL))
        return EINVAL;
    memset(g, 0, sizeof *g);
    g->mode = o.mode;
    g->interval_ns = o.interval_ns != 0 ? o.interval_ns : WEFT_GIL_DEFAULT_INTERVAL_NS;
    g->hook_events = o.hook_events;
    g->hook = o.hook;
    g->hook_arg = o.hook_arg;
    /* Fields read with atomics outside mu: Helgrind does not model atomics. */
    WEFT__HG_IGNORE(&g->drop_request, sizeof g->drop_request + sizeof g->locked);
    WEFT__HG_IGNORE(&g->interval_ns, sizeof g->interval_ns);
    WEFT__HG_IGNORE(&g->waiters, sizeof g->waiters);
    WEFT__HG_IGNORE(&g->holder, sizeof g->holder);
    WEFT__HG_IGNORE(&g->stats, sizeof g->stats);
    weft_lock_init(&g->mu);
    weft_lock_init(&g->switch_mu);
    (void)weft_cond_init(&g->cond, 0);
    (void)weft_cond_init(&g->switch_cond, 0);
    weft__gil_register(g);
    return 0;
}

int weft_gil_destroy(weft_gil *g)
{
    int r = weft__gil_unregister(g);
    if (r != 0)
        return r;
    (void)weft_cond_destroy(&g->cond);
    (void)weft_cond_destroy(&g->switch_cond);
    (void)weft_lock_destroy(&g->mu);
    (void)weft_lock_destroy(&g->switch_mu);
    return 0;
}

static int take(weft_gil *g, int64_t deadline_ns) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct weft__gil_member *m = weft__gil_self(g, true);
    if (m == NULL)
        return ENOMEM;
    if (holds(m))
        return EDEADLK;
    return g->mode == WEFT_GIL_FAIR ? take_fair(g, m, deadline_ns)
                                    : take_faithful(g, m, deadline_ns, false);
}

int weft_gil_acquire(weft_gil *g) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return take(g, WEFT_DEADLINE_NEVER);
}

int weft_gil_acquire_until(weft_gil *g, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return take(g, deadline_ns);
}

int weft_gil_acquire_for(weft_gil *g, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    return take(g, weft_time_deadline_ns(timeout_ns));
}

int weft_gil_release(weft_gil *g) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct weft__gil_member *m = weft__gil_self(g, false);
    if (!holds(m))
        return EPERM;
    if (g->mode == WEFT_GIL_FAIR)
        release_fair(g, m);
    else
        drop_faithful(g, m, false);
    return 0;
}

int weft_gil_blocking_begin(weft_gil *g) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return weft_gil_release(g);
}

int weft_gil_blocking_end(weft_gil *g) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return take(g, WEFT_DEADLINE_NEVER);
}

int weft_gil_yield(weft_gil *g) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct weft__gil_member *m = weft__gil_self(g, false);
    if (!holds(m))
        return EPERM;
    if (weft__load_relaxed(&g->drop_request) == 0 && waiters_of(g) == 0)
        return 0;
    if (g->mode == WEFT_GIL_FAIR)
        return yield_fair(g, m);
    drop_faithful(g, m, true);
    return take_faithful(g, m, WEFT_DEADLINE_NEVER, true);
}

void weft__gil_release_at_exit(weft_gil *g, struct weft__gil_member *m)
{
    emit(g, WEFT_GIL_EV_RELEASED);
    letting_go(g, m, false);
    if (g->mode == WEFT_GIL_FAIR) {
        handoff(g, now_ns());
    } else {
        weft__store_relaxed(&g->locked, 0);
        (void)weft_cond_notify(&g->cond, 1);
    }
}

bool weft_gil_held(weft_gil *g)
{
    return holds(weft__gil_self(g, false));
}

int weft_gil_set_interval(weft_gil *g, int64_t interval_ns)
{
    if (interval_ns <= 0)
        return EINVAL;
    __atomic_store_n(&g->interval_ns, interval_ns, __ATOMIC_RELAXED);
    return 0;
}

int64_t weft_gil_interval(const weft_gil *g)
{
    return __atomic_load_n(&g->interval_ns, __ATOMIC_RELAXED);
}
