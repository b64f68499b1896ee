/* bench.c - interleaved runs, pair ratios and JSON lines for weft-bench. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#ifndef WEFT_BENCH_PEERS_DIR
#define WEFT_BENCH_PEERS_DIR "bench/peers"
#endif

#define MAX_RUNS 101
#define MAX_IMPLS 6

bench_opts bench_options = {7, 1.0, "python3"};

int64_t bench_now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void *bench_shared(size_t n, weft_shm **block)
{
    bench_must(weft_shm_create(block, NULL, n) == 0);
    return weft_shm_addr(*block);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats {
    double median, min, max;
};

static struct stats summarise(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    struct stats st;
    st.min = s[0];
    st.max = s[n - 1];
    st.median = (n % 2) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    return st;
}

void bench_compare(const char *scenario, const char *metric, long ops,
                   const bench_impl *impls, int n)
{
    bench_compare_unit(scenario, metric, "ns/op", ops, impls, n);
}

void bench_compare_unit(const char *scenario, const char *metric, const char *unit,
                        long ops, const bench_impl *impls, int n)
{
    static double cost[MAX_IMPLS][MAX_RUNS];
    int runs = bench_options.runs;
    if (runs > MAX_RUNS)
        runs = MAX_RUNS;
    if (n > MAX_IMPLS)
        n = MAX_IMPLS;
    ops = (long)((double)ops * bench_options.scale);
    if (ops < 1)
        ops = 1;
    bool available[MAX_IMPLS];
    for (int i = 0; i < n; i++)
        available[i] = true;
    /* One untimed warm-up round, then interleaved timed rounds. */
    for (int i = 0; i < n; i++)
        if (impls[i].run(impls[i].ctx, ops / 10 + 1) < 0)
            available[i] = false;
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < n; i++)
            if (available[i]) {
                cost[i][r] = impls[i].run(impls[i].ctx, ops);
                if (cost[i][r] < 0)
                    available[i] = false;
            }
    for (int i = 0; i < n; i++) {
        if (!available[i])
            continue;
        struct stats st = summarise(cost[i], runs);
        printf("{\"scenario\":\"%s\",\"impl\":\"%s\",\"metric\":\"%s\","
               "\"unit\":\"%s\",\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,"
               "\"runs\":%d}\n",
               scenario, impls[i].name, metric, unit, st.median, st.min, st.max, runs);
    }
    for (int i = 1; i < n; i++) {
        if (!available[i] || !available[0])
            continue;
        double ratio[MAX_RUNS] = {0};
        for (int r = 0; r < runs; r++)
            ratio[r] = cost[0][r] / cost[i][r];
        struct stats st = summarise(ratio, runs);
        printf("{\"scenario\":\"%s\",\"impl\":\"ratio\",\"vs\":\"%s\","
               "\"metric\":\"%s\",\"median\":%.3f,\"min\":%.3f,\"max\":%.3f}\n",
               scenario, impls[i].name, metric, st.median, st.min, st.max);
    }
    (void)fflush(stdout);
}

double bench_cpython(void *ctx, long ops)
{
    const struct bench_py *py = (const struct bench_py *)ctx;
    return bench_python(py->script, py->kind, ops / 20);
}

pid_t bench_spawn_piped(char *const argv[], int child_fd, int *our_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    /* The child reads fds[0] (its stdin) or writes fds[1] (its stdout). */
    int theirs = child_fd == STDIN_FILENO ? 0 : 1;
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawn_file_actions_adddup2(&fa, fds[theirs], child_fd) != 0 ||
            posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
                                             O_WRONLY, 0) != 0 ||
            posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
            pid = -1;
        (void)posix_spawn_file_actions_destroy(&fa);
    }
    (void)close(fds[theirs]);
    if (pid < 0)
        (void)close(fds[1 - theirs]);
    else
        *our_fd = fds[1 - theirs];
    return pid;
}

double bench_python(const char *script, const char *args, long ops)
{
    if (bench_options.python == NULL)
        return -1;
    char path[512], nops[32];
    int len = snprintf(path, sizeof path, "%s/%s", WEFT_BENCH_PEERS_DIR, script);
    if (len < 0 || (size_t)len >= sizeof path)
        return -1;
    (void)snprintf(nops, sizeof nops, "%ld", ops);
    char *argv[] = {(char *)bench_options.python, path, (char *)args, nops, NULL};
    int fd = -1;
    pid_t pid = bench_spawn_piped(argv, STDOUT_FILENO, &fd);
    if (pid < 0)
        return -1;
    char buf[128];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || errno != EINTR || got == sizeof buf - 1)
            break;
    }
    buf[got] = '\0';
    (void)close(fd);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    char *end = NULL;
    double v = strtod(buf, &end);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || end == buf || !(v > 0))
        return -1;
    return v;
}
