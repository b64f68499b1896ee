/* sched_future.c - a future's life under every interleaving: a worker
 * moves it to running and completes it (with a result or an error, by the
 * variant byte) while another thread tries to cancel it and a third adds
 * a done callback and waits (plain result, or a deadline it retries after
 * a schedule-made timeout). Exactly one of cancel and run may win; the
 * waiter must see the outcome that won; the callback runs exactly once,
 * after the outcome is set, with the future done. */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/future.h"

static struct {
    unsigned variant;
    weft_future *f;
    int cancel_rc, running_rc, complete_rc;
    int callbacks;
    bool cb_saw_done;
} H;

static void on_done(weft_future *f, void *arg)
{
    (void)arg;
    H.callbacks++;
    H.cb_saw_done = weft_future_done(f);
}

static void worker(void)
{
    H.running_rc = weft_future_set_running(H.f);
    if (H.running_rc != 0) {
        SCHED_CHECK(H.running_rc == ECANCELED);
        return;
    }
    static int value = 42;
    H.complete_rc = H.variant & 1 ? weft_future_set_error(H.f, EDOM)
                                  : weft_future_set_result(H.f, &value, sizeof value, NULL);
    SCHED_CHECK(H.complete_rc == 0);
}

static void waiter(void)
{
    SCHED_CHECK(weft_future_add_done_callback(H.f, on_done, NULL) == 0);
    void *v = NULL;
    int r;
    if (H.variant & 2) {
        while ((r = weft_future_result_until(H.f, far_deadline(), &v)) == ETIMEDOUT)
            ;
    } else {
        r = weft_future_result(H.f, &v);
    }
    SCHED_CHECK(weft_future_done(H.f));
    if (weft_future_cancelled(H.f)) {
        SCHED_CHECK(r == ECANCELED);
    } else if (H.variant & 1) {
        SCHED_CHECK(r == EDOM);
    } else {
        SCHED_CHECK(r == 0 && v != NULL && *(int *)v == 42);
    }
}

static void body(int idx, void *ctx)
{
    (void)ctx;
    if (idx == 0)
        worker();
    else if (idx == 1)
        H.cancel_rc = weft_future_cancel(H.f);
    else
        waiter();
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    SCHED_CHECK(weft_future_create(&H.f) == 0);
    sched_run_or_die(data, len, 3, body, NULL);
    /* Cancel won exactly when the worker was refused. */
    SCHED_CHECK((H.cancel_rc == 0) == (H.running_rc == ECANCELED));
    SCHED_CHECK(H.cancel_rc == 0 || H.cancel_rc == EBUSY);
    SCHED_CHECK(weft_future_cancelled(H.f) == (H.cancel_rc == 0));
    SCHED_CHECK(H.callbacks == 1 && H.cb_saw_done);
    weft_future_free(H.f);
    return 0;
}
