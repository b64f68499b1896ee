/* process_pool.c - a pool of worker processes for CPU-bound work that
 * survives a crashing worker (concurrent.futures.ProcessPoolExecutor in C
 * with weft, without BrokenProcessPool).
 *
 * Six tasks sum squares over ranges in two worker processes; each task
 * says which process ran it. Task 3 kills its own worker: only that task
 * fails, naming the worker and the signal; the pool forks a replacement
 * and the other tasks, and a task submitted afterwards, complete.
 *
 * Build: cc -std=c11 process_pool.c -lweft_pool -lweft_ipc -lweft_core -lweft_sync -pthread */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft/pool.h"

#define TASKS 6

static uint64_t sum_to(int n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < (uint64_t)n * 1000000u; i++)
        sum += i * i % 7;
    return sum;
}

static int sum_squares(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    int n;
    if (len != sizeof n || cap < sizeof(uint64_t))
        return EINVAL;
    memcpy(&n, arg, sizeof n);
    (void)printf("task %d in worker pid %d\n", n, (int)getpid());
    (void)fflush(stdout);
    if (n == 3)
        (void)raise(SIGKILL); /* this worker dies mid-task */
    uint64_t sum = sum_to(n);
    memcpy(out, &sum, sizeof sum);
    *out_len = sizeof sum;
    return 0;
}

static void report(int n, weft_future *f)
{
    void *v = NULL;
    if (weft_future_result(f, &v) == 0) {
        uint64_t sum;
        memcpy(&sum, v, sizeof sum);
        (void)printf("task %d: sum %llu\n", n, (unsigned long long)sum);
    } else {
        char text[160];
        (void)weft_future_describe(f, text, sizeof text);
        (void)printf("task %d: failed: %s\n", n, text);
    }
}

int main(void)
{
    (void)printf("parent pid %d\n", (int)getpid());
    (void)fflush(stdout);
    weft_ppool *pool;
    weft_ppool_opts o = {.max_workers = 2};
    if (weft_ppool_create(&pool, &o) != 0)
        return 1;
    weft_future *fs[TASKS];
    int ns[TASKS];
    for (int i = 0; i < TASKS; i++) {
        ns[i] = i;
        if (weft_ppool_submit(pool, sum_squares, &ns[i], sizeof ns[i], &fs[i]) != 0)
            return 1;
    }
    for (int i = 0; i < TASKS; i++) {
        report(i, fs[i]);
        weft_future_free(fs[i]);
    }
    int n = 2;
    weft_future *again;
    if (weft_ppool_submit(pool, sum_squares, &n, sizeof n, &again) != 0)
        return 1;
    (void)printf("after the crash: ");
    report(n, again);
    weft_future_free(again);
    (void)printf("workers replaced: %zu\n", weft_ppool_replaced(pool));
    return weft_ppool_free(pool) == 0 ? 0 : 1;
}
