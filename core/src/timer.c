/* timer.c - weft_timer: a weft thread that sleeps on an event until the
 * deadline, then races cancel for the one state change WAITING -> FIRED.
 *
 * Design / invariants
 *   state moves once, from WAITING to CANCELLED (weft_timer_cancel) or to
 *   FIRED (the thread, after the deadline), by compare-and-swap: whichever
 *   wins decides, so fn runs at most once and never after a cancel that
 *   returned 0. The cancel event only shortens the thread's sleep. */
#include "weft/timer.h"

#include <errno.h>
#include <stdlib.h>

#include "hb.h"
#include "weft/event.h"
#include "weft/time.h"

enum { WAITING, CANCELLED, FIRED };

struct weft_timer {
    weft_thread *thread;
    int64_t deadline_ns;
    void (*fn)(void *arg);
    void *arg;
    unsigned state;     /* atomic */
    weft_event cancel;
};

static int timer_main(void *p)
{
    weft_timer *tm = (weft_timer *)p;
    /* Returns 0 when cancelled; ETIMEDOUT when the delay passed. */
    if (weft_event_wait_until(&tm->cancel, tm->deadline_ns) == 0)
        return 0;
    unsigned expect = WAITING;
    if (__atomic_compare_exchange_n(&tm->state, &expect, FIRED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        WEFT__HB_BEFORE(&tm->state);
        tm->fn(tm->arg);
    }
    return 0;
}

int weft_timer_start(weft_timer **out, int64_t delay_ns, void (*fn)(void *arg), void *arg,
                     const weft_thread_opts *opts)
{
    if (out == NULL || fn == NULL || delay_ns < 0)
        return EINVAL;
    weft_timer *tm = (weft_timer *)calloc(1, sizeof *tm);
    if (tm == NULL)
        return ENOMEM;
    tm->deadline_ns = weft_time_deadline_ns(delay_ns);
    tm->fn = fn;
    tm->arg = arg;
    (void)weft_event_init(&tm->cancel, 0);
    int err = weft_thread_spawn(&tm->thread, timer_main, tm, opts);
    if (err != 0) {
        free(tm);
        return err;
    }
    *out = tm;
    return 0;
}

int weft_timer_cancel(weft_timer *tm)
{
    unsigned expect = WAITING;
    if (__atomic_compare_exchange_n(&tm->state, &expect, CANCELLED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        weft_event_set(&tm->cancel);
        return 0;
    }
    WEFT__HB_AFTER(&tm->state);
    return expect == CANCELLED ? 0 : EALREADY;
}

bool weft_timer_fired(const weft_timer *tm)
{
    bool fired = __atomic_load_n(&tm->state, __ATOMIC_ACQUIRE) == FIRED;
    if (fired)
        WEFT__HB_AFTER(&tm->state);
    return fired;
}

int weft_timer_join_until(weft_timer *tm, int64_t deadline_ns)
{
    return weft_thread_join_until(tm->thread, deadline_ns, NULL);
}

weft_thread *weft_timer_thread(weft_timer *tm)
{
    return tm->thread;
}

void weft_timer_free(weft_timer *tm)
{
    if (tm == NULL)
        return;
    (void)weft_timer_cancel(tm);
    (void)weft_thread_join(tm->thread, NULL); /* EINVAL: joined already */
    weft_thread_unref(tm->thread);
    free(tm);
}
