/* fuzz_core_ops.c - input bytes are programs of spawn / join / timeout /
 * terminate / kill / free operations over weft threads and child
 * processes; the harness checks that every child is reaped exactly once
 * with the exit code its behaviour and the signals sent allow, that thread
 * results come back, and that no descriptor, child or thread is left.
 *
 * Input: one operation per byte, at most MAX_OPS; low 4 bits pick the
 * operation, high 4 bits (v) its slot (v & 3) and argument (v >> 2):
 *   0 spawn a thread in slot (returns 100 + slot after sleeping v*50 us)
 *   1 join the thread with a timeout of (v >> 2) * 100 us
 *   2 drop the thread's handle unjoined (it runs on, detached)
 *   3 flip the thread's daemon flag
 *   4 spawn a child in slot; its behaviour by v >> 2: exit with the slot,
 *     sleep until signalled, raise SIGABRT, exit after 200 us
 *   5 join the child with a timeout of (v >> 2) * 100 us
 *   6 terminate the child   7 kill the child
 *   8 poll: is_alive, exitcode
 *   9 free the child's handle (EBUSY exactly while it runs)
 *  10 active_children: never more than the children not known to be ended
 *  11 wait_until over the live slots with a short deadline
 *  12 a timer with a short delay, cancelled at once or not
 *  13-15 nothing (spacing)
 * At the end every child still held is killed and joined, every thread
 * joined. Every wait has a deadline or ends by a kill, so a hang is a bug. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/core.h"

#define MAX_OPS 48
#define SLOTS 4
#define US 1000LL

enum behaviour { EXIT_SLOT, SLEEP, ABORT, EXIT_LATE };

struct child {
    weft_proc *p;
    enum behaviour b;
    int slot;
    bool sent_term, sent_kill;
    bool ended; /* a join or poll said so */
    int code;
};

/* Arguments for threads and children: pointers to these values (0..255),
 * never integers cast to pointers. */
static int small[256];

__attribute__((constructor)) static void small_init(void)
{
    for (int i = 0; i < 256; i++)
        small[i] = i;
}

static void check(bool ok, const char *what, int a, int b)
{
    if (!ok) {
        (void)fprintf(stderr, "fuzz_core_ops: %s (%d, %d)\n", what, a, b);
        abort();
    }
}

static int thread_body(void *arg)
{
    int v = *(const int *)arg;
    weft_event never = WEFT_EVENT_INIT;
    (void)weft_event_wait_for(&never, US * 50 * (v >> 4));
    return 100 + (v & 3);
}

/* Children start with SIGTERM blocked (see spawn_child) and make its
 * action the default before they take it: a fuzzer's own SIGTERM handler,
 * inherited through fork, would turn terminate() into a plain exit. */
static int child_body(void *arg)
{
    int v = *(const int *)arg;
    sigset_t term;
    (void)sigemptyset(&term);
    (void)sigaddset(&term, SIGTERM);
    (void)signal(SIGTERM, SIG_DFL);
    (void)pthread_sigmask(SIG_UNBLOCK, &term, NULL);
    switch ((enum behaviour)(v >> 4)) {
    case EXIT_SLOT:
        return v & 3;
    case SLEEP:
        for (;;)
            (void)pause();
    case ABORT:
        (void)signal(SIGABRT, SIG_DFL); /* not a sanitizer's handler */
        abort();
    case EXIT_LATE:
        break;
    }
    weft_event never = WEFT_EVENT_INIT;
    (void)weft_event_wait_for(&never, US * 200);
    return 10 + (v & 3);
}

/* Whether code is one the child may end with. */
static bool code_allowed(const struct child *c, int code)
{
    if (c->sent_term && code == -SIGTERM)
        return true;
    if (c->sent_kill && code == -SIGKILL)
        return true;
    switch (c->b) {
    case EXIT_SLOT:
        return code == c->slot;
    case SLEEP:
        return false;
    case ABORT:
        return code == -SIGABRT;
    case EXIT_LATE:
        return code == 10 + c->slot;
    }
    return false;
}

static void saw_end(struct child *c, int code)
{
    check(code_allowed(c, code), "exit code not allowed", code, (int)c->b);
    check(!c->ended || c->code == code, "exit code changed", c->code, code);
    c->ended = true;
    c->code = code;
}

static int spawn_child(struct child *c, int arg)
{
    weft_proc_opts o = {.daemon = true}; /* dies with an aborted harness */
    sigset_t term, old;
    (void)sigemptyset(&term);
    (void)sigaddset(&term, SIGTERM);
    (void)pthread_sigmask(SIG_BLOCK, &term, &old);
    int err = weft_proc_spawn(&c->p, child_body, &small[arg], &o);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    /* readdir_r is deprecated (glibc); this stream is one thread's own. */
    // cppcheck-suppress readdirCalled
    while (readdir(d) != NULL)
        n++;
    (void)closedir(d);
    return n;
}

static void ring(void *arg)
{
    (void)arg;
}

static pid_t spawned[MAX_OPS];
static size_t n_spawned;

static void run(const uint8_t *data, size_t size)
{
    n_spawned = 0;
    weft_thread *threads[SLOTS] = {0};
    int thread_arg[SLOTS] = {0};
    struct child kids[SLOTS];
    memset(kids, 0, sizeof kids);
    if (size > MAX_OPS)
        size = MAX_OPS;
    for (size_t i = 0; i < size; i++) {
        int op = data[i] & 15, v = data[i] >> 4, s = v & 3;
        struct child *c = &kids[s];
        int code = 0, err;
        switch (op) {
        case 0:
            if (threads[s] == NULL) {
                thread_arg[s] = (v << 4) | s;
                err = weft_thread_spawn(&threads[s], thread_body, &small[thread_arg[s]], NULL);
                check(err == 0, "thread spawn", err, s);
            }
            break;
        case 1:
            if (threads[s] != NULL) {
                err = weft_thread_join_for(threads[s], US * 100 * (v >> 2), &code);
                check(err == 0 || err == ETIMEDOUT, "thread join", err, s);
                if (err == 0) {
                    check(code == 100 + s, "thread result", code, s);
                    weft_thread_unref(threads[s]);
                    threads[s] = NULL;
                }
            }
            break;
        case 2:
            weft_thread_unref(threads[s]);
            threads[s] = NULL;
            break;
        case 3:
            if (threads[s] != NULL)
                weft_thread_set_daemon(threads[s], !weft_thread_is_daemon(threads[s]));
            break;
        case 4:
            if (c->p == NULL) {
                *c = (struct child){.b = (enum behaviour)(v >> 2), .slot = s};
                err = spawn_child(c, (v >> 2) << 4 | s);
                check(err == 0, "proc spawn", err, s);
                spawned[n_spawned++] = weft_proc_pid(c->p);
            }
            break;
        case 5:
            if (c->p != NULL) {
                err = weft_proc_join_for(c->p, US * 100 * (v >> 2), &code);
                check(err == 0 || err == ETIMEDOUT, "proc join", err, s);
                check(err == 0 || !c->ended, "ended child timed out", err, s);
                if (err == 0)
                    saw_end(c, code);
            }
            break;
        case 6:
        case 7:
            if (c->p != NULL) {
                bool was_ended = c->ended;
                if (!was_ended)
                    *(op == 6 ? &c->sent_term : &c->sent_kill) = true;
                err = op == 6 ? weft_proc_terminate(c->p) : weft_proc_kill(c->p);
                check(err == 0, "signal", err, s);
            }
            break;
        case 8:
            if (c->p != NULL) {
                bool alive = weft_proc_is_alive(c->p);
                err = weft_proc_exitcode(c->p, &code);
                check(err == 0 || err == EBUSY, "exitcode", err, s);
                check(!alive || err == EBUSY || err == 0, "alive", alive, err);
                check(alive || err == 0, "ended but busy", alive, err);
                if (err == 0)
                    saw_end(c, code);
            }
            break;
        case 9:
            if (c->p != NULL) {
                err = weft_proc_exitcode(c->p, &code);
                if (err == 0)
                    saw_end(c, code);
                int ferr = weft_proc_free(c->p);
                check(ferr == 0 || (ferr == EBUSY && err == EBUSY), "free", ferr, err);
                if (ferr == 0)
                    memset(c, 0, sizeof *c);
            }
            break;
        case 10: {
            size_t maybe = 0;
            for (int k = 0; k < SLOTS; k++)
                maybe += kids[k].p != NULL && !kids[k].ended;
            size_t n = weft_proc_active_children(NULL, 0);
            check(n <= maybe, "active children", (int)n, (int)maybe);
            break;
        }
        case 11: {
            weft_proc *live[SLOTS];
            size_t n = 0;
            for (int k = 0; k < SLOTS; k++)
                if (kids[k].p != NULL)
                    live[n++] = kids[k].p;
            if (n > 0) {
                bool ended[SLOTS];
                err = weft_proc_wait_until(live, n, weft_time_deadline_ns(US * 200), ended);
                check(err == 0 || err == ETIMEDOUT, "wait", err, (int)n);
            }
            break;
        }
        case 12: {
            weft_timer *tm;
            err = weft_timer_start(&tm, US * 100 * (v >> 2), ring, NULL, NULL);
            check(err == 0, "timer", err, 0);
            if (v & 1)
                (void)weft_timer_cancel(tm);
            weft_timer_free(tm);
            break;
        }
        default:
            break;
        }
    }
    for (int s = 0; s < SLOTS; s++) {
        struct child *c = &kids[s];
        if (c->p != NULL) {
            int code = 0;
            if (!c->ended) {
                c->sent_kill = true;
                check(weft_proc_kill(c->p) == 0, "final kill", s, 0);
            }
            int err = weft_proc_join(c->p, &code);
            check(err == 0, "final join", err, s);
            saw_end(c, code);
            check(weft_proc_free(c->p) == 0, "final free", s, 0);
        }
        if (threads[s] != NULL) {
            int code = 0;
            check(weft_thread_join(threads[s], &code) == 0, "final thread join", s, 0);
            check(code == 100 + s, "final thread result", code, s);
            weft_thread_unref(threads[s]);
        }
    }
    /* Dropped threads run on, daemon or not; each ends within 750 us. */
    int64_t deadline = weft_time_deadline_ns(5000000000LL);
    while (weft_thread_active_count() > 1 && weft_time_now_ns() < deadline) {
        weft_event never = WEFT_EVENT_INIT;
        (void)weft_event_wait_for(&never, 100 * US);
    }
    weft_core_shutdown(); /* and ended ones are reaped */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds = count_fds();
    run(data, size);
    check(weft_thread_active_count() == 1, "threads left", (int)weft_thread_active_count(), 1);
    check(weft_proc_active_children(NULL, 0) == 0, "children left", 0, 0);
    /* Each child weft started was reaped (by weft): waiting for it again
     * finds nothing. (A waitpid(-1) would also see the sanitizers' own
     * helper processes, such as the symbolizer.) */
    for (size_t i = 0; i < n_spawned; i++) {
        errno = 0;
        pid_t r = waitpid(spawned[i], NULL, WNOHANG);
        check(r == -1 && errno == ECHILD, "child not reaped", (int)spawned[i], (int)r);
    }
    check(count_fds() == fds, "descriptors leaked", count_fds(), fds);
    return 0;
}
