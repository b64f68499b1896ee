/* weft/barrier.h - a cyclic barrier with Python's threading.Barrier
 * semantics (and multiprocessing.Barrier with WEFT_SHARED).
 *
 * `parties` threads call weft_barrier_wait; each blocks until all have
 * arrived, then all are released together and the barrier is ready for the
 * next round. Each gets an arrival index 0..parties-1, different for each
 * thread of a round. An optional action runs in exactly one thread (the last
 * to arrive) after all have arrived and before any is released.
 *
 *     static weft_barrier start;
 *     weft_barrier_init(&start, 4, NULL, NULL, WEFT_PRIVATE);
 *     ... in each of 4 threads:
 *     unsigned me;
 *     int r = weft_barrier_wait(&start, &me);   // 0, me in 0..3
 *
 * Broken state (as Python's BrokenBarrierError): if a waiter times out, if
 * the action fails, or if weft_barrier_abort is called, the barrier breaks:
 * every thread waiting then, and every later caller, gets WEFT_EBROKEN
 * until weft_barrier_reset. The thread that timed out gets ETIMEDOUT and the
 * one whose action failed gets the action's error. reset returns the
 * barrier to empty; threads waiting at that moment get WEFT_EBROKEN.
 *
 * Invariants: a round completes with exactly `parties` arrivals, which get
 * the indices 0..parties-1; a thread that arrives after a round completed
 * belongs to the next round even if threads of the previous one have not
 * yet returned. A break or reset while threads wait gives them
 * WEFT_EBROKEN - including threads whose round had just completed but that
 * had not yet returned (Python gives such threads BrokenBarrierError on
 * abort too; unlike Python, here a timeout in the next round can also do
 * it, since the next round does not wait for the previous one to drain).
 *
 * Fork / processes: for a WEFT_SHARED barrier, the action is a function
 * pointer, valid only in processes that have the function at the same
 * address (fork children of the process that set it); pass NULL otherwise.
 * The barrier's internal lock is robust: if a process dies while holding it
 * (for instance while running the action), the next thread to take it
 * breaks the barrier, so nobody is left waiting for ever; reset makes it
 * usable again. A process killed while it sleeps inside weft_barrier_wait
 * still counts as arrived in its round (it did arrive); abort and reset the
 * barrier when a party is known to be gone. */
#ifndef WEFT_BARRIER_H
#define WEFT_BARRIER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/flags.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

/* The error of a broken barrier. */
#define WEFT_EBROKEN EPIPE

/* The action: runs once per round in the last thread to arrive; returns 0,
 * or a positive errno value that breaks the barrier. */
typedef int (*weft_barrier_action)(void *arg);

typedef struct weft_barrier {
    uint32_t lock;     /* lock over the fields below (robust when shared) */
    uint32_t gen;      /* futex word: bumped on every change waiters await */
    uint32_t parties;
    uint32_t count;    /* threads arrived in the current round */
    uint32_t state;    /* filling or broken */
    uint32_t sleepers; /* shared: threads that may sleep on `lock` */
    void *robust_prev; /* shared: robust-list links of the lock's holder, */
    void *robust_next; /* 24 and 32 bytes after `lock` */
    uint32_t flags;    /* WEFT_SHARED or 0 */
    uint32_t epoch;    /* bumped by every break and reset */
    uint32_t round;    /* bumped by every completed round */
    uint32_t inside;   /* threads inside weft_barrier_wait */
    weft_barrier_action action;
    void *action_arg;
} weft_barrier;

/* weft_barrier_init - a barrier for `parties` threads.
 * Requires: *b not in use; parties >= 1; action may be NULL.
 * Returns:  0; EINVAL for parties == 0 or unknown flags; ENOTSUP for
 *           WEFT_SHARED where robust futexes cannot be used. */
int weft_barrier_init(weft_barrier *b, unsigned parties,
                      weft_barrier_action action, void *action_arg,
                      unsigned flags);

/* weft_barrier_destroy - end the life of *b.
 * Returns:  0; EBUSY if threads are inside weft_barrier_wait (after a
 *           process died holding a shared barrier's lock, it may have been
 *           counted inside: EBUSY then persists, and the memory may be
 *           released once every surviving process has returned). */
int weft_barrier_destroy(weft_barrier *b);

/* weft_barrier_wait - arrive and wait for the round to complete.
 * Blocks:   until parties threads have arrived, or the barrier breaks.
 * Returns:  0 with *index (if not NULL) set to this thread's arrival index;
 *           WEFT_EBROKEN if the barrier is or becomes broken; the action's
 *           error in the thread that ran a failing action.
 * Threads:  any thread (any process, for WEFT_SHARED). */
int weft_barrier_wait(weft_barrier *b, unsigned *index);

/* weft_barrier_wait_until - as weft_barrier_wait, giving up at deadline_ns
 * (absolute CLOCK_MONOTONIC): then the barrier breaks and this thread gets
 * ETIMEDOUT (the others WEFT_EBROKEN). */
int weft_barrier_wait_until(weft_barrier *b, unsigned *index,
                            int64_t deadline_ns);

/* weft_barrier_wait_for - as _until with a relative timeout_ns; EINVAL for
 * timeout_ns < 0 (nothing changes). */
int weft_barrier_wait_for(weft_barrier *b, unsigned *index, int64_t timeout_ns);

/* weft_barrier_abort - break the barrier: current and later waiters get
 * WEFT_EBROKEN until reset. Blocks: briefly, for the internal lock. */
void weft_barrier_abort(weft_barrier *b);

/* weft_barrier_reset - return the barrier to empty; threads waiting now get
 * WEFT_EBROKEN. Blocks: briefly, for the internal lock. */
void weft_barrier_reset(weft_barrier *b);

/* weft_barrier_n_waiting - threads waiting in the current round. */
unsigned weft_barrier_n_waiting(weft_barrier *b);

/* weft_barrier_broken - whether the barrier is broken. */
bool weft_barrier_broken(weft_barrier *b);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_BARRIER_H */
