/* sched_tpool.c - a thread pool's submit, cancel and shutdown under every
 * interleaving, its workers included (threads a scheduled thread spawns
 * join the run). Thread 0 makes a pool of one or two workers, submits three
 * tasks, publishes the futures and shuts the pool down (waiting; with
 * WEFT_POOL_CANCEL_PENDING or not, by the variant byte); thread 1 cancels
 * the second task; thread 2 waits for the first one's result. Every task
 * runs at most once and exactly when its future was not cancelled; every
 * future is done after shutdown; the results are the tasks' own; and no
 * worker is left behind (the run would report it blocked). */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/future.h"
#include "weft/tpool.h"

#define TASKS 3

static struct {
    unsigned variant;
    weft_future *f[TASKS];
    bool published;
    int runs[TASKS];
    int values[TASKS];
    int cancel_rc;
} H;

static int ids[TASKS] = {0, 1, 2};

static int task(void *arg, void **result)
{
    int i = *(const int *)arg;
    H.runs[i]++;
    H.values[i] = i * i + 1;
    *result = &H.values[i];
    return 0;
}

static void owner(void)
{
    weft_tpool *p;
    weft_tpool_opts o = {.max_workers = (H.variant & 2) ? 2u : 1u};
    SCHED_CHECK(weft_tpool_create(&p, &o) == 0);
    for (int i = 0; i < TASKS; i++)
        SCHED_CHECK(weft_tpool_submit(p, task, &ids[i], &H.f[i]) == 0);
    H.published = true;
    SCHED_CHECK(weft_tpool_shutdown(p, (H.variant & 1) ? WEFT_POOL_CANCEL_PENDING : 0) == 0);
    for (int i = 0; i < TASKS; i++)
        SCHED_CHECK(weft_future_done(H.f[i]));
    SCHED_CHECK(weft_tpool_submit(p, task, NULL, NULL) == ESHUTDOWN);
    SCHED_CHECK(weft_tpool_free(p) == 0);
}

static void canceller(void)
{
    while (!H.published)
        WEFT_SCHED_SPIN();
    H.cancel_rc = weft_future_cancel(H.f[1]);
    SCHED_CHECK(H.cancel_rc == 0 || H.cancel_rc == EBUSY);
}

static void waiter(void)
{
    while (!H.published)
        WEFT_SCHED_SPIN();
    void *v = NULL;
    int r = weft_future_result(H.f[0], &v);
    if (r == ECANCELED) {
        SCHED_CHECK(H.variant & 1); /* only shutdown cancels the first */
        return;
    }
    SCHED_CHECK(r == 0 && v == &H.values[0] && H.values[0] == 1);
}

static void body(int idx, void *ctx)
{
    (void)ctx;
    if (idx == 0)
        owner();
    else if (idx == 1)
        canceller();
    else
        waiter();
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    sched_run_or_die(data, len, 3, body, NULL);
    for (int i = 0; i < TASKS; i++) {
        bool cancelled = weft_future_cancelled(H.f[i]);
        SCHED_CHECK(H.runs[i] == (cancelled ? 0 : 1));
        if (i == 1)
            SCHED_CHECK(cancelled == (H.cancel_rc == 0) || (H.variant & 1));
        if (!cancelled) {
            void *v = NULL;
            SCHED_CHECK(weft_future_result(H.f[i], &v) == 0 && v == &H.values[i]);
        }
        weft_future_free(H.f[i]);
    }
    return 0;
}
