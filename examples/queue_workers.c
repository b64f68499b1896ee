/* queue_workers.c - worker processes fed through a JoinableQueue, as with
 * multiprocessing.JoinableQueue: the parent puts jobs, workers get them,
 * put their answers on a second queue and mark each job done; the parent
 * joins the job queue (every job done), then closes it, which tells the
 * workers to stop, and each worker's exit code is the number of jobs it
 * did.
 *
 * A job is a number n; its answer is n*n. The parent prints the sum of the
 * answers and how the jobs were shared out.
 *
 * Build: cc -std=c11 queue_workers.c -lweft_ipc -lweft_core -lweft_sync -pthread */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/ipc.h"

#define WORKERS 3
#define JOBS 30

static weft_queue *jobs, *answers;

static int work(void *arg)
{
    (void)arg;
    int done = 0;
    for (;;) {
        uint64_t n;
        size_t len;
        int err = weft_queue_get(jobs, &n, sizeof n, &len);
        if (err == EPIPE) /* closed and empty: no more jobs */
            break;
        if (err != 0 || len != sizeof n)
            return 100;
        uint64_t sq = n * n;
        if (weft_queue_put(answers, &sq, sizeof sq) != 0 || weft_queue_task_done(jobs) != 0)
            return 101;
        done++;
    }
    return done;
}

int main(void)
{
    weft_queue_opts joinable = {4096, 0, 0, WEFT_QUEUE_JOINABLE};
    if (weft_queue_create(&jobs, NULL, &joinable) != 0 ||
        weft_queue_create(&answers, NULL, NULL) != 0)
        return 1;
    weft_proc *p[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        weft_proc_opts o = {.name = NULL, .daemon = false};
        if (weft_proc_spawn(&p[w], work, NULL, &o) != 0)
            return 1;
    }
    for (uint64_t n = 1; n <= JOBS; n++)
        if (weft_queue_put(jobs, &n, sizeof n) != 0)
            return 1;
    if (weft_queue_join(jobs) != 0) /* every job done */
        return 1;
    printf("all %d jobs done; %zu answers waiting\n", JOBS, weft_queue_qsize(answers));
    uint64_t sum = 0;
    for (int i = 0; i < JOBS; i++) {
        uint64_t sq;
        size_t len;
        if (weft_queue_get(answers, &sq, sizeof sq, &len) != 0)
            return 1;
        sum += sq;
    }
    printf("sum of squares 1..%d = %llu\n", JOBS, (unsigned long long)sum);
    weft_queue_close(jobs); /* the workers drain nothing more and stop */
    int total = 0;
    for (int w = 0; w < WORKERS; w++) {
        int code = -1;
        weft_proc_join(p[w], &code);
        if (code < 0 || code > JOBS)
            printf("a worker failed: exit code %d\n", code);
        else
            total += code;
        weft_proc_free(p[w]);
    }
    printf("the workers did %d jobs between them\n", total);
    weft_queue_free(jobs);
    weft_queue_free(answers);
    return 0;
}
