/* test_local_timer.c - weft_local (per-thread values, constructor,
 * destructor) and weft_timer (fires once, cancel, join). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>

#include "sync/helpers.h"
#include "weft/core.h"

static int made, destroyed;

static void *make_counter(void *ctx)
{
    __atomic_add_fetch(&made, 1, __ATOMIC_RELAXED);
    int *v = (int *)malloc(sizeof *v);
    WT_TRUE(v != NULL);
    *v = *(int *)ctx;
    return v;
}

static void destroy_counter(void *v)
{
    __atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED);
    free(v);
}

static int use_local(void *arg)
{
    weft_local *l = (weft_local *)arg;
    int *v = (int *)weft_local_get(l);
    WT_TRUE(v != NULL);
    WT_EQ(*v, 10); /* made by create(ctx) in this thread */
    *v += 5;
    WT_TRUE(weft_local_get(l) == v); /* the same value on every call */
    return *v;
}

WT_CASE(test_local_per_thread_values_destroyed_at_end, "unit valgrind helgrind")
{
    static int start = 10;
    weft_local l;
    WT_EQ(weft_local_init(&l, make_counter, &start, destroy_counter), 0);
    weft_thread *t[3];
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_thread_spawn(&t[i], use_local, &l, NULL), 0);
    for (int i = 0; i < 3; i++) {
        int result = 0;
        WT_EQ(weft_thread_join(t[i], &result), 0);
        WT_EQ(result, 15); /* each thread saw its own 10 */
        weft_thread_unref(t[i]);
    }
    WT_EQ(made, 3);
    WT_EQ(destroyed, 3);
    int *mine = (int *)weft_local_get(&l);
    WT_EQ(*mine, 10);
    WT_EQ(weft_local_set(&l, NULL), 0); /* the old value is destroyed */
    WT_EQ(destroyed, 4);
    WT_EQ(weft_local_destroy(&l), 0);
}

WT_CASE(test_local_without_create_and_replace, "unit valgrind")
{
    weft_local l;
    WT_EQ(weft_local_init(&l, NULL, NULL, destroy_counter), 0);
    WT_TRUE(weft_local_get(&l) == NULL);
    int *a = (int *)malloc(sizeof *a), *b = (int *)malloc(sizeof *b);
    WT_TRUE(a != NULL && b != NULL);
    int before = destroyed;
    WT_EQ(weft_local_set(&l, a), 0);
    WT_EQ(weft_local_set(&l, a), 0); /* same value: not destroyed */
    WT_EQ(destroyed, before);
    WT_EQ(weft_local_set(&l, b), 0);
    WT_EQ(destroyed, before + 1);
    WT_TRUE(weft_local_get(&l) == b);
    WT_EQ(weft_local_set(&l, NULL), 0);
    WT_EQ(destroyed, before + 2);
    WT_EQ(weft_local_destroy(&l), 0);
}

struct fire_log {
    int fired;
    int64_t at;
    weft_event done;
};

static void fire(void *arg)
{
    struct fire_log *f = (struct fire_log *)arg;
    f->at = weft_time_now_ns();
    __atomic_add_fetch(&f->fired, 1, __ATOMIC_RELEASE);
    weft_event_set(&f->done);
}

WT_CASE(test_timer_fires_once_after_delay, "unit valgrind helgrind")
{
    struct fire_log f = {.done = WEFT_EVENT_INIT};
    weft_timer *tm;
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_timer_start(&tm, 30 * MS, fire, &f, NULL), 0);
    /* Not fired before its delay; a slow run (Valgrind, a loaded machine)
     * may reach this check only after the delay, when either is right. */
    bool fired_early = weft_timer_fired(tm);
    if (weft_time_now_ns() - t0 < 30 * MS)
        WT_TRUE(!fired_early);
    WT_EQ(weft_timer_join_until(tm, WEFT_DEADLINE_NEVER), 0);
    WT_EQ(__atomic_load_n(&f.fired, __ATOMIC_ACQUIRE), 1);
    WT_GE(f.at - t0, 30 * MS);
    WT_TRUE(weft_timer_fired(tm));
    WT_EQ(weft_timer_cancel(tm), EALREADY);
    WT_EQ(weft_timer_join_until(tm, WEFT_DEADLINE_NEVER), EINVAL);
    weft_timer_free(tm);
    WT_EQ(f.fired, 1);
}

WT_CASE(test_timer_cancel_before_fire, "unit valgrind helgrind")
{
    struct fire_log f = {.done = WEFT_EVENT_INIT};
    weft_timer *tm;
    weft_thread_opts o = {.name = "reminder"};
    WT_EQ(weft_timer_start(&tm, 10000 * MS, fire, &f, &o), 0);
    char name[16];
    WT_EQ(weft_thread_name(weft_timer_thread(tm), name, sizeof name), 0);
    WT_EQ(strcmp(name, "reminder"), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_timer_cancel(tm), 0);
    WT_EQ(weft_timer_cancel(tm), 0); /* again: still will not run */
    WT_EQ(weft_timer_join_until(tm, WEFT_DEADLINE_NEVER), 0);
    WT_LT(weft_time_now_ns() - t0, 5000 * MS); /* the sleep was cut short */
    WT_TRUE(!weft_timer_fired(tm));
    weft_timer_free(tm);
    WT_EQ(f.fired, 0);
}

WT_CASE(test_timer_errors_and_free_cancels, "unit valgrind")
{
    struct fire_log f = {.done = WEFT_EVENT_INIT};
    weft_timer *tm = NULL;
    WT_EQ(weft_timer_start(NULL, 0, fire, &f, NULL), EINVAL);
    WT_EQ(weft_timer_start(&tm, 0, NULL, &f, NULL), EINVAL);
    WT_EQ(weft_timer_start(&tm, -1, fire, &f, NULL), EINVAL);
    WT_TRUE(tm == NULL);
    WT_EQ(weft_timer_start(&tm, 10000 * MS, fire, &f, NULL), 0);
    weft_timer_free(tm); /* cancels and joins */
    weft_timer_free(NULL);
    WT_EQ(f.fired, 0);
    WT_EQ(weft_thread_active_count(), 1);
}

/* Cancel racing the deadline: either the function ran (cancel said
 * EALREADY) or it never does (cancel said 0); never both, never twice. */
WT_CASE(test_timer_cancel_races_fire, "stress")
{
    long n = wt_iters(300);
    long fired = 0, cancelled = 0;
    for (long i = 0; i < n; i++) {
        struct fire_log f = {.done = WEFT_EVENT_INIT};
        weft_timer *tm;
        WT_EQ(weft_timer_start(&tm, (i % 5) * 100000, fire, &f, NULL), 0);
        sleep_ns((i % 7) * 70000);
        int err = weft_timer_cancel(tm);
        WT_EQ(weft_timer_join_until(tm, WEFT_DEADLINE_NEVER), 0);
        if (err == 0) {
            WT_EQ(f.fired, 0);
            cancelled++;
        } else {
            WT_EQ(err, EALREADY);
            WT_EQ(f.fired, 1);
            fired++;
        }
        weft_timer_free(tm);
    }
    WT_EQ(fired + cancelled, n);
}

WT_MAIN()
