/* test_gil.c - weft_gil: both modes' scheduling, deadlines, exit, fork,
 * counters and hooks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "weft/gil.h"
#include "weft/time.h"

static const int modes[2] = {WEFT_GIL_FAITHFUL, WEFT_GIL_FAIR};

static void gil_init(weft_gil *g, int mode, int64_t interval_ns)
{
    weft_gil_opts o;
    memset(&o, 0, sizeof o);
    o.mode = mode;
    o.interval_ns = interval_ns;
    WT_EQ(weft_gil_init(g, &o), 0);
}

static void spin_work(void)
{
    static volatile unsigned sink;
    for (unsigned i = 0; i < 200; i++)
        sink = sink * 33 + i;
}

WT_CASE(test_gil_init_errors_and_interval, "unit valgrind") {
    weft_gil g;
    weft_gil_opts o;
    memset(&o, 0, sizeof o);
    o.mode = 7;
    WT_EQ(weft_gil_init(&g, &o), EINVAL);
    o.mode = WEFT_GIL_FAIR;
    o.interval_ns = -1;
    WT_EQ(weft_gil_init(&g, &o), EINVAL);
    o.interval_ns = 0;
    o.hook_events = WEFT_GIL_EV_ACQUIRED;
    WT_EQ(weft_gil_init(&g, &o), EINVAL);
    o.hook_events = 0;
    WT_EQ(weft_gil_init(&g, NULL), 0);
    WT_EQ(weft_gil_interval(&g), WEFT_GIL_DEFAULT_INTERVAL_NS);
    WT_EQ(weft_gil_set_interval(&g, 0), EINVAL);
    WT_EQ(weft_gil_set_interval(&g, -5), EINVAL);
    WT_EQ(weft_gil_set_interval(&g, 300), 0); /* kept; acts as 1 us */
    WT_EQ(weft_gil_interval(&g), 300);
    WT_EQ(weft_gil_destroy(&g), 0);
}

WT_CASE(test_gil_acquire_release_errors, "unit valgrind") {
    for (int k = 0; k < 2; k++) {
        weft_gil g;
        gil_init(&g, modes[k], 0);
        WT_TRUE(!weft_gil_held(&g));
        WT_EQ(weft_gil_release(&g), EPERM);
        WT_EQ(weft_gil_yield(&g), EPERM);
        WT_EQ(weft_gil_acquire(&g), 0);
        WT_TRUE(weft_gil_held(&g));
        WT_EQ(weft_gil_acquire(&g), EDEADLK);
        WT_EQ(weft_gil_acquire_for(&g, -1), EINVAL);
        WT_EQ(weft_gil_check(&g), 0);
        WT_EQ(weft_gil_yield(&g), 0); /* nobody waits: keeps it */
        WT_TRUE(weft_gil_held(&g));
        WT_EQ(weft_gil_destroy(&g), EBUSY);
        WT_EQ(weft_gil_blocking_begin(&g), 0);
        WT_TRUE(!weft_gil_held(&g));
        WT_EQ(weft_gil_blocking_end(&g), 0);
        WT_EQ(weft_gil_release(&g), 0);
        WT_EQ(weft_gil_release(&g), EPERM);
        weft_gil_stats s;
        weft_gil_stats_get(&g, &s);
        WT_EQ(s.acquisitions, 2u);
        WT_EQ(s.contended, 0u);
        WT_EQ(s.switches, 1u); /* the first take; re-takes are not switches */
        weft_gil_thread_stats(&g, &s);
        WT_EQ(s.acquisitions, 2u);
        WT_EQ(weft_gil_destroy(&g), 0);
    }
}

/* N threads add to a plain counter under the GIL, with checks and blocking
 * sections in between: any overlap shows as a lost update (and as a race
 * under TSan and Helgrind). */
struct excl {
    weft_gil g;
    long counter;
    int inside; /* atomic */
    int iters;
};

static void *excl_main(void *p)
{
    struct excl *x = (struct excl *)p;
    WT_EQ(weft_gil_acquire(&x->g), 0);
    for (int i = 0; i < x->iters; i++) {
        WT_EQ(__atomic_fetch_add(&x->inside, 1, __ATOMIC_RELAXED), 0);
        long c = x->counter;
        spin_work();
        x->counter = c + 1;
        __atomic_fetch_sub(&x->inside, 1, __ATOMIC_RELAXED);
        WT_EQ(weft_gil_check(&x->g), 0);
        if (i % 16 == 0) {
            WT_EQ(weft_gil_blocking_begin(&x->g), 0);
            if (i % 64 == 0)
                sleep_ns(20000);
            WT_EQ(weft_gil_blocking_end(&x->g), 0);
        }
        if (i % 97 == 0)
            WT_EQ(weft_gil_yield(&x->g), 0);
    }
    WT_EQ(weft_gil_release(&x->g), 0);
    return NULL;
}

WT_CASE(test_gil_mutual_exclusion, "stress helgrind") {
    for (int k = 0; k < 2; k++) {
        static struct excl x;
        memset(&x, 0, sizeof x);
        gil_init(&x.g, modes[k], 20000);
        x.iters = 2000;
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            t[i] = spawn(excl_main, &x);
        for (int i = 0; i < 4; i++)
            join(t[i]);
        WT_EQ(x.counter, 4L * x.iters);
        weft_gil_stats s;
        weft_gil_stats_get(&x.g, &s);
        WT_GE(s.switches, 4u); /* each thread's first take is one */
        WT_GE(s.acquisitions, 4u + 4u * (unsigned)x.iters / 16);
        WT_EQ(weft_gil_destroy(&x.g), 0);
    }
}

/* A CPU-bound holder and a thread that wants the GIL. */
struct duel {
    weft_gil g;
    int stop;      /* atomic */
    int other_got; /* atomic: the other thread took the GIL */
    int saw_other; /* the holder's check returned after the other took it */
    int64_t waited;
};

static void *holder_main(void *p)
{
    struct duel *d = (struct duel *)p;
    WT_EQ(weft_gil_acquire(&d->g), 0);
    while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
        spin_work();
        int before = __atomic_load_n(&d->other_got, __ATOMIC_ACQUIRE);
        WT_EQ(weft_gil_check(&d->g), 0);
        if (!before && __atomic_load_n(&d->other_got, __ATOMIC_ACQUIRE))
            d->saw_other = 1;
    }
    WT_EQ(weft_gil_release(&d->g), 0);
    return NULL;
}

static void start_holder(struct duel *d, pthread_t *t)
{
    *t = spawn(holder_main, d);
    while (__atomic_load_n(&d->g.locked, __ATOMIC_RELAXED) == 0)
        sleep_ns(100000);
}

/* The holder lets go only when asked, and (forced switching) does not take
 * the GIL back before the requester had it. A faithful waiter asks only
 * after a whole interval. */
WT_CASE(test_gil_drop_request_and_forced_switch, "unit") {
    for (int k = 0; k < 2; k++) {
        static struct duel d;
        memset(&d, 0, sizeof d);
        gil_init(&d.g, modes[k], 50 * MS);
        pthread_t t;
        start_holder(&d, &t);
        int64_t t0 = weft_time_now_ns();
        WT_EQ(weft_gil_acquire(&d.g), 0);
        d.waited = weft_time_now_ns() - t0;
        __atomic_store_n(&d.other_got, 1, __ATOMIC_RELEASE);
        WT_GE(d.waited, 50 * MS); /* a first-time thread is not I/O-bound */
        weft_gil_stats s;
        weft_gil_thread_stats(&d.g, &s);
        WT_EQ(s.drop_requests, 1u);
        WT_EQ(s.contended, 1u);
        WT_EQ(weft_gil_release(&d.g), 0);
        __atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
        join(t);
        WT_EQ(d.saw_other, 1);
        weft_gil_stats_get(&d.g, &s);
        WT_GE(s.forced_drops, 1u);
        WT_GE(s.switches, 3u);
        WT_EQ(weft_gil_destroy(&d.g), 0);
    }
}

/* The convoy effect and its cure: a thread back from a short blocking
 * section waits a whole interval behind a CPU-bound holder in faithful mode,
 * and only until the holder's next check in fair mode. */
WT_CASE(test_gil_io_thread_after_blocking, "unit") {
    for (int k = 0; k < 2; k++) {
        static struct duel d;
        memset(&d, 0, sizeof d);
        const int64_t interval = 400 * MS;
        gil_init(&d.g, modes[k], interval);
        WT_EQ(weft_gil_acquire(&d.g), 0); /* a short hold, ended voluntarily */
        pthread_t t = spawn(holder_main, &d);
        WT_EQ(weft_gil_blocking_begin(&d.g), 0);
        while (__atomic_load_n(&d.g.locked, __ATOMIC_RELAXED) == 0)
            sleep_ns(100000);
        int64_t t0 = weft_time_now_ns();
        WT_EQ(weft_gil_blocking_end(&d.g), 0);
        int64_t waited = weft_time_now_ns() - t0;
        if (modes[k] == WEFT_GIL_FAITHFUL)
            WT_GE(waited, interval);
        else
            WT_LT(waited, interval / 2);
        WT_EQ(weft_gil_release(&d.g), 0);
        __atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
        join(t);
        WT_EQ(weft_gil_destroy(&d.g), 0);
    }
}

/* A waiter that gives up withdraws its drop request and leaves the GIL as
 * it was; the holder that never checks keeps it. */
struct late {
    weft_gil *g;
    int r;
};

static void *late_main(void *p)
{
    struct late *l = (struct late *)p;
    l->r = weft_gil_acquire_for(l->g, 30 * MS);
    if (l->r == 0)
        WT_EQ(weft_gil_release(l->g), 0);
    return NULL;
}

WT_CASE(test_gil_acquire_deadline, "unit valgrind") {
    for (int k = 0; k < 2; k++) {
        weft_gil g;
        gil_init(&g, modes[k], 2 * MS);
        WT_EQ(weft_gil_acquire(&g), 0);
        struct late l = {&g, -1};
        join(spawn(late_main, &l));
        WT_EQ(l.r, ETIMEDOUT);
        WT_EQ(__atomic_load_n(&g.drop_request, __ATOMIC_RELAXED), 0u);
        WT_EQ(__atomic_load_n(&g.waiters, __ATOMIC_RELAXED), 0u);
        weft_gil_stats s;
        weft_gil_stats_get(&g, &s);
        WT_EQ(s.timeouts, 1u);
        WT_GE(s.drop_requests, 1u);
        WT_EQ(s.forced_drops, 0u);
        WT_TRUE(weft_gil_held(&g));
        WT_EQ(weft_gil_acquire_until(&g, 0), EDEADLK);
        WT_EQ(weft_gil_release(&g), 0);
        /* A past deadline on a free GIL still takes it. */
        join(spawn(late_main, &l));
        WT_EQ(l.r, 0);
        WT_EQ(weft_gil_destroy(&g), 0);
    }
}

/* A thread that exits holding the GIL releases it (the final release). */
static void *exit_holding_main(void *p)
{
    WT_EQ(weft_gil_acquire((weft_gil *)p), 0);
    return NULL;
}

WT_CASE(test_gil_final_release_at_thread_exit, "unit valgrind") {
    for (int k = 0; k < 2; k++) {
        weft_gil g;
        gil_init(&g, modes[k], 0);
        join(spawn(exit_holding_main, &g));
        WT_EQ(weft_gil_acquire_for(&g, 10000 * MS), 0);
        WT_EQ(weft_gil_release(&g), 0);
        weft_gil_stats s;
        weft_gil_stats_get(&g, &s);
        WT_EQ(s.acquisitions, 2u);
        WT_GT(s.held_ns, 0);
        WT_EQ(weft_gil_destroy(&g), 0);
    }
}

/* Fork: the forking thread keeps a GIL it held; a GIL another thread held
 * is free in the child. */
static weft_gil fork_a, fork_b;

static void *hold_b_main(void *p)
{
    WT_EQ(weft_gil_acquire(&fork_b), 0);
    __atomic_store_n((int *)p, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n((int *)p, __ATOMIC_ACQUIRE) != 2)
        sleep_ns(MS);
    WT_EQ(weft_gil_release(&fork_b), 0);
    return NULL;
}

static int fork_child_main(void *arg)
{
    (void)arg;
    if (!weft_gil_held(&fork_a) || weft_gil_held(&fork_b))
        return 1;
    if (weft_gil_release(&fork_a) != 0 || weft_gil_acquire(&fork_a) != 0)
        return 2;
    if (weft_gil_acquire_for(&fork_b, 1000 * MS) != 0)
        return 3;
    if (weft_gil_release(&fork_b) != 0 || weft_gil_release(&fork_a) != 0)
        return 4;
    return 0;
}

WT_CASE(test_gil_fork_child, "unit") {
    for (int k = 0; k < 2; k++) {
        gil_init(&fork_a, modes[k], 0);
        gil_init(&fork_b, modes[k], 0);
        int flag = 0;
        pthread_t t = spawn(hold_b_main, &flag);
        while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) != 1)
            sleep_ns(MS);
        WT_EQ(weft_gil_acquire(&fork_a), 0);
        pid_t pid = fork_child(fork_child_main, NULL);
        int status = 0;
        WT_EQ(waitpid(pid, &status, 0), pid);
        WT_TRUE(WIFEXITED(status));
        WT_EQ(WEXITSTATUS(status), 0);
        WT_TRUE(weft_gil_held(&fork_a));
        WT_EQ(weft_gil_release(&fork_a), 0);
        __atomic_store_n(&flag, 2, __ATOMIC_RELEASE);
        join(t);
        WT_EQ(weft_gil_destroy(&fork_a), 0);
        WT_EQ(weft_gil_destroy(&fork_b), 0);
    }
}

/* Fair mode hands the GIL over in the order the waiters came, and hooks see
 * each request. */
struct order {
    weft_gil g;
    int requests; /* atomic, counted by the hook */
    int next;     /* atomic */
    int got[3];
};

static void order_hook(weft_gil *g, unsigned ev, void *arg)
{
    (void)g;
    if (ev == WEFT_GIL_EV_REQUEST)
        __atomic_fetch_add((int *)arg, 1, __ATOMIC_RELAXED);
}

struct order_arg {
    struct order *o;
    int me;
};

static void *order_main(void *p)
{
    struct order_arg *a = (struct order_arg *)p;
    WT_EQ(weft_gil_acquire(&a->o->g), 0);
    a->o->got[a->o->next++] = a->me; /* under the GIL */
    WT_EQ(weft_gil_release(&a->o->g), 0);
    return NULL;
}

WT_CASE(test_gil_fair_fifo_handoff, "unit helgrind") {
    static struct order o;
    memset(&o, 0, sizeof o);
    weft_gil_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.mode = WEFT_GIL_FAIR;
    opts.interval_ns = 10000 * MS; /* no drop requests in this test */
    opts.hook_events = WEFT_GIL_EV_REQUEST;
    opts.hook = order_hook;
    opts.hook_arg = &o.requests;
    WT_EQ(weft_gil_init(&o.g, &opts), 0);
    WT_EQ(weft_gil_acquire(&o.g), 0);
    pthread_t t[3];
    struct order_arg a[3];
    for (int i = 0; i < 3; i++) {
        a[i].o = &o;
        a[i].me = i;
        t[i] = spawn(order_main, &a[i]);
        while (__atomic_load_n(&o.requests, __ATOMIC_RELAXED) != i + 1)
            sleep_ns(MS);
    }
    WT_EQ(weft_gil_release(&o.g), 0);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    WT_EQ(weft_gil_acquire(&o.g), 0);
    for (int i = 0; i < 3; i++)
        WT_EQ(o.got[i], i);
    WT_EQ(weft_gil_release(&o.g), 0);
    WT_EQ(weft_gil_destroy(&o.g), 0);
}

/* Hooks report a contended take as request, drop request, acquired; and
 * the holder's forced drop as released then acquired again. */
struct evlog {
    pthread_mutex_t mu;
    int n;
    unsigned ev[64];
    pthread_t who[64];
};

static void log_hook(weft_gil *g, unsigned ev, void *arg)
{
    (void)g;
    struct evlog *l = (struct evlog *)arg;
    WT_EQ(pthread_mutex_lock(&l->mu), 0);
    if (l->n < 64) {
        l->ev[l->n] = ev;
        l->who[l->n++] = pthread_self();
    }
    WT_EQ(pthread_mutex_unlock(&l->mu), 0);
}

struct tally {
    int threads;
    uint64_t acquisitions, contended;
};

static void tally_fn(void *arg, int32_t tid, const weft_gil_stats *s)
{
    struct tally *t = (struct tally *)arg;
    WT_GT(tid, 0);
    t->threads++;
    t->acquisitions += s->acquisitions;
    t->contended += s->contended;
}

WT_CASE(test_gil_hooks_and_thread_stats, "unit valgrind") {
    for (int k = 0; k < 2; k++) {
        static struct duel d;
        static struct evlog l;
        memset(&d, 0, sizeof d);
        memset(&l, 0, sizeof l);
        WT_EQ(pthread_mutex_init(&l.mu, NULL), 0);
        weft_gil_opts opts;
        memset(&opts, 0, sizeof opts);
        opts.mode = modes[k];
        opts.interval_ns = 5 * MS;
        opts.hook_events = WEFT_GIL_EV_REQUEST | WEFT_GIL_EV_ACQUIRED |
                           WEFT_GIL_EV_RELEASED | WEFT_GIL_EV_DROP_REQUEST;
        opts.hook = log_hook;
        opts.hook_arg = &l;
        WT_EQ(weft_gil_init(&d.g, &opts), 0);
        pthread_t t;
        start_holder(&d, &t);
        WT_EQ(weft_gil_acquire(&d.g), 0);
        __atomic_store_n(&d.other_got, 1, __ATOMIC_RELEASE);
        /* Everything this thread saw: REQUEST, DROP_REQUEST, ACQUIRED. */
        unsigned mine[8];
        int nm = 0;
        WT_EQ(pthread_mutex_lock(&l.mu), 0);
        for (int i = 0; i < l.n && nm < 8; i++)
            if (pthread_equal(l.who[i], pthread_self()))
                mine[nm++] = l.ev[i];
        /* Across threads the hooks tell one holder at a time: a release is
         * reported before the next thread's acquisition. */
        int holders = 0;
        pthread_t holder = pthread_self();
        for (int i = 0; i < l.n; i++) {
            if (l.ev[i] == WEFT_GIL_EV_ACQUIRED) {
                WT_EQ(holders, 0);
                holders = 1;
                holder = l.who[i];
            } else if (l.ev[i] == WEFT_GIL_EV_RELEASED) {
                WT_EQ(holders, 1);
                WT_TRUE(pthread_equal(holder, l.who[i]));
                holders = 0;
            }
        }
        WT_EQ(pthread_mutex_unlock(&l.mu), 0);
        WT_EQ(nm, 3);
        WT_EQ(mine[0], (unsigned)WEFT_GIL_EV_REQUEST);
        WT_EQ(mine[1], (unsigned)WEFT_GIL_EV_DROP_REQUEST);
        WT_EQ(mine[2], (unsigned)WEFT_GIL_EV_ACQUIRED);
        struct tally tl = {0, 0, 0};
        weft_gil_foreach_thread(&d.g, tally_fn, &tl);
        WT_EQ(tl.threads, 2);
        weft_gil_stats s;
        weft_gil_stats_get(&d.g, &s);
        WT_EQ(tl.acquisitions, s.acquisitions);
        WT_EQ(tl.contended, s.contended);
        WT_GE(weft_gil_wait_percentile(&s, 0.5), 5 * MS);
        WT_LE(weft_gil_wait_percentile(&s, 0.0), weft_gil_wait_percentile(&s, 1.0));
        WT_EQ(weft_gil_release(&d.g), 0);
        __atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
        join(t);
        WT_EQ(weft_gil_destroy(&d.g), 0);
        WT_EQ(pthread_mutex_destroy(&l.mu), 0);
    }
}

WT_MAIN()
