/* test_rlock.c - weft_rlock: reentry, ownership, timeouts, processes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "weft/rlock.h"
#include "weft/time.h"

WT_CASE(test_rlock_reentry_counts_levels, "unit valgrind") {
    weft_rlock rl = WEFT_RLOCK_INIT;
    WT_TRUE(!weft_rlock_is_owned(&rl));
    WT_TRUE(!weft_rlock_is_locked(&rl));
    WT_EQ(weft_rlock_acquire(&rl), 0);
    WT_TRUE(weft_rlock_is_locked(&rl));
    WT_EQ(weft_rlock_acquire(&rl), 0);
    WT_EQ(weft_rlock_try_acquire(&rl), 0);
    WT_EQ(weft_rlock_acquire_for(&rl, 0), 0);
    WT_EQ(weft_rlock_depth(&rl), 4);
    WT_TRUE(weft_rlock_is_owned(&rl));
    WT_EQ(weft_rlock_destroy(&rl), EBUSY);
    for (int i = 0; i < 4; i++)
        WT_EQ(weft_rlock_release(&rl), 0);
    WT_EQ(weft_rlock_depth(&rl), 0);
    WT_TRUE(!weft_rlock_is_locked(&rl));
    WT_EQ(weft_rlock_release(&rl), EPERM);
    WT_EQ(weft_rlock_destroy(&rl), 0);
    WT_EQ(weft_rlock_init(&rl, 0x8), EINVAL);
    WT_EQ(weft_rlock_acquire_for(&rl, -1), EINVAL);
}

struct other {
    weft_rlock *rl;
    int release, try_, timed;
    int64_t waited;
};

static void *from_other(void *p)
{
    struct other *o = (struct other *)p;
    o->release = weft_rlock_release(o->rl);
    o->try_ = weft_rlock_try_acquire(o->rl);
    int64_t t0 = weft_time_now_ns();
    o->timed = weft_rlock_acquire_for(o->rl, 20 * MS);
    o->waited = weft_time_now_ns() - t0;
    return NULL;
}

WT_CASE(test_rlock_other_thread_cannot_release_or_enter, "unit valgrind") {
    weft_rlock rl = WEFT_RLOCK_INIT;
    WT_EQ(weft_rlock_acquire(&rl), 0);
    WT_EQ(weft_rlock_acquire(&rl), 0);
    struct other o = {&rl, -1, -1, -1, 0};
    join(spawn(from_other, &o));
    WT_EQ(o.release, EPERM);
    WT_EQ(o.try_, EBUSY);
    WT_EQ(o.timed, ETIMEDOUT);
    WT_GE(o.waited, 20 * MS);
    WT_EQ(weft_rlock_depth(&rl), 2); /* nothing changed */
    WT_EQ(weft_rlock_release(&rl), 0);
    WT_EQ(weft_rlock_release(&rl), 0);
}

struct mx {
    weft_rlock rl;
    long counter;
    int inside; /* atomic */
    long iters;
};

static void *nested_worker(void *p)
{
    struct mx *m = (struct mx *)p;
    for (long i = 0; i < m->iters; i++) {
        WT_EQ(weft_rlock_acquire(&m->rl), 0);
        WT_EQ(__atomic_fetch_add(&m->inside, 1, __ATOMIC_RELAXED), 0);
        WT_EQ(weft_rlock_acquire(&m->rl), 0); /* nested level */
        m->counter++;
        WT_EQ(weft_rlock_release(&m->rl), 0);
        WT_EQ(__atomic_fetch_sub(&m->inside, 1, __ATOMIC_RELAXED), 1);
        WT_EQ(weft_rlock_release(&m->rl), 0);
    }
    return NULL;
}

WT_CASE(test_rlock_mutual_exclusion_stress, "stress valgrind") {
    struct mx m;
    memset(&m, 0, sizeof m);
    m.iters = wt_iters(100000);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn(nested_worker, &m);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    WT_EQ(m.counter, 3 * m.iters);
}

WT_CASE(test_rlock_fork_child_keeps_private_levels, "unit valgrind") {
    weft_rlock rl = WEFT_RLOCK_INIT;
    WT_EQ(weft_rlock_acquire(&rl), 0);
    WT_EQ(weft_rlock_acquire(&rl), 0);
    (void)fflush(NULL);
    pid_t pid = fork();
    WT_GE(pid, 0);
    if (pid == 0) {
        int ok = weft_rlock_depth(&rl) == 2 && weft_rlock_release(&rl) == 0 &&
                 weft_rlock_release(&rl) == 0 && weft_rlock_try_acquire(&rl) == 0;
        _exit(ok ? 0 : 1);
    }
    WT_EQ(reap(pid), 0);
    WT_EQ(weft_rlock_release(&rl), 0);
    WT_EQ(weft_rlock_release(&rl), 0);
}

/* A shared rlock excludes across processes, and a child does not inherit
 * its parent's levels. */
struct shared_mx {
    weft_rlock rl;
    long counter;
};

static int shared_worker(void *p)
{
    struct shared_mx *m = (struct shared_mx *)p;
    if (weft_rlock_is_owned(&m->rl))
        return 2; /* inherited the parent's ownership: wrong */
    for (int i = 0; i < 20000; i++) {
        for (int level = 0; level < 2; level++)
            if (weft_rlock_acquire(&m->rl) != 0)
                return 3;
        m->counter++;
        for (int level = 0; level < 2; level++)
            if (weft_rlock_release(&m->rl) != 0)
                return 4;
    }
    return 0;
}

WT_CASE(test_rlock_shared_across_processes, "unit valgrind") {
    struct shared_mx *m = (struct shared_mx *)shared_alloc(sizeof *m);
    WT_EQ(weft_rlock_init(&m->rl, WEFT_SHARED), 0);
    WT_EQ(weft_rlock_acquire(&m->rl), 0);
    pid_t a = fork_child(shared_worker, m);
    pid_t b = fork_child(shared_worker, m);
    sleep_ns(5 * MS);
    WT_EQ(weft_rlock_release(&m->rl), 0);
    WT_EQ(reap(a), 0);
    WT_EQ(reap(b), 0);
    WT_EQ(m->counter, 40000);
    shared_free(m, sizeof *m);
}

WT_MAIN()
