/* test_cond.c - weft_cond with weft_lock and weft_rlock. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "weft/cond.h"
#include "weft/time.h"

WT_CASE(test_cond_timeout_reacquires_lock, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    weft_cond c = WEFT_COND_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_cond_wait_for(&c, &lk, 30 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_TRUE(weft_lock_is_locked(&lk));
    WT_EQ(weft_cond_wait_until(&c, &lk, 0), ETIMEDOUT);
    WT_EQ(weft_cond_wait_for(&c, &lk, -1), EINVAL);
    WT_EQ(weft_lock_release(&lk), 0);
    WT_EQ(weft_cond_destroy(&c), 0);
}

WT_CASE(test_cond_wait_without_lock_is_eperm, "unit valgrind") {
    weft_lock lk = WEFT_LOCK_INIT;
    weft_rlock rl = WEFT_RLOCK_INIT;
    weft_cond c;
    WT_EQ(weft_cond_init(&c, WEFT_PRIVATE), 0);
    WT_EQ(weft_cond_wait_for(&c, &lk, MS), EPERM);
    WT_EQ(weft_cond_wait_rlock_for(&c, &rl, MS), EPERM);
    WT_TRUE(!weft_lock_is_locked(&lk));
    WT_EQ(weft_cond_init(&c, 0x2), EINVAL);
    /* Notify with no waiters is a no-op. */
    WT_EQ(weft_cond_notify(&c, 1), 0);
    WT_EQ(weft_cond_notify_all(&c), 0);
}

/* A bounded queue of ints on one lock and two conditions: the classic
 * producer/consumer, checking that every item arrives exactly once. */
#define QCAP 8
struct queue {
    weft_lock lk;
    weft_cond not_empty, not_full;
    int items[QCAP];
    int head, len;
    long sum_in, sum_out;
    int closed;
};

static bool has_item(void *p)
{
    struct queue *q = (struct queue *)p;
    return q->len > 0 || q->closed;
}

static bool has_room(void *p)
{
    struct queue *q = (struct queue *)p;
    return q->len < QCAP;
}

struct worker {
    struct queue *q;
    int n;
};

static void *put_items(void *p)
{
    struct worker *w = (struct worker *)p;
    struct queue *q = w->q;
    for (int i = 1; i <= w->n; i++) {
        WT_EQ(weft_lock_acquire(&q->lk), 0);
        WT_EQ(weft_cond_wait_pred_until(&q->not_full, &q->lk, has_room, q,
                                        WEFT_DEADLINE_NEVER), 0);
        q->items[(q->head + q->len++) % QCAP] = i;
        q->sum_in += i;
        WT_EQ(weft_cond_notify(&q->not_empty, 1), 0);
        WT_EQ(weft_lock_release(&q->lk), 0);
    }
    return NULL;
}

static void *take_items(void *p)
{
    struct worker *w = (struct worker *)p;
    struct queue *q = w->q;
    for (;;) {
        WT_EQ(weft_lock_acquire(&q->lk), 0);
        while (!has_item(q))
            WT_EQ(weft_cond_wait(&q->not_empty, &q->lk), 0);
        if (q->len == 0) { /* closed and drained */
            WT_EQ(weft_lock_release(&q->lk), 0);
            return NULL;
        }
        q->sum_out += q->items[q->head];
        q->head = (q->head + 1) % QCAP;
        q->len--;
        WT_EQ(weft_cond_notify(&q->not_full, 1), 0);
        WT_EQ(weft_lock_release(&q->lk), 0);
    }
}

static void producer_consumer(int n)
{
    struct queue q;
    memset(&q, 0, sizeof q);
    struct worker w = {&q, n};
    pthread_t t[4];
    t[0] = spawn(put_items, &w);
    t[1] = spawn(put_items, &w);
    t[2] = spawn(take_items, &w);
    t[3] = spawn(take_items, &w);
    join(t[0]);
    join(t[1]);
    WT_EQ(weft_lock_acquire(&q.lk), 0);
    q.closed = 1;
    WT_EQ(weft_cond_notify_all(&q.not_empty), 0);
    WT_EQ(weft_lock_release(&q.lk), 0);
    join(t[2]);
    join(t[3]);
    WT_EQ(q.sum_in, (long)n * (n + 1));
    WT_EQ(q.sum_out, q.sum_in);
    WT_EQ(weft_cond_destroy(&q.not_empty), 0);
}

WT_CASE(test_cond_producer_consumer_stress, "stress valgrind") {
    producer_consumer((int)wt_iters(50000));
}

WT_CASE(test_cond_producer_consumer_helgrind, "stress helgrind") {
    producer_consumer(2000);
}

/* notify_all wakes every waiter (through the lock's queue) and each gets
 * the lock in turn; notify(1) wakes at least one. */
struct crowd {
    weft_lock lk;
    weft_cond c;
    int go, ready, done;
};

static void *crowd_member(void *p)
{
    struct crowd *x = (struct crowd *)p;
    WT_EQ(weft_lock_acquire(&x->lk), 0);
    x->ready++;
    while (!x->go)
        WT_EQ(weft_cond_wait(&x->c, &x->lk), 0);
    x->done++;
    WT_EQ(weft_lock_release(&x->lk), 0);
    return NULL;
}

WT_CASE(test_cond_notify_all_wakes_everyone, "unit valgrind") {
    for (int round = 0; round < 10; round++) {
        struct crowd x;
        memset(&x, 0, sizeof x);
        pthread_t t[6];
        for (int i = 0; i < 6; i++)
            t[i] = spawn(crowd_member, &x);
        for (;;) { /* all six are waiting (they count in under the lock) */
            WT_EQ(weft_lock_acquire(&x.lk), 0);
            int ready = x.ready;
            WT_EQ(weft_lock_release(&x.lk), 0);
            if (ready == 6)
                break;
            sleep_ns(MS);
        }
        WT_EQ(weft_lock_acquire(&x.lk), 0);
        x.go = 1;
        /* Odd rounds notify without holding the lock. */
        if (round % 2 == 1)
            WT_EQ(weft_lock_release(&x.lk), 0);
        WT_EQ(weft_cond_notify_all(&x.c), 0);
        if (round % 2 == 0)
            WT_EQ(weft_lock_release(&x.lk), 0);
        for (int i = 0; i < 6; i++)
            join(t[i]);
        WT_EQ(x.done, 6);
    }
}

/* With an rlock held at depth 3: the wait releases every level (another
 * thread can take the rlock) and restores all three. */
struct rl_state {
    weft_rlock rl;
    weft_cond c;
    int flag;
};

static void *set_flag(void *p)
{
    struct rl_state *s = (struct rl_state *)p;
    WT_EQ(weft_rlock_acquire(&s->rl), 0);
    s->flag = 1;
    WT_EQ(weft_cond_notify(&s->c, 1), 0);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    return NULL;
}

static bool flag_set(void *p)
{
    return ((struct rl_state *)p)->flag != 0;
}

WT_CASE(test_cond_with_rlock_restores_levels, "unit valgrind") {
    struct rl_state s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_rlock_acquire(&s.rl), 0);
    pthread_t t = spawn(set_flag, &s);
    WT_EQ(weft_cond_wait_rlock_pred_until(&s.c, &s.rl, flag_set, &s,
                                          weft_time_deadline_ns(10000 * MS)), 0);
    WT_EQ(weft_rlock_depth(&s.rl), 3);
    WT_EQ(weft_cond_wait_rlock_for(&s.c, &s.rl, MS), ETIMEDOUT);
    WT_EQ(weft_rlock_depth(&s.rl), 3);
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_rlock_release(&s.rl), 0);
    join(t);
}

WT_CASE(test_cond_pred_timeout_rechecks, "unit valgrind") {
    struct rl_state s;
    memset(&s, 0, sizeof s);
    weft_lock lk = WEFT_LOCK_INIT;
    WT_EQ(weft_lock_acquire(&lk), 0);
    WT_EQ(weft_cond_wait_pred_until(&s.c, &lk, flag_set, &s,
                                    weft_time_deadline_ns(10 * MS)), ETIMEDOUT);
    s.flag = 1;
    WT_EQ(weft_cond_wait_pred_until(&s.c, &lk, flag_set, &s, 0), 0);
    WT_EQ(weft_lock_release(&lk), 0);
}

/* A shared cond and rlock in shared memory: a child waits for the parent. */
struct shared_state {
    weft_rlock rl;
    weft_cond c;
    int value;
};

static bool value_set(void *p)
{
    return ((struct shared_state *)p)->value != 0;
}

static int child_waits(void *p)
{
    struct shared_state *s = (struct shared_state *)p;
    if (weft_rlock_acquire(&s->rl) != 0)
        return 1;
    int r = weft_cond_wait_rlock_pred_until(&s->c, &s->rl, value_set, s,
                                            weft_time_deadline_ns(10000 * MS));
    int v = s->value;
    if (weft_rlock_release(&s->rl) != 0)
        return 2;
    return r == 0 ? v : 3;
}

WT_CASE(test_cond_shared_across_processes, "unit valgrind") {
    struct shared_state *s = (struct shared_state *)shared_alloc(sizeof *s);
    WT_EQ(weft_rlock_init(&s->rl, WEFT_SHARED), 0);
    WT_EQ(weft_cond_init(&s->c, WEFT_SHARED), 0);
    pid_t kids[2] = {fork_child(child_waits, s), fork_child(child_waits, s)};
    sleep_ns(20 * MS);
    WT_EQ(weft_rlock_acquire(&s->rl), 0);
    s->value = 42;
    WT_EQ(weft_cond_notify_all(&s->c), 0);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    WT_EQ(reap(kids[0]), 42);
    WT_EQ(reap(kids[1]), 42);
    shared_free(s, sizeof *s);
}

WT_MAIN()
