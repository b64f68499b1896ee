/* interleave.c - the interleaving scheduler of the sched build (see interleave.h).
 *
 * Design / invariants:
 *   - One run at a time. `cur` names the one scheduled thread allowed to
 *     run; every other scheduled thread sleeps on `cur` (raw futex) until
 *     it names it. All scheduler state is written only by the thread that
 *     `cur` names (or by the main thread before the first hand-over), and
 *     hand-overs are release/acquire on `cur`, so reads need no lock.
 *   - A thread is RUNNABLE, BLOCKED (in a modelled futex wait, on `word`)
 *     or DONE. A decision picks among the RUNNABLE ones; when none is and
 *     some are BLOCKED, a timed waiter is timed out or, with none, it is a
 *     deadlock.
 *   - Decisions read the input in order and nothing else (no clock, no
 *     addresses), so the same input gives the same schedule; traces name
 *     futex words by order of first use, not address, for the same reason.
 *   - This file is compiled without the hooks and without coverage
 *     instrumentation: its own branches are not the fuzzer's business.
 *   - Without WEFT_SCHED it compiles to nothing, so builds that list every
 *     source of src/ (vendoring, the one-file amalgamation) are unchanged. */
#ifdef WEFT_SCHED
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "interleave.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/time.h"

#define STEP_BUDGET 200000u
#define TRACE_KEEP 48
#define CLOCK_START_NS 1000000000000000LL /* ~11.6 days of uptime */
#define CLOCK_STEP_NS 100
#define MAX_WORDS 64

#define GATE_SHUT 0xffffffffu   /* `cur` while the threads are being made */
#define GATE_CANCEL 0xfffffffeu /* `cur` when a run is cancelled */

enum tstate { T_RUNNABLE, T_BLOCKED, T_DONE };

struct sthread {
    pthread_t tid;
    bool has_tid; /* tid is set (harness threads; adopted ones once made) */
    int idx;
    enum tstate state;
    const uint32_t *word; /* BLOCKED: the futex word */
    uint32_t expected;
    bool timed;
    int64_t deadline;
    uint64_t blocked_at; /* order of blocking, for FIFO wakes */
    int result;          /* what the modelled wait returns */
    int prio;            /* PCT */
    int exit_rounds;     /* calls of exit_after_destructors */
    const char *file;    /* last schedule point */
    int line;
    int kind;
};

struct trace_entry {
    uint64_t step;
    int from, to, kind, line, word;
    const char *file;
    const char *what;
};

static struct {
    uint32_t cur;      /* index of the running thread; futex word */
    uint32_t finished; /* set when every thread is DONE; futex word */
    bool running;
    int n;
    struct sthread t[WEFT_SCHED_MAX_THREADS];
    weft__sched_body body;
    void *ctx;
    const uint8_t *data;
    size_t len, pos;
    bool pct;
    int low_prio;
    uint64_t change[3];
    uint64_t steps, blocks;
    int64_t clock;  /* virtual CLOCK_MONOTONIC, ns */
    const uint32_t *words[MAX_WORDS];
    int nwords;
    struct trace_entry trace[TRACE_KEEP];
    uint64_t ntrace;
    bool trace_all;
} S;

static __thread struct sthread *me;
static __thread bool forking; /* see fork_prepare */

static const char *const kind_names[] = {"load", "store", "rmw", "spin",
                                         "wait", "wake", "point"};

static long raw_futex(uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static int word_id(const uint32_t *w)
{
    if (w == NULL)
        return -1;
    for (int i = 0; i < S.nwords; i++)
        if (S.words[i] == w)
            return i;
    if (S.nwords == MAX_WORDS)
        return MAX_WORDS;
    S.words[S.nwords] = w;
    return S.nwords++;
}

static int take_byte(void)
{
    return S.pos < S.len ? S.data[S.pos++] : -1;
}

static void print_entry(const struct trace_entry *e)
{
    (void)fprintf(stderr, "  step %llu: t%d -> t%d %s", (unsigned long long)e->step,
                  e->from, e->to, e->what);
    if (e->word >= 0)
        (void)fprintf(stderr, " word#%d", e->word);
    if (e->file != NULL)
        (void)fprintf(stderr, " after %s at %s:%d", kind_names[e->kind], e->file,
                      e->line);
    (void)fputc('\n', stderr);
}

static void record(int from, int to, const char *what, const uint32_t *word)
{
    struct trace_entry *e = &S.trace[S.ntrace++ % TRACE_KEEP];
    const struct sthread *f = from >= 0 ? &S.t[from] : NULL;
    *e = (struct trace_entry){S.steps, from, to, f ? f->kind : 0,
                              f ? f->line : 0, word_id(word),
                              f ? f->file : NULL, what};
    if (S.trace_all)
        print_entry(e);
}

static void report(const char *why)
{
    (void)fprintf(stderr, "weft sched: %s at step %llu (%s schedule, input byte %zu of %zu)\n",
                  why, (unsigned long long)S.steps, S.pct ? "PCT" : "byte-choice",
                  S.pos, S.len);
    static const char *const states[] = {"runnable", "blocked", "done"};
    for (int i = 0; i < S.n; i++) {
        const struct sthread *t = &S.t[i];
        (void)fprintf(stderr, "  t%d %s", i, states[t->state]);
        if (t->state == T_BLOCKED)
            (void)fprintf(stderr, " in a %swait on word#%d for value %u",
                          t->timed ? "timed " : "", word_id(t->word),
                          (unsigned)t->expected);
        if (t->file != NULL)
            (void)fprintf(stderr, ", last point %s at %s:%d", kind_names[t->kind],
                          t->file, t->line);
        (void)fputc('\n', stderr);
    }
    uint64_t first = S.ntrace > TRACE_KEEP ? S.ntrace - TRACE_KEEP : 0;
    (void)fprintf(stderr, " last %llu of %llu schedule events:\n",
                  (unsigned long long)(S.ntrace - first), (unsigned long long)S.ntrace);
    for (uint64_t k = first; k < S.ntrace; k++)
        print_entry(&S.trace[k % TRACE_KEEP]);
}

_Noreturn void weft__sched_fail(const char *what)
{
    report(what);
    abort();
}

/* The thread to run next. self is the caller's index; spin: the caller is
 * in a spin-wait and must let another runnable thread go first. */
static int decide(int self, bool spin)
{
    int cand[WEFT_SCHED_MAX_THREADS];
    int nc = 0;
    bool self_ok = S.t[self].state == T_RUNNABLE;
    if (self_ok && !spin)
        cand[nc++] = self;
    for (int k = 1; k <= S.n; k++) {
        int i = (self + k) % S.n;
        if (i != self && S.t[i].state == T_RUNNABLE)
            cand[nc++] = i;
    }
    if (nc == 0)
        return self_ok ? self : -1;
    if (nc == 1)
        return cand[0];
    if (!S.pct) {
        int b = take_byte();
        return cand[b < 0 ? 0 : b % nc];
    }
    for (int c = 0; c < 3; c++)
        if (S.change[c] == S.steps && self_ok)
            S.t[self].prio = S.low_prio--;
    if (spin)
        S.t[self].prio = S.low_prio--;
    int best = cand[0];
    for (int c = 1; c < nc; c++)
        if (S.t[cand[c]].prio > S.t[best].prio)
            best = cand[c];
    return best;
}

/* Make `next` the running thread and, unless it is the caller, sleep until
 * the caller is scheduled again. */
static void switch_to(int next)
{
    int self = me->idx;
    if (next == self)
        return;
    __atomic_store_n(&S.cur, (uint32_t)next, __ATOMIC_RELEASE);
    (void)raw_futex(&S.cur, FUTEX_WAKE, INT32_MAX);
    for (;;) {
        uint32_t c = __atomic_load_n(&S.cur, __ATOMIC_ACQUIRE);
        if (c == (uint32_t)self)
            return;
        (void)raw_futex(&S.cur, FUTEX_WAIT, c);
    }
}

/* A wait timed out: the clock has reached its deadline. */
static void reach(int64_t deadline)
{
    if (deadline > S.clock)
        S.clock = deadline;
}

/* No thread is runnable: time a timed waiter out (the input picks which
 * when there are several), or report the deadlock. Returns its index. */
static int unstall(void)
{
    int timed[WEFT_SCHED_MAX_THREADS];
    int nt = 0;
    for (int i = 0; i < S.n; i++)
        if (S.t[i].state == T_BLOCKED && S.t[i].timed)
            timed[nt++] = i;
    if (nt == 0)
        weft__sched_fail("deadlock: every thread is blocked and none has a deadline");
    int b = nt > 1 ? take_byte() : 0;
    struct sthread *t = &S.t[timed[b < 0 ? 0 : b % nt]];
    t->state = T_RUNNABLE;
    t->result = ETIMEDOUT;
    reach(t->deadline);
    record(-1, t->idx, "time-out", t->word);
    return t->idx;
}

static void count_step(void)
{
    S.clock += CLOCK_STEP_NS;
    if (++S.steps > STEP_BUDGET)
        weft__sched_fail("livelock: the step budget ran out");
}

void weft__sched_point(int kind, const volatile void *addr, const char *file,
                       int line)
{
    (void)addr;
    if (me == NULL || forking)
        return;
    me->kind = kind;
    me->file = file;
    me->line = line;
    count_step();
    int next = decide(me->idx, kind == WEFT__SP_SPIN);
    if (next != me->idx) {
        record(me->idx, next, kind == WEFT__SP_SPIN ? "yield" : "preempt", NULL);
        switch_to(next);
    }
}

bool weft__sched_active(void)
{
    return me != NULL;
}

int64_t weft__sched_now(void)
{
    return S.clock;
}

uint64_t weft__sched_steps(void)
{
    return S.steps;
}

/* The caller sleeps in the model on word (a futex word, or a joined
 * thread's) until a wake or a schedule-made timeout; another thread runs
 * meanwhile. Returns what the wait returns: 0 or ETIMEDOUT. */
static int block_on(const uint32_t *word, uint32_t expected, int64_t deadline_ns,
                    const char *what)
{
    me->state = T_BLOCKED;
    me->word = word;
    me->expected = expected;
    me->timed = deadline_ns != WEFT_DEADLINE_NEVER;
    me->deadline = deadline_ns;
    me->blocked_at = S.blocks++;
    me->result = 0;
    int next = decide(me->idx, false);
    if (next < 0)
        next = unstall();
    record(me->idx, next, what, word);
    switch_to(next);
    return me->result;
}

int weft__sched_futex_wait(const uint32_t *word, uint32_t expected,
                           int64_t deadline_ns)
{
    me->kind = WEFT__SP_WAIT;
    count_step();
    if (__atomic_load_n(word, __ATOMIC_RELAXED) != expected)
        return 0;
    bool timed = deadline_ns != WEFT_DEADLINE_NEVER;
    if (timed && deadline_ns <= S.clock) {
        record(me->idx, me->idx, "time-out", word);
        return ETIMEDOUT;
    }
    /* Byte choice: the schedule may end the wait at once - a timeout (a
     * timed wait, one byte in four) or a spurious return (one in eight),
     * which the futex contract allows and callers must survive. */
    int b = !S.pct && S.pos < S.len ? take_byte() : -1;
    if (timed && b >= 0 && (b & 3) == 0) {
        reach(deadline_ns);
        record(me->idx, me->idx, "time-out", word);
        return ETIMEDOUT;
    }
    if (b >= 0 && (b & 7) == 7) {
        record(me->idx, me->idx, "spurious", word);
        return 0;
    }
    return block_on(word, expected, deadline_ns, "block");
}

/* The thread blocked on word the longest, or NULL. */
static struct sthread *oldest_on(const uint32_t *word)
{
    struct sthread *oldest = NULL;
    for (int i = 0; i < S.n; i++) {
        struct sthread *t = &S.t[i];
        if (t->state == T_BLOCKED && t->word == word &&
            (oldest == NULL || t->blocked_at < oldest->blocked_at))
            oldest = t;
    }
    return oldest;
}

/* Make up to n threads blocked on word runnable, oldest first. */
static int wake_some(const uint32_t *word, int n)
{
    int woken = 0;
    while (woken < n) {
        struct sthread *oldest = oldest_on(word);
        if (oldest == NULL)
            break;
        oldest->state = T_RUNNABLE;
        oldest->result = 0;
        record(me->idx, oldest->idx, "wake", word);
        woken++;
    }
    return woken;
}

/* A thread the scheduler does not run (a thread-exit destructor, a helper
 * thread) may really sleep on the word: it gets the real wake too. */
static int real_wake(const uint32_t *word, int n, bool shared)
{
    long r = syscall(SYS_futex, word, shared ? FUTEX_WAKE : FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
                     n, NULL, NULL, 0);
    return r > 0 ? (int)r : 0;
}

int weft__sched_futex_wake(const uint32_t *word, int n, bool shared)
{
    weft__sched_point(WEFT__SP_WAKE, word, me->file, me->line);
    int woken = wake_some(word, n);
    if (woken < n)
        woken += real_wake(word, n - woken, shared);
    return woken;
}

int weft__sched_futex_requeue(const uint32_t *from, uint32_t expected,
                              int wake, const uint32_t *to, bool shared)
{
    weft__sched_point(WEFT__SP_WAKE, from, me->file, me->line);
    if (__atomic_load_n(from, __ATOMIC_RELAXED) != expected)
        return EAGAIN;
    (void)wake_some(from, wake);
    /* The others move behind those already waiting on `to`, oldest first,
     * as the kernel queues them. */
    for (struct sthread *oldest; (oldest = oldest_on(from)) != NULL;) {
        oldest->word = to;
        oldest->blocked_at = S.blocks++;
    }
    (void)real_wake(from, INT32_MAX, shared); /* they look again */
    return 0;
}

/* What a joiner of t waits on in the model (never a real futex word). */
static const uint32_t *join_word(const struct sthread *t)
{
    return (const uint32_t *)(const void *)&t->state;
}

/* The thread leaves the schedule: hand over to the next, or tell the main
 * thread that every thread is done. */
static void leave(void)
{
    me->state = T_DONE;
    (void)wake_some(join_word(me), INT32_MAX);
    int next = decide(me->idx, false);
    bool blocked = false;
    for (int i = 0; i < S.n; i++)
        blocked |= S.t[i].state == T_BLOCKED;
    if (next < 0 && blocked)
        next = unstall();
    record(me->idx, next, "exit", NULL);
    me = NULL;
    if (next < 0) {
        __atomic_store_n(&S.finished, 1, __ATOMIC_RELEASE);
        (void)raw_futex(&S.finished, FUTEX_WAKE, 1);
    } else {
        __atomic_store_n(&S.cur, (uint32_t)next, __ATOMIC_RELEASE);
        (void)raw_futex(&S.cur, FUTEX_WAKE, INT32_MAX);
    }
}

/* Thread-exit destructors (weft's per-thread records) touch shared state
 * too, so a thread stays scheduled until they have run: this key's
 * destructor puts its value back once, which makes it run again in the
 * next round of destructors, after the others of the first round. */
static pthread_key_t exit_key;
static bool exit_key_ok;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void exit_after_destructors(void *arg)
{
    struct sthread *t = (struct sthread *)arg;
    if (t->exit_rounds++ == 0 && pthread_setspecific(exit_key, t) == 0)
        return;
    leave();
}

/* A child forked by a scheduled thread runs free: its only thread is not
 * one of the run's, and the run's other threads do not exist there. While
 * the fork is under way the forking thread takes no decisions: the fork
 * handlers other modules registered before this file's run after its
 * prepare handler (prepare runs in reverse order) and before its child
 * handler, and a switch made in the child would wait for ever. */
static void fork_prepare(void)
{
    forking = true;
}

static void fork_parent(void)
{
    forking = false;
}

static void child_runs_free(void)
{
    forking = false;
    me = NULL;
}

static void make_exit_key(void)
{
    exit_key_ok = pthread_key_create(&exit_key, exit_after_destructors) == 0;
    (void)pthread_atfork(fork_prepare, fork_parent, child_runs_free);
}

static void *thread_main(void *arg)
{
    struct sthread *self = (struct sthread *)arg;
    for (;;) { /* wait for the first turn */
        uint32_t c = __atomic_load_n(&S.cur, __ATOMIC_ACQUIRE);
        if (c == GATE_CANCEL)
            return NULL;
        if (c == (uint32_t)self->idx)
            break;
        (void)raw_futex(&S.cur, FUTEX_WAIT, c);
    }
    me = self;
    S.body(me->idx, S.ctx);
    if (!exit_key_ok || pthread_setspecific(exit_key, self) != 0)
        leave();
    return NULL;
}

int weft__sched_adopt(void)
{
    if (me == NULL)
        return -1;
    if (S.n == WEFT_SCHED_MAX_THREADS)
        weft__sched_fail("a scheduled thread spawned more threads than a run holds");
    struct sthread *t = &S.t[S.n];
    memset(t, 0, sizeof *t);
    t->idx = S.n++;
    t->state = T_RUNNABLE;
    t->prio = S.pct ? S.t[me->idx].prio : 0;
    record(me->idx, t->idx, "spawn", NULL);
    return t->idx;
}

void weft__sched_adopted(int slot, unsigned long pt, int err)
{
    if (slot < 0)
        return;
    struct sthread *t = &S.t[slot];
    if (err != 0) {
        t->state = T_DONE;
        return;
    }
    t->tid = (pthread_t)pt;
    t->has_tid = true;
}

void weft__sched_enter(int slot)
{
    if (slot < 0)
        return;
    struct sthread *self = &S.t[slot];
    for (;;) {
        uint32_t c = __atomic_load_n(&S.cur, __ATOMIC_ACQUIRE);
        if (c == (uint32_t)slot)
            break;
        (void)raw_futex(&S.cur, FUTEX_WAIT, c);
    }
    me = self;
    if (!exit_key_ok || pthread_setspecific(exit_key, self) != 0)
        weft__sched_fail("cannot track an adopted thread's exit");
}

int weft__sched_pthread_join(pthread_t t, void **ret)
{
    if (me != NULL) {
        /* A pthread_t is reused once its thread was joined: look for the
         * one still in the run. */
        for (int i = 0; i < S.n; i++) {
            struct sthread *o = &S.t[i];
            if (!o->has_tid || !pthread_equal(o->tid, t) || o == me || o->state == T_DONE)
                continue;
            me->kind = WEFT__SP_WAIT;
            count_step();
            (void)block_on(join_word(o), 0, WEFT_DEADLINE_NEVER, "join");
            break;
        }
    }
    /* It has left the run (or never was in it): the real join, after
     * which its pthread_t may name a new thread. */
    int r = pthread_join(t, ret);
    if (me != NULL && r == 0)
        for (int i = 0; i < S.n; i++)
            if (S.t[i].has_tid && pthread_equal(S.t[i].tid, t) && S.t[i].state == T_DONE)
                S.t[i].has_tid = false;
    return r;
}

int weft__sched_run(const uint8_t *data, size_t len, int nthreads,
                    weft__sched_body body, void *ctx)
{
    if (nthreads < 1 || nthreads > WEFT_SCHED_MAX_THREADS || S.running || me != NULL)
        return EINVAL;
    (void)pthread_once(&exit_key_once, make_exit_key);
    memset(&S, 0, sizeof S);
    S.running = true;
    S.n = nthreads;
    S.body = body;
    S.ctx = ctx;
    S.data = data;
    S.len = len;
    S.clock = CLOCK_START_NS;
    const char *tr = getenv("WEFT_SCHED_TRACE");
    S.trace_all = tr != NULL && tr[0] == '1';
    S.pct = take_byte() > 0 && (S.data[0] & 1) != 0;
    if (S.pct) {
        for (int i = 0; i < nthreads; i++) {
            int b = take_byte();
            S.t[i].prio = b < 0 ? nthreads - i : b;
        }
        S.low_prio = -1;
        for (int c = 0; c < 3; c++) {
            int hi = take_byte(), lo = take_byte();
            S.change[c] = hi < 0 || lo < 0 ? UINT64_MAX : (uint64_t)(hi << 8 | lo);
        }
    }
    for (int i = 0; i < nthreads; i++)
        S.t[i].idx = i;
    /* Threads wait at the gate (GATE_SHUT) until all exist; if one cannot
     * be made, the others are let through to a cancelled run and joined. */
    S.cur = GATE_SHUT;
    int made = 0;
    for (; made < nthreads; made++) {
        if (pthread_create(&S.t[made].tid, NULL, thread_main, &S.t[made]) != 0)
            break;
        S.t[made].has_tid = true;
    }
    if (made < nthreads) {
        __atomic_store_n(&S.cur, GATE_CANCEL, __ATOMIC_RELEASE);
        (void)raw_futex(&S.cur, FUTEX_WAKE, INT32_MAX);
        for (int i = 0; i < made; i++)
            (void)pthread_join(S.t[i].tid, NULL);
        S.running = false;
        return EAGAIN;
    }
    /* The first decision, made as if for thread 0. */
    int start = 0;
    if (S.pct) {
        start = decide(0, false);
    } else if (nthreads > 1) {
        int b = take_byte();
        start = b < 0 ? 0 : b % nthreads;
    }
    record(-1, start, "start", NULL);
    __atomic_store_n(&S.cur, (uint32_t)start, __ATOMIC_RELEASE);
    (void)raw_futex(&S.cur, FUTEX_WAKE, INT32_MAX);
    for (;;) {
        uint32_t f = __atomic_load_n(&S.finished, __ATOMIC_ACQUIRE);
        if (f != 0)
            break;
        (void)raw_futex(&S.finished, FUTEX_WAIT, 0);
    }
    for (int i = 0; i < nthreads; i++) /* adopted threads were joined by weft */
        (void)pthread_join(S.t[i].tid, NULL);
    S.running = false;
    return 0;
}

#else
typedef int weft__interleave_absent; /* an empty file is not valid C */
#endif /* WEFT_SCHED */
