/* thread_workers.c - five worker threads, joined or left as daemons.
 *
 * The first lesson of Python's threading, in C with weft:
 *
 *     thread_workers          five workers start, each works (sleeps)
 *                             200 ms, each finishes; main joins them all.
 *     thread_workers daemon   the workers are daemons working for 10 s:
 *                             main exits without waiting for them, and no
 *                             worker gets to finish.
 *
 * Build: cc -std=c11 thread_workers.c -lweft_core -lweft_sync -pthread */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "weft/core.h"

#define WORKERS 5

/* Each worker posts once it has said it started, so main's last line comes
 * after all five even when main does not wait for the workers to end. */
static weft_sem started;

/* How long each worker works: long enough in daemon mode that the process
 * is gone before any worker could finish. */
static int64_t work_ns = 200 * 1000000LL;

static int worker(void *arg)
{
    int n = *(const int *)arg;
    char name[32];
    (void)weft_thread_name(weft_thread_current(), name, sizeof name);
    (void)printf("Worker %d (%s) starting\n", n, name);
    (void)fflush(stdout);
    (void)weft_sem_release(&started, 1);
    weft_event never = WEFT_EVENT_INIT; /* a sleep */
    (void)weft_event_wait_for(&never, work_ns);
    (void)printf("Worker %d finished\n", n);
    (void)fflush(stdout);
    return n;
}

int main(int argc, char **argv)
{
    bool daemon = argc > 1 && strcmp(argv[1], "daemon") == 0;
    if (daemon)
        work_ns = 10 * 1000000000LL;
    weft_thread *t[WORKERS];
    static int numbers[WORKERS] = {0, 1, 2, 3, 4};
    (void)weft_sem_init(&started, 0, 0);
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        (void)snprintf(name, sizeof name, "worker-%d", i);
        weft_thread_opts o = {.name = name, .daemon = daemon};
        int err = weft_thread_spawn(&t[i], worker, &numbers[i], &o);
        if (err != 0) {
            (void)fprintf(stderr, "spawn failed: error %d\n", err);
            return 1;
        }
    }
    for (int i = 0; i < WORKERS; i++)
        (void)weft_sem_acquire(&started);
    if (daemon) {
        /* Like Python at exit: wait for non-daemon threads only (none). */
        weft_thread_shutdown();
        (void)printf("Main exiting; %zu threads still running\n",
                     weft_thread_active_count() - 1);
        return 0; /* the daemon workers die with the process */
    }
    int sum = 0;
    for (int i = 0; i < WORKERS; i++) {
        int result = 0;
        (void)weft_thread_join(t[i], &result);
        sum += result;
        weft_thread_unref(t[i]);
    }
    (void)printf("All workers finished, results sum to %d\n", sum);
    return 0;
}
