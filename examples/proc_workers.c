/* proc_workers.c - processes forked from a function, joined with their
 * exit codes; one of them crashes and the others do not notice.
 *
 * multiprocessing.Process in C with weft: each child squares its number
 * and returns it as its exit status; child 3 dereferences a bad pointer
 * (by raising SIGSEGV) and its exit code is -11, as in Python.
 *
 * Build: cc -std=c11 proc_workers.c -lweft_core -lweft_sync -pthread */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft/core.h"

#define CHILDREN 5

static int square(void *arg)
{
    int n = *(const int *)arg;
    (void)printf("%s (pid %d) squaring %d\n", weft_proc_current_name(), (int)getpid(), n);
    if (n == 3) {
        (void)signal(SIGSEGV, SIG_DFL);
        (void)raise(SIGSEGV); /* a crash: this child only */
    }
    return n * n;
}

int main(void)
{
    weft_proc *p[CHILDREN];
    static int numbers[CHILDREN] = {0, 1, 2, 3, 4};
    for (int i = 0; i < CHILDREN; i++) {
        int err = weft_proc_spawn(&p[i], square, &numbers[i], NULL);
        if (err != 0) {
            (void)fprintf(stderr, "spawn failed: error %d\n", err);
            return 1;
        }
    }
    for (int i = 0; i < CHILDREN; i++) {
        int code = 0;
        char name[32];
        (void)weft_proc_join(p[i], &code);
        (void)weft_proc_name(p[i], name, sizeof name);
        (void)printf("%s exit code %d\n", name, code);
        (void)weft_proc_free(p[i]);
    }
    return 0;
}
