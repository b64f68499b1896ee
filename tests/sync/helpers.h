/* helpers.h - small helpers shared by the sync test programs. */
#ifndef WEFT_TEST_SYNC_HELPERS_H
#define WEFT_TEST_SYNC_HELPERS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft_test.h"

#define MS 1000000LL

/* Small integers (0..1023) passed as thread or process arguments: a
 * pointer into a table of their values, read back with arg_int(), instead
 * of an integer cast to a pointer. */
static int wt_ints[1024];
__attribute__((constructor)) static void wt_ints_init(void)
{
    for (int i = 0; i < 1024; i++)
        wt_ints[i] = i;
}
static inline void *int_arg(int n)
{
    return &wt_ints[n];
}
static inline int arg_int(const void *arg)
{
    return *(const int *)arg;
}

static inline void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    WT_EQ(pthread_create(&t, NULL, fn, arg), 0);
    return t;
}

static inline void join(pthread_t t)
{
    WT_EQ(pthread_join(t, NULL), 0);
}

/* Zeroed memory shared with forked children; unmapped with shared_free. */
static inline void *shared_alloc(size_t n)
{
    /* MAP_ANONYMOUS takes fd -1 (mmap(2)); cppcheck's model of mmap does
     * not know that flag and reports a false invalidFunctionArg. */
    int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED | MAP_ANONYMOUS;
    // cppcheck-suppress invalidFunctionArg
    void *p = mmap(NULL, n, prot, flags, -1, 0);
    WT_TRUE(p != MAP_FAILED);
    return p;
}

static inline void shared_free(void *p, size_t n)
{
    WT_EQ(munmap(p, n), 0);
}

/* Fork a child that runs fn(arg) and exits with its result. */
static inline pid_t fork_child(int (*fn)(void *), void *arg)
{
    (void)fflush(NULL);
    pid_t pid = fork();
    WT_GE(pid, 0);
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

/* In a forked child: become a process that may run one task only (as root,
 * first become the unprivileged user nobody, for whom RLIMIT_NPROC counts),
 * so the next thread or process it starts fails with EAGAIN. Returns 0,
 * or an exit status (10, 11) naming the step that failed. */
static inline int limit_to_one_task(void)
{
    struct rlimit one = {1, 1};
    if (setrlimit(RLIMIT_NPROC, &one) != 0)
        return 10;
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 11;
    return 0;
}

/* Reap a child and return its exit status (-signal if killed). */
static inline int reap(pid_t pid)
{
    int st = 0;
    WT_EQ(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return WEXITSTATUS(st);
}

#endif /* WEFT_TEST_SYNC_HELPERS_H */
