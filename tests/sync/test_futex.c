/* test_futex.c - weft_futex_wait / weft_futex_wake, the public wait layer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>

#include "helpers.h"
#include "weft/futex.h"
#include "weft/time.h"

WT_CASE(test_futex_wait_returns_when_value_differs, "unit valgrind") {
    uint32_t w = 5;
    WT_EQ(weft_futex_wait(&w, 4, WEFT_DEADLINE_NEVER, 0), 0);
    WT_EQ(weft_futex_wait(&w, 4, 0, WEFT_SHARED), 0);
}

WT_CASE(test_futex_wait_deadline, "unit valgrind") {
    uint32_t w = 0;
    WT_EQ(weft_futex_wait(&w, 0, 0, 0), ETIMEDOUT);
    WT_EQ(weft_futex_wait(&w, 0, -5, 0), ETIMEDOUT);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_futex_wait(&w, 0, weft_time_deadline_ns(20 * MS), 0), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 20 * MS);
}

WT_CASE(test_futex_rejects_bad_arguments, "unit valgrind") {
    uint32_t w[2] = {0, 0};
    const uint32_t *odd = (const uint32_t *)(const void *)((const char *)w + 1);
    WT_EQ(weft_futex_wait(NULL, 0, 0, 0), EINVAL);
    WT_EQ(weft_futex_wait(odd, 0, 0, 0), EINVAL);
    WT_EQ(weft_futex_wait(w, 0, 0, 0x8), EINVAL);
    WT_EQ(weft_futex_wake(NULL, 1, 0), -EINVAL);
    WT_EQ(weft_futex_wake(odd, 1, 0), -EINVAL);
    WT_EQ(weft_futex_wake(w, 1, WEFT_NORECURSE), -EINVAL);
    WT_EQ(weft_futex_wake(w, 0, 0), 0);
    WT_EQ(weft_futex_wake(w, -3, 0), 0);
    WT_EQ(weft_futex_wake(w, 1, 0), 0); /* nobody asleep */
}

struct counted {
    uint32_t seq;   /* atomic: the futex */
    uint32_t ready; /* atomic: how many the waker allowed through */
    uint32_t out;   /* atomic */
};

static void *event_count_waiter(void *p)
{
    struct counted *c = (struct counted *)p;
    int64_t deadline = weft_time_deadline_ns(10000 * MS);
    for (;;) {
        uint32_t seen = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE))
            break;
        WT_EQ(weft_futex_wait(&c->seq, seen, deadline, 0), 0);
    }
    __atomic_fetch_add(&c->out, 1, __ATOMIC_RELAXED);
    return NULL;
}

WT_CASE(test_futex_event_count_wakes_all, "unit valgrind") {
    for (int round = 0; round < 20; round++) {
        struct counted c = {0, 0, 0};
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            t[i] = spawn(event_count_waiter, &c);
        if (round % 2)
            sleep_ns(2 * MS);
        __atomic_store_n(&c.ready, 1, __ATOMIC_RELEASE);
        __atomic_fetch_add(&c.seq, 1, __ATOMIC_RELEASE);
        WT_GE(weft_futex_wake(&c.seq, INT32_MAX, 0), 0);
        for (int i = 0; i < 3; i++)
            join(t[i]);
        WT_EQ(c.out, 3u);
    }
}

WT_CASE(test_futex_wake_counts_sleepers, "unit valgrind") {
    struct counted c = {0, 0, 0};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        t[i] = spawn(event_count_waiter, &c);
    __atomic_store_n(&c.ready, 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&c.seq, 1, __ATOMIC_RELEASE);
    /* Some or all may already be past the check; never more than asked. */
    int n = weft_futex_wake(&c.seq, 1, 0);
    WT_TRUE(n == 0 || n == 1);
    (void)weft_futex_wake(&c.seq, INT32_MAX, 0);
    for (int i = 0; i < 2; i++)
        join(t[i]);
}

static int shared_waiter(void *p)
{
    struct counted *c = (struct counted *)p;
    int64_t deadline = weft_time_deadline_ns(10000 * MS);
    for (;;) {
        uint32_t seen = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE))
            return 9;
        if (weft_futex_wait(&c->seq, seen, deadline, WEFT_SHARED) == ETIMEDOUT)
            return 1;
    }
}

WT_CASE(test_futex_shared_across_processes, "unit valgrind") {
    struct counted *c = (struct counted *)shared_alloc(sizeof *c);
    pid_t kid = fork_child(shared_waiter, c);
    sleep_ns(20 * MS);
    __atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&c->seq, 1, __ATOMIC_RELEASE);
    (void)weft_futex_wake(&c->seq, INT32_MAX, WEFT_SHARED);
    WT_EQ(reap(kid), 9);
    shared_free(c, sizeof *c);
}

WT_MAIN()
