/* fuzz_pool_ops.c - programs of pool operations: submits (with futures,
 * fire-and-forget, nested, with deadlines), cancels, waits with deadlines,
 * wait_set in each mode, as_completed, worker kills and shutdowns, on a
 * thread pool or a process pool, and the invariants they must keep:
 *   - every future completes exactly once (its callback counts), by the
 *     time the pool is freed;
 *   - a future's outcome is its own task's result, or ECANCELED, or the
 *     failure the program caused: EOWNERDEAD (with a SIGKILLed worker) only
 *     after a kill, ETIMEDOUT only for a task given a deadline;
 *   - wait_set and as_completed return what their mode promises;
 *   - after shutdown, submit returns ESHUTDOWN and changes nothing.
 *
 * Input: byte 0 picks the pool (bit 0: process pool) and its size; then
 * one op per byte pair (op, argument). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <string.h>

#include "fuzz_common.h"
#include "weft/pool.h"

enum { MAX_FUTURES = 24 };

struct run {
    bool process;
    weft_tpool *tp;
    weft_ppool *pp;
    weft_future *fs[MAX_FUTURES];
    int expect[MAX_FUTURES]; /* the task's value; -1 for nested */
    bool timed[MAX_FUTURES];
    int n;
    int callbacks;
    bool killed, shut;
};

static int values[256];

static int t_value(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static int t_nested(void *arg, void **result)
{
    weft_tpool *p = (weft_tpool *)arg;
    weft_future *f;
    int rc = weft_tpool_submit(p, t_value, &values[7], &f);
    if (rc != 0)
        return rc; /* the pool was shut down meanwhile */
    void *v = NULL;
    rc = weft_future_result(f, &v); /* runs it here if still queued */
    weft_future_free(f);
    FUZZ_CHECK(rc != 0 || v == &values[7]);
    *result = &values[7];
    return rc;
}

static int p_value(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    if (len != 1 || cap < 1)
        return EINVAL;
    const unsigned char *a = (const unsigned char *)arg;
    if (a[0] & 0x80) {
        struct timespec ts = {0, 300000L * (a[0] & 7)};
        (void)nanosleep(&ts, NULL);
    }
    memcpy(out, a, 1);
    *out_len = 1;
    return 0;
}

static void on_done(weft_future *f, void *arg)
{
    (void)f;
    __atomic_fetch_add(&((struct run *)arg)->callbacks, 1, __ATOMIC_RELAXED);
}

static void add_future(struct run *r, weft_future *f, int expect, bool timed)
{
    FUZZ_CHECK(weft_future_add_done_callback(f, on_done, r) == 0);
    r->fs[r->n] = f;
    r->expect[r->n] = expect;
    r->timed[r->n] = timed;
    r->n++;
}

/* Check a done future's outcome against what the program allows. */
static void check_outcome(const struct run *r, int i)
{
    weft_future *f = r->fs[i];
    FUZZ_CHECK(weft_future_done(f));
    void *v = NULL;
    int rc = weft_future_result_until(f, 0, &v);
    if (rc == 0) {
        if (r->process) {
            FUZZ_CHECK(weft_future_size(f) == 1);
            FUZZ_CHECK(*(const unsigned char *)v == (unsigned char)r->expect[i]);
        } else {
            FUZZ_CHECK(v == &values[r->expect[i] < 0 ? 7 : r->expect[i]]);
        }
        return;
    }
    if (rc == ECANCELED)
        return;
    if (rc == EOWNERDEAD) {
        int code = 0;
        FUZZ_CHECK(r->killed && weft_future_worker(f, NULL, &code) == 0 && code == -SIGKILL);
        return;
    }
    if (rc == ETIMEDOUT) {
        FUZZ_CHECK(r->timed[i]);
        return;
    }
    /* A nested task whose subtask found the pool shut down. */
    FUZZ_CHECK(!r->process && r->expect[i] < 0 && rc == ESHUTDOWN);
}

static int submit(struct run *r, unsigned char arg, bool with_future, int64_t deadline)
{
    weft_future *f = NULL;
    int rc;
    if (r->process)
        rc = weft_ppool_submit_until(r->pp, p_value, &arg, 1, deadline, with_future ? &f : NULL);
    else
        rc = weft_tpool_submit(r->tp, t_value, &values[arg], with_future ? &f : NULL);
    if (r->shut) {
        FUZZ_CHECK(rc == ESHUTDOWN && f == NULL);
        return rc;
    }
    FUZZ_CHECK(rc == 0);
    if (f != NULL)
        add_future(r, f, arg, deadline != WEFT_DEADLINE_NEVER);
    return 0;
}

static void op(struct run *r, unsigned char code, unsigned char arg)
{
    int k = r->n > 0 ? arg % r->n : 0;
    int64_t soon = weft_time_now_ns() + (int64_t)(arg % 4) * 500000;
    switch (code % 10) {
    case 0:
    case 1:
        if (r->n < MAX_FUTURES)
            (void)submit(r, arg, true, WEFT_DEADLINE_NEVER);
        break;
    case 2:
        (void)submit(r, arg, false, WEFT_DEADLINE_NEVER);
        break;
    case 3:
        if (r->n > 0) {
            int rc = weft_future_cancel(r->fs[k]);
            FUZZ_CHECK(rc == 0 || rc == EBUSY);
            FUZZ_CHECK(rc != 0 || weft_future_cancelled(r->fs[k]));
        }
        break;
    case 4:
        if (r->n > 0 && weft_future_wait_until(r->fs[k], soon) == 0)
            check_outcome(r, k);
        break;
    case 5: {
        weft_future_when when = (weft_future_when)(arg % 3);
        bool done[MAX_FUTURES];
        size_t nd = 0;
        int rc = weft_future_wait_set_until(r->fs, (size_t)r->n, when, soon, done, &nd);
        FUZZ_CHECK(rc == 0 || rc == ETIMEDOUT);
        size_t count = 0;
        bool failed = false;
        for (int i = 0; i < r->n; i++) {
            count += done[i];
            if (done[i]) {
                check_outcome(r, i);
                failed |= weft_future_state_get(r->fs[i]) == WEFT_FUTURE_DONE &&
                          weft_future_error(r->fs[i]) != 0;
            }
        }
        FUZZ_CHECK(count == nd);
        if (rc == 0 && when == WEFT_ALL_COMPLETED)
            FUZZ_CHECK(nd == (size_t)r->n);
        if (rc == 0 && when == WEFT_FIRST_COMPLETED)
            FUZZ_CHECK(nd > 0 || r->n == 0);
        if (rc == 0 && when == WEFT_FIRST_EXCEPTION)
            FUZZ_CHECK(failed || nd == (size_t)r->n);
        break;
    }
    case 6: {
        weft_as_completed *it;
        FUZZ_CHECK(weft_as_completed_create(&it, r->fs, (size_t)r->n) == 0);
        weft_future *f;
        for (int i = 0; i < (arg % 4) && weft_as_completed_next_until(it, soon, &f) == 0; i++)
            FUZZ_CHECK(weft_future_done(f));
        weft_as_completed_free(it);
        break;
    }
    case 7:
        if (r->process && !r->shut) {
            pid_t pids[4];
            size_t n = weft_ppool_workers(r->pp, pids, 4);
            if (n > 0 && kill(pids[arg % (n < 4 ? n : 4)], SIGKILL) == 0)
                r->killed = true;
        } else if (!r->process && r->n < MAX_FUTURES) {
            weft_future *f;
            int rc = weft_tpool_submit(r->tp, t_nested, r->tp, &f);
            FUZZ_CHECK(r->shut ? rc == ESHUTDOWN : rc == 0);
            if (rc == 0)
                add_future(r, f, -1, false);
        }
        break;
    case 8:
        if (r->n < MAX_FUTURES)
            (void)submit(r, (unsigned char)(arg | 0x80), true, r->process ? soon : WEFT_DEADLINE_NEVER);
        break;
    case 9:
        if (arg % 3 == 0) {
            unsigned flags = WEFT_POOL_NOWAIT | ((arg & 8) ? WEFT_POOL_CANCEL_PENDING : 0);
            FUZZ_CHECK((r->process ? weft_ppool_shutdown(r->pp, flags)
                                   : weft_tpool_shutdown(r->tp, flags)) == 0);
            r->shut = true;
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 2 * 64 + 1)
        return 0;
    for (int i = 0; i < 256; i++)
        values[i] = i;
    struct run r;
    memset(&r, 0, sizeof r);
    r.process = data[0] & 1;
    size_t workers = 1 + (data[0] >> 1) % 2;
    if (r.process) {
        weft_ppool_opts o = {.max_workers = workers, .prefetch = (unsigned)((data[0] >> 2) % 3)};
        FUZZ_CHECK(weft_ppool_create(&r.pp, &o) == 0);
    } else {
        weft_tpool_opts o = {.max_workers = workers};
        FUZZ_CHECK(weft_tpool_create(&r.tp, &o) == 0);
    }
    for (size_t i = 1; i + 1 < size; i += 2)
        op(&r, data[i], data[i + 1]);
    FUZZ_CHECK((r.process ? weft_ppool_free(r.pp) : weft_tpool_free(r.tp)) == 0);
    for (int i = 0; i < r.n; i++) {
        check_outcome(&r, i);
        weft_future_free(r.fs[i]);
    }
    FUZZ_CHECK(r.callbacks == r.n);
    FUZZ_CHECK(waitpid(-1, NULL, WNOHANG) == -1);
    return 0;
}
