/* test_lock.c - weft_lock: normal, edge, error and stress behaviour. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "weft/lock.h"
#include "weft/time.h"

WT_CASE(test_lock_zero_init_is_unlocked, "unit valgrind") {
    weft_lock lk;
    memset(&lk, 0, sizeof lk);
    WT_TRUE(!weft_lock_is_locked(&lk));
    WT_EQ(weft_lock_acquire(&lk), 0);
    WT_TRUE(weft_lock_is_locked(&lk));
    WT_EQ(weft_lock_release(&lk), 0);
    WT_TRUE(!weft_lock_is_locked(&lk));
    WT_EQ(weft_lock_destroy(&lk), 0);
}

static weft_lock static_lock = WEFT_LOCK_INIT;

WT_CASE(test_lock_static_init, "unit valgrind") {
    WT_EQ(weft_lock_try_acquire(&static_lock), 0);
    WT_EQ(weft_lock_release(&static_lock), 0);
    weft_lock lk;
    weft_lock_init(&lk);
    WT_EQ(weft_lock_acquire(&lk), 0);
    WT_EQ(weft_lock_release(&lk), 0);
    WT_EQ(weft_lock_destroy(&lk), 0);
}

WT_CASE(test_lock_try_on_held_is_ebusy, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_try_acquire(&lk), 0);
    WT_EQ(weft_lock_try_acquire(&lk), EBUSY);
    WT_EQ(weft_lock_release(&lk), 0);
    WT_EQ(weft_lock_try_acquire(&lk), 0);
    WT_EQ(weft_lock_release(&lk), 0);
}

WT_CASE(test_lock_release_unlocked_is_eperm, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_release(&lk), EPERM);
    /* Nothing changed: the lock still works. */
    WT_EQ(weft_lock_acquire(&lk), 0);
    WT_EQ(weft_lock_release(&lk), 0);
    WT_EQ(weft_lock_release(&lk), EPERM);
    WT_EQ(weft_lock_destroy(&lk), 0);
}

WT_CASE(test_lock_destroy_held_is_ebusy, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    WT_EQ(weft_lock_destroy(&lk), EBUSY);
    WT_EQ(weft_lock_release(&lk), 0);
    WT_EQ(weft_lock_destroy(&lk), 0);
}

struct other_release {
    weft_lock *lk;
    int result;
};

static void *release_from_other(void *p)
{
    struct other_release *o = (struct other_release *)p;
    o->result = weft_lock_release(o->lk);
    return NULL;
}

WT_CASE(test_lock_release_by_non_holder, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    struct other_release o = {&lk, -1};
    join(spawn(release_from_other, &o)); /* unlocked: always detected */
    WT_EQ(o.result, EPERM);
#ifdef WEFT_CHECKED
    /* Held by this thread: only a checked build can tell the owner. */
    WT_EQ(weft_lock_acquire(&lk), 0);
    o.result = -1;
    join(spawn(release_from_other, &o));
    WT_EQ(o.result, EPERM);
    WT_TRUE(weft_lock_is_locked(&lk)); /* nothing changed */
    WT_EQ(weft_lock_release(&lk), 0);
#endif
    WT_TRUE(!weft_lock_is_locked(&lk));
}

WT_CASE(test_lock_self_deadlock_checked, "unit valgrind") {
#ifdef WEFT_CHECKED
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    WT_EQ(weft_lock_acquire(&lk), EDEADLK);
    WT_EQ(weft_lock_acquire_for(&lk, MS), EDEADLK);
    WT_EQ(weft_lock_release(&lk), 0);
#else
    WT_SKIP("needs a WEFT_CHECKED build (the debug preset)");
#endif
}

WT_CASE(test_lock_acquire_for_negative_is_einval, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire_for(&lk, -1), EINVAL);
    WT_TRUE(!weft_lock_is_locked(&lk));
    WT_EQ(weft_lock_acquire_for(&lk, 0), 0);
    WT_EQ(weft_lock_release(&lk), 0);
}

struct holder {
    weft_lock *lk;
    int64_t hold_ns;
    int ready; /* atomic: set once the holder holds *lk */
};

static void *hold_for(void *p)
{
    struct holder *h = (struct holder *)p;
    WT_EQ(weft_lock_acquire(h->lk), 0);
    __atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
    sleep_ns(h->hold_ns);
    WT_EQ(weft_lock_release(h->lk), 0);
    return NULL;
}

/* Start a thread that holds *lk for hold_ns; returns once it holds it. */
static pthread_t start_holder(struct holder *h, weft_lock *lk, int64_t hold_ns)
{
    h->lk = lk;
    h->hold_ns = hold_ns;
    h->ready = 0;
    pthread_t t = spawn(hold_for, h);
    while (!__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE))
        sleep_ns(MS / 10);
    return t;
}

WT_CASE(test_lock_timeout_really_waits, "unit") {
    weft_lock lk = WEFT_LOCK_INIT;
    struct holder h;
    pthread_t t = start_holder(&h, &lk, 400 * MS);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_lock_acquire_for(&lk, 30 * MS), ETIMEDOUT);
    int64_t waited = weft_time_now_ns() - t0;
    WT_GE(waited, 30 * MS);
    WT_LT(waited, 5000 * MS); /* liveness bound, not a timing claim */
    int64_t deadline = weft_time_now_ns() + 20 * MS;
    WT_EQ(weft_lock_acquire_until(&lk, deadline), ETIMEDOUT);
    WT_GE(weft_time_now_ns(), deadline);
    join(t);
    WT_EQ(weft_lock_try_acquire(&lk), 0);
    WT_EQ(weft_lock_release(&lk), 0);
}

WT_CASE(test_lock_past_deadline_tries_once, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire_until(&lk, 0), 0); /* free: acquired */
    WT_EQ(weft_lock_release(&lk), 0);
    struct holder h;
    pthread_t t = start_holder(&h, &lk, 100 * MS);
    WT_EQ(weft_lock_acquire_until(&lk, weft_time_now_ns() - MS), ETIMEDOUT);
    WT_EQ(weft_lock_acquire_for(&lk, 0), ETIMEDOUT);
    join(t);
}

WT_CASE(test_lock_timed_acquire_gets_released_lock, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    struct holder h;
    pthread_t t = start_holder(&h, &lk, 20 * MS);
    WT_EQ(weft_lock_acquire_for(&lk, 10000 * MS), 0);
    WT_EQ(weft_lock_release(&lk), 0);
    join(t);
}

/* Mutual exclusion: several threads, each mixing blocking, try and timed
 * acquires, update a plain counter and check that no one else is inside. */
struct mx {
    weft_lock lk;
    long counter;    /* guarded by lk */
    int inside;      /* atomic: threads inside the critical section */
    long iters;
    long timeouts;   /* atomic */
};

static void *mx_worker(void *p)
{
    struct mx *m = (struct mx *)p;
    for (long i = 0; i < m->iters; i++) {
        int r;
        switch (i % 4) {
        case 0:
        case 1: r = weft_lock_acquire(&m->lk); break;
        case 2:
            r = weft_lock_try_acquire(&m->lk);
            if (r == EBUSY)
                r = weft_lock_acquire(&m->lk);
            break;
        default:
            r = weft_lock_acquire_for(&m->lk, 50000);
            if (r == ETIMEDOUT) {
                __atomic_fetch_add(&m->timeouts, 1, __ATOMIC_RELAXED);
                r = weft_lock_acquire(&m->lk);
            }
            break;
        }
        WT_EQ(r, 0);
        WT_EQ(__atomic_fetch_add(&m->inside, 1, __ATOMIC_RELAXED), 0);
        m->counter++;
        WT_EQ(__atomic_fetch_sub(&m->inside, 1, __ATOMIC_RELAXED), 1);
        WT_EQ(weft_lock_release(&m->lk), 0);
    }
    return NULL;
}

static void mutual_exclusion(int nthreads, long iters)
{
    struct mx m;
    memset(&m, 0, sizeof m);
    m.iters = iters;
    pthread_t t[8];
    for (int i = 0; i < nthreads; i++)
        t[i] = spawn(mx_worker, &m);
    for (int i = 0; i < nthreads; i++)
        join(t[i]);
    WT_EQ(m.counter, nthreads * iters);
    WT_TRUE(!weft_lock_is_locked(&m.lk));
    WT_EQ(weft_lock_destroy(&m.lk), 0);
}

WT_CASE(test_lock_mutual_exclusion_stress, "stress valgrind") {
    mutual_exclusion(4, wt_iters(200000));
}

WT_CASE(test_lock_mutual_exclusion_helgrind, "stress helgrind") {
    mutual_exclusion(3, wt_iters(20000));
}

/* No lost wake-up: threads that went to sleep on a held lock all get it. */
struct sleepers {
    weft_lock lk;
    int got; /* guarded by lk */
};

static void *sleeper(void *p)
{
    struct sleepers *s = (struct sleepers *)p;
    WT_EQ(weft_lock_acquire(&s->lk), 0);
    s->got++;
    sleep_ns(MS / 2);
    WT_EQ(weft_lock_release(&s->lk), 0);
    return NULL;
}

WT_CASE(test_lock_release_wakes_every_sleeper, "unit valgrind") {
    struct sleepers s;
    memset(&s, 0, sizeof s);
    for (int round = 0; round < 5; round++) {
        pthread_t t[6];
        WT_EQ(weft_lock_acquire(&s.lk), 0);
        for (int i = 0; i < 6; i++)
            t[i] = spawn(sleeper, &s);
        sleep_ns(30 * MS); /* let them spin out and sleep in the kernel */
        WT_EQ(weft_lock_release(&s.lk), 0);
        for (int i = 0; i < 6; i++)
            join(t[i]);
        WT_EQ(s.got, 6 * (round + 1));
    }
}

/* Signals: a waiter interrupted by handled signals (no SA_RESTART) keeps
 * waiting, keeps its deadline, and gets the lock when it is released. */
static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

struct sig_waiter {
    weft_lock *lk;
    int timed_result;
    int64_t timed_waited;
    int result;
};

static void *sig_waiter_main(void *p)
{
    struct sig_waiter *w = (struct sig_waiter *)p;
    int64_t t0 = weft_time_now_ns();
    w->timed_result = weft_lock_acquire_for(w->lk, 60 * MS);
    w->timed_waited = weft_time_now_ns() - t0;
    w->result = weft_lock_acquire(w->lk);
    if (w->result == 0)
        WT_EQ(weft_lock_release(w->lk), 0);
    return NULL;
}

WT_CASE(test_lock_wait_survives_signals, "unit valgrind") {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    WT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);

    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    struct sig_waiter w = {&lk, -1, 0, -1};
    pthread_t t = spawn(sig_waiter_main, &w);
    for (int i = 0; i < 20; i++) {
        sleep_ns(5 * MS);
        WT_EQ(pthread_kill(t, SIGUSR1), 0);
    }
    WT_EQ(weft_lock_release(&lk), 0);
    join(t);
    WT_EQ(w.timed_result, ETIMEDOUT);
    WT_GE(w.timed_waited, 60 * MS);
    WT_EQ(w.result, 0);
    WT_GT(signals_seen, 0);
    sa.sa_handler = SIG_DFL;
    WT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

WT_CASE(test_lock_assert_held, "unit") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    weft_lock_assert_held(&lk);
    WT_EQ(weft_lock_release(&lk), 0);
    (void)fflush(NULL);
    pid_t pid = fork();
    WT_GE(pid, 0);
    if (pid == 0) {
        weft_lock_assert_held(&lk); /* not held: must abort */
        _exit(0);
    }
    int st = 0;
    WT_EQ(waitpid(pid, &st, 0), pid);
    WT_TRUE(WIFSIGNALED(st));
    WT_EQ(WTERMSIG(st), SIGABRT);
}

WT_CASE(test_lock_fork_child_keeps_forkers_lock, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    (void)fflush(NULL);
    pid_t pid = fork();
    WT_GE(pid, 0);
    if (pid == 0) {
        /* The forking thread's copy holds the lock and may release it. */
        int ok = weft_lock_is_locked(&lk) && weft_lock_release(&lk) == 0 &&
                 weft_lock_try_acquire(&lk) == 0 && weft_lock_release(&lk) == 0;
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    WT_EQ(waitpid(pid, &st, 0), pid);
    WT_TRUE(WIFEXITED(st));
    WT_EQ(WEXITSTATUS(st), 0);
    WT_TRUE(weft_lock_is_locked(&lk)); /* the parent's copy is untouched */
    WT_EQ(weft_lock_release(&lk), 0);
}

WT_CASE(test_time_deadline_saturates, "unit valgrind") {
    int64_t now = weft_time_now_ns();
    WT_GT(now, 0);
    WT_EQ(weft_time_deadline_ns(INT64_MAX), WEFT_DEADLINE_NEVER);
    WT_EQ(weft_time_deadline_ns(INT64_MAX - 1), WEFT_DEADLINE_NEVER);
    WT_GE(weft_time_deadline_ns(-5), now);
    WT_LT(weft_time_deadline_ns(-5), now + 1000 * MS);
    int64_t d = weft_time_deadline_ns(1000 * MS);
    WT_GE(d, now + 1000 * MS);
}

WT_MAIN()
