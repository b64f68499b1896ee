/* gil_registry.c - the threads' records of the GILs they use, thread exit,
 * fork, and the counters.
 *
 * Design / invariants
 *   One process-wide registry lock (reg) guards the list of live GILs, each
 *   GIL's list of members, each thread's list of members, and member->g.
 *   Lock order: reg before any GIL's mu; no code takes reg while it holds a
 *   mu. The fast path of every GIL operation needs no lock: a thread caches
 *   its last member, and a member's gil_id never changes, so the cache is
 *   right exactly when the ids match (ids are never reused).
 *
 *   Thread exit: a pthread key whose value is the thread's list runs
 *   thread_exit(), which makes the final release of any GIL the thread still
 *   holds and frees the members, each under its GIL's mu (a waker touches a
 *   waiter's word only under mu).
 *
 *   Fork: prepare takes reg and every GIL's two locks, so no GIL is half
 *   updated in the child; the child frees the other threads' members, clears
 *   the queues and requests, and frees every GIL the forking thread did not
 *   hold. Destroying a GIL orphans its members (g = NULL); their threads
 *   free them at exit, or drop them on their next lookup. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "annotate.h"
#include "gilimpl.h"
#include "self.h"
#include "weft/lock.h"

static weft_lock reg = WEFT_LOCK_INIT;
static weft_gil *gils;        /* live GILs (reg) */
static uint64_t next_id;      /* (reg) */
static pthread_key_t exit_key;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static bool reg_ok;           /* the key and the fork handlers exist */

static __thread struct weft__gil_member *tl_members; /* this thread's (reg) */
static __thread struct weft__gil_member *tl_cache;   /* this thread only */

static void gil_unlink_member(struct weft__gil_member *m) WEFT_REQUIRES(reg)
{
    weft_gil *g = m->g;
    if (m->gil_prev != NULL)
        m->gil_prev->gil_next = m->gil_next;
    else if (g != NULL)
        g->members = m->gil_next;
    if (m->gil_next != NULL)
        m->gil_next->gil_prev = m->gil_prev;
    m->gil_prev = m->gil_next = NULL;
}

/* The key's value only marks the thread as having members; the list itself
 * is tl_members, which is still readable while key destructors run. */
static void thread_exit(void *marker) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)marker;
    weft_lock_acquire(&reg);
    struct weft__gil_member *m = tl_members;
    while (m != NULL) {
        struct weft__gil_member *next = m->thread_next;
        weft_gil *g = m->g;
        if (g != NULL) {
            weft_lock_acquire(&g->mu);
            if (m->held)
                weft__gil_release_at_exit(g, m);
            /* The last holder's record goes: a later thread's record at
             * the same address must not look like it. */
            if (__atomic_load_n(&g->holder, __ATOMIC_RELAXED) == m)
                __atomic_store_n(&g->holder, (struct weft__gil_member *)NULL,
                                 __ATOMIC_RELAXED);
            gil_unlink_member(m);
            weft_lock_release(&g->mu);
        }
        free(m);
        m = next;
    }
    tl_members = NULL;
    tl_cache = NULL;
    weft_lock_release(&reg);
}

static void fork_prepare(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_acquire(&reg);
    for (weft_gil *g = gils; g != NULL; g = g->reg_next) {
        weft_lock_acquire(&g->mu);
        weft_lock_acquire(&g->switch_mu);
    }
}

static void fork_parent(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    for (weft_gil *g = gils; g != NULL; g = g->reg_next) {
        weft_lock_release(&g->switch_mu);
        weft_lock_release(&g->mu);
    }
    weft_lock_release(&reg);
}

/* The child has one thread, the copy of the forking one: its members (found
 * by their owner, the address of its list head, which the copy shares) stay;
 * every other member belonged to a thread that does not exist here. */
static void fork_child(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    const void *me = &tl_members;
    int32_t tid = (int32_t)gettid();
    for (weft_gil *g = gils; g != NULL; g = g->reg_next) {
        bool kept = false;
        struct weft__gil_member *m = g->members;
        while (m != NULL) {
            struct weft__gil_member *next = m->gil_next;
            if (m->owner != me) {
                if (g->holder == m)
                    g->holder = NULL;
                gil_unlink_member(m);
                free(m);
            } else {
                kept = m->held;
                m->tid = tid;
            }
            m = next;
        }
        if (!kept)
            g->locked = 0;
        g->drop_request = 0;
        g->waiters = 0;
        g->yielders = 0;
        memset(g->queue, 0, sizeof g->queue);
        (void)weft_cond_init(&g->cond, 0);
        (void)weft_cond_init(&g->switch_cond, 0);
        weft_lock_release(&g->switch_mu);
        weft_lock_release(&g->mu);
    }
    weft_lock_release(&reg);
}

static void reg_setup(void)
{
    reg_ok = pthread_key_create(&exit_key, thread_exit) == 0;
    if (reg_ok && pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
        (void)pthread_key_delete(exit_key);
        reg_ok = false;
    }
}

void weft__gil_register(weft_gil *g)
{
    (void)pthread_once(&reg_once, reg_setup);
    weft_lock_acquire(&reg);
    g->id = ++next_id;
    g->reg_prev = NULL;
    g->reg_next = gils;
    if (gils != NULL)
        gils->reg_prev = g;
    gils = g;
    weft_lock_release(&reg);
}

int weft__gil_unregister(weft_gil *g)
{
    weft_lock_acquire(&reg);
    weft_lock_acquire(&g->mu);
    bool busy = __atomic_load_n(&g->locked, __ATOMIC_RELAXED) != 0 ||
                g->waiters != 0 || g->yielders != 0;
    weft_lock_release(&g->mu);
    if (busy) {
        weft_lock_release(&reg);
        return EBUSY;
    }
    struct weft__gil_member *m = g->members;
    while (m != NULL) {
        struct weft__gil_member *next = m->gil_next;
        m->gil_prev = m->gil_next = NULL;
        m->g = NULL;
        m = next;
    }
    g->members = NULL;
    if (g->reg_prev != NULL)
        g->reg_prev->reg_next = g->reg_next;
    else
        gils = g->reg_next;
    if (g->reg_next != NULL)
        g->reg_next->reg_prev = g->reg_prev;
    weft_lock_release(&reg);
    return 0;
}

struct weft__gil_member *weft__gil_self(weft_gil *g, bool create)
{
    struct weft__gil_member *m = tl_cache;
    if (m != NULL && m->gil_id == g->id)
        return m;
    weft_lock_acquire(&reg);
    struct weft__gil_member **link = &tl_members;
    while ((m = *link) != NULL && m->gil_id != g->id) {
        if (m->g == NULL) { /* its GIL was destroyed: drop the record */
            *link = m->thread_next;
            if (tl_cache == m)
                tl_cache = NULL;
            free(m);
        } else {
            link = &m->thread_next;
        }
    }
    if (m == NULL && create && reg_ok) {
        m = (struct weft__gil_member *)calloc(1, sizeof *m);
        if (m != NULL) {
            m->g = g;
            m->gil_id = g->id;
            m->owner = &tl_members;
            m->tid = weft__self_shared();
            m->waiter.member = m;
            /* Read with atomics by other threads; Helgrind does not model
             * atomics (the handoff itself is annotated in gil.c). */
            WEFT__HG_IGNORE(&m->waiter.word, sizeof m->waiter.word);
            WEFT__HG_IGNORE(&m->stats, sizeof m->stats);
            m->thread_next = tl_members;
            m->gil_next = g->members;
            if (g->members != NULL)
                g->members->gil_prev = m;
            g->members = m;
            tl_members = m;
            /* A non-NULL value makes the key's destructor run at exit. */
            (void)pthread_setspecific(exit_key, &tl_members);
        }
    }
    weft_lock_release(&reg);
    if (m != NULL)
        tl_cache = m;
    return m;
}

void weft__gil_count_wait(weft_gil_stats *s, int64_t ns)
{
    int b = 0;
    for (uint64_t v = ns > 0 ? (uint64_t)ns : 0; v > 1 && b < WEFT_GIL_HIST_BUCKETS - 1; v >>= 1)
        b++;
    weft__gil_add(&s->wait_hist[b], 1);
    weft__gil_add_ns(&s->waited_ns, ns);
    int64_t max = __atomic_load_n(&s->wait_max_ns, __ATOMIC_RELAXED);
    while (ns > max && !__atomic_compare_exchange_n(&s->wait_max_ns, &max, ns, true,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

static void copy_stats(const weft_gil_stats *s, weft_gil_stats *out)
{
    out->acquisitions = __atomic_load_n(&s->acquisitions, __ATOMIC_RELAXED);
    out->contended = __atomic_load_n(&s->contended, __ATOMIC_RELAXED);
    out->switches = __atomic_load_n(&s->switches, __ATOMIC_RELAXED);
    out->drop_requests = __atomic_load_n(&s->drop_requests, __ATOMIC_RELAXED);
    out->forced_drops = __atomic_load_n(&s->forced_drops, __ATOMIC_RELAXED);
    out->timeouts = __atomic_load_n(&s->timeouts, __ATOMIC_RELAXED);
    out->held_ns = __atomic_load_n(&s->held_ns, __ATOMIC_RELAXED);
    out->waited_ns = __atomic_load_n(&s->waited_ns, __ATOMIC_RELAXED);
    out->wait_max_ns = __atomic_load_n(&s->wait_max_ns, __ATOMIC_RELAXED);
    for (int i = 0; i < WEFT_GIL_HIST_BUCKETS; i++)
        out->wait_hist[i] = __atomic_load_n(&s->wait_hist[i], __ATOMIC_RELAXED);
}

void weft_gil_stats_get(const weft_gil *g, weft_gil_stats *out)
{
    copy_stats(&g->stats, out);
}

void weft_gil_thread_stats(weft_gil *g, weft_gil_stats *out)
{
    struct weft__gil_member *m = weft__gil_self(g, false);
    if (m == NULL)
        memset(out, 0, sizeof *out);
    else
        copy_stats(&m->stats, out);
}

void weft_gil_foreach_thread(weft_gil *g,
                             void (*fn)(void *arg, int32_t tid,
                                        const weft_gil_stats *stats),
                             void *arg)
{
    weft_lock_acquire(&reg);
    for (struct weft__gil_member *m = g->members; m != NULL; m = m->gil_next) {
        weft_gil_stats s;
        copy_stats(&m->stats, &s);
        fn(arg, m->tid, &s);
    }
    weft_lock_release(&reg);
}

int64_t weft_gil_wait_percentile(const weft_gil_stats *s, double p)
{
    uint64_t total = 0;
    for (int i = 0; i < WEFT_GIL_HIST_BUCKETS; i++)
        total += s->wait_hist[i];
    if (total == 0)
        return 0;
    if (!(p >= 0)) /* also NaN */
        p = 0;
    if (p > 1)
        p = 1;
    uint64_t want = (uint64_t)(p * (double)total + 0.5);
    if (want == 0)
        want = 1;
    uint64_t seen = 0;
    for (int i = 0; i < WEFT_GIL_HIST_BUCKETS; i++) {
        seen += s->wait_hist[i];
        if (seen >= want && i < WEFT_GIL_HIST_BUCKETS - 1)
            return (int64_t)1 << (i + 1);
        if (seen >= want) /* the last bucket has no upper bound */
            break;
    }
    return s->wait_max_ns;
}
