/* ppool_worker.c - the loop a process pool's worker runs.
 *
 * Exactly-once bookkeeping rests on commit points the parent can see
 * after the worker has died (see struct weft__shared_slot):
 *   1. the inbox get (the task left the inbox; the parent still has its
 *      copy and its place in the worker's FIFO of sent tasks);
 *   2. the store of started = k, made before the deadline check and before
 *      the task starts: a task numbered `started` and not `finished` when
 *      the worker dies was running (or about to be skipped);
 *   3. the result's commit: its put into the result queue (whole or not
 *      at all), or the store of boxed = k after its bytes went into the
 *      box (see struct weft__shared_slot); then finished = k.
 * A worker that dies between 1 and 2 never started the task: the parent
 * sends it elsewhere. A task whose deadline passed before 2 is skipped, so
 * the parent may fail a task with k > started at its deadline without it
 * ever running. A worker commits its messages in the order it took its
 * tasks, so the parent matches each message from the result queue to the
 * head of that worker's FIFO, once it has read the box: a boxed message
 * may be older than a queued one (see on_message in ppool.c).
 *
 * Sharing a CPU with the waiter: a thread that waits for each result in
 * turn spins for it, and a worker spins for its next task. If the kernel
 * has put the two on one CPU, each spin keeps the other from running
 * until it runs out, and the kernel, which sees one busy CPU and one
 * whose load comes and goes, may leave them so for many round trips
 * (tens of microseconds each, against two when apart; a quarter of short
 * runs on a 2-CPU VM). A submitter's CPU travels with its task, and a
 * worker that finds itself on it, for a task of such a waiter, moves to
 * another CPU its affinity allows and gives the affinity back
 * (weft__pool_move_off), at most once every WEFT__MOVE_EVERY_NS: the
 * kernel may pull it back when it wakes it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/time.h"

#include "poolimpl.h"
#include "ppoolimpl.h"

/* A running task's deadline is kept by the worker itself: a timer that
 * sends it SIGKILL at the deadline, armed just before the task starts and
 * disarmed just after it returns. A kill from outside could not be aimed:
 * by the time it landed, the worker might have moved on to another task. */
static void arm(timer_t tm, int64_t deadline)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (deadline != WEFT_DEADLINE_NEVER) {
        its.it_value.tv_sec = (time_t)(deadline / 1000000000);
        its.it_value.tv_nsec = (long)(deadline % 1000000000);
    }
    (void)timer_settime(tm, TIMER_ABSTIME, &its, NULL);
}

/* Whether the box has paid lately: a boxed message that no thread came to
 * watch for cost a notice as well, and its task's submitter was busy
 * elsewhere (submitting more, or waiting for others first), which a
 * stream of results through the queue serves better. So after such a
 * message the worker skips the box for 1, 2, 4, ... up to BOX_SKIP_MAX
 * tasks; a watched one resets that. But a task that a thread watches for
 * as it ends, or that follows one a thread watched for (if late), is
 * boxed even then: a thread that waits for each result in turn would
 * otherwise get them through the collector, three wake-ups a round trip,
 * for up to BOX_SKIP_MAX tasks after each miss. */
struct box_use {
    unsigned skip, backoff;
};

#define BOX_SKIP_MAX 64u

/* Commit the message out[0..len) of task k: into the box if the task has
 * a future, the message fits and the parent has read the last one, and
 * either a thread watches for it already or no other task waits in the
 * inbox and the box has paid lately; else into the result queue. */
static int commit(const struct weft__worker_ctx *c, struct box_use *u, const unsigned char *out,
                  size_t len, uint64_t k, bool awaited)
{
    struct weft__shared_slot *sh = c->shared;
    uint64_t boxed = __atomic_load_n(&sh->boxed, __ATOMIC_RELAXED); /* ours alone */
    /* A thread watched for the task before this one, if only after its
     * result had gone to the queue: it waits for results one at a time,
     * and the box (with the linger below) serves it best. */
    if (u->skip > 0 && __atomic_load_n(&sh->watched, __ATOMIC_RELAXED) + 1 >= k)
        u->skip = u->backoff = 0;
    /* A thread watching now reads the box at once: the skip is for
     * results nobody waits for yet. */
    bool watched = awaited && __atomic_load_n(&sh->watching, __ATOMIC_SEQ_CST) == k;
    if (!awaited || len > WEFT__BOX_BYTES ||
        (!watched && (u->skip > 0 || !weft_queue_empty(c->inbox))) ||
        __atomic_load_n(&sh->taken, __ATOMIC_ACQUIRE) != boxed) {
        if (awaited && u->skip > 0)
            u->skip--;
        return weft_queue_put(c->results, out, len);
    }
    memcpy(sh->box, out, len);
    __atomic_store_n(&sh->box_len, len, __ATOMIC_RELAXED);
    __atomic_store_n(&sh->boxed, k, __ATOMIC_SEQ_CST); /* the commit */
    for (int i = 0; i < WEFT_PPOOL_BOX_LINGER; i++) {
        /* A thread watches for it (and reads it), or has read it. */
        if (__atomic_load_n(&sh->watching, __ATOMIC_SEQ_CST) == k ||
            __atomic_load_n(&sh->taken, __ATOMIC_ACQUIRE) == k) {
            u->backoff = 0;
            return 0;
        }
        weft__pool_relax();
    }
    u->backoff = u->backoff == 0 ? 1 : u->backoff < BOX_SKIP_MAX ? u->backoff * 2 : BOX_SKIP_MAX;
    u->skip = u->backoff;
    struct weft__result_msg n;
    memcpy(&n, out, sizeof n);
    n.kind = WEFT__MSG_BOXED;
    return weft_queue_put(c->results, &n, sizeof n);
}

/* Whether to move off the CPU before task k (see the top): it is awaited,
 * its submitter ran on this CPU, a thread watched for the task before it
 * (it waits for each result in turn; see commit), no other task is
 * queued behind it, and the last move is WEFT__MOVE_EVERY_NS old. A
 * thread that submits a stream of tasks is not waiting on this worker,
 * and with more busy processes than CPUs a move would only trade one
 * pairing for another: tasks in the inbox, or no watcher, mean no move. */
static bool should_move(const struct weft__worker_ctx *c, const struct weft__task_msg *t,
                        uint64_t k, int64_t last_move)
{
    return t->awaited && t->cpu != 0 && t->cpu == weft__pool_cpu() && k > 1 &&
           __atomic_load_n(&c->shared->watched, __ATOMIC_RELAXED) + 1 >= k &&
           weft_queue_empty(c->inbox) && weft_time_now_ns() - last_move >= WEFT__MOVE_EVERY_NS;
}

int weft__ppool_worker_main(void *arg)
{
    const struct weft__worker_ctx *c = (const struct weft__worker_ctx *)arg;
    struct weft__result_msg r;
    memset(&r, 0, sizeof r);
    r.slot = c->slot;
    r.gen = c->gen;
    if (c->initializer != NULL) {
        int rc = c->initializer(c->initarg);
        if (rc != 0) {
            r.kind = WEFT__MSG_INIT_FAILED;
            r.rc = rc;
            (void)weft_queue_put(c->results, &r, sizeof r);
            return 1;
        }
    }
    size_t in_cap = sizeof(struct weft__task_msg) + c->max_arg;
    size_t out_cap = sizeof r + c->max_result;
    unsigned char *in = (unsigned char *)malloc(in_cap);
    unsigned char *out = (unsigned char *)malloc(out_cap);
    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return 2;
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGKILL;
    timer_t tm;
    if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0) {
        free(in);
        free(out);
        return 2; /* the parent breaks no promise: nothing was taken */
    }
    __atomic_store_n(&c->shared->ready, 1, __ATOMIC_RELEASE);
    int status = 0;
    struct box_use box = {0, 0};
    int64_t last_move = INT64_MIN / 2; /* none yet */
    for (uint64_t k = 1; c->max_tasks == 0 || k <= c->max_tasks; k++) {
        size_t len = 0;
        int rc = weft_queue_get(c->inbox, in, in_cap, &len);
        if (rc == EPIPE)
            break; /* closed: the pool is shutting down */
        if (rc != 0 || len < sizeof(struct weft__task_msg)) {
            status = 3;
            break;
        }
        struct weft__task_msg t;
        memcpy(&t, in, sizeof t);
        if (should_move(c, &t, k, last_move)) {
            /* A hint: the kernel may pull the worker back when it wakes
             * it. A move that failed (a worker allowed one CPU) is not
             * tried again sooner either: it costs a system call. */
            (void)weft__pool_move_off((int)t.cpu - 1);
            last_move = weft_time_now_ns();
        }
        size_t out_len = 0;
        r.id = t.id;
        /* seq_cst: ordered before the clock read below, which the parent's
         * watcher mirrors (it reads started after its clock said the
         * deadline passed). */
        __atomic_store_n(&c->shared->started, k, __ATOMIC_SEQ_CST);
        if (t.deadline != WEFT_DEADLINE_NEVER && weft_time_now_ns() >= t.deadline) {
            r.kind = WEFT__MSG_SKIPPED;
            r.rc = ETIMEDOUT;
        } else {
            r.kind = WEFT__MSG_RESULT;
            if (t.deadline != WEFT_DEADLINE_NEVER)
                arm(tm, t.deadline);
            r.rc = t.fn(in + sizeof t, len - sizeof t, out + sizeof r, c->max_result, &out_len);
            if (t.deadline != WEFT_DEADLINE_NEVER)
                arm(tm, WEFT_DEADLINE_NEVER);
            if (out_len > c->max_result) {
                r.rc = EMSGSIZE;
                out_len = 0;
            }
        }
        memcpy(out, &r, sizeof r);
        if (commit(c, &box, out, sizeof r + out_len, k, t.awaited != 0) != 0) {
            status = 4;
            break;
        }
        __atomic_store_n(&c->shared->finished, k, __ATOMIC_RELEASE);
    }
    (void)timer_delete(tm);
    free(in);
    free(out);
    return status;
}
