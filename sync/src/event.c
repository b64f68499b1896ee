/* event.c - weft_event: a flag on one futex word.
 *
 * Design / invariants
 *   The word is 0 (clear), 1 (set) or 2 (clear, and a thread may be about
 *   to sleep or asleep). A waiter that finds the flag clear moves 0 -> 2
 *   before sleeping on 2; set exchanges 1 in and wakes everyone only if it
 *   took out a 2. A waiter sleeps only on a word it saw as 2, and any set
 *   after that takes out the 2 and wakes it: no wake-up is lost, and a set
 *   with nobody waiting makes no system call. Clear moves 1 -> 0 only, so
 *   it never hides the 2 of a sleeper.
 *
 *   Happens-before: set's exchange is a release operation and a waiter's
 *   observing load an acquire, so what the setter wrote before set() is
 *   visible to a thread that returns from wait(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/event.h"

#include <errno.h>

#include "annotate.h"
#include "atomic.h"
#include "futex.h"
#include "weft/time.h"

enum { CLEAR = 0, SET = 1, SLEEPERS = 2 };

static bool is_shared(const weft_event *ev)
{
    return (ev->flags & WEFT_SHARED) != 0;
}

int weft_event_init(weft_event *ev, unsigned flags)
{
    if ((flags & ~WEFT_SHARED) != 0)
        return EINVAL;
    ev->word = CLEAR;
    ev->flags = flags;
    return 0;
}

int weft_event_destroy(weft_event *ev)
{
    /* A word of 2 may be left by waiters that timed out, so it does not
     * prove a sleeper: there is nothing reliable to check. */
    (void)ev;
    return 0;
}

void weft_event_set(weft_event *ev)
{
    /* Always the exchange, even when the flag is already raised: a waiter
     * that then sees SET must synchronise with this set too, so that what
     * this setter wrote before it is visible (a plain load-and-return would
     * leave it out of the release sequence). */
    WEFT__ANN_HAPPENS_BEFORE(ev);
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 5 /* seeded bug (ci/mutants): sleepers are never woken */
    __atomic_store_n(&ev->word, SET, __ATOMIC_RELEASE);
#else
    /* Read before the exchange: once the word says SET, a waiter may
     * return and end the event's life (a stack event, say), so nothing of
     * *ev is read after it - the wake-up only names the address. */
    bool shared = is_shared(ev);
    if (__atomic_exchange_n(&ev->word, SET, __ATOMIC_ACQ_REL) == SLEEPERS)
        (void)weft__futex_wake(&ev->word, INT32_MAX, shared);
#endif
}

void weft_event_clear(weft_event *ev)
{
    uint32_t c = SET;
    /* Acquire: what the setter wrote before set() is visible after clear(),
     * which the documented clear-then-look loop relies on. */
    (void)__atomic_compare_exchange_n(&ev->word, &c, CLEAR, false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

bool weft_event_is_set(const weft_event *ev)
{
    return weft__load_acquire(&ev->word) == SET;
}

int weft_event_wait_until(weft_event *ev, int64_t deadline_ns)
{
    for (;;) {
        uint32_t c = weft__load_acquire(&ev->word);
        if (c == SET) {
            WEFT__ANN_HAPPENS_AFTER(ev);
            return 0;
        }
        if (c == CLEAR &&
            !__atomic_compare_exchange_n(&ev->word, &c, SLEEPERS, false,
                                         __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue; /* changed under us: look again */
        if (weft__futex_wait(&ev->word, SLEEPERS, deadline_ns,
                             is_shared(ev)) == ETIMEDOUT) {
            if (weft__load_acquire(&ev->word) != SET)
                return ETIMEDOUT;
            WEFT__ANN_HAPPENS_AFTER(ev);
            return 0;
        }
    }
}

int weft_event_wait(weft_event *ev)
{
    return weft_event_wait_until(ev, WEFT_DEADLINE_NEVER);
}

int weft_event_wait_for(weft_event *ev, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_event_wait_until(ev, weft_time_deadline_ns(timeout_ns));
}
