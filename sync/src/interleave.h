/* interleave.h - the interleaving scheduler of the sched build (internal).
 *
 * Built only with -DWEFT_SCHED=ON (preset `sched`). Every synchronisation
 * point of weft calls into it: each __atomic builtin and CPU pause of the
 * library's sources (interleave_hooks.h, force-included into them) and the futex
 * layer (futex.c). Threads that weft__sched_run starts run one at a time;
 * at each point the scheduler picks which goes next from the input bytes,
 * so one input is one interleaving and replays exactly. Threads it did not
 * start are never stopped (the points are no-ops for them) - except those
 * that a scheduled thread spawns with weft_thread_spawn (a pool's workers,
 * a timer's thread): they join the run as it is, and pthread_join of a
 * scheduled thread is modelled as a wait for it to leave the run. Every
 * thread of a run, adopted ones included, must end within it (a pool shut
 * down, a timer joined): one left waiting is reported as a deadlock. Nor is a child
 * that a scheduled thread forks: processes are not scheduled, so harnesses
 * use threads for the concurrent part (a queue block shared by threads
 * runs the same code as one shared by processes).
 *
 * Futex waits and wakes of scheduled threads are modelled, not made: a
 * wait blocks the thread in the scheduler until a wake names its word (or,
 * for a timed wait, until the schedule decides it times out); when every
 * thread is blocked and none has a deadline the scheduler reports who waits
 * on what and aborts, and a run longer than the step budget aborts as a
 * livelock. Control passes between threads through raw futex system calls,
 * which ThreadSanitizer does not see, so the scheduler adds no
 * happens-before edges of its own.
 *
 * Time is virtual for the threads it runs: weft_time_now_ns() returns a
 * clock that starts at the same value each run, advances 100 ns per
 * schedule point, and jumps to a wait's deadline when the schedule times
 * the wait out (a deadline already passed times out at once). A timed wait
 * otherwise times out only when the schedule says so, so a run reads no
 * real time and replays exactly. Harnesses give far deadlines (an hour)
 * so that only the schedule decides which waits time out. */
#ifndef WEFT_SYNC_INTERLEAVE_H
#define WEFT_SYNC_INTERLEAVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_SCHED_MAX_THREADS 8

/* What a schedule point is; shown in traces. */
enum weft__sched_kind {
    WEFT__SP_LOAD,
    WEFT__SP_STORE,
    WEFT__SP_RMW,
    WEFT__SP_SPIN,
    WEFT__SP_WAIT,
    WEFT__SP_WAKE,
    WEFT__SP_USER,
};

typedef void (*weft__sched_body)(int idx, void *ctx);

/* weft__sched_run - run body(i, ctx) for i in [0, nthreads) on nthreads
 * new threads, one thread at a time, interleaved as the input decides.
 * Input:    data[0] chooses the strategy: even, byte choice (each later
 *           byte picks among the runnable threads at one point; when they
 *           run out, the running thread goes on); odd, PCT (random
 *           priorities and up to three priority-change steps read from the
 *           next bytes; the highest-priority runnable thread runs).
 *           A spin-wait pause always lets another runnable thread run.
 *           Under byte choice, each futex wait also reads a byte that may
 *           end it at once: a timeout (timed waits) or a spurious return.
 * Returns:  0 once every thread has returned; EINVAL for nthreads outside
 *           [1, WEFT_SCHED_MAX_THREADS] or a run already in progress;
 *           EAGAIN if a thread could not be created (none is left behind).
 * Aborts:   on deadlock or livelock, after printing the report and the
 *           schedule's last steps. Call from a thread the scheduler does
 *           not run (a harness's main thread). */
int weft__sched_run(const uint8_t *data, size_t len, int nthreads,
                    weft__sched_body body, void *ctx);

/* weft__sched_point - one schedule point (the hooks' entry; harnesses call
 * it through WEFT_SCHED_POINT between the steps of their own non-atomic
 * code, which lets the schedule split them). No-op on a thread the
 * scheduler does not run. */
void weft__sched_point(int kind, const volatile void *addr, const char *file,
                       int line);
#define WEFT_SCHED_POINT()                                                     \
    weft__sched_point(WEFT__SP_USER, NULL, __FILE__, __LINE__)
/* One turn of a harness's own busy-wait: another runnable thread goes
 * first, as at a CPU pause. */
#define WEFT_SCHED_SPIN()                                                      \
    weft__sched_point(WEFT__SP_SPIN, NULL, __FILE__, __LINE__)

/* weft__sched_fail - print what (a failed invariant), the state of every
 * thread and the schedule's last steps, then abort. For harnesses. */
_Noreturn void weft__sched_fail(const char *what);

/* weft__sched_steps - schedule points taken by the last (or current) run. */
uint64_t weft__sched_steps(void);

/* weft__sched_now - the virtual clock (ns) of the current run. */
int64_t weft__sched_now(void);

/* weft__sched_active - whether the calling thread is one the scheduler
 * runs (the futex layer asks before modelling a wait or wake). */
bool weft__sched_active(void);

/* Adoption of threads spawned by a scheduled thread (core's spawn; the
 * sched build's hook header declares them there):
 *   weft__sched_adopt    before pthread_create: a slot for the new thread
 *                        (runnable from now on), or -1 if the caller is not
 *                        scheduled. Aborts when the run has no room left.
 *   weft__sched_adopted  after it: err != 0 gives the slot up; else pt
 *                        (the pthread_t) names the thread for joins.
 *   weft__sched_enter    the new thread's first call: waits for its turn.
 * weft__sched_pthread_join replaces pthread_join in weft's sources. */
int weft__sched_adopt(void);
void weft__sched_adopted(int slot, unsigned long pt, int err);
void weft__sched_enter(int slot);
int weft__sched_pthread_join(pthread_t t, void **ret);

/* The futex layer's models (see futex.h for the contracts they keep).
 * Only called for a thread where weft__sched_active() is true. */
int weft__sched_futex_wait(const uint32_t *word, uint32_t expected,
                           int64_t deadline_ns);
int weft__sched_futex_wake(const uint32_t *word, int n, bool shared);
int weft__sched_futex_requeue(const uint32_t *from, uint32_t expected,
                              int wake, const uint32_t *to, bool shared);

#endif /* WEFT_SYNC_INTERLEAVE_H */
