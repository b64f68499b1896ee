/* weft-demo - the seeds' comparison, measured on this machine: CPU-bound
 * and I/O-bound work run sequentially, in threads, in threads under a GIL
 * (CPython's, and weft's fair mode), in processes, and through the two
 * executors: a weft_tpool under CPython's GIL (ThreadPoolExecutor) and a
 * weft_ppool (ProcessPoolExecutor). It prints wall times
 * and speedups, says which conclusion the numbers support, and writes them
 * as CSV (and a PNG chart when gnuplot is installed).
 *
 * usage: weft-demo [--tasks N] [--cpu-ms MS] [--io-waits K] [--io-ms MS]
 *                  [--csv FILE] [--png FILE] [--help] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/core.h"
#include "weft/gil.h"
#include "weft/ppool.h"
#include "weft/tpool.h"
#include "workload.h"

#define MAX_TASKS 64

enum way {
    SEQUENTIAL, THREADS, GIL_FAITHFUL, GIL_FAIR, PROCESSES, THREAD_POOL, PROCESS_POOL, NWAYS
};
static const char *const way_names[NWAYS] = {
    "sequential", "threads (no GIL)", "threads + GIL (CPython's)",
    "threads + GIL (weft fair)", "processes", "thread pool + GIL (CPython's)",
    "process pool"};
static const char *const way_short[NWAYS] = {"sequential", "threads", "GIL (CPython's)",
                                             "GIL (weft fair)", "processes",
                                             "thread pool + GIL", "process pool"};
static const char *const way_keys[NWAYS] = {"sequential", "threads",     "gil_faithful",
                                            "gil_fair",   "processes",   "thread_pool_gil",
                                            "process_pool"};

struct config {
    int tasks;
    int cpu_ms, io_waits, io_ms;
    const char *csv, *png;
};

struct task {
    int cpu;       /* CPU-bound, else I/O-bound */
    long steps;    /* CPU: computation steps */
    int waits;     /* I/O: blocking waits ... */
    int64_t wait_ns; /* ... of this length */
    weft_gil *g;   /* NULL: no GIL */
};

/* Where the work's result goes, so the compiler keeps the work: stored
 * atomically, as threads without a GIL store it at the same time. */
static uint64_t sink;

static int task_main(void *p) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct task *t = (struct task *)p;
    if (t->g != NULL)
        bench_must(weft_gil_acquire(t->g) == 0);
    if (t->cpu)
        __atomic_store_n(&sink, wl_cpu(t->g, t->steps), __ATOMIC_RELAXED);
    else
        for (int i = 0; i < t->waits; i++)
            wl_sleep(t->g, t->wait_ns);
    if (t->g != NULL)
        bench_must(weft_gil_release(t->g) == 0);
    return 0;
}

/* task_main as a thread pool task. */
static int tpool_task(void *p, void **result)
{
    (void)result;
    return task_main(p);
}

/* task_main as a process pool task: the task travels as bytes (its GIL
 * pointer names the worker's copy of the parent's GIL, made at fork). */
static int ppool_task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    (void)out;
    (void)cap;
    (void)out_len;
    struct task t;
    if (len != sizeof t)
        return EINVAL;
    memcpy(&t, arg, sizeof t);
    return task_main(&t);
}

/* Run n copies of *t through a pool of n workers, as the seeds' executors
 * do (the pool's start-up and shutdown are part of the time); aborts on any
 * failure. */
static void run_pool(bool procs, int n, struct task *t)
{
    weft_future *fs[MAX_TASKS];
    weft_tpool *tp = NULL;
    weft_ppool *pp = NULL;
    if (procs) {
        weft_ppool_opts o;
        memset(&o, 0, sizeof o);
        o.max_workers = (size_t)n;
        o.prefetch = 1;
        bench_must(weft_ppool_create(&pp, &o) == 0);
    } else {
        weft_tpool_opts o;
        memset(&o, 0, sizeof o);
        o.max_workers = (size_t)n;
        bench_must(weft_tpool_create(&tp, &o) == 0);
    }
    for (int i = 0; i < n; i++)
        bench_must((procs ? weft_ppool_submit(pp, ppool_task, t, sizeof *t, &fs[i])
                          : weft_tpool_submit(tp, tpool_task, t, &fs[i])) == 0);
    for (int i = 0; i < n; i++) {
        bench_must(weft_future_result(fs[i], NULL) == 0);
        weft_future_free(fs[i]);
    }
    if (procs)
        bench_must(weft_ppool_free(pp) == 0);
    else
        bench_must(weft_tpool_free(tp) == 0);
}

/* Run n copies of *proto the given way; returns the wall time in seconds. */
static double run(enum way way, int n, const struct task *proto)
{
    weft_gil g;
    weft_gil_opts o;
    memset(&o, 0, sizeof o);
    o.mode = way == GIL_FAIR ? WEFT_GIL_FAIR : WEFT_GIL_FAITHFUL;
    bench_must(weft_gil_init(&g, &o) == 0);
    struct task t = *proto;
    /* Processes each have their own interpreter, so their own GIL. */
    t.g = way == THREADS || way == SEQUENTIAL ? NULL : &g;
    int64_t t0 = bench_now_ns();
    if (way == SEQUENTIAL) {
        for (int i = 0; i < n; i++)
            (void)task_main(&t);
    } else if (way == PROCESSES) {
        wl_run_procs(n, task_main, &t);
    } else if (way == THREAD_POOL || way == PROCESS_POOL) {
        run_pool(way == PROCESS_POOL, n, &t);
    } else {
        wl_run_threads(n, task_main, &t);
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    bench_must(weft_gil_destroy(&g) == 0);
    return s;
}

static void usage(FILE *f)
{
    (void)fprintf(f,
        "usage: weft-demo [--tasks N] [--cpu-ms MS] [--io-waits K] [--io-ms MS]\n"
        "                 [--csv FILE] [--png FILE]\n"
        "Runs N CPU-bound tasks (MS ms of computation each) and N I/O-bound tasks\n"
        "(K blocking waits of MS ms each) sequentially, in threads, in threads under\n"
        "a GIL (CPython's, and weft's fair mode), in processes, in a thread pool\n"
        "under CPython's GIL and in a process pool; prints wall times and speedups\n"
        "and which conclusion they support.\n"
        "  --tasks N     tasks per run (default 4, at most %d)\n"
        "  --cpu-ms MS   computation per CPU-bound task (default 250)\n"
        "  --io-waits K  waits per I/O-bound task (default 10)\n"
        "  --io-ms MS    length of each wait (default 20)\n"
        "  --csv FILE    where to write the results (default weft-demo.csv)\n"
        "  --png FILE    chart, when gnuplot is installed (default weft-demo.png)\n",
        MAX_TASKS);
}

static int parse(int argc, char **argv, struct config *c)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        char *end = NULL;
        long n = strtol(v, &end, 10);
        bool num = end != v && *end == '\0' && n > 0 && n <= 1000000;
        if (strcmp(a, "--tasks") == 0 && num && n <= MAX_TASKS)
            c->tasks = (int)n;
        else if (strcmp(a, "--cpu-ms") == 0 && num)
            c->cpu_ms = (int)n;
        else if (strcmp(a, "--io-waits") == 0 && num)
            c->io_waits = (int)n;
        else if (strcmp(a, "--io-ms") == 0 && num)
            c->io_ms = (int)n;
        else if (strcmp(a, "--csv") == 0)
            c->csv = v;
        else if (strcmp(a, "--png") == 0)
            c->png = v;
        else
            return -1;
    }
    return 0;
}

static void chart(const struct config *c, double speedup[2][NWAYS])
{
    /* gnuplot reads the script on its standard input. If it dies early the
     * writes fail with EPIPE instead of killing the demo. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &ign, NULL);
    char *argv[] = {(char *)"gnuplot", NULL};
    int fd = -1;
    pid_t pid = bench_spawn_piped(argv, STDIN_FILENO, &fd);
    if (pid < 0) {
        printf("(gnuplot is not installed: no chart; the numbers are in %s)\n", c->csv);
        return;
    }
    FILE *gp = fdopen(fd, "w");
    if (gp == NULL) {
        (void)close(fd);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        return;
    }
    (void)fprintf(gp,
        "set terminal png size 1000,560\nset output '%s'\n"
        "set title 'weft-demo: speedup over sequential, %d tasks'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\nset ylabel 'speedup'\n"
        "set yrange [0:*]\nset offsets 0,0,graph 0.2,0\nset xtics noenhanced rotate by -25\n"
        "set key top center horizontal\n"
        "$d << EOD\n", c->png, c->tasks);
    for (int w = 0; w < NWAYS; w++)
        (void)fprintf(gp, "\"%s\" %.3f %.3f\n", way_short[w], speedup[0][w], speedup[1][w]);
    (void)fprintf(gp, "EOD\nplot $d using 2:xtic(1) title 'CPU-bound', '' using 3 title 'I/O-bound'\n");
    int st = 0;
    bool ok = fclose(gp) == 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (ok && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        printf("chart: %s\n", c->png);
    else
        printf("(gnuplot failed: no chart)\n");
}

int main(int argc, char **argv)
{
    struct config c = {4, 250, 10, 20, "weft-demo.csv", "weft-demo.png"};
    int parsed = parse(argc, argv, &c);
    if (parsed != 0) {
        usage(parsed > 0 ? stdout : stderr);
        return parsed > 0 ? 0 : 2;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("weft-demo: %d tasks on %ld CPUs; a CPU-bound task computes for %d ms, "
           "an I/O-bound task waits %d x %d ms\n\n",
           c.tasks, ncpu, c.cpu_ms, c.io_waits, c.io_ms);
    struct task proto[2];
    memset(proto, 0, sizeof proto);
    proto[0].cpu = 1;
    proto[0].steps = wl_cpu_steps_for((int64_t)c.cpu_ms * 1000000);
    proto[1].waits = c.io_waits;
    proto[1].wait_ns = (int64_t)c.io_ms * 1000000;
    static const char *const kinds[2] = {"CPU-bound", "I/O-bound"};
    double secs[2][NWAYS] = {{0}}, speedup[2][NWAYS] = {{0}};
    printf("%-10s %-29s %9s %8s\n", "workload", "way", "wall (s)", "speedup");
    for (int k = 0; k < 2; k++)
        for (int w = 0; w < NWAYS; w++) {
            secs[k][w] = run((enum way)w, c.tasks, &proto[k]);
            speedup[k][w] = secs[k][SEQUENTIAL] / secs[k][w];
            printf("%-10s %-29s %9.3f %7.2fx\n", kinds[k], way_names[w], secs[k][w],
                   speedup[k][w]);
            (void)fflush(stdout);
        }

    /* What the numbers say. The seeds' claims: CPU-bound work gains from
     * processes, not from threads under the GIL; I/O-bound work gains from
     * threads even under the GIL, as much as from processes. */
    double cpu_gil = speedup[0][GIL_FAITHFUL], cpu_proc = speedup[0][PROCESSES];
    double io_gil = speedup[1][GIL_FAITHFUL], io_proc = speedup[1][PROCESSES];
    bool cpu_claim = cpu_proc >= 1.3 * cpu_gil;
    bool io_claim = io_gil >= 1.5 && io_gil >= 0.8 * io_proc;
    printf("\nCPU-bound: processes %.2fx vs threads under the GIL %.2fx: %s\n", cpu_proc,
           cpu_gil, cpu_claim ? "processes win, as the seeds say"
                              : "processes do not win here (see the CPU count)");
    printf("I/O-bound: threads under the GIL %.2fx vs processes %.2fx: %s\n", io_gil, io_proc,
           io_claim ? "threads do as well, as the seeds say"
                    : "threads do not keep up here");
    printf("Executors: CPU-bound in a process pool %.2fx, in a thread pool under the GIL "
           "%.2fx; I/O-bound in a thread pool under the GIL %.2fx\n",
           speedup[0][PROCESS_POOL], speedup[0][THREAD_POOL], speedup[1][THREAD_POOL]);
    if (cpu_claim && io_claim)
        printf("Conclusion (measured): CPU-bound: processes; I/O-bound: threads.\n");
    else
        printf("Conclusion (measured): these numbers do not support "
               "\"CPU-bound: processes; I/O-bound: threads\" on this machine.\n");

    FILE *f = fopen(c.csv, "w");
    if (f == NULL) {
        perror(c.csv);
        return 1;
    }
    (void)fprintf(f, "workload,way,tasks,wall_s,speedup\n");
    for (int k = 0; k < 2; k++)
        for (int w = 0; w < NWAYS; w++)
            (void)fprintf(f, "%s,%s,%d,%.6f,%.4f\n", k == 0 ? "cpu" : "io", way_keys[w],
                          c.tasks, secs[k][w], speedup[k][w]);
    if (fclose(f) != 0) {
        perror(c.csv);
        return 1;
    }
    printf("results: %s\n", c.csv);
    chart(&c, speedup);
    return 0;
}
