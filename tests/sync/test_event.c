/* test_event.c - weft_event: set, clear, wait with deadlines. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "helpers.h"
#include "weft/event.h"
#include "weft/time.h"

WT_CASE(test_event_set_clear_is_set, "unit valgrind") {
    weft_event ev = WEFT_EVENT_INIT;
    WT_TRUE(!weft_event_is_set(&ev));
    weft_event_set(&ev);
    WT_TRUE(weft_event_is_set(&ev));
    weft_event_set(&ev); /* idempotent */
    WT_EQ(weft_event_wait(&ev), 0);
    WT_EQ(weft_event_wait_for(&ev, 0), 0);
    weft_event_clear(&ev);
    WT_TRUE(!weft_event_is_set(&ev));
    weft_event_clear(&ev);
    WT_EQ(weft_event_destroy(&ev), 0);
    WT_EQ(weft_event_init(&ev, 0x4), EINVAL);
}

WT_CASE(test_event_timeout_really_waits, "unit valgrind") {
    weft_event ev;
    WT_EQ(weft_event_init(&ev, WEFT_PRIVATE), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_event_wait_for(&ev, 30 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_EQ(weft_event_wait_until(&ev, 0), ETIMEDOUT);
    WT_EQ(weft_event_wait_for(&ev, -1), EINVAL);
    /* A waiter that timed out leaves the event fully usable. */
    weft_event_set(&ev);
    WT_EQ(weft_event_wait_for(&ev, 0), 0);
}

struct waiters {
    weft_event ev;
    int woken; /* atomic */
    int64_t timeout;
};

static void *wait_main(void *p)
{
    struct waiters *w = (struct waiters *)p;
    int64_t deadline = weft_time_deadline_ns(w->timeout);
    WT_EQ(weft_event_wait_until(&w->ev, deadline), 0);
    /* Woken by the set, not returned at the deadline finding it set (a
     * set that forgot its sleepers would pass the check above). */
    WT_LT(weft_time_now_ns(), deadline);
    WT_TRUE(weft_event_is_set(&w->ev));
    __atomic_fetch_add(&w->woken, 1, __ATOMIC_RELAXED);
    return NULL;
}

WT_CASE(test_event_set_wakes_every_waiter, "unit valgrind") {
    for (int round = 0; round < 5; round++) {
        struct waiters w;
        memset(&w, 0, sizeof w);
        w.timeout = 10000 * MS;
        pthread_t t[5];
        for (int i = 0; i < 5; i++)
            t[i] = spawn(wait_main, &w);
        sleep_ns(10 * MS);
        WT_EQ(__atomic_load_n(&w.woken, __ATOMIC_RELAXED), 0);
        weft_event_set(&w.ev);
        for (int i = 0; i < 5; i++)
            join(t[i]);
        WT_EQ(w.woken, 5);
    }
}

/* The documented loop: clear, drain, wait. Producers add work, then set;
 * the consumer must see every item. */
struct work {
    weft_event ev;
    long produced; /* atomic */
    long consumed;
    long total;
};

static void *produce(void *p)
{
    struct work *w = (struct work *)p;
    for (long i = 0; i < w->total / 2; i++) {
        __atomic_fetch_add(&w->produced, 1, __ATOMIC_RELEASE);
        weft_event_set(&w->ev);
    }
    return NULL;
}

WT_CASE(test_event_documented_loop_loses_nothing, "stress valgrind") {
    struct work w;
    memset(&w, 0, sizeof w);
    w.total = 2 * wt_iters(50000);
    pthread_t a = spawn(produce, &w), b = spawn(produce, &w);
    while (w.consumed < w.total) {
        weft_event_clear(&w.ev);
        w.consumed = __atomic_load_n(&w.produced, __ATOMIC_ACQUIRE);
        if (w.consumed < w.total)
            WT_EQ(weft_event_wait_for(&w.ev, 10000 * MS), 0);
    }
    join(a);
    join(b);
    WT_EQ(w.consumed, w.total);
}

/* A waiter ends each event's life as soon as its wait returns, and the
 * next event takes the same memory, while the setter may still be inside
 * weft_event_set (ThreadSanitizer and Valgrind see a late access). */
struct handoff {
    weft_event *slot; /* the live event, published by the waiter */
    int rounds;
};

static void *set_each(void *arg)
{
    struct handoff *h = (struct handoff *)arg;
    for (int i = 0; i < h->rounds; i++) {
        weft_event *ev;
        /* Yield: under Valgrind, which runs one thread at a time, a bare
         * spin would hold the core for a whole time slice per round. */
        while ((ev = __atomic_exchange_n(&h->slot, NULL, __ATOMIC_ACQ_REL)) == NULL)
            (void)sched_yield();
        weft_event_set(ev);
    }
    return NULL;
}

WT_CASE(test_event_destroy_right_after_wait, "unit valgrind") {
    struct handoff h = {NULL, (int)wt_iters(20000)};
    pthread_t t = spawn(set_each, &h);
    for (int i = 0; i < h.rounds; i++) {
        weft_event ev; /* the same stack memory each round */
        WT_EQ(weft_event_init(&ev, i % 2 ? WEFT_SHARED : 0), 0);
        __atomic_store_n(&h.slot, &ev, __ATOMIC_RELEASE);
        WT_EQ(weft_event_wait_for(&ev, 10000 * MS), 0);
        WT_EQ(weft_event_destroy(&ev), 0);
        memset(&ev, 0xa5, sizeof ev);
    }
    join(t);
}

static int wait_in_child(void *p)
{
    return weft_event_wait_for((weft_event *)p, 10000 * MS) == 0 ? 7 : 1;
}

WT_CASE(test_event_shared_across_processes, "unit valgrind") {
    weft_event *ev = (weft_event *)shared_alloc(sizeof *ev);
    WT_EQ(weft_event_init(ev, WEFT_SHARED), 0);
    pid_t kids[3];
    for (int i = 0; i < 3; i++)
        kids[i] = fork_child(wait_in_child, ev);
    sleep_ns(20 * MS);
    weft_event_set(ev);
    for (int i = 0; i < 3; i++)
        WT_EQ(reap(kids[i]), 7);
    shared_free(ev, sizeof *ev);
}

WT_MAIN()
