/* test_future.c - weft_future: states, outcomes, cancel, callbacks,
 * waiting on one and on sets, as-completed order, errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sync/helpers.h"
#include "weft/pool.h"

WT_CASE(test_future_states_and_result, "unit valgrind helgrind")
{
    weft_future *f;
    WT_EQ(weft_future_create(&f), 0);
    WT_EQ(weft_future_state_get(f), WEFT_FUTURE_PENDING);
    WT_TRUE(!weft_future_done(f) && !weft_future_running(f) && !weft_future_cancelled(f));
    WT_EQ(weft_future_error(f), EINPROGRESS);
    WT_EQ(weft_future_result_for(f, 0, NULL), ETIMEDOUT);
    WT_EQ(weft_future_set_running(f), 0);
    WT_TRUE(weft_future_running(f));
    WT_EQ(weft_future_set_running(f), EINVAL);
    WT_EQ(weft_future_cancel(f), EBUSY);
    char *v = strdup("value");
    WT_EQ(weft_future_set_result(f, v, 6, free), 0);
    WT_EQ(weft_future_state_get(f), WEFT_FUTURE_DONE);
    WT_EQ(weft_future_set_result(f, NULL, 0, NULL), EINVAL);
    WT_EQ(weft_future_set_error(f, EIO), EINVAL);
    WT_EQ(weft_future_cancel(f), EBUSY);
    void *got = NULL;
    WT_EQ(weft_future_result(f, &got), 0);
    WT_TRUE(got == v);
    WT_EQ(weft_future_size(f), 6u);
    WT_EQ(weft_future_error(f), 0);
    WT_EQ(weft_future_worker(f, NULL, NULL), ENOENT);
    char buf[64];
    WT_EQ(weft_future_describe(f, buf, sizeof buf), strlen("done"));
    WT_EQ(strcmp(buf, "done"), 0);
    weft_future_free(f); /* frees v */
    weft_future_free(NULL);
    WT_EQ(weft_future_create(NULL), EINVAL);
}

WT_CASE(test_future_errors_and_worker, "unit valgrind")
{
    weft_future *f;
    WT_EQ(weft_future_create(&f), 0);
    WT_EQ(weft_future_set_error(f, 0), EINVAL);
    WT_EQ(weft_future_set_error(f, EIO), 0); /* pending -> done */
    void *got = int_arg(1);
    WT_EQ(weft_future_result(f, &got), EIO);
    WT_TRUE(got == int_arg(1)); /* untouched on error */
    WT_EQ(weft_future_error(f), EIO);
    WT_EQ(weft_future_size(f), 0u);
    weft_future_free(f);

    WT_EQ(weft_future_create(&f), 0);
    WT_EQ(weft_future_set_running(f), 0);
    WT_EQ(weft_future_set_worker_error(f, EOWNERDEAD, 4242, -SIGKILL), 0);
    pid_t pid = 0;
    int code = 0;
    WT_EQ(weft_future_worker(f, &pid, &code), 0);
    WT_EQ(pid, 4242);
    WT_EQ(code, -SIGKILL);
    char buf[160];
    size_t n = weft_future_describe(f, buf, sizeof buf);
    WT_EQ(n, strlen(buf));
    WT_TRUE(strstr(buf, "worker 4242 ended by signal 9") != NULL);
    char tiny[8];
    WT_EQ(weft_future_describe(f, tiny, sizeof tiny), n);
    WT_EQ(strlen(tiny), 7u);
    weft_future_free(f);
}

static void count_cb(weft_future *f, void *arg)
{
    (void)f;
    int *calls = (int *)arg;
    /* Callbacks run in order: each sees the count of the ones before. */
    calls[calls[0] + 1] = calls[0];
    calls[0]++;
}

WT_CASE(test_future_cancel_and_callbacks, "unit valgrind")
{
    weft_future *f;
    WT_EQ(weft_future_create(&f), 0);
    int calls[8] = {0};
    WT_EQ(weft_future_add_done_callback(f, count_cb, calls), 0);
    WT_EQ(weft_future_add_done_callback(f, count_cb, calls), 0);
    WT_EQ(weft_future_add_done_callback(f, NULL, calls), EINVAL);
    WT_EQ(calls[0], 0);
    WT_EQ(weft_future_cancel(f), 0);
    WT_EQ(calls[0], 2);
    WT_EQ(calls[1], 0);
    WT_EQ(calls[2], 1);
    WT_EQ(weft_future_cancel(f), 0); /* again: still cancelled, no calls */
    WT_EQ(calls[0], 2);
    WT_TRUE(weft_future_cancelled(f) && weft_future_done(f));
    WT_EQ(weft_future_set_running(f), ECANCELED);
    WT_EQ(weft_future_set_result(f, NULL, 0, NULL), EINVAL);
    WT_EQ(weft_future_result(f, NULL), ECANCELED);
    WT_EQ(weft_future_error(f), ECANCELED);
    /* Added after: runs at once. */
    WT_EQ(weft_future_add_done_callback(f, count_cb, calls), 0);
    WT_EQ(calls[0], 3);
    weft_future_free(f);

    /* A pending future dropped with callbacks frees them unrun. */
    WT_EQ(weft_future_create(&f), 0);
    WT_EQ(weft_future_add_done_callback(f, count_cb, calls), 0);
    weft_future_free(f);
    WT_EQ(calls[0], 3);
}

struct completer {
    weft_future *f;
    int64_t delay_ns;
    int error;
};

static void *complete_later(void *arg)
{
    struct completer *c = (struct completer *)arg;
    sleep_ns(c->delay_ns);
    if (c->error == ECANCELED)
        WT_EQ(weft_future_cancel(c->f), 0);
    else if (c->error != 0)
        WT_EQ(weft_future_set_error(c->f, c->error), 0);
    else
        WT_EQ(weft_future_set_result(c->f, int_arg(5), 0, NULL), 0);
    return NULL;
}

WT_CASE(test_future_wait_across_threads, "unit valgrind helgrind")
{
    for (int round = 0; round < 50; round++) {
        weft_future *f;
        WT_EQ(weft_future_create(&f), 0);
        struct completer c = {f, round % 5 == 0 ? 2 * MS : 0, 0};
        pthread_t t = spawn(complete_later, &c);
        void *v = NULL;
        WT_EQ(weft_future_result(f, &v), 0);
        WT_EQ(arg_int(v), 5);
        join(t);
        weft_future_free(f);
    }
    weft_future *f;
    WT_EQ(weft_future_create(&f), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_future_wait_for(f, 5 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 5 * MS);
    WT_EQ(weft_future_wait_for(f, -1), EINVAL);
    WT_EQ(weft_future_result_for(f, -1, NULL), EINVAL);
    weft_future_free(f);
}

WT_CASE(test_future_wait_set_modes, "unit valgrind helgrind")
{
    weft_future *fs[3];
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_future_create(&fs[i]), 0);
    bool done[3];
    size_t ndone = 99;
    WT_EQ(weft_future_wait_set_until(fs, 3, WEFT_FIRST_COMPLETED, weft_time_deadline_ns(MS), done,
                                     &ndone),
          ETIMEDOUT);
    WT_EQ(ndone, 0u);
    WT_EQ(weft_future_wait_set_until(fs, 3, (weft_future_when)7, 0, NULL, NULL), EINVAL);
    WT_EQ(weft_future_wait_set_until(NULL, 3, WEFT_ALL_COMPLETED, 0, NULL, NULL), EINVAL);
    WT_EQ(weft_future_wait_set_until(NULL, 0, WEFT_ALL_COMPLETED, 0, NULL, &ndone), 0);
    WT_EQ(ndone, 0u);

    struct completer c1 = {fs[1], 2 * MS, 0};
    pthread_t t = spawn(complete_later, &c1);
    WT_EQ(weft_future_wait_set_until(fs, 3, WEFT_FIRST_COMPLETED, WEFT_DEADLINE_NEVER, done, &ndone),
          0);
    join(t);
    WT_EQ(ndone, 1u);
    WT_TRUE(!done[0] && done[1] && !done[2]);
    /* A result is no exception: FIRST_EXCEPTION waits for an error. */
    WT_EQ(weft_future_wait_set_until(fs, 3, WEFT_FIRST_EXCEPTION, weft_time_deadline_ns(MS), NULL,
                                     NULL),
          ETIMEDOUT);
    struct completer c2 = {fs[2], 2 * MS, EIO};
    t = spawn(complete_later, &c2);
    WT_EQ(weft_future_wait_set_until(fs, 3, WEFT_FIRST_EXCEPTION, WEFT_DEADLINE_NEVER, done, &ndone),
          0);
    join(t);
    WT_EQ(ndone, 2u);
    WT_EQ(weft_future_wait_set_until(fs, 3, WEFT_ALL_COMPLETED, weft_time_deadline_ns(MS), done,
                                     &ndone),
          ETIMEDOUT);
    struct completer c0 = {fs[0], 2 * MS, ECANCELED};
    t = spawn(complete_later, &c0);
    /* Duplicates count once each way. */
    weft_future *dup[4] = {fs[0], fs[1], fs[0], fs[2]};
    WT_EQ(weft_future_wait_set_until(dup, 4, WEFT_ALL_COMPLETED, WEFT_DEADLINE_NEVER, NULL, &ndone),
          0);
    join(t);
    WT_EQ(ndone, 4u);
    /* With every future cancelled or with a result, FIRST_EXCEPTION is met
     * by all of them being done. */
    weft_future *noexc[2] = {fs[0], fs[1]};
    WT_EQ(weft_future_wait_set_until(noexc, 2, WEFT_FIRST_EXCEPTION, WEFT_DEADLINE_NEVER, NULL,
                                     NULL),
          0);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
}

WT_CASE(test_future_as_completed_order, "unit valgrind helgrind")
{
    enum { N = 5 };
    weft_future *fs[N + 1];
    for (int i = 0; i < N; i++)
        WT_EQ(weft_future_create(&fs[i]), 0);
    fs[N] = fs[1]; /* a duplicate is yielded once */
    WT_EQ(weft_future_set_error(fs[3], EIO), 0); /* done before: first */
    weft_as_completed *it;
    WT_EQ(weft_as_completed_create(&it, fs, N + 1), 0);
    WT_EQ(weft_future_set_result(fs[1], NULL, 0, NULL), 0);
    weft_future *f = NULL;
    WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), 0);
    WT_TRUE(f == fs[3]);
    WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), 0);
    WT_TRUE(f == fs[1]);
    WT_EQ(weft_as_completed_next_until(it, weft_time_deadline_ns(MS), &f), ETIMEDOUT);
    int order[3] = {4, 0, 2};
    for (int k = 0; k < 3; k++) {
        struct completer c = {fs[order[k]], MS, 0};
        pthread_t t = spawn(complete_later, &c);
        WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), 0);
        WT_TRUE(f == fs[order[k]]);
        join(t);
    }
    WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), ENOENT);
    weft_as_completed_free(it);
    weft_as_completed_free(NULL);
    WT_EQ(weft_as_completed_create(&it, NULL, 0), 0);
    WT_EQ(weft_as_completed_next_until(it, 0, &f), ENOENT);
    weft_as_completed_free(it);
    WT_EQ(weft_as_completed_create(NULL, fs, 1), EINVAL);
    /* The iterator holds references: it may outlive the caller's. */
    WT_EQ(weft_as_completed_create(&it, fs, 2), 0);
    for (int i = 0; i < N; i++)
        weft_future_free(fs[i]);
    WT_EQ(weft_as_completed_next_until(it, 0, &f), 0);
    weft_as_completed_free(it);
}

/* Completers and set waiters race: every waiter sees every completion
 * exactly once, and a waiter that leaves early is never notified after. */
struct racer {
    weft_future **fs;
    int n;
};

static void *complete_all(void *arg)
{
    struct racer *r = (struct racer *)arg;
    for (int i = 0; i < r->n; i++) {
        if (i % 3 == 0)
            (void)weft_future_cancel(r->fs[i]);
        else
            WT_EQ(weft_future_set_result(r->fs[i], int_arg(i), 0, NULL), 0);
    }
    return NULL;
}

WT_CASE(test_future_stress_waiters_race_completion, "stress")
{
    long rounds = wt_iters(300);
    for (long round = 0; round < rounds; round++) {
        enum { N = 16 };
        weft_future *fs[N];
        for (int i = 0; i < N; i++)
            WT_EQ(weft_future_create(&fs[i]), 0);
        struct racer r = {fs, N};
        pthread_t t = spawn(complete_all, &r);
        weft_as_completed *it;
        WT_EQ(weft_as_completed_create(&it, fs, N), 0);
        if (round % 2 == 0) {
            /* Leave after the first: the rest complete with no waiter. */
            weft_future *f;
            WT_EQ(weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f), 0);
            WT_TRUE(weft_future_done(f));
        } else {
            int seen = 0;
            weft_future *f;
            while (weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f) == 0) {
                WT_TRUE(weft_future_done(f));
                seen++;
            }
            WT_EQ(seen, N);
        }
        weft_as_completed_free(it);
        size_t ndone = 0;
        WT_EQ(weft_future_wait_set_until(fs, N, WEFT_ALL_COMPLETED, WEFT_DEADLINE_NEVER, NULL,
                                         &ndone),
              0);
        WT_EQ(ndone, (size_t)N);
        join(t);
        for (int i = 0; i < N; i++)
            weft_future_free(fs[i]);
    }
}

WT_MAIN()
