/* weft/timer.h - run a function once after a delay, unless cancelled first
 * (Python's threading.Timer).
 *
 * A timer is a weft thread (named and flagged through weft_thread_opts) that
 * waits for the delay, then calls fn(arg) once:
 *
 *     weft_timer *tm;
 *     weft_timer_start(&tm, 500 * 1000000LL, remind, &ctx, NULL);
 *     ...
 *     if (weft_timer_cancel(tm) == 0) ...  // remind will not run
 *     weft_timer_free(tm);
 *
 * Invariants: fn runs at most once, never before the delay has passed, and
 * never after weft_timer_cancel returned 0. */
#ifndef WEFT_TIMER_H
#define WEFT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/thread.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_timer weft_timer;

/* weft_timer_start - start a timer that calls fn(arg) after delay_ns.
 * Returns:  0 and *out set; EINVAL for NULL out or fn or a negative delay;
 *           and the errors of weft_thread_spawn. */
int weft_timer_start(weft_timer **out, int64_t delay_ns, void (*fn)(void *arg), void *arg,
                     const weft_thread_opts *opts);

/* weft_timer_cancel - stop the timer if it has not fired.
 * Blocks:   never.
 * Returns:  0 when fn will not run (now or by an earlier cancel);
 *           EALREADY when fn has started (it runs to its end). */
int weft_timer_cancel(weft_timer *tm);

/* weft_timer_fired - whether fn has started. */
bool weft_timer_fired(const weft_timer *tm);

/* weft_timer_join_until - wait for the timer's thread to end (after fn
 * returned, or soon after a cancel).
 * Returns:  0; ETIMEDOUT; EINVAL when already joined; EDEADLK from fn. */
int weft_timer_join_until(weft_timer *tm, int64_t deadline_ns);

/* weft_timer_thread - the timer's thread (borrowed, valid until free). */
weft_thread *weft_timer_thread(weft_timer *tm);

/* weft_timer_free - cancel, wait for the thread to end, release.
 * Blocks:   while fn runs, if it has started. Requires: not called from fn.
 * free(NULL) does nothing. */
void weft_timer_free(weft_timer *tm);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIMER_H */
