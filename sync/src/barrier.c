/* barrier.c - weft_barrier: Python's Barrier semantics on a lock word and
 * a generation futex.
 *
 * Design / invariants
 *   All fields but `gen` are read and written under `lock` (a word lock,
 *   robust when the barrier is shared). `gen` is a futex word bumped, under
 *   the lock, by every change a waiter may wait for; a waiter reads it under
 *   the lock, releases the lock, and sleeps while it is unchanged, so a
 *   change made after the waiter released the lock always wakes it.
 *
 *   A waiter remembers the `round` and `epoch` it arrived in. The last
 *   arrival runs the action, then completes the round (round++, count = 0):
 *   the next round starts filling at once, with no draining phase, so the
 *   last arrival can go straight on to the next round and a two-party
 *   barrier costs one sleep and one wake-up per round. A waiter succeeds iff
 *   its round completed and its epoch is still current. A break (timeout,
 *   abort, failed action, dead lock holder) and a reset both start a new
 *   epoch with count = 0, so every thread of the old epoch returns
 *   WEFT_EBROKEN and no count is left behind by threads that never return
 *   (a killed process). While BROKEN, arrivals return WEFT_EBROKEN at once;
 *   reset returns the state to FILLING. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/barrier.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "atomic.h"
#include "futex.h"
#include "robust.h"
#include "weft/time.h"
#include "wordlock.h"

_Static_assert(offsetof(weft_barrier, robust_prev) -
                       offsetof(weft_barrier, lock) ==
                   WEFT__RB_LINK_OFFSET,
               "robust links must follow the lock as robust.h requires");

enum { FILLING, BROKEN };

static bool is_shared(const weft_barrier *b)
{
    return (b->flags & WEFT_SHARED) != 0;
}

/* A barrier whose sleepers this thread must wake once it has released the
 * lock: waking them while still holding it would send them straight into
 * the lock's own wait. */
static __thread weft_barrier *wake_after_unlock;

/* Announce a change of state to every sleeper. Called with the lock held;
 * the wake-up itself is made by unlock(). */
static void changed(weft_barrier *b)
{
    __atomic_fetch_add(&b->gen, 1, __ATOMIC_RELEASE);
    wake_after_unlock = b;
}

/* Void the current round: every waiter of it returns WEFT_EBROKEN. */
static void new_epoch(weft_barrier *b, uint32_t state)
{
    b->epoch++;
    b->count = 0;
    b->state = state;
    changed(b);
}

static void lock(weft_barrier *b)
{
    if (!is_shared(b)) {
        (void)weft__wl_acquire(&b->lock, WEFT_DEADLINE_NEVER, false);
        return;
    }
    /* A process died holding the lock, mid-update: the round cannot be
     * trusted, so break the barrier (all waiters are told); the lock itself
     * is ours and consistent again. ENOTRECOVERABLE cannot occur: this file
     * never releases the word while inconsistent. */
    int r = weft__rb_acquire(&b->lock, &b->sleepers, WEFT_DEADLINE_NEVER, false);
    if (r == EOWNERDEAD) {
        new_epoch(b, BROKEN);
    } else if (r != 0) {
        /* ENOTSUP: this thread's robust list has another layout than the
         * initialising thread's (no libc mixes them). Nothing safe is left. */
        (void)fprintf(stderr, "weft: barrier %p: robust lock unusable (%d)\n",
                      (void *)b, r);
        abort();
    }
}

static void unlock(weft_barrier *b)
{
    if (is_shared(b))
        weft__rb_release(&b->lock, &b->sleepers);
    else
        (void)weft__wl_release(&b->lock, false);
    if (wake_after_unlock == b) {
        wake_after_unlock = NULL;
        (void)weft__futex_wake(&b->gen, INT32_MAX, is_shared(b));
    }
}

/* How often a waiter of a shared barrier looks for a dead lock holder. */
#define ROBUST_POLL_NS (50 * 1000000LL)

/* Sleep until the next change or the deadline; the lock is held on entry
 * and on return. Returns 0 or ETIMEDOUT.
 *
 * A shared barrier's waiters sleep at most ROBUST_POLL_NS at a time: if a
 * process dies holding the lock (say, in the action), nobody would announce
 * a change, but the waiter's re-lock gets EOWNERDEAD and breaks the barrier
 * (see lock()), so the waiters return WEFT_EBROKEN instead of sleeping on. */
static int sleep_on(weft_barrier *b, int64_t deadline_ns)
{
    uint32_t g = weft__load_relaxed(&b->gen);
    int64_t until = deadline_ns;
    if (is_shared(b)) {
        int64_t poll = weft_time_deadline_ns(ROBUST_POLL_NS);
        if (poll < until)
            until = poll;
    }
    unlock(b);
    int r = weft__futex_wait(&b->gen, g, until, is_shared(b));
    lock(b);
    if (r == ETIMEDOUT && until != deadline_ns)
        r = 0; /* only a poll: look again */
    return r;
}

int weft_barrier_init(weft_barrier *b, unsigned parties,
                      weft_barrier_action action, void *action_arg,
                      unsigned flags)
{
    if (parties == 0 || (flags & ~WEFT_SHARED) != 0)
        return EINVAL;
    if ((flags & WEFT_SHARED) && weft__rb_check() != 0)
        return ENOTSUP;
    b->lock = 0;
    b->sleepers = 0;
    b->robust_prev = NULL;
    b->robust_next = NULL;
    b->epoch = 0;
    b->round = 0;
    b->inside = 0;
    b->gen = 0;
    b->parties = parties;
    b->count = 0;
    b->state = FILLING;
    b->flags = flags;
    b->action = action;
    b->action_arg = action_arg;
    return 0;
}

int weft_barrier_destroy(weft_barrier *b)
{
    lock(b);
    int busy = __atomic_load_n(&b->inside, __ATOMIC_ACQUIRE) != 0;
    unlock(b);
    return busy ? EBUSY : 0;
}

int weft_barrier_wait_until(weft_barrier *b, unsigned *index,
                            int64_t deadline_ns)
{
    lock(b);
    if (b->state == BROKEN) {
        unlock(b);
        return WEFT_EBROKEN;
    }
    __atomic_fetch_add(&b->inside, 1, __ATOMIC_RELAXED);
    unsigned me = b->count++;
    uint32_t round = b->round, epoch = b->epoch;
    int r = 0;
    if (me + 1 == b->parties) {
        r = b->action != NULL ? b->action(b->action_arg) : 0;
        if (r != 0) {
            new_epoch(b, BROKEN);
        } else {
            b->count = 0;
            b->round++;
            changed(b);
        }
    } else {
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 6 /* seeded bug (ci/mutants): any wake-up lets it through */
        if (b->round == round && b->epoch == epoch)
#else
        while (b->round == round && b->epoch == epoch)
#endif
            if (sleep_on(b, deadline_ns) == ETIMEDOUT && b->round == round &&
                b->epoch == epoch) {
                new_epoch(b, BROKEN);
                r = ETIMEDOUT;
            }
        if (r == 0 && b->epoch != epoch)
            r = WEFT_EBROKEN;
    }
    unlock(b); /* and wake, if this thread changed the state */
    /* The last touch of *b: destroy() may succeed from here on. */
    __atomic_fetch_sub(&b->inside, 1, __ATOMIC_RELEASE);
    if (r == 0 && index != NULL)
        *index = me;
    return r;
}

int weft_barrier_wait(weft_barrier *b, unsigned *index)
{
    return weft_barrier_wait_until(b, index, WEFT_DEADLINE_NEVER);
}

int weft_barrier_wait_for(weft_barrier *b, unsigned *index, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_barrier_wait_until(b, index, weft_time_deadline_ns(timeout_ns));
}

void weft_barrier_abort(weft_barrier *b)
{
    lock(b);
    new_epoch(b, BROKEN);
    unlock(b);
}

void weft_barrier_reset(weft_barrier *b)
{
    lock(b);
    new_epoch(b, FILLING);
    unlock(b);
}

unsigned weft_barrier_n_waiting(weft_barrier *b)
{
    lock(b);
    unsigned n = b->state == FILLING ? b->count : 0;
    unlock(b);
    return n;
}

bool weft_barrier_broken(weft_barrier *b)
{
    lock(b);
    bool broken = b->state == BROKEN;
    unlock(b);
    return broken;
}
