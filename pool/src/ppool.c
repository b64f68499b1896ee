/* ppool.c - the process pool: the parent's side.
 *
 * Design / invariants:
 *   - Every worker has a slot: its process, its inbox (a weft_queue made
 *     before its fork) and the FIFO of tasks sent to it whose results have
 *     not come back. A task is pending (the parent's list) or sent (one
 *     slot's FIFO) until its result arrives or its worker's death settles
 *     it. At most `prefetch` tasks are sent to a worker at once, or with
 *     the adaptive default, as many as it runs in AHEAD_NS (see
 *     slot_limit), and never more than its inbox holds.
 *   - Two threads the pool owns. The collector reads the result queue:
 *     results, skips, initializer failures, deaths and wake-ups all arrive
 *     there, so it has one place to block. It forks the workers (their
 *     parent-death signal is tied to it, and it lives until they are
 *     reaped). The watcher polls the workers' pidfds, and fails sent tasks
 *     whose deadline passed before they started; it reports a death by
 *     putting a DEATH message in the result queue, after every result the
 *     dead worker committed (see ppool_worker.c).
 *   - On a death, the sent tasks of that worker are settled: the one the
 *     worker had published as started fails (EOWNERDEAD, or ETIMEDOUT if
 *     SIGKILL ended it past its deadline: the worker's own deadline timer,
 *     see ppool_worker.c); the others never started
 *     and go back to the front of the pending list. Then a new
 *     worker takes the slot (unless the pool is done or broken). A failed
 *     fork sets respawn_at; the watcher wakes the collector then, which
 *     forks into the empty slots (respawn). Deaths before a worker is
 *     ready (ppoolimpl.h) count toward EARLY_DEATH_LIMIT; a task's result
 *     or a ready worker's death resets the count.
 *   - Nothing is allocated once the pool runs but tasks (each with its
 *     outcome node) and the inboxes of new workers: the collector's buffer
 *     and the watcher's poll set are made with the pool. If the result
 *     queue itself fails, the collector breaks the pool and reaps the
 *     workers without it (reap_all).
 *   - Submit does not wait for p->mu: it pushes the task onto `inbound`
 *     (a lock-free stack) and takes p->mu only if it is free. Whoever
 *     holds p->mu moves inbound tasks to the pending list before it
 *     releases it, and looks again after (unlock_and_deliver), so a task
 *     never waits for a holder that has gone (after RELEASE_ROUNDS of
 *     that, it wakes the collector instead). The collector stops only
 *     when no submitter is between its check of shutdown and its push,
 *     and no task is pending.
 *   - p->mu guards everything in this struct that changes, but for
 *     inbound, submitting and next_id (atomics), and shutdown, broken and
 *     stopping, written under it with atomic stores that submit reads
 *     without it. Outcomes are
 *     gathered under it and delivered by the collector, after it releases
 *     the lock: callbacks run in one thread, the one the header names, and
 *     may submit or shut the pool down (NOWAIT). Other threads that gather
 *     outcomes wake the collector with a WAKE message.
 *   - The one exception: a thread waiting for a task that is with a
 *     worker reads the task's message from the worker's box (ppoolimpl.h)
 *     and completes the future itself, if it has no callbacks
 *     (weft__ppool_help). It settles the task under p->mu as the
 *     collector would, and the collector reads any box it is told of, or
 *     that a dead worker left: each message is read once, whoever reads
 *     it (taken). Waiting threads pin the pool (helpers), so a free waits
 *     for them to leave. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/ppool.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "weft/event.h"
#include "weft/lock.h"
#include "weft/proc.h"
#include "weft/shm.h"
#include "weft/thread.h"
#include "weft/time.h"

#include "poolimpl.h"
#include "ppoolimpl.h"

/* An outcome to deliver once p->mu is released. Made with its task (for a
 * task with a future), so settling a task never allocates. */
struct outcome {
    struct outcome *next;
    weft_future *f;
    bool cancel; /* cancel f (a pending task dropped by shutdown) */
    int error;
    void *value;
    size_t size;
    bool worker;
    pid_t pid;
    int exitcode;
};

struct ptask {
    uint64_t id;
    uint64_t seq; /* its number among the tasks sent to its worker (from 1) */
    weft_ptask_fn fn;
    int64_t deadline;
    weft_future *f; /* NULL: fire-and-forget, or settled */
    struct outcome *out; /* with f: its outcome, until settled */
    bool expired;   /* failed for its deadline before it started (f is NULL) */
    bool claimed;   /* sent once: f (if any) runs, and stays so when resent */
    uint32_t cpu;   /* weft__pool_cpu() of the submitting thread */
    size_t len;
    unsigned char *arg; /* just after the struct, same allocation */
    struct ptask *next;
};

struct slot {
    weft_proc *proc; /* NULL: no worker */
    weft_queue *inbox;
    uint32_t gen;
    struct ptask *head, *tail; /* sent, not settled */
    unsigned outstanding;
    size_t sent;         /* tasks sent to this worker process */
    bool dying;          /* DEATH reported by the watcher */
    bool closed;         /* inbox closed: the worker will end */
    bool full;           /* its inbox refused a task: none until a result */
    /* The adaptive prefetch (see slot_limit): the tasks sent ahead, the
     * measured time a task takes, the last result's time, and whether the
     * worker had its next task already when that result came. */
    unsigned limit;
    int64_t task_ns, last_ns;
    bool busy;
};

struct weft_ppool {
    weft_lock mu;
    struct ptask *pend_head, *pend_tail;
    size_t npending; /* written with atomic stores: help() reads it unlocked */
    struct slot *slots;
    size_t nslots;
    size_t live; /* slots with a worker */
    weft_shm *shm; /* the workers' shared lines */
    struct weft__shared_slot *shared;
    weft_queue *results;
    struct outcome *outs, *outs_tail; /* settled, to deliver */
    uint64_t next_id; /* atomic: submit takes ids without p->mu */
    size_t ndeadlines; /* unsettled tasks with a deadline */
    size_t replaced;
    unsigned early_deaths; /* workers in a row that died before a task */
    int64_t respawn_at;    /* retry forking into empty slots then; 0: none */
    int broken;
    bool shutdown, stopping;
    weft_ppool_opts o;
    weft_thread *collector, *watcher;
    unsigned char *cbuf; /* the collector's message buffer */
    size_t cbuf_cap;
    /* The watcher's poll set, per entry the slot and its generation, and
     * the deaths it found: made with the pool, so it never runs short. */
    struct pollfd *wfds;
    size_t *wwhich;
    uint32_t *wgens;
    struct weft__result_msg *wdeaths;
    int evfd; /* wakes the watcher */
    weft_lock join_mu;
    bool joined;
    int start_error;
    weft_event started; /* the collector forked the first workers */
    /* Threads in weft__ppool_help: the pool is freed only once they have
     * left (see weft__future_pin). */
    uint32_t helpers;
    /* Submitted tasks not yet in the pending list, newest first (see
     * take_inbound), and the submitters between their check of shutdown
     * and broken and their push here (see work_left). */
    struct ptask *inbound;
    uint32_t submitting;
};

static __thread weft_ppool *collector_of; /* set in the collector thread */

/* Forks this process has made (counted in each child), recorded in each
 * future at its submit: a future copied into a child is not the child's to
 * help with (see weft__ppool_help). */
static unsigned ppool_forks;
static pthread_once_t ppool_atfork_once = PTHREAD_ONCE_INIT;

static void ppool_forked(void) { __atomic_fetch_add(&ppool_forks, 1u, __ATOMIC_RELAXED); }

static void ppool_register_atfork(void) { (void)pthread_atfork(NULL, NULL, ppool_forked); }

/* ---- outcomes ---- */

/* Complete the futures of a list of outcomes (dropping their references)
 * and free it. */
static void deliver(struct outcome *list)
{
    for (struct outcome *o = list, *next; o != NULL; o = next) {
        next = o->next;
        int rc;
        if (o->cancel)
            rc = weft_future_cancel(o->f);
        else if (o->error == 0)
            rc = weft_future_set_result(o->f, o->value, o->size, free);
        else if (o->worker)
            rc = weft_future_set_worker_error(o->f, o->error, o->pid, o->exitcode);
        else
            rc = weft_future_set_error(o->f, o->error);
        if (rc != 0)
            free(o->value);
        weft_future_free(o->f);
        free(o);
    }
}

/* Settle t's future with the outcome o (whose f is ignored): t's outcome
 * node takes it and joins the list to deliver; t keeps no future. A task
 * without one (fire-and-forget, or settled already) drops o's value. */
static void add_outcome(weft_ppool *p, struct ptask *t, const struct outcome *o)
    WEFT_REQUIRES(p->mu)
{
    struct outcome *n = t->out;
    if (n == NULL) {
        free(o->value);
        return;
    }
    *n = *o;
    n->f = t->f;
    n->next = NULL;
    t->f = NULL;
    t->out = NULL;
    if (p->outs_tail != NULL)
        p->outs_tail->next = n;
    else
        p->outs = n;
    p->outs_tail = n;
}

/* Free a task that is dropped without an outcome. */
static void task_free(struct ptask *t)
{
    weft_future_free(t->f);
    free(t->out);
    free(t);
}

static void fail_task(weft_ppool *p, struct ptask *t, int error, pid_t pid, int exitcode,
                      bool worker) WEFT_REQUIRES(p->mu)
{
    if (t->deadline != WEFT_DEADLINE_NEVER && !t->expired)
        p->ndeadlines--;
    struct outcome o = {NULL, NULL, false, error, NULL, 0, worker, pid, exitcode};
    add_outcome(p, t, &o); /* nothing for a task that expired already */
    free(t);
}

static void dispatch(weft_ppool *p) WEFT_REQUIRES(p->mu);

/* Make the collector look at the pool's state (a WAKE message). A try: a
 * full queue has messages for it already, after each of which it looks,
 * and a stopped collector reads none. */
static void wake_collector(weft_ppool *p)
{
    struct weft__result_msg m = {WEFT__MSG_WAKE, 0, 0, 0, 0};
    (void)weft_queue_try_put(p->results, &m, sizeof m);
}

/* Whether submitted tasks wait in inbound. */
static bool inbound_waiting(weft_ppool *p)
{
    return __atomic_load_n(&p->inbound, __ATOMIC_SEQ_CST) != NULL;
}

/* Release p->mu, then deliver the outcomes gathered under it: in the
 * collector. Any other thread leaves them to the collector and wakes it.
 * Sends the tasks submitted meanwhile first (inbound). */
static void release_once(weft_ppool *p) WEFT_RELEASE(p->mu)
{
    if (inbound_waiting(p))
        dispatch(p);
    if (collector_of != p) {
        bool wake = p->outs != NULL;
        weft_lock_release(&p->mu);
        if (wake)
            wake_collector(p);
        return;
    }
    struct outcome *outs = p->outs;
    p->outs = p->outs_tail = NULL;
    weft_lock_release(&p->mu);
    deliver(outs);
}

/* Rounds a releasing thread sends newly pushed tasks before it leaves
 * that to the collector (a thread that only waited for a result must not
 * be kept sending by a stream of submits). */
#define RELEASE_ROUNDS 8

/* Release p->mu (release_once); then, if a task was pushed to inbound
 * while a submitter found p->mu held, take p->mu again to send it, unless
 * another thread holds it now (it will). The seq_cst fences pair with the
 * one in submit: either the submitter's try-lock sees p->mu free, or the
 * load of inbound here sees its task. After RELEASE_ROUNDS, a WAKE hands
 * the task to the collector (a full queue: it has messages already). */
static void unlock_and_deliver(weft_ppool *p) WEFT_RELEASE(p->mu)
{
    for (int round = 0;; round++) {
        release_once(p);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!inbound_waiting(p))
            return;
        if (round == RELEASE_ROUNDS) {
            wake_collector(p);
            return;
        }
        if (weft_lock_try_acquire(&p->mu) != 0)
            return;
    }
}

/* ---- sending tasks ---- */

/* The adaptive prefetch (opts.prefetch 0): a worker is sent as many tasks
 * ahead as it runs in about AHEAD_NS, from PREFETCH_MIN to PREFETCH_MAX.
 * With tasks of a few microseconds the collector, which refills every
 * inbox, is then rarely what a worker waits for: one refill that waits for
 * a wake-up or a core (tens of microseconds on a loaded machine) no longer
 * leaves the worker idle. With long tasks it stays at PREFETCH_MIN, so a
 * task rarely waits behind another while a worker is free. */
#define AHEAD_NS ((int64_t)50 * 1000)
#define PREFETCH_MIN 2u
#define PREFETCH_MAX 64u

static unsigned slot_limit(const weft_ppool *p, const struct slot *s) WEFT_REQUIRES(p->mu)
{
    return p->o.prefetch != 0 ? p->o.prefetch : s->limit;
}

/* After a result of slot s's worker: measure the time its tasks take
 * (the time between two results, when the worker had its next task
 * queued at the first, so it did not wait between them) and set the
 * slot's limit from it (see AHEAD_NS). */
static void measure(weft_ppool *p, struct slot *s) WEFT_REQUIRES(p->mu)
{
    if (p->o.prefetch != 0)
        return;
    int64_t now = weft_time_now_ns();
    if (s->busy && s->last_ns != 0) {
        int64_t dt = now - s->last_ns;
        s->task_ns = s->task_ns == 0 ? dt : (7 * s->task_ns + dt) / 8;
        int64_t ahead = PREFETCH_MIN + AHEAD_NS / (s->task_ns > 0 ? s->task_ns : 1);
        s->limit = ahead > (int64_t)PREFETCH_MAX ? PREFETCH_MAX : (unsigned)ahead;
    }
    s->last_ns = now;
    s->busy = s->outstanding > 0; /* after this task's, counted off already */
}

static bool slot_takes(const weft_ppool *p, const struct slot *s) WEFT_REQUIRES(p->mu)
{
    return s->proc != NULL && !s->dying && !s->closed && !s->full &&
           s->outstanding < slot_limit(p, s) &&
           (p->o.max_tasks_per_child == 0 || s->sent < p->o.max_tasks_per_child);
}

/* Append t (its next NULL) to the list *head .. *tail. */
static void append(struct ptask **head, struct ptask **tail, struct ptask *t)
{
    if (*tail != NULL)
        (*tail)->next = t;
    else
        *head = t;
    *tail = t;
}

/* Put t back at the front of the pending list. */
static void push_front(weft_ppool *p, struct ptask *t) WEFT_REQUIRES(p->mu)
{
    t->next = p->pend_head;
    p->pend_head = t;
    if (p->pend_tail == NULL)
        p->pend_tail = t;
    __atomic_store_n(&p->npending, p->npending + 1, __ATOMIC_RELAXED);
}

static struct ptask *pop_pending(weft_ppool *p) WEFT_REQUIRES(p->mu)
{
    struct ptask *t = p->pend_head;
    p->pend_head = t->next;
    if (p->pend_head == NULL)
        p->pend_tail = NULL;
    __atomic_store_n(&p->npending, p->npending - 1, __ATOMIC_RELAXED);
    t->next = NULL;
    return t;
}

/* Move the tasks pushed to inbound to the end of the pending list, in the
 * order they were pushed; in a broken pool, fail them (EPIPE) instead, as
 * break_pool failed the pending ones. */
static void take_inbound(weft_ppool *p) WEFT_REQUIRES(p->mu)
{
    struct ptask *t = __atomic_exchange_n(&p->inbound, (struct ptask *)NULL, __ATOMIC_SEQ_CST);
    struct ptask *first = NULL;
    while (t != NULL) { /* reverse: oldest first */
        struct ptask *next = t->next;
        t->next = first;
        first = t;
        t = next;
    }
    size_t n = 0;
    while (first != NULL) {
        t = first;
        first = t->next;
        t->next = NULL;
        if (t->deadline != WEFT_DEADLINE_NEVER)
            p->ndeadlines++;
        if (p->broken != 0) {
            fail_task(p, t, EPIPE, 0, 0, false);
            continue;
        }
        append(&p->pend_head, &p->pend_tail, t);
        n++;
    }
    __atomic_store_n(&p->npending, p->npending + n, __ATOMIC_RELAXED);
}

/* Put t's message into slot s's inbox. A task with a future not sent
 * before (claimed) is checked and moved to running under f->mu, which
 * weft_future_cancel takes too: a cancel comes before (ECANCELED, nothing
 * sent) or after the send (too late: running). EAGAIN: the inbox is full,
 * nothing changed. */
static int send_task(struct slot *s, struct ptask *t)
{
    struct weft__task_msg m = {t->id, t->fn, t->deadline, t->f != NULL, t->cpu};
    unsigned char *buf = t->arg - sizeof m; /* room left before arg */
    memcpy(buf, &m, sizeof m);
    int rc;
    if (t->f == NULL || t->claimed) {
        rc = weft_queue_try_put(s->inbox, buf, sizeof m + t->len);
    } else {
        weft_future *f = t->f;
        weft_lock_acquire(&f->mu);
        rc = weft_future_state_get(f) == WEFT_FUTURE_PENDING
                 ? weft_queue_try_put(s->inbox, buf, sizeof m + t->len)
                 : ECANCELED;
        if (rc == 0)
            rc = weft_future_set_running(f); /* pending, and f->mu held: 0 */
        weft_lock_release(&f->mu);
    }
    if (rc == 0)
        t->claimed = true;
    return rc;
}

/* Send pending tasks (inbound ones too) to workers with room. */
static void dispatch(weft_ppool *p) WEFT_REQUIRES(p->mu)
{
    take_inbound(p);
    while (p->pend_head != NULL && p->broken == 0) {
        struct slot *best = NULL;
        for (size_t i = 0; i < p->nslots; i++) {
            struct slot *s = &p->slots[i];
            if (slot_takes(p, s) && (best == NULL || s->outstanding < best->outstanding))
                best = s;
        }
        if (best == NULL)
            return;
        struct ptask *t = pop_pending(p);
        int rc = send_task(best, t);
        if (rc == ECANCELED) { /* cancelled while pending */
            if (t->deadline != WEFT_DEADLINE_NEVER)
                p->ndeadlines--;
            task_free(t);
            continue;
        }
        if (rc == EAGAIN) {
            /* Full: an adaptive inbox holds PREFETCH_MAX small tasks but
             * fewer large ones. Send it after the worker's next result. */
            best->full = true;
            push_front(p, t);
            continue;
        }
        if (rc != 0) {
            /* Only a damaged or closed inbox refuses: the worker is then
             * as good as dead. */
            fail_task(p, t, EPIPE, 0, 0, false);
            continue;
        }
        append(&best->head, &best->tail, t); /* pop_pending cleared t->next */
        best->outstanding++;
        t->seq = ++best->sent;
    }
}

/* ---- workers ---- */

static int spawn_worker(weft_ppool *p, size_t i) WEFT_REQUIRES(p->mu)
{
    struct slot *s = &p->slots[i];
    weft_queue_opts qo;
    memset(&qo, 0, sizeof qo);
    /* A fixed prefetch: room for that many tasks of any size (one more:
     * a message is never split at the ring's end, and the space skipped
     * there is less than one). Adaptive: for PREFETCH_MIN of any size, or
     * PREFETCH_MAX small ones. */
    size_t big = sizeof(struct weft__task_msg) + p->o.max_arg + 64;
    size_t small = sizeof(struct weft__task_msg) + 64;
    if (p->o.prefetch != 0) {
        qo.capacity = ((size_t)p->o.prefetch + 1) * big + 64;
        qo.max_messages = p->o.prefetch + 1;
    } else {
        qo.capacity = PREFETCH_MIN * big + PREFETCH_MAX * small;
        qo.max_messages = PREFETCH_MAX + 1;
    }
    qo.flags = WEFT_QUEUE_SIMPLE;
    int rc = weft_queue_create(&s->inbox, NULL, &qo);
    if (rc != 0)
        return rc;
    s->gen++;
    __atomic_store_n(&p->shared[i].started, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].finished, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].ready, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].boxed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].box_len, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].taken, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].watching, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->shared[i].watched, 0, __ATOMIC_RELAXED);
    struct weft__worker_ctx c = {s->inbox, p->results, &p->shared[i], (uint32_t)i, s->gen,
                                 p->o.max_arg, p->o.max_result, p->o.max_tasks_per_child,
                                 p->o.initializer, p->o.initarg};
    weft_proc_opts po = {"ProcessPoolWorker", true};
    /* The child gets a copy of c as it is now, on this stack. */
    rc = weft_proc_spawn(&s->proc, weft__ppool_worker_main, &c, &po);
    if (rc != 0) {
        weft_queue_free(s->inbox);
        s->inbox = NULL;
        s->proc = NULL;
        return rc;
    }
    s->outstanding = 0;
    s->sent = 0;
    s->dying = false;
    s->closed = false;
    s->full = false;
    s->limit = PREFETCH_MIN;
    s->task_ns = s->last_ns = 0;
    s->busy = false;
    p->live++;
    return 0;
}

static void wake_watcher(weft_ppool *p)
{
    uint64_t one = 1;
    ssize_t w = write(p->evfd, &one, sizeof one);
    (void)w; /* a full counter already wakes it */
}

/* Break the pool: fail every unsettled task with EPIPE and end the
 * workers. */
static void break_pool(weft_ppool *p, int why) WEFT_REQUIRES(p->mu)
{
    if (p->broken == 0)
        __atomic_store_n(&p->broken, why, __ATOMIC_SEQ_CST); /* submit reads it unlocked */
    while (p->pend_head != NULL)
        fail_task(p, pop_pending(p), EPIPE, 0, 0, false);
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        for (struct ptask *t = s->head, *next; t != NULL; t = next) {
            next = t->next;
            fail_task(p, t, EPIPE, 0, 0, false);
        }
        s->head = s->tail = NULL;
        s->outstanding = 0;
        if (s->proc != NULL && !s->dying)
            (void)weft_proc_kill(s->proc);
    }
}

/* ---- results ---- */

/* Settle t, unlinked from slot s already, with the worker's message m
 * (RESULT or SKIPPED) and for a result its bytes[0..n). */
static void settle_msg(weft_ppool *p, struct slot *s, struct ptask *t,
                       const struct weft__result_msg *m, const unsigned char *bytes, size_t n)
    WEFT_REQUIRES(p->mu)
{
    s->outstanding--;
    s->full = false; /* the worker took this task from its inbox */
    measure(p, s);
    p->early_deaths = 0;
    struct outcome o = {NULL, NULL, false, m->rc, NULL, 0, false, 0, 0};
    if (m->kind == WEFT__MSG_SKIPPED) {
        o.error = ETIMEDOUT;
    } else if (m->rc == 0) {
        o.size = n;
        o.value = malloc(n ? n : 1);
        if (o.value == NULL)
            o.error = ENOMEM;
        else
            memcpy(o.value, bytes, n);
    }
    if (t->deadline != WEFT_DEADLINE_NEVER && !t->expired)
        p->ndeadlines--;
    add_outcome(p, t, &o); /* drops the value when t expired */
    free(t);
}

/* The message in worker i's box, if it has not been read: settle its task
 * (which may sit anywhere in the FIFO: the messages of the tasks before it
 * may still be in the result queue) and free the box. */
static void take_box(weft_ppool *p, size_t i) WEFT_REQUIRES(p->mu)
{
    struct weft__shared_slot *sh = &p->shared[i];
    uint64_t k = __atomic_load_n(&sh->boxed, __ATOMIC_ACQUIRE);
    if (k == __atomic_load_n(&sh->taken, __ATOMIC_RELAXED)) /* written here alone */
        return;
    size_t len = (size_t)__atomic_load_n(&sh->box_len, __ATOMIC_RELAXED);
    struct weft__result_msg m;
    memset(&m, 0, sizeof m);
    if (len >= sizeof m && len <= WEFT__BOX_BYTES)
        memcpy(&m, sh->box, sizeof m);
    struct slot *s = &p->slots[i];
    struct ptask *t = s->head, *prev = NULL;
    while (t != NULL && t->seq != k) {
        prev = t;
        t = t->next;
    }
    if (t != NULL) { /* else settled already (the pool broke) */
        if (prev != NULL)
            prev->next = t->next;
        else
            s->head = t->next;
        if (s->tail == t)
            s->tail = prev;
        if (t->id == m.id && (m.kind == WEFT__MSG_RESULT || m.kind == WEFT__MSG_SKIPPED)) {
            settle_msg(p, s, t, &m, sh->box + sizeof m, len - sizeof m);
        } else { /* not what the worker wrote: its task's memory was scribbled on */
            s->outstanding--;
            s->full = false;
            fail_task(p, t, EPROTO, 0, 0, false);
        }
    }
    __atomic_store_n(&sh->taken, k, __ATOMIC_RELEASE); /* the box is free */
}

/* Workers in a row that may die before they are ready before the pool
 * breaks, and the pause before forking again after a failed fork. */
#define EARLY_DEATH_LIMIT(p) (4 * (unsigned)(p)->nslots + 4)
#define RESPAWN_DELAY_NS ((int64_t)100 * 1000 * 1000)

/* A DEATH message for slot i: settle its tasks, reap it, replace it. */
static void on_death(weft_ppool *p, size_t i) WEFT_REQUIRES(p->mu)
{
    struct slot *s = &p->slots[i];
    int code = 0;
    (void)weft_proc_join(s->proc, &code);
    pid_t pid = weft_proc_pid(s->proc);
    /* Every message the worker committed to the result queue was read
     * before this DEATH (and the box before any of them it had to be);
     * with the box's, the FIFO holds only tasks numbered above
     * `finished`. */
    take_box(p, i);
    uint64_t started = __atomic_load_n(&p->shared[i].started, __ATOMIC_ACQUIRE);
    bool failed_one = false;
    struct ptask *first = NULL, *last = NULL;
    size_t nback = 0;
    for (struct ptask *t = s->head, *next; t != NULL; t = next) {
        next = t->next;
        t->next = NULL;
        if (t->seq == started) {
            /* A task killed at its deadline: the worker's own timer. */
            bool late = t->deadline != WEFT_DEADLINE_NEVER && code == -SIGKILL &&
                        weft_time_now_ns() >= t->deadline;
            int err = late ? ETIMEDOUT : EOWNERDEAD;
            fail_task(p, t, err, pid, code, true);
            failed_one = true;
        } else if (t->expired) {
            fail_task(p, t, ETIMEDOUT, 0, 0, false); /* already failed */
        } else {
            /* Never started: back to the front of the pending list. */
            if (last != NULL)
                last->next = t;
            else
                first = t;
            last = t;
            nback++;
        }
    }
    if (first != NULL) {
        last->next = p->pend_head;
        if (p->pend_head == NULL)
            p->pend_tail = last;
        p->pend_head = first;
        __atomic_store_n(&p->npending, p->npending + nback, __ATOMIC_RELAXED);
    }
    s->head = s->tail = NULL;
    s->outstanding = 0;
    (void)weft_proc_free(s->proc);
    weft_queue_free(s->inbox);
    s->proc = NULL;
    s->inbox = NULL;
    p->live--;
    bool clean = code == 0 && !failed_one &&
                 (s->closed || (p->o.max_tasks_per_child != 0 && s->sent >= p->o.max_tasks_per_child));
    if (!clean && p->broken == 0 && (p->o.flags & WEFT_PPOOL_BREAK_ON_DEATH))
        break_pool(p, EOWNERDEAD);
    /* Workers that keep dying before they are ready (an initializer that
     * crashes or exits) would be replaced forever: break instead. SIGKILL
     * comes from outside (an operator, the OOM killer): it does not count. */
    if (clean || __atomic_load_n(&p->shared[i].ready, __ATOMIC_ACQUIRE) != 0)
        p->early_deaths = 0;
    else if (code != -SIGKILL && ++p->early_deaths >= EARLY_DEATH_LIMIT(p) && p->broken == 0)
        break_pool(p, EOWNERDEAD);
    if (p->broken != 0 || (p->shutdown && p->pend_head == NULL))
        return;
    if (spawn_worker(p, i) == 0) {
        p->replaced++;
        wake_watcher(p);
    } else if (p->live == 0) {
        break_pool(p, EAGAIN);
    } else if (p->respawn_at == 0) {
        /* No process or memory for now: the others go on, and the
         * collector tries again (the watcher wakes it then). */
        p->respawn_at = weft_time_now_ns() + RESPAWN_DELAY_NS;
        wake_watcher(p);
    }
}

/* Fork into the empty slots once respawn_at has passed (see on_death). */
static void respawn(weft_ppool *p) WEFT_REQUIRES(p->mu)
{
    if (p->respawn_at == 0 || weft_time_now_ns() < p->respawn_at)
        return;
    p->respawn_at = 0;
    if (p->broken != 0 || (p->shutdown && p->pend_head == NULL))
        return;
    for (size_t i = 0; i < p->nslots; i++) {
        if (p->slots[i].proc != NULL)
            continue;
        if (spawn_worker(p, i) != 0) {
            if (p->live == 0) { /* as on_death: no worker left, none to be had */
                break_pool(p, EAGAIN);
                return;
            }
            p->respawn_at = weft_time_now_ns() + RESPAWN_DELAY_NS;
            break;
        }
        p->replaced++;
    }
    wake_watcher(p);
}

/* The result queue failed (EPROTO: its shared block was damaged): no more
 * messages can be read, deaths included. End the workers and reap them
 * here, so the collector can stop. */
static void reap_all(weft_ppool *p, int why) WEFT_REQUIRES(p->mu)
{
    break_pool(p, why);
    for (size_t i = 0; i < p->nslots; i++) {
        if (p->slots[i].proc == NULL)
            continue;
        p->slots[i].dying = true; /* the watcher leaves it alone */
        on_death(p, i);
    }
}

/* ---- the collector ---- */

/* A message from the result queue; called with p->mu held. */
static void on_message(weft_ppool *p, const unsigned char *buf, size_t len) WEFT_REQUIRES(p->mu)
{
    struct weft__result_msg m;
    if (len < sizeof m)
        return;
    memcpy(&m, buf, sizeof m);
    if (m.kind == WEFT__MSG_WAKE)
        return;
    if (m.slot >= p->nslots || p->slots[m.slot].gen != m.gen || p->slots[m.slot].proc == NULL)
        return; /* from a worker already settled */
    struct slot *s = &p->slots[m.slot];
    if (m.kind == WEFT__MSG_DEATH) {
        on_death(p, m.slot);
        return;
    }
    if (m.kind == WEFT__MSG_INIT_FAILED) {
        break_pool(p, m.rc != 0 ? m.rc : EPIPE);
        return;
    }
    if (m.kind == WEFT__MSG_BOXED) {
        take_box(p, m.slot); /* unless a waiting thread took it already */
        return;
    }
    /* A worker commits its messages in the order of its tasks, through the
     * queue or the box. So a task ahead of this one in the FIFO had its
     * message boxed, and not read yet (by a waiting thread that watched
     * for it and has yet to take it): read it first. */
    struct ptask *t = s->head;
    if (t != NULL && t->id != m.id) {
        take_box(p, m.slot);
        t = s->head;
    }
    if (t == NULL)
        return; /* settled already: the pool broke */
    if (t->id != m.id) {
        /* Cannot happen unless the shared memory was scribbled on: the
         * pool can no longer match results to tasks. Fail it visibly. */
        break_pool(p, EPROTO);
        return;
    }
    s->head = t->next;
    if (s->head == NULL)
        s->tail = NULL;
    settle_msg(p, s, t, &m, buf + sizeof m, len - sizeof m);
}

/* Whether a submitter may still push a task (see submit): it counts
 * itself in `submitting` before it reads shutdown and broken, and leaves
 * after its push. Read in that order: once no submitter is counted, every
 * push made is in inbound, and later submitters see the flags. */
static bool incoming(weft_ppool *p)
{
    return __atomic_load_n(&p->submitting, __ATOMIC_SEQ_CST) != 0 || inbound_waiting(p);
}

static bool work_left(weft_ppool *p) WEFT_REQUIRES(p->mu)
{
    if (p->pend_head != NULL || incoming(p))
        return true;
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].head != NULL)
            return true;
    return false;
}

/* Give the heap's free pages back to the kernel before the workers are
 * forked: pages the parent maps at a fork are shared copy-on-write with
 * the child, so the parent's first write to each one afterwards - a
 * malloc reusing freed memory for the next tasks and futures - copies it
 * and, with the pool's threads on other cores, shoots down their TLBs
 * (35 us a page measured on a 2-core VM, against 11 us for a fresh zero
 * page). A heap with many megabytes freed before the pool was made then
 * cost several microseconds per task over the first batch (weft-bench
 * ppool future_batch). Only at create: replacement workers are forked
 * under p->mu, and trimming walks the whole heap. glibc only. */
static void trim_heap(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

static int collector_main(void *arg)
{
    weft_ppool *p = (weft_ppool *)arg;
    collector_of = p;
    trim_heap();
    weft_lock_acquire(&p->mu);
    for (size_t i = 0; i < p->nslots && p->start_error == 0; i++)
        p->start_error = spawn_worker(p, i);
    unlock_and_deliver(p);
    weft_event_set(&p->started);
    for (;;) {
        size_t len = 0;
        int rc = weft_queue_get(p->results, p->cbuf, p->cbuf_cap, &len);
        weft_lock_acquire(&p->mu);
        if (rc == 0)
            on_message(p, p->cbuf, len);
        else
            reap_all(p, rc);
        take_inbound(p);
        /* Tasks and no worker (a task submitted during shutdown, after the
         * last worker died and was not replaced): fork. */
        if (p->live == 0 && p->pend_head != NULL && p->broken == 0 && p->respawn_at == 0)
            p->respawn_at = weft_time_now_ns();
        respawn(p);
        dispatch(p);
        if ((p->shutdown || p->broken != 0) && !work_left(p)) {
            for (size_t i = 0; i < p->nslots; i++) {
                struct slot *s = &p->slots[i];
                if (s->proc != NULL && !s->closed) {
                    s->closed = true;
                    (void)weft_queue_close(s->inbox);
                }
            }
        }
        bool stop = (p->shutdown || p->broken != 0) && p->live == 0 && p->pend_head == NULL &&
                    !incoming(p);
        if (stop)
            __atomic_store_n(&p->stopping, true, __ATOMIC_SEQ_CST); /* submit reads it unlocked */
        unlock_and_deliver(p);
        if (stop)
            break;
    }
    wake_watcher(p);
    return 0;
}

/* ---- waiting threads ---- */

/* Pauses a thread waiting for a task spins on its worker's box (40-60
 * us): the round trip of a short task, without the collector. */
#ifndef WEFT_PPOOL_HELP_SPINS
#define WEFT_PPOOL_HELP_SPINS 2000
#endif

/* Pauses it spins at most (about 500 us) while its task is the next one
 * its worker will start and the worker is between tasks (next_for): it is
 * waking up, which on a virtual machine with an idle CPU can take hundreds
 * of microseconds. A waiter that slept instead would be woken through the
 * collector, two such wake-ups more, and the worker, idle that long, would
 * be asleep again for the next task: one slow round trip made the next
 * ones slow. */
#ifndef WEFT_PPOOL_HELP_NEXT_SPINS
#define WEFT_PPOOL_HELP_NEXT_SPINS 20000
#endif

/* Whether task number seq is the next one the worker of sh will start,
 * with no task running now. */
static bool next_for(const struct weft__shared_slot *sh, uint64_t seq)
{
    uint64_t started = __atomic_load_n(&sh->started, __ATOMIC_ACQUIRE);
    return started + 1 == seq && __atomic_load_n(&sh->finished, __ATOMIC_ACQUIRE) == started;
}

/* The worker slot and number of the sent task `id`; false if it is not
 * with a worker (pending, or settled). */
static bool find_sent(const weft_ppool *p, uint64_t id, size_t *slot, uint64_t *seq)
    WEFT_REQUIRES(p->mu)
{
    for (size_t i = 0; i < p->nslots; i++) {
        for (const struct ptask *t = p->slots[i].head; t != NULL; t = t->next) {
            if (t->id == id) {
                *slot = i;
                *seq = t->seq;
                return true;
            }
        }
    }
    return false;
}

/* Take worker i's box (if it is still generation gen's) and, if that
 * settled f and f has no callbacks (they belong to the collector), complete
 * f here. Completed under p->mu (f->mu nests inside it; nothing takes them
 * the other way round): an outcome left for the collector must be in
 * p->outs before the collector can see this worker's end, since it stops
 * once every worker is reaped and delivers p->outs on its way out. */
static void take_here(weft_ppool *p, weft_future *f, size_t i, uint32_t gen)
{
    weft_lock_acquire(&p->mu);
    if (p->slots[i].gen == gen && p->slots[i].proc != NULL)
        take_box(p, i);
    /* As the collector does after a message: the worker has room for a
     * task submitted meanwhile; and a pool shutting down may now have no
     * work left, which the collector must see to end the workers. */
    dispatch(p);
    bool wake = p->shutdown || p->broken != 0;
    struct outcome *mine = NULL;
    for (struct outcome *o = p->outs, *prev = NULL; o != NULL; prev = o, o = o->next) {
        if (o->f != f || o->cancel || o->worker)
            continue;
        int rc = weft__future_complete_here(f, o->error, o->value, o->size,
                                            o->error == 0 ? free : NULL);
        if (rc == EAGAIN)
            break; /* callbacks: the collector's */
        if (rc != 0)
            free(o->value); /* done already: cannot happen, the outcome was ours */
        if (prev != NULL)
            prev->next = o->next;
        else
            p->outs = o->next;
        if (p->outs_tail == o)
            p->outs_tail = prev;
        mine = o;
        break;
    }
    unlock_and_deliver(p);
    if (wake)
        wake_collector(p);
    if (mine != NULL) {
        weft_future_free(mine->f); /* the outcome's reference; the caller has its own */
        free(mine);
    }
}

void weft__ppool_help(weft_future *f, int64_t deadline_ns)
{
    weft_ppool *p = f->ppool;
    /* A future copied into a forked child is not the child's: the pool's
     * workers and their boxes (shared memory) are the parent's, and its
     * locks (f->mu too) may have been held at the fork. */
    if (collector_of == p || f->task.pp.forks != __atomic_load_n(&ppool_forks, __ATOMIC_RELAXED))
        return;
    if (!weft__future_pin(f, &p->helpers))
        return; /* done: the pool may be gone, and nothing in it may be read */
    if (__atomic_load_n(&p->npending, __ATOMIC_RELAXED) != 0) { /* see below */
        __atomic_fetch_sub(&p->helpers, 1u, __ATOMIC_RELEASE);
        return;
    }
    size_t i = 0;
    uint64_t seq = 0;
    uint32_t gen = 0;
    weft_lock_acquire(&p->mu);
    /* With tasks queued, the collector has them to send as results come
     * in: a thread spinning here would take its core. */
    if (inbound_waiting(p))
        dispatch(p); /* our task may be one of them */
    bool sent = p->npending == 0 && find_sent(p, f->task.pp.id, &i, &seq);
    struct weft__shared_slot *sh = &p->shared[i];
    if (sent) {
        gen = p->slots[i].gen;
        /* Watch only a free box (or ours): with another task's message
         * in it, ours goes to the result queue and the collector, which a
         * spinning thread would only slow down. One watcher per worker. */
        uint64_t boxed = __atomic_load_n(&sh->boxed, __ATOMIC_ACQUIRE), none = 0;
        sent = (boxed == __atomic_load_n(&sh->taken, __ATOMIC_RELAXED) || boxed == seq) &&
               __atomic_compare_exchange_n(&sh->watching, &none, seq, false, __ATOMIC_SEQ_CST,
                                           __ATOMIC_SEQ_CST);
        if (sent && __atomic_load_n(&sh->watched, __ATOMIC_RELAXED) < seq)
            __atomic_store_n(&sh->watched, seq, __ATOMIC_RELAXED); /* see commit in ppool_worker.c */
    }
    unlock_and_deliver(p);
    if (sent) {
        uint32_t spins = WEFT_PPOOL_HELP_SPINS;
        for (uint32_t n = 0; n < spins; n++) {
            if (n == WEFT_PPOOL_HELP_SPINS - 1 && next_for(sh, seq))
                spins = WEFT_PPOOL_HELP_NEXT_SPINS;
            /* The message is committed (finished): in the box if boxed
             * is seq, else in the result queue. */
            if (__atomic_load_n(&sh->boxed, __ATOMIC_SEQ_CST) >= seq ||
                __atomic_load_n(&sh->finished, __ATOMIC_ACQUIRE) >= seq || weft_future_done(f))
                break;
            if ((n & 255) == 0 && deadline_ns != WEFT_DEADLINE_NEVER &&
                weft_time_now_ns() >= deadline_ns)
                break;
            weft__pool_relax();
        }
        uint64_t mine = seq;
        (void)__atomic_compare_exchange_n(&sh->watching, &mine, 0, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST);
        /* After the store above: a worker that boxed seq and saw us
         * watching announced nothing, so it is ours to take. */
        if (__atomic_load_n(&sh->boxed, __ATOMIC_SEQ_CST) == seq)
            take_here(p, f, i, gen);
    }
    __atomic_fetch_sub(&p->helpers, 1u, __ATOMIC_RELEASE);
}

/* ---- the watcher ---- */

/* Expire tasks whose deadline has passed; returns the next deadline. */
static int64_t expire(weft_ppool *p, int64_t now) WEFT_REQUIRES(p->mu)
{
    int64_t next = WEFT_DEADLINE_NEVER;
    if (p->ndeadlines == 0)
        return next;
    struct ptask **pp = &p->pend_head, *prev = NULL;
    while (*pp != NULL) {
        struct ptask *t = *pp;
        if (t->deadline <= now) {
            *pp = t->next;
            if (p->pend_tail == t)
                p->pend_tail = prev;
            __atomic_store_n(&p->npending, p->npending - 1, __ATOMIC_RELAXED);
            fail_task(p, t, ETIMEDOUT, 0, 0, false);
            continue;
        }
        if (t->deadline < next)
            next = t->deadline;
        prev = t;
        pp = &t->next;
    }
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        uint64_t started = __atomic_load_n(&p->shared[i].started, __ATOMIC_SEQ_CST);
        uint64_t finished = __atomic_load_n(&p->shared[i].finished, __ATOMIC_ACQUIRE);
        for (struct ptask *t = s->head; t != NULL; t = t->next) {
            if (t->expired || t->deadline == WEFT_DEADLINE_NEVER)
                continue;
            if (t->deadline > now) {
                if (t->deadline < next)
                    next = t->deadline;
                continue;
            }
            if (t->seq <= finished)
                continue; /* done: its result is the collector's to read */
            if (t->seq == started)
                continue; /* running: its worker's timer ends it (DEATH) */
            /* Not started: fail it now; the worker will skip it (it checks
             * the deadline after publishing started, see ppoolimpl.h). */
            struct outcome o = {NULL, NULL, false, ETIMEDOUT, NULL, 0, false, 0, 0};
            add_outcome(p, t, &o);
            t->expired = true;
            p->ndeadlines--;
        }
    }
    return next;
}

static int watcher_main(void *arg)
{
    weft_ppool *p = (weft_ppool *)arg;
    struct pollfd *fds = p->wfds;
    size_t *which = p->wwhich;
    uint32_t *gens = p->wgens;
    struct weft__result_msg *deaths = p->wdeaths;
    int64_t woke_for = 0; /* the respawn_at the collector was woken for */
    for (;;) {
        weft_lock_acquire(&p->mu);
        if (p->stopping) {
            unlock_and_deliver(p);
            break;
        }
        dispatch(p); /* tasks submitted with a deadline: count them in first */
        int64_t next = expire(p, weft_time_now_ns());
        if (p->respawn_at != 0 && p->respawn_at != woke_for && p->respawn_at < next)
            next = p->respawn_at;
        size_t k = 0;
        bool polling = false; /* some worker has no pidfd: look every 10 ms */
        fds[k].fd = p->evfd;
        fds[k].events = POLLIN;
        k++;
        for (size_t i = 0; i < p->nslots; i++) {
            struct slot *s = &p->slots[i];
            if (s->proc == NULL || s->dying)
                continue;
            fds[k].fd = weft_proc_sentinel(s->proc);
            fds[k].events = POLLIN;
            polling |= fds[k].fd < 0; /* poll() skips it */
            which[k] = i;
            gens[k] = s->gen;
            k++;
        }
        unlock_and_deliver(p);
        int timeout = 1000;
        if (next != WEFT_DEADLINE_NEVER) {
            int64_t ms = (next - weft_time_now_ns() + 999999) / 1000000;
            timeout = ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
        }
        if (polling && timeout > 10)
            timeout = 10;
        int r = poll(fds, k, timeout);
        if (r < 0)
            continue; /* EINTR */
        if (fds[0].revents & POLLIN) {
            uint64_t v;
            ssize_t got = read(p->evfd, &v, sizeof v);
            (void)got;
        }
        size_t nd = 0;
        weft_lock_acquire(&p->mu);
        if (p->respawn_at != 0 && p->respawn_at != woke_for &&
            weft_time_now_ns() >= p->respawn_at) {
            woke_for = p->respawn_at;
            struct weft__result_msg m = {WEFT__MSG_WAKE, 0, 0, 0, 0};
            deaths[nd++] = m;
        }
        for (size_t j = 1; j < k; j++) {
            struct slot *s = &p->slots[which[j]];
            if (s->gen != gens[j] || s->proc == NULL || s->dying)
                continue;
            bool ended = fds[j].fd >= 0 ? (fds[j].revents & (POLLIN | POLLHUP | POLLERR)) != 0
                                        : weft_proc_exitcode(s->proc, NULL) != EBUSY;
            if (!ended)
                continue;
            s->dying = true;
            struct weft__result_msg m = {WEFT__MSG_DEATH, (uint32_t)which[j], gens[j], 0, 0};
            deaths[nd++] = m;
        }
        unlock_and_deliver(p);
        for (size_t j = 0; j < nd; j++)
            (void)weft_queue_put(p->results, &deaths[j], sizeof deaths[j]);
    }
    return 0;
}

/* ---- the API ---- */

static int fill_opts(weft_ppool_opts *o, const weft_ppool_opts *in)
{
    memset(o, 0, sizeof *o);
    if (in != NULL)
        *o = *in;
    if (o->max_workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        o->max_workers = cpus > 0 ? (size_t)cpus : 1;
    }
    if (o->max_arg == 0)
        o->max_arg = (size_t)64 * 1024;
    if (o->max_result == 0)
        o->max_result = (size_t)64 * 1024;
    if (o->max_workers > 4096 || o->prefetch > PREFETCH_MAX || o->max_arg > (1u << 30) ||
        o->max_result > (1u << 30) || (o->flags & ~WEFT_PPOOL_BREAK_ON_DEATH))
        return EINVAL;
    return 0;
}

static void destroy(weft_ppool *p)
{
    (void)weft_shm_detach(p->shm);
    weft_queue_free(p->results);
    if (p->evfd >= 0)
        (void)close(p->evfd);
    free(p->slots);
    free(p->cbuf);
    free(p->wfds);
    free(p->wwhich);
    free(p->wgens);
    free(p->wdeaths);
    (void)weft_event_destroy(&p->started);
    (void)weft_lock_destroy(&p->mu);
    (void)weft_lock_destroy(&p->join_mu);
    free(p);
}

int weft_ppool_create(weft_ppool **out, const weft_ppool_opts *opts)
{
    if (out == NULL)
        return EINVAL;
    weft_ppool *p = (weft_ppool *)calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->evfd = -1;
    (void)pthread_once(&ppool_atfork_once, ppool_register_atfork); /* before any submit */
    weft_lock_init(&p->mu);
    weft_lock_init(&p->join_mu);
    (void)weft_event_init(&p->started, 0);
    int rc = fill_opts(&p->o, opts);
    if (rc != 0) {
        destroy(p);
        return rc;
    }
    p->nslots = p->o.max_workers;
    p->next_id = 1;
    p->slots = (struct slot *)calloc(p->nslots, sizeof *p->slots);
    p->cbuf_cap = sizeof(struct weft__result_msg) + p->o.max_result;
    p->cbuf = (unsigned char *)malloc(p->cbuf_cap);
    size_t nw = p->nslots + 1; /* the watcher's eventfd, then the workers */
    p->wfds = (struct pollfd *)calloc(nw, sizeof *p->wfds);
    p->wwhich = (size_t *)calloc(nw, sizeof *p->wwhich);
    p->wgens = (uint32_t *)calloc(nw, sizeof *p->wgens);
    p->wdeaths = (struct weft__result_msg *)calloc(nw, sizeof *p->wdeaths);
    bool mem = p->slots != NULL && p->cbuf != NULL && p->wfds != NULL && p->wwhich != NULL &&
               p->wgens != NULL && p->wdeaths != NULL;
    if (weft_shm_create(&p->shm, NULL, p->nslots * sizeof *p->shared) == 0)
        p->shared = (struct weft__shared_slot *)weft_shm_addr(p->shm);
    p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    weft_queue_opts qo;
    memset(&qo, 0, sizeof qo);
    size_t msg = sizeof(struct weft__result_msg) + p->o.max_result + 64;
    qo.capacity = msg * 4 * p->nslots < (1u << 20) ? (1u << 20) : msg * 4 * p->nslots;
    qo.max_messages = qo.capacity / 32;
    qo.flags = WEFT_QUEUE_SIMPLE;
    if (!mem || p->shared == NULL || p->evfd < 0) {
        rc = p->evfd < 0 && mem && p->shared != NULL ? EMFILE : ENOMEM;
    } else {
        rc = weft_queue_create(&p->results, NULL, &qo);
    }
    if (rc == 0) {
        weft_thread_opts to = {"ppool-collector", true, 0};
        rc = weft_thread_spawn(&p->collector, collector_main, p, &to);
    }
    if (rc != 0) {
        destroy(p);
        return rc;
    }
    weft_event_wait(&p->started);
    weft_thread_opts wo = {"ppool-watcher", true, 0};
    rc = p->start_error;
    if (rc == 0)
        rc = weft_thread_spawn(&p->watcher, watcher_main, p, &wo);
    if (rc != 0) {
        /* Undo: the collector ends its workers and itself. */
        weft_lock_acquire(&p->mu);
        __atomic_store_n(&p->shutdown, true, __ATOMIC_SEQ_CST);
        break_pool(p, rc);
        unlock_and_deliver(p);
        /* Deaths are noticed without the watcher by joining here. */
        for (size_t i = 0; i < p->nslots; i++) {
            weft_lock_acquire(&p->mu);
            struct slot *s = &p->slots[i];
            uint32_t gen = s->gen;
            weft_proc *proc = s->proc;
            unlock_and_deliver(p);
            if (proc == NULL)
                continue;
            (void)weft_proc_join(proc, NULL);
            struct weft__result_msg d = {WEFT__MSG_DEATH, (uint32_t)i, gen, 0, 0};
            (void)weft_queue_put(p->results, &d, sizeof d);
        }
        wake_collector(p);
        (void)weft_thread_join(p->collector, NULL);
        weft_thread_unref(p->collector);
        destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

int weft_ppool_submit_until(weft_ppool *p, weft_ptask_fn fn, const void *arg, size_t len,
                            int64_t task_deadline_ns, weft_future **out)
{
    if (fn == NULL || (arg == NULL && len > 0))
        return EINVAL;
    if (len > p->o.max_arg)
        return EMSGSIZE;
    size_t hdr = sizeof(struct ptask) + sizeof(struct weft__task_msg);
    struct ptask *t = (struct ptask *)malloc(hdr + len);
    if (t == NULL)
        return ENOMEM;
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->deadline = task_deadline_ns;
    t->cpu = weft__pool_cpu();
    t->len = len;
    t->arg = (unsigned char *)t + hdr;
    if (len > 0)
        memcpy(t->arg, arg, len);
    if (out != NULL) {
        t->out = (struct outcome *)malloc(sizeof *t->out);
        int rc = t->out != NULL ? weft_future_create(&t->f) : ENOMEM;
        if (rc != 0) {
            free(t->out);
            free(t);
            return rc;
        }
        /* A waiter spins on the worker's box (weft__ppool_help), not on
         * the future: an outcome that comes through the collector crosses
         * two hops, tens of microseconds, and a thread spinning for it
         * would only take a core from the worker or the collector. */
        t->f->spin = 0;
        t->f->ppool = p;
        t->f->task.pp.forks = __atomic_load_n(&ppool_forks, __ATOMIC_RELAXED);
        (void)weft_future_ref(t->f);
    }
    /* Counted in submitting before the flags are read (see incoming). */
    __atomic_fetch_add(&p->submitting, 1u, __ATOMIC_SEQ_CST);
    int rc = __atomic_load_n(&p->broken, __ATOMIC_SEQ_CST) != 0        ? EPIPE
             : __atomic_load_n(&p->shutdown, __ATOMIC_SEQ_CST) ? ESHUTDOWN
                                                               : 0;
    if (rc == 0) {
        t->id = __atomic_fetch_add(&p->next_id, 1u, __ATOMIC_RELAXED);
        if (t->f != NULL)
            t->f->task.pp.id = t->id; /* before the caller has f */
        if (out != NULL)
            *out = t->f;
        struct ptask *head = __atomic_load_n(&p->inbound, __ATOMIC_RELAXED);
        do
            t->next = head;
        while (!__atomic_compare_exchange_n(&p->inbound, &head, t, true, __ATOMIC_SEQ_CST,
                                            __ATOMIC_RELAXED));
    }
    __atomic_fetch_sub(&p->submitting, 1u, __ATOMIC_SEQ_CST);
    if ((rc != 0 || __atomic_load_n(&p->shutdown, __ATOMIC_SEQ_CST)) &&
        !__atomic_load_n(&p->stopping, __ATOMIC_SEQ_CST)) {
        /* A collector that saw this thread counted, while shutting down,
         * waits for a message before it looks again. */
        wake_collector(p);
    }
    if (rc != 0) {
        weft_future_free(t->f); /* the caller's reference; task_free drops the task's */
        task_free(t);
        return rc;
    }
    /* Send it now if p->mu is free; else its holder will (see
     * unlock_and_deliver, whose fence pairs with this one). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (weft_lock_try_acquire(&p->mu) == 0)
        unlock_and_deliver(p);
    if (task_deadline_ns != WEFT_DEADLINE_NEVER)
        wake_watcher(p);
    return 0;
}

int weft_ppool_submit(weft_ppool *p, weft_ptask_fn fn, const void *arg, size_t len,
                      weft_future **out)
{
    return weft_ppool_submit_until(p, fn, arg, len, WEFT_DEADLINE_NEVER, out);
}

int weft_ppool_shutdown(weft_ppool *p, unsigned flags)
{
    weft_lock_acquire(&p->mu);
    __atomic_store_n(&p->shutdown, true, __ATOMIC_SEQ_CST); /* submit reads it unlocked */
    if (flags & WEFT_POOL_CANCEL_PENDING) {
        take_inbound(p);
        struct ptask *keep = NULL, *keep_tail = NULL;
        size_t kept = 0;
        while (p->pend_head != NULL) {
            struct ptask *t = pop_pending(p);
            if (t->claimed) {
                /* Sent once, to a worker that died before starting it: the
                 * task counts as started (its future runs). It is sent
                 * again, as a queued task is without CANCEL_PENDING. */
                append(&keep, &keep_tail, t);
                kept++;
                continue;
            }
            if (t->deadline != WEFT_DEADLINE_NEVER)
                p->ndeadlines--;
            struct outcome o = {NULL, NULL, true, ECANCELED, NULL, 0, false, 0, 0};
            add_outcome(p, t, &o);
            free(t);
        }
        p->pend_head = keep;
        p->pend_tail = keep_tail;
        __atomic_store_n(&p->npending, kept, __ATOMIC_RELAXED);
    }
    unlock_and_deliver(p);
    wake_collector(p);
    if (flags & WEFT_POOL_NOWAIT)
        return 0;
    if (collector_of == p)
        return EDEADLK;
    weft_lock_acquire(&p->join_mu);
    if (!p->joined) {
        (void)weft_thread_join(p->collector, NULL);
        (void)weft_thread_join(p->watcher, NULL);
        p->joined = true;
    }
    weft_lock_release(&p->join_mu);
    return 0;
}

int weft_ppool_free(weft_ppool *p)
{
    if (p == NULL)
        return 0;
    if (collector_of == p)
        return EDEADLK;
    (void)weft_ppool_shutdown(p, 0);
    /* Every future is done now; threads still in weft__ppool_help leave
     * within their spin. */
    while (__atomic_load_n(&p->helpers, __ATOMIC_ACQUIRE) != 0)
        (void)sched_yield();
    weft_thread_unref(p->collector);
    weft_thread_unref(p->watcher);
    destroy(p);
    return 0;
}

size_t weft_ppool_workers(weft_ppool *p, pid_t *pids, size_t cap)
{
    size_t n = 0;
    weft_lock_acquire(&p->mu);
    for (size_t i = 0; i < p->nslots; i++) {
        const struct slot *s = &p->slots[i];
        if (s->proc == NULL)
            continue;
        if (n < cap && pids != NULL)
            pids[n] = weft_proc_pid(s->proc);
        n++;
    }
    unlock_and_deliver(p);
    return n;
}

int weft_ppool_broken(weft_ppool *p)
{
    weft_lock_acquire(&p->mu);
    int b = p->broken;
    unlock_and_deliver(p);
    return b;
}

size_t weft_ppool_replaced(weft_ppool *p)
{
    weft_lock_acquire(&p->mu);
    size_t n = p->replaced;
    unlock_and_deliver(p);
    return n;
}
