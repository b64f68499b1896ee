/* weft/gil.h - a global lock with CPython's scheduling (the GIL), and a
 * fairer mode without its convoy effect.
 *
 * A weft_gil is a lock that threads hold while they run code that must not
 * run in parallel (an embedded single-threaded runtime, or a study of the GIL
 * itself). The holder runs until it blocks or is asked to let go; it gives
 * the lock up voluntarily around blocking work and at the "eval breaker",
 * weft_gil_check(), which it calls at its own safe points:
 *
 *     weft_gil_acquire(&gil);                  // once, at thread start
 *     for (;;) {
 *         step();                              // CPU work under the lock
 *         weft_gil_check(&gil);                // one relaxed load, usually
 *         if (need_input) {
 *             weft_gil_blocking_begin(&gil);   // Py_BEGIN_ALLOW_THREADS
 *             n = read(fd, buf, sizeof buf);   // others run meanwhile
 *             weft_gil_blocking_end(&gil);     // Py_END_ALLOW_THREADS
 *         }
 *     }
 *     weft_gil_release(&gil);                  // or just return: see below
 *
 * Modes.
 *
 * WEFT_GIL_FAITHFUL reproduces CPython's "new GIL" (Python 3.2 onwards): a
 * waiter sleeps one switch interval (5 ms by default, sys.setswitchinterval)
 * and, if no switch happened meanwhile and the lock is still held, sets the
 * drop request; any switch restarts its wait. The holder sees the request at
 * its next weft_gil_check(), releases, and does not take the lock back until
 * another thread has had it (forced switching). Waiters are not queued: the
 * lock goes to whichever thread the kernel wakes first. A voluntary release
 * (weft_gil_release, weft_gil_blocking_begin) forces no switch of its own:
 * the releaser may take the lock straight back, unless a drop was requested
 * (then, as in CPython, it waits until another thread took the lock). So a
 * thread returning from I/O waits a whole interval behind a CPU-bound holder
 * each time it needs the lock: the convoy effect.
 *
 * WEFT_GIL_FAIR keeps the interval for CPU-bound threads and removes the
 * convoy: waiters queue in FIFO order and every release hands the lock
 * directly to the first of them (no barging, so no forced-switch wait is
 * needed). A thread whose last hold ended voluntarily within one interval is
 * I/O-bound: when it asks for the lock again it joins a priority queue and
 * requests the drop at once, so the CPU-bound holder lets go at its next
 * check. Priority waiters are served before the others unless the oldest
 * other waiter has already waited two intervals (and then it gets a whole
 * interval before priority waiters ask again), so neither class can starve
 * the other. Between CPU-bound threads it switches exactly as the
 * faithful mode does. Waiters spin briefly before they sleep.
 *
 * Invariants: at most one thread holds a GIL. A holder that exits while it
 * holds it releases it (the final release). Waits never lose a wake-up; a
 * waiter that gives up at its deadline withdraws a drop request it made.
 *
 * Observability: per GIL and per thread, weft_gil_stats counts acquisitions,
 * switches (changes of holder), drop requests, forced drops and time held and
 * waited, with a histogram of waits for percentiles; an event hook, set at
 * init, reports request / acquired / released / drop-request events in the
 * thread concerned (Ruby's GVL instrumentation).
 *
 * Tools: the GIL is a capability for clang's thread-safety analysis, and its
 * internal locks are annotated for ThreadSanitizer and Helgrind, so data
 * accessed only under the GIL is seen as protected by it.
 *
 * Fork: in a child created by fork(), every GIL is re-initialised: if the
 * forking thread held it, it still holds it; otherwise it is free. Waiters
 * and the other threads' records do not exist in the child. */
#ifndef WEFT_GIL_H
#define WEFT_GIL_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/cond.h"
#include "weft/lock.h"
#include "weft/tsa.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

enum {
    WEFT_GIL_FAITHFUL = 0, /* CPython's new GIL, as above */
    WEFT_GIL_FAIR = 1      /* FIFO handoff, I/O-bound threads first */
};

/* Events for the hook (a mask of them selects which are reported). */
enum {
    WEFT_GIL_EV_REQUEST = 1u << 0,  /* the thread starts waiting for the GIL */
    WEFT_GIL_EV_ACQUIRED = 1u << 1, /* the thread now holds it */
    WEFT_GIL_EV_RELEASED = 1u << 2, /* the thread no longer holds it */
    WEFT_GIL_EV_DROP_REQUEST = 1u << 3 /* the thread asked the holder to drop */
};

#define WEFT_GIL_DEFAULT_INTERVAL_NS 5000000 /* 5 ms, CPython's default */
#define WEFT_GIL_MIN_INTERVAL_NS 1000        /* 1 us, CPython's floor */
#define WEFT_GIL_HIST_BUCKETS 40 /* bucket i: waits in [2^i, 2^(i+1)) ns;
                                    bucket 0 also waits of 0 ns, the last
                                    bucket every longer wait */

typedef struct weft_gil weft_gil;

/* A hook: called in the thread concerned, possibly with the GIL's internal
 * locks held (and, for the final release at thread exit, the list of GILs):
 * it must be short and must not call weft_gil functions or fork. */
typedef void (*weft_gil_hook)(weft_gil *g, unsigned event, void *arg);

typedef struct weft_gil_opts {
    int mode;            /* WEFT_GIL_FAITHFUL (0) or WEFT_GIL_FAIR */
    int64_t interval_ns; /* switch interval; 0: 5 ms */
    unsigned hook_events; /* mask of WEFT_GIL_EV_*; 0: no hook */
    weft_gil_hook hook;
    void *hook_arg;
} weft_gil_opts;

/* Counters of one GIL, or of one thread's use of it. Counters are read
 * without stopping the threads, so a snapshot may mix moments. */
typedef struct weft_gil_stats {
    uint64_t acquisitions;  /* times the GIL was taken */
    uint64_t contended;     /* of which had to wait for it */
    uint64_t switches;      /* takes from a different previous holder */
    uint64_t drop_requests; /* drop requests set by waiters */
    uint64_t forced_drops;  /* releases made at a check or yield */
    uint64_t timeouts;      /* acquires that gave up at their deadline */
    int64_t held_ns;        /* total time held */
    int64_t waited_ns;      /* total time waited by contended acquires */
    int64_t wait_max_ns;    /* longest single wait */
    uint64_t wait_hist[WEFT_GIL_HIST_BUCKETS]; /* contended waits by length */
} weft_gil_stats;

struct weft__gil_waiter;
struct weft__gil_member;

/* The fields are private: read them only through the functions below. The
 * struct is public so that weft_gil_check() can be inline. */
struct WEFT_CAPABILITY("gil") weft_gil {
    uint32_t drop_request; /* the eval breaker: 1 asks the holder to drop */
    uint32_t locked;       /* 1 while some thread holds the GIL */
    int mode;
    unsigned hook_events;
    int64_t interval_ns;
    uint64_t id;            /* unique among GILs of this process */
    uint64_t switch_number; /* changes of holder */
    uint32_t waiters;       /* threads inside an acquire that waits */
    uint32_t yielders;      /* faithful: threads between a forced drop and
                               their re-take */
    uint64_t drop_seq;      /* drop requests set so far */
    struct weft__gil_member *holder; /* the last holder */
    weft_lock mu;           /* guards the fields above that are not atomic */
    weft_cond cond;         /* faithful: waiters of the GIL */
    weft_lock switch_mu;    /* faithful: forced switching */
    weft_cond switch_cond;
    struct weft__gil_waiter *queue[2][2]; /* fair: [prio, normal][head, tail] */
    weft_gil_hook hook;
    void *hook_arg;
    int64_t held_since;     /* when the holder took it */
    struct weft_gil *reg_prev, *reg_next;   /* all GILs, for fork */
    struct weft__gil_member *members;       /* the threads that used it */
    weft_gil_stats stats;
};

/* weft_gil_init - make *g a free GIL.
 * Blocks:   briefly, on the process-wide list of GILs.
 * Requires: *g is not in use. opts may be NULL (faithful, 5 ms, no hook).
 * Returns:  0; EINVAL for an unknown mode, a negative interval, unknown hook
 *           events, or hook events without a hook.
 * Threads:  any thread. */
int weft_gil_init(weft_gil *g, const weft_gil_opts *opts);

/* weft_gil_destroy - end the life of *g.
 * Blocks:   briefly, on the process-wide list of GILs.
 * Requires: no thread waits for *g.
 * Returns:  0; EBUSY if a thread holds or waits for *g (nothing changes).
 * Threads:  any thread. The threads' records of *g are freed as they exit. */
int weft_gil_destroy(weft_gil *g);

/* weft_gil_acquire - take *g, waiting as long as it takes.
 * Blocks:   until the GIL is the caller's; while it waits it requests a drop
 *           as the mode says.
 * Requires: the caller does not hold *g.
 * Returns:  0 (held); EDEADLK if the caller already holds it; ENOMEM if the
 *           caller's first use of *g could not allocate its record (or the
 *           process could not register its thread-exit and fork handlers).
 * Threads:  any thread; not async-signal-safe. */
int weft_gil_acquire(weft_gil *g) WEFT_TRY_ACQUIRE(0, g);

/* weft_gil_acquire_until - take *g, giving up at a deadline.
 * Blocks:   until held or CLOCK_MONOTONIC reaches deadline_ns (absolute).
 * Requires: the caller does not hold *g.
 * Returns:  as weft_gil_acquire, or ETIMEDOUT (not held; a drop request the
 *           caller made and that no switch answered is withdrawn). A past
 *           deadline makes one attempt and never queues or requests.
 * Threads:  any thread; not async-signal-safe. */
int weft_gil_acquire_until(weft_gil *g, int64_t deadline_ns)
    WEFT_TRY_ACQUIRE(0, g);

/* weft_gil_acquire_for - take *g, giving up after timeout_ns.
 * Returns:  as weft_gil_acquire_until; EINVAL if timeout_ns < 0. */
int weft_gil_acquire_for(weft_gil *g, int64_t timeout_ns)
    WEFT_TRY_ACQUIRE(0, g);

/* weft_gil_release - give *g up voluntarily.
 * Blocks:   faithful: only while a drop request is pending, until another
 *           thread took the GIL (as CPython's drop_gil); fair: never (it may
 *           wake the waiter it hands the GIL to). Otherwise no forced
 *           switch: the caller may take the GIL straight back (faithful) or
 *           queues behind the waiters (fair).
 * Requires: the caller holds *g.
 * Returns:  0; EPERM if the caller does not hold *g (nothing changes).
 * Threads:  the holder. */
int weft_gil_release(weft_gil *g) WEFT_RELEASE(g);

/* weft_gil_blocking_begin / weft_gil_blocking_end - bracket blocking work
 * (I/O, sleeps, waits) so other threads run meanwhile: CPython's
 * Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS. begin is a voluntary
 * release; end takes the GIL back (in fair mode, ahead of CPU-bound waiters
 * when the caller's hold was short).
 * Blocks:   begin never; end until the GIL is the caller's.
 * Requires: begin: the caller holds *g. end: the caller called begin.
 * Returns:  0; EPERM from begin if the caller does not hold *g; EDEADLK from
 *           end if it already holds *g.
 * Threads:  one thread for both calls. */
int weft_gil_blocking_begin(weft_gil *g) WEFT_RELEASE(g);
int weft_gil_blocking_end(weft_gil *g) WEFT_ACQUIRE(g);

/* weft_gil_yield - let a waiting thread run: if another thread waits, release
 * *g, and take it back only after some other thread has held it; otherwise
 * return at once. What weft_gil_check() does when a drop is requested.
 * Blocks:   while others hold the GIL.
 * Requires: the caller holds *g.
 * Returns:  0 (the caller holds *g again); EPERM if it did not hold it.
 * Threads:  the holder. */
int weft_gil_yield(weft_gil *g) WEFT_REQUIRES(g);

/* weft_gil_check - the eval breaker: call it often (every few microseconds
 * of work) while holding *g. One relaxed load unless a waiter asked for the
 * GIL, and then it yields.
 * Returns:  as weft_gil_yield; 0 when there was nothing to do. */
static inline int weft_gil_check(weft_gil *g) WEFT_REQUIRES(g)
{
    if (__builtin_expect(__atomic_load_n(&g->drop_request, __ATOMIC_RELAXED) != 0, 0))
        return weft_gil_yield(g);
    return 0;
}

/* weft_gil_held - whether the calling thread holds *g (for assertions).
 * Threads:  any thread. */
bool weft_gil_held(weft_gil *g);

/* weft_gil_set_interval / weft_gil_interval - the switch interval in
 * nanoseconds (sys.setswitchinterval / getswitchinterval). Values below
 * 1 us act as 1 us, as in CPython. Waits already under way finish with the
 * interval they started with.
 * Returns:  set: 0, EINVAL if interval_ns <= 0.
 * Threads:  any thread. */
int weft_gil_set_interval(weft_gil *g, int64_t interval_ns);
int64_t weft_gil_interval(const weft_gil *g);

/* weft_gil_stats_get - copy the counters of *g (all threads, live or exited).
 * Blocks:   never. Threads: any thread. */
void weft_gil_stats_get(const weft_gil *g, weft_gil_stats *out);

/* weft_gil_thread_stats - copy the calling thread's counters for *g (zero if
 * it never used *g).
 * Blocks:   briefly, on the process-wide list of GILs.
 * Threads:  any thread. */
void weft_gil_thread_stats(weft_gil *g, weft_gil_stats *out);

/* weft_gil_foreach_thread - call fn once for each live thread that has used
 * *g, with its kernel thread id and counters.
 * Blocks:   holds the process-wide list of GILs while fn runs: fn must not
 *           call weft_gil functions.
 * Threads:  any thread. */
void weft_gil_foreach_thread(weft_gil *g,
                             void (*fn)(void *arg, int32_t tid,
                                        const weft_gil_stats *stats),
                             void *arg);

/* weft_gil_wait_percentile - the wait length below which a fraction p
 * (0..1) of the contended waits counted in *s fall, as the upper bound of
 * its histogram bucket (so within a factor of 2); 0 if there were none. */
int64_t weft_gil_wait_percentile(const weft_gil_stats *s, double p);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_GIL_H */
