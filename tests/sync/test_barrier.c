/* test_barrier.c - weft_barrier with Python's Barrier semantics. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "weft/barrier.h"
#include "weft/time.h"

#define PARTIES 4

struct round_state {
    weft_barrier b;
    int arrived[PARTIES * 64]; /* atomic: index counts per round */
    int actions;               /* written by the action (under the barrier) */
    int rounds;
    int phase[PARTIES];        /* per thread: rounds done */
};

static int count_action(void *arg)
{
    ((struct round_state *)arg)->actions++;
    return 0;
}

struct member {
    struct round_state *s;
    int id;
};

static void *member_main(void *p)
{
    struct member *m = (struct member *)p;
    struct round_state *s = m->s;
    for (int r = 0; r < s->rounds; r++) {
        unsigned idx = 99;
        WT_EQ(weft_barrier_wait(&s->b, &idx), 0);
        WT_LT(idx, PARTIES);
        __atomic_fetch_add(&s->arrived[r * PARTIES + (int)idx], 1,
                           __ATOMIC_RELAXED);
        /* No thread may start round r+1 before all finished round r's
         * action: the action count is at least r+1 here. */
        WT_GE(__atomic_load_n(&s->actions, __ATOMIC_RELAXED), r + 1);
    }
    return NULL;
}

WT_CASE(test_barrier_rounds_indices_and_action, "unit valgrind") {
    struct round_state s;
    memset(&s, 0, sizeof s);
    s.rounds = 64;
    WT_EQ(weft_barrier_init(&s.b, PARTIES, count_action, &s, WEFT_PRIVATE), 0);
    pthread_t t[PARTIES];
    struct member m[PARTIES];
    for (int i = 0; i < PARTIES; i++) {
        m[i].s = &s;
        m[i].id = i;
        t[i] = spawn(member_main, &m[i]);
    }
    for (int i = 0; i < PARTIES; i++)
        join(t[i]);
    WT_EQ(s.actions, s.rounds);
    for (int i = 0; i < s.rounds * PARTIES; i++)
        WT_EQ(s.arrived[i], 1); /* each index exactly once per round */
    WT_EQ(weft_barrier_n_waiting(&s.b), 0);
    WT_TRUE(!weft_barrier_broken(&s.b));
    WT_EQ(weft_barrier_destroy(&s.b), 0);
}

WT_CASE(test_barrier_invalid_arguments, "unit valgrind") {
    weft_barrier b;
    WT_EQ(weft_barrier_init(&b, 0, NULL, NULL, 0), EINVAL);
    WT_EQ(weft_barrier_init(&b, 1, NULL, NULL, 0x40), EINVAL);
    WT_EQ(weft_barrier_init(&b, 1, NULL, NULL, 0), 0);
    unsigned idx = 7;
    WT_EQ(weft_barrier_wait(&b, &idx), 0); /* one party: passes at once */
    WT_EQ(idx, 0);
    WT_EQ(weft_barrier_wait_for(&b, &idx, -1), EINVAL);
}

struct breaker {
    weft_barrier *b;
    int result;
    int64_t timeout;
};

static void *wait_result(void *p)
{
    struct breaker *x = (struct breaker *)p;
    x->result = x->timeout < 0 ? weft_barrier_wait(x->b, NULL)
                               : weft_barrier_wait_for(x->b, NULL, x->timeout);
    return NULL;
}

WT_CASE(test_barrier_timeout_breaks_for_everyone, "unit valgrind") {
    weft_barrier b;
    WT_EQ(weft_barrier_init(&b, 3, NULL, NULL, 0), 0);
    struct breaker waiter = {&b, -1, -1};
    pthread_t t = spawn(wait_result, &waiter);
    sleep_ns(10 * MS);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_barrier_wait_for(&b, NULL, 20 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 20 * MS);
    join(t);
    WT_EQ(waiter.result, WEFT_EBROKEN);
    WT_TRUE(weft_barrier_broken(&b));
    WT_EQ(weft_barrier_wait(&b, NULL), WEFT_EBROKEN); /* later callers too */
    weft_barrier_reset(&b);
    WT_TRUE(!weft_barrier_broken(&b));
    /* Usable again after reset: a full round of 3 passes. */
    struct breaker w1 = {&b, -1, 10000 * MS}, w2 = {&b, -1, 10000 * MS};
    pthread_t a = spawn(wait_result, &w1), c = spawn(wait_result, &w2);
    WT_EQ(weft_barrier_wait_for(&b, NULL, 10000 * MS), 0);
    join(a);
    join(c);
    WT_EQ(w1.result, 0);
    WT_EQ(w2.result, 0);
}

WT_CASE(test_barrier_abort_and_reset_wake_waiters, "unit valgrind") {
    weft_barrier b;
    WT_EQ(weft_barrier_init(&b, 3, NULL, NULL, 0), 0);
    struct breaker x = {&b, -1, -1}, y = {&b, -1, -1};
    pthread_t t1 = spawn(wait_result, &x), t2 = spawn(wait_result, &y);
    while (weft_barrier_n_waiting(&b) != 2)
        sleep_ns(MS);
    weft_barrier_abort(&b);
    join(t1);
    join(t2);
    WT_EQ(x.result, WEFT_EBROKEN);
    WT_EQ(y.result, WEFT_EBROKEN);
    weft_barrier_reset(&b);
    /* reset with threads waiting: they get WEFT_EBROKEN, the barrier is
     * then empty and working. */
    t1 = spawn(wait_result, &x);
    while (weft_barrier_n_waiting(&b) != 1)
        sleep_ns(MS);
    weft_barrier_reset(&b);
    join(t1);
    WT_EQ(x.result, WEFT_EBROKEN);
    WT_TRUE(!weft_barrier_broken(&b));
    WT_EQ(weft_barrier_n_waiting(&b), 0);
}

WT_CASE(test_barrier_destroy_busy_while_inside, "unit valgrind") {
    weft_barrier b;
    WT_EQ(weft_barrier_init(&b, 2, NULL, NULL, 0), 0);
    struct breaker x = {&b, -1, -1};
    pthread_t t = spawn(wait_result, &x);
    while (weft_barrier_n_waiting(&b) != 1)
        sleep_ns(MS);
    WT_EQ(weft_barrier_destroy(&b), EBUSY);
    WT_EQ(weft_barrier_wait(&b, NULL), 0);
    join(t);
    WT_EQ(x.result, 0);
    WT_EQ(weft_barrier_destroy(&b), 0);
}

static int failing_action(void *arg)
{
    (void)arg;
    return ENOSPC;
}

WT_CASE(test_barrier_failing_action_breaks, "unit valgrind") {
    weft_barrier b;
    WT_EQ(weft_barrier_init(&b, 2, failing_action, NULL, 0), 0);
    struct breaker x = {&b, -1, -1};
    pthread_t t = spawn(wait_result, &x);
    while (weft_barrier_n_waiting(&b) != 1)
        sleep_ns(MS);
    WT_EQ(weft_barrier_wait(&b, NULL), ENOSPC); /* this thread ran it */
    join(t);
    WT_EQ(x.result, WEFT_EBROKEN);
    WT_TRUE(weft_barrier_broken(&b));
}

static int child_rounds(void *p)
{
    weft_barrier *b = (weft_barrier *)p;
    for (int r = 0; r < 100; r++)
        if (weft_barrier_wait_for(b, NULL, 10000 * MS) != 0)
            return 1;
    return 0;
}

WT_CASE(test_barrier_shared_across_processes, "unit valgrind") {
    weft_barrier *b = (weft_barrier *)shared_alloc(sizeof *b);
    WT_EQ(weft_barrier_init(b, 3, NULL, NULL, WEFT_SHARED), 0);
    pid_t a = fork_child(child_rounds, b), c = fork_child(child_rounds, b);
    WT_EQ(child_rounds(b), 0);
    WT_EQ(reap(a), 0);
    WT_EQ(reap(c), 0);
    shared_free(b, sizeof *b);
}

/* A process dies in the action, holding the barrier's internal lock: the
 * other waiters (asleep on the round) must get WEFT_EBROKEN, not hang. */
static int die_in_action(void *arg)
{
    if (__atomic_load_n((int *)arg, __ATOMIC_RELAXED))
        _exit(9);
    return 0;
}

static int wait_broken(void *p)
{
    int r = weft_barrier_wait_for((weft_barrier *)p, NULL, 10000 * MS);
    return r == WEFT_EBROKEN ? 0 : 1;
}

WT_CASE(test_barrier_shared_holder_death_breaks, "unit") {
    weft_barrier *b = (weft_barrier *)shared_alloc(sizeof *b);
    int *die = (int *)shared_alloc(sizeof *die);
    *die = 1;
    WT_EQ(weft_barrier_init(b, 3, die_in_action, die, WEFT_SHARED), 0);
    pid_t w1 = fork_child(wait_broken, b), w2 = fork_child(wait_broken, b);
    while (weft_barrier_n_waiting(b) != 2)
        sleep_ns(MS);
    int64_t t0 = weft_time_now_ns();
    pid_t last = fork_child(wait_broken, b); /* third: runs the action, dies */
    WT_EQ(reap(last), 9);
    WT_EQ(reap(w1), 0);
    WT_EQ(reap(w2), 0);
    WT_LT(weft_time_now_ns() - t0, 5000 * MS); /* a bound, not a timing claim */
    WT_TRUE(weft_barrier_broken(b));
    WT_EQ(weft_barrier_wait(b, NULL), WEFT_EBROKEN);
    weft_barrier_reset(b);
    WT_TRUE(!weft_barrier_broken(b));
    /* The voided round leaves nothing behind: three parties pass again. */
    __atomic_store_n(die, 0, __ATOMIC_RELAXED);
    pid_t a = fork_child(child_rounds, b), c = fork_child(child_rounds, b);
    WT_EQ(child_rounds(b), 0);
    WT_EQ(reap(a), 0);
    WT_EQ(reap(c), 0);
    shared_free(die, sizeof *die);
    shared_free(b, sizeof *b);
}

WT_MAIN()
