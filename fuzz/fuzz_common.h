/* fuzz_common.h - what the concurrent-protocol harnesses share. */
#ifndef WEFT_FUZZ_COMMON_H
#define WEFT_FUZZ_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft/time.h"

/* Abort, naming the condition, when an invariant does not hold: the
 * fuzzer records the input as a crash. */
#define FUZZ_CHECK(c)                                                          \
    do {                                                                       \
        if (!(c)) {                                                            \
            (void)fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,   \
                          __LINE__, #c);                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Join n threads, each of which sets done[i] (release) as its last act.
 * A correct program finishes in milliseconds; a thread still running after
 * watchdog_ns is a hang (a lost wake-up, a deadlock): call on_hang(arg) to
 * print the harness's state, then abort so the fuzzer records a crash with
 * this input rather than a timeout. */
static inline void fuzz_join_or_abort(pthread_t *tid, int *done, int n,
                                      int64_t watchdog_ns,
                                      void (*on_hang)(void *arg), void *arg)
{
    int64_t deadline = weft_time_now_ns() + watchdog_ns;
    for (int t = 0; t < n; t++) {
        while (!__atomic_load_n(&done[t], __ATOMIC_ACQUIRE)) {
            if (weft_time_now_ns() > deadline) {
                (void)fprintf(stderr, "hang: thread %d did not finish\n", t);
                if (on_hang != NULL)
                    on_hang(arg);
                abort();
            }
            struct timespec ts = {0, 200000};
            (void)nanosleep(&ts, NULL);
        }
        (void)pthread_join(tid[t], NULL);
    }
}

/* The same for n forked children that set done[i] (in shared memory): past
 * the watchdog they are killed and the harness aborts; a child that died by
 * a signal or exited non-zero (an invariant failed there) aborts the
 * harness too, since a fuzzer watches only this process. Every child is
 * reaped either way. */
static inline void fuzz_reap_or_abort(const pid_t *pid, int *done, int n,
                                      int64_t watchdog_ns)
{
    int64_t deadline = weft_time_now_ns() + watchdog_ns;
    int hung = 0;
    for (int t = 0; t < n && !hung; t++)
        while (!__atomic_load_n(&done[t], __ATOMIC_ACQUIRE) && !hung) {
            if (weft_time_now_ns() > deadline) {
                (void)fprintf(stderr, "hang: process %d did not finish\n", t);
                hung = 1;
            }
            struct timespec ts = {0, 200000};
            (void)nanosleep(&ts, NULL);
        }
    int bad = hung;
    for (int t = 0; t < n; t++) {
        if (hung)
            (void)kill(pid[t], SIGKILL);
        int st = 0;
        while (waitpid(pid[t], &st, 0) < 0)
            if (errno != EINTR)
                abort(); /* our own child vanished: nothing is sound */
        if (!hung && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            (void)fprintf(stderr, "process %d failed (status 0x%x)\n", t, st);
            bad = 1;
        }
    }
    if (bad)
        abort();
}

#endif /* WEFT_FUZZ_COMMON_H */
