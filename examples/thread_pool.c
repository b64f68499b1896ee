/* thread_pool.c - a pool of threads for I/O-bound work, with futures
 * (concurrent.futures.ThreadPoolExecutor in C with weft).
 *
 * Eight "downloads" (sleeps) run on three worker threads; each task says
 * which thread ran it. Results come back through futures as they complete
 * (as_completed) and in order (map), and a task that fails reports its
 * error through its future.
 *
 * Build: cc -std=c11 thread_pool.c -lweft_pool -lweft_ipc -lweft_core -lweft_sync -pthread */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gettid; also predefined by g++/clang++ */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "weft/pool.h"

#define TASKS 8

static int lengths[TASKS] = {1, 3, 5, 7, 11, 13, 17, 19}; /* "page sizes" */

static int download(void *arg, void **result)
{
    int *len = (int *)arg;
    char name[32];
    (void)weft_thread_name(weft_thread_current(), name, sizeof name);
    (void)printf("download of %2d KiB on %s (tid %d)\n", *len, name, (int)gettid());
    struct timespec ts = {0, 2000000L * (*len % 5)};
    (void)nanosleep(&ts, NULL);
    if (*len == 13)
        return EIO; /* this one fails, as an exception would */
    *result = len;
    return 0;
}

int main(void)
{
    weft_tpool *pool;
    weft_tpool_opts o = {.max_workers = 3, .name_prefix = "fetch"};
    if (weft_tpool_create(&pool, &o) != 0)
        return 1;
    weft_future *fs[TASKS];
    for (int i = 0; i < TASKS; i++)
        if (weft_tpool_submit(pool, download, &lengths[i], &fs[i]) != 0)
            return 1;

    weft_as_completed *it;
    if (weft_as_completed_create(&it, fs, TASKS) != 0)
        return 1;
    weft_future *f;
    int ok = 0, failed = 0;
    while (weft_as_completed_next_until(it, WEFT_DEADLINE_NEVER, &f) == 0) {
        void *v = NULL;
        int rc = weft_future_result(f, &v);
        if (rc == 0)
            ok++;
        else
            failed++;
    }
    weft_as_completed_free(it);
    (void)printf("as completed: %d done, %d failed\n", ok, failed);
    for (int i = 0; i < TASKS; i++) {
        char text[96];
        (void)weft_future_describe(fs[i], text, sizeof text);
        if (weft_future_error(fs[i]) != 0)
            (void)printf("download %d: %s\n", i, text);
        weft_future_free(fs[i]);
    }

    /* map: the same work, results in submission order. */
    void *args[TASKS], *results[TASKS];
    int errors[TASKS];
    for (int i = 0; i < TASKS; i++)
        args[i] = &lengths[i];
    int rc = weft_tpool_map_until(pool, download, args, TASKS, 2, results, errors,
                                  WEFT_DEADLINE_NEVER);
    (void)printf("map: first error %d (EIO is %d); sizes in order:", rc, EIO);
    for (int i = 0; i < TASKS; i++)
        (void)printf(" %d", errors[i] == 0 ? *(int *)results[i] : -1);
    (void)printf("\n");
    return weft_tpool_free(pool) == 0 ? 0 : 1;
}
