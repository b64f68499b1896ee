/* test_sem.c - weft_sem: counting and bounded semaphores. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "weft/sem.h"
#include "weft/time.h"

WT_CASE(test_sem_counts_units, "unit valgrind") {
    weft_sem s;
    WT_EQ(weft_sem_init(&s, 2, WEFT_PRIVATE), 0);
    WT_EQ(weft_sem_value(&s), 2);
    WT_EQ(weft_sem_acquire(&s), 0);
    WT_EQ(weft_sem_try_acquire(&s), 0);
    WT_EQ(weft_sem_try_acquire(&s), EAGAIN);
    WT_EQ(weft_sem_value(&s), 0);
    WT_EQ(weft_sem_release(&s, 3), 0);
    WT_EQ(weft_sem_value(&s), 3);
    WT_EQ(weft_sem_destroy(&s), 0);
}

WT_CASE(test_sem_invalid_arguments, "unit valgrind") {
    weft_sem s;
    WT_EQ(weft_sem_init(&s, WEFT_SEM_VALUE_MAX + 1u, 0), EINVAL);
    WT_EQ(weft_sem_init(&s, 0, 0x10), EINVAL);
    WT_EQ(weft_sem_init(&s, 0, 0), 0);
    WT_EQ(weft_sem_release(&s, 0), EINVAL);
    WT_EQ(weft_sem_acquire_for(&s, -1), EINVAL);
    WT_EQ(weft_sem_value(&s), 0);
}

WT_CASE(test_sem_bounded_over_release_changes_nothing, "unit valgrind") {
    weft_sem s;
    WT_EQ(weft_sem_init_bounded(&s, 2, WEFT_PRIVATE), 0);
    WT_EQ(weft_sem_release(&s, 1), EOVERFLOW);
    WT_EQ(weft_sem_value(&s), 2);
    WT_EQ(weft_sem_acquire(&s), 0);
    WT_EQ(weft_sem_release(&s, 2), EOVERFLOW);
    WT_EQ(weft_sem_value(&s), 1);
    WT_EQ(weft_sem_release(&s, 1), 0);
    WT_EQ(weft_sem_value(&s), 2);
}

WT_CASE(test_sem_unbounded_overflow, "unit valgrind") {
    weft_sem s;
    WT_EQ(weft_sem_init(&s, WEFT_SEM_VALUE_MAX, 0), 0);
    WT_EQ(weft_sem_release(&s, 1), EOVERFLOW);
    WT_EQ(weft_sem_value(&s), WEFT_SEM_VALUE_MAX);
    WT_EQ(weft_sem_release(&s, UINT32_MAX), EOVERFLOW);
}

WT_CASE(test_sem_timeout_really_waits, "unit valgrind") {
    weft_sem s;
    WT_EQ(weft_sem_init(&s, 0, 0), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_sem_acquire_for(&s, 30 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_EQ(weft_sem_acquire_until(&s, 0), ETIMEDOUT);
    WT_EQ(weft_sem_release(&s, 1), 0);
    WT_EQ(weft_sem_acquire_until(&s, 0), 0);
    WT_EQ(weft_sem_value(&s), 0);
}

static void *release_later(void *p)
{
    sleep_ns(20 * MS);
    WT_EQ(weft_sem_release((weft_sem *)p, 1), 0);
    return NULL;
}

WT_CASE(test_sem_release_wakes_waiter, "unit valgrind") {
    weft_sem s;
    WT_EQ(weft_sem_init(&s, 0, 0), 0);
    pthread_t t = spawn(release_later, &s);
    WT_EQ(weft_sem_acquire_for(&s, 10000 * MS), 0);
    join(t);
    WT_EQ(weft_sem_value(&s), 0);
}

/* One release of n units wakes n sleepers: each waiter must return long
 * before its deadline (10 s; a missed wake-up shows as a timeout). */
struct sleepers {
    weft_sem s;
    int64_t deadline;
    int early; /* atomic: waiters that got a unit before the deadline */
};

static void *acquire_once(void *p)
{
    struct sleepers *x = (struct sleepers *)p;
    if (weft_sem_acquire_until(&x->s, x->deadline) == 0 && weft_time_now_ns() < x->deadline)
        __atomic_fetch_add(&x->early, 1, __ATOMIC_RELAXED);
    return NULL;
}

WT_CASE(test_sem_release_of_n_wakes_n_sleepers, "unit valgrind") {
    struct sleepers x;
    memset(&x, 0, sizeof x);
    WT_EQ(weft_sem_init(&x.s, 0, 0), 0);
    x.deadline = weft_time_deadline_ns(10000 * MS);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn(acquire_once, &x);
    sleep_ns(20 * MS); /* most likely all asleep by now; either way counts */
    WT_EQ(weft_sem_release(&x.s, 3), 0);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    WT_EQ(x.early, 3);
    WT_EQ(weft_sem_value(&x.s), 0);
}

/* Every unit released is taken exactly once, with producers and consumers
 * racing; consumers use all three acquire forms. */
struct pc {
    weft_sem s;
    long per_producer;
    long taken; /* atomic */
};

static void *producer(void *p)
{
    struct pc *x = (struct pc *)p;
    for (long i = 0; i < x->per_producer; i++)
        WT_EQ(weft_sem_release(&x->s, 1), 0);
    return NULL;
}

static void *consumer(void *p)
{
    struct pc *x = (struct pc *)p;
    for (long i = 0; i < x->per_producer; i++) {
        int r;
        if (i % 3 == 0)
            r = weft_sem_acquire(&x->s);
        else if (i % 3 == 1) {
            r = weft_sem_try_acquire(&x->s);
            while (r == EAGAIN || r == ETIMEDOUT)
                r = weft_sem_acquire_for(&x->s, 100000);
        } else
            while ((r = weft_sem_acquire_for(&x->s, 50000)) == ETIMEDOUT) {
            }
        WT_EQ(r, 0);
        __atomic_fetch_add(&x->taken, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

WT_CASE(test_sem_units_conserved_stress, "stress valgrind") {
    struct pc x;
    memset(&x, 0, sizeof x);
    WT_EQ(weft_sem_init(&x.s, 0, 0), 0);
    x.per_producer = wt_iters(100000);
    pthread_t t[4];
    t[0] = spawn(consumer, &x);
    t[1] = spawn(consumer, &x);
    t[2] = spawn(producer, &x);
    t[3] = spawn(producer, &x);
    for (int i = 0; i < 4; i++)
        join(t[i]);
    WT_EQ(x.taken, 2 * x.per_producer);
    WT_EQ(weft_sem_value(&x.s), 0);
    WT_EQ(weft_sem_destroy(&x.s), 0);
}

/* A shared semaphore across processes: children take units the parent
 * releases, and their count comes back through the exit status. */
static int take_units(void *p)
{
    weft_sem *s = (weft_sem *)p;
    int got = 0;
    for (int i = 0; i < 50; i++)
        if (weft_sem_acquire_for(s, 10000 * MS) == 0)
            got++;
    return got;
}

WT_CASE(test_sem_shared_across_processes, "unit valgrind") {
    weft_sem *s = (weft_sem *)shared_alloc(sizeof *s);
    WT_EQ(weft_sem_init(s, 0, WEFT_SHARED), 0);
    pid_t a = fork_child(take_units, s);
    pid_t b = fork_child(take_units, s);
    for (int i = 0; i < 100; i++) {
        WT_EQ(weft_sem_release(s, 1), 0);
        if (i % 10 == 0)
            sleep_ns(MS);
    }
    WT_EQ(reap(a), 50);
    WT_EQ(reap(b), 50);
    WT_EQ(weft_sem_value(s), 0);
    shared_free(s, sizeof *s);
}

WT_MAIN()
