/* pipe_workers.c - worker processes fed through pipes, as with
 * multiprocessing.Pipe: the parent sends each worker jobs over its own
 * duplex connection and reads the answers; closing the connection is the
 * workers' signal to stop, and each worker's exit code is the number of
 * jobs it did.
 *
 * A job is a list of 32-bit numbers; the answer is their sum, sent back as
 * a line of text. The parent prints the answers in job order.
 *
 * Build: cc -std=c11 pipe_workers.c -lweft_ipc -lweft_core -lweft_sync -pthread */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "weft/ipc.h"

#define WORKERS 3
#define JOBS 9

static weft_conn *mine[WORKERS], *theirs[WORKERS];

static int work(void *arg)
{
    int w = *(const int *)arg;
    weft_conn *c = theirs[w];
    /* The parent's ends made so far came with the fork: close them, or the
     * parent closing its end would not end this worker's stream, nor an
     * earlier worker's (as with os.fork and pipes in Python). */
    for (int k = 0; k <= w; k++)
        weft_conn_close(mine[k]);
    int done = 0;
    for (;;) {
        uint32_t nums[64];
        size_t len;
        int err = weft_conn_recv(c, nums, sizeof nums, &len);
        if (err == EPIPE) /* the parent closed: no more jobs */
            break;
        if (err != 0)
            return 100;
        uint64_t sum = 0;
        for (size_t i = 0; i < len / sizeof nums[0]; i++)
            sum += nums[i];
        char line[64];
        int n = snprintf(line, sizeof line, "%s: sum of %zu numbers = %llu",
                         weft_proc_current_name(), len / sizeof nums[0],
                         (unsigned long long)sum);
        if (weft_conn_send(c, line, (size_t)n) != 0)
            return 101;
        done++;
    }
    weft_conn_close(c);
    return done;
}

int main(void)
{
    weft_proc *p[WORKERS];
    static const int index[WORKERS] = {0, 1, 2};
    for (int w = 0; w < WORKERS; w++) {
        if (weft_pipe_open(&mine[w], &theirs[w], WEFT_PIPE_DUPLEX) != 0)
            return 1;
        weft_proc_opts o = {.name = NULL, .daemon = false};
        if (weft_proc_spawn(&p[w], work, (void *)&index[w], &o) != 0)
            return 1;
        weft_conn_close(theirs[w]); /* the child has its own copy */
    }
    for (int j = 0; j < JOBS; j++) {
        uint32_t nums[64];
        size_t count = (size_t)(j + 1) * 3;
        for (size_t i = 0; i < count; i++)
            nums[i] = (uint32_t)(j * 1000 + (int)i);
        if (weft_conn_send(mine[j % WORKERS], nums, count * sizeof nums[0]) != 0)
            return 1;
        char line[64];
        size_t len;
        /* A worker that has died would be EPIPE here, not a hang. */
        int err = weft_conn_recv_for(mine[j % WORKERS], line, sizeof line - 1, &len,
                                     10 * (int64_t)1000000000);
        if (err != 0) {
            (void)fprintf(stderr, "job %d: error %d\n", j, err);
            return 1;
        }
        line[len] = '\0';
        (void)printf("job %d -> %s\n", j, line);
    }
    for (int w = 0; w < WORKERS; w++)
        weft_conn_close(mine[w]);
    for (int w = 0; w < WORKERS; w++) {
        int code = -1;
        char name[32];
        weft_proc_join(p[w], &code);
        weft_proc_name(p[w], name, sizeof name);
        (void)printf("%s did %d jobs\n", name, code);
        weft_proc_free(p[w]);
    }
    return 0;
}
