/* poolimpl.h - what the pool module's files share (internal to pool/). */
#ifndef WEFT_POOLIMPL_H
#define WEFT_POOLIMPL_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/future.h"
#include "weft/lock.h"
#include "weft/ppool.h"
#include "weft/thread.h"
#include "weft/tpool.h"

/* The future's word: the state in the low two bits, WAITING when a
 * thread may sleep on the word (the completer then wakes it), and YIELDED
 * when a waiter on the CPU of the task's thread yielded to it (a hint:
 * that thread yields back after the task, see weft_future_wait_until). */
#define WEFT__FUT_STATE 3u
#define WEFT__FUT_WAITING 4u
#define WEFT__FUT_YIELDED 8u

struct weft__fut_node;

/* A done callback, in the future's list. */
struct weft__fut_cb {
    struct weft__fut_cb *next;
    weft_future_cb cb;
    void *arg;
};

struct weft_future {
    uint32_t word; /* __atomic builtins: the sources also compile as C++ */
    uint32_t refs;
    /* Pauses a waiter spins before it sleeps: set by the code that makes
     * the future, before it is published (see weft_future_wait_until). */
    uint16_t spin;
    bool has_worker;
    /* The CPU (plus one; 0: not known) of the thread that runs the task, or
     * that is to run it: a waiter on that CPU does not spin, since the
     * thread it waits for cannot run while it does (atomic, a hint). */
    uint32_t cpu;
    /* Guards the lists and the outcome fields while the future completes;
     * the outcome is read without it once the word says done (the word is
     * stored with release after the fields are written). */
    weft_lock mu;
    int error;
    pid_t worker_pid;
    int worker_exit;
    /* The CPU (plus one) of the waiter that last set YIELDED (atomic, a
     * hint): its worker yields back only from that CPU. */
    uint32_t yield_cpu;
    void *value;
    size_t size;
    void (*value_free)(void *);
    struct weft__fut_cb *cbs, *cbs_last; /* done callbacks, in order */
    struct weft__fut_node *nodes;        /* registered set waiters */
    /* Set before the future is published, then read only: the pool whose
     * task it is (at most one of the two), and what lets a waiter help:
     * a worker of the same thread pool that waits on the future while its
     * task is pending runs the task itself (tpool), and a thread that
     * waits on a process pool task reads its result straight from the
     * worker (weft__ppool_help; forks: the process's fork count at the
     * submit). */
    weft_tpool *pool;
    weft_ppool *ppool;
    union {
        struct {
            weft_task_fn fn;
            void *arg;
        } tp;
        struct {
            uint64_t id;
            unsigned forks;
        } pp;
    } task;
};

/* A future is at most 120 bytes: glibc's malloc keeps blocks that small
 * (128 with its header) in fastbins, and a thread that frees one that
 * another thread allocated - a worker dropping the last reference to a
 * future its submitter made - pushes it there without taking the arena
 * lock that the submitter's next malloc takes. */
_Static_assert(sizeof(struct weft_future) <= 120, "a future outgrew a fastbin block");

/* Spins before a waiter sleeps, for futures whose task runs in this
 * process (thread pool, user-made): a task of a few microseconds is then
 * waited for without two context switches. Bounded and short, so a waiter
 * on a busy machine gives its core away quickly. */
#ifndef WEFT_FUTURE_SPIN_ROUNDS
#define WEFT_FUTURE_SPIN_ROUNDS 200
#endif
_Static_assert(WEFT_FUTURE_SPIN_ROUNDS <= UINT16_MAX, "f->spin holds the spin rounds");

/* weft__pool_cpu - the CPU the calling thread runs on (weft_thread_cpu),
 * plus one; 0 when it cannot be known (a tag that never matches). */
static inline uint32_t weft__pool_cpu(void)
{
    return (uint32_t)(weft_thread_cpu() + 1);
}

/* The least time between two moves of a worker off a waiting thread's
 * CPU (see weft__pool_move_off). */
#define WEFT__MOVE_EVERY_NS ((int64_t)10000000) /* 10 ms */

/* weft__pool_move_off - move the calling thread off CPU number `cpu` to
 * another that its affinity allows, then give it back the affinity it had
 * (which moves nothing: the kernel keeps it where it is until its own
 * balancing moves it). For a worker on the CPU of a thread that waits for
 * each of its results in turn: each spins while it waits for the other,
 * and on one CPU each spin keeps the other from running until it runs
 * out, while the kernel, which sees one busy CPU and one whose load comes
 * and goes, may leave the two so for many round trips (tens of
 * microseconds each instead of one or two). The affinity given back is
 * the one read first: a change made from outside in between is undone,
 * and on kernels that keep the mask a thread asked for apart from the
 * one in effect, the asked-for mask becomes the one in effect.
 * Returns:  0 (off cpu now: moved, or was elsewhere); EINVAL (cpu out of
 *           range or not allowed, or the only CPU allowed: nothing
 *           changed); an errno of sched_getaffinity or sched_setaffinity
 *           (nothing changed, or, if giving the affinity back failed, the
 *           thread keeps away from cpu). */
int weft__pool_move_off(int cpu);

/* weft__pool_relax - the CPU's spin-wait hint (~30 ns on x86). */
static inline void weft__pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* weft__tpool_help - if the calling thread is a worker of f's pool and f is
 * still pending, run f's task here. Returns whether it did. */
bool weft__tpool_help(weft_future *f);

/* weft__tpool_run - run fn(arg) as the task of f (f may be NULL) and
 * complete f with the outcome. f is already running. */
void weft__tpool_run(weft_future *f, weft_task_fn fn, void *arg);

/* weft__future_complete_task - complete f, which is running, with a
 * task's outcome: error, or 0 and value (as weft_future_set_error and
 * weft_future_set_result). If f has no done callbacks, add one to
 * *finishing (when not NULL) just before f becomes done, so that a thread
 * that sees f done sees the count raised: the completing worker's next
 * step is to look for work, with nothing of the user's to run first.
 * Returns whether it raised the count. */
bool weft__future_complete_task(weft_future *f, int error, void *value, uint32_t *finishing);

/* weft__future_pin - add one to *count, unless f is done; under f->mu, so
 * that whoever waits for every future of a pool to be done and then for
 * *count to drop to 0 sees the addition. Returns whether it added. */
bool weft__future_pin(weft_future *f, uint32_t *count);

/* weft__future_complete_here - complete f as weft_future_set_result does
 * (error 0) or set_error, but only if it has no done callbacks: those run
 * where the pool's header says. Returns 0, EAGAIN (it has callbacks:
 * nothing changed), EINVAL (done already). */
int weft__future_complete_here(weft_future *f, int error, void *value, size_t size,
                               void (*value_free)(void *));

/* weft__ppool_help - f is a process pool task's future that the calling
 * thread waits for: if the task is with a worker, spin for its result
 * there and settle f with it. Returns when f is done or when it stopped
 * looking (the deadline, its spin budget, or nothing to look at); the
 * caller then waits as for any future. */
void weft__ppool_help(weft_future *f, int64_t deadline_ns);

#endif /* WEFT_POOLIMPL_H */
