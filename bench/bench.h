/* bench.h - weft-bench's measuring and reporting core.
 *
 * A scenario measures one metric (cost per operation, in ns) for weft and for
 * each peer. Runs are interleaved - weft, peer 1, peer 2, weft, ... - because
 * this is a shared, noisy machine: only numbers from one run of weft-bench
 * are compared, and a ratio is computed from each (weft run, peer run) pair
 * taken next to each other, then summarised by median, min and max.
 *
 * Output, one JSON object per line:
 *   {"scenario":S,"impl":I,"metric":M,"unit":"ns/op","median":..,"min":..,"max":..,"runs":N}
 *   {"scenario":S,"impl":"ratio","vs":PEER,"metric":M,"median":..,"min":..,"max":..}
 * A ratio is weft's cost over the peer's: below 1.0 means weft is faster. */
#ifndef WEFT_BENCH_H
#define WEFT_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "weft/shm.h"

/* One run: perform `ops` operations and return nanoseconds per operation.
 * A negative result means the implementation is unavailable this time. */
typedef double (*bench_run_fn)(void *ctx, long ops);

typedef struct bench_impl {
    const char *name; /* "weft", "pthread", "glib", "cpython" */
    bench_run_fn run;
    void *ctx;
} bench_impl;

typedef struct bench_opts {
    int runs;       /* interleaved runs per implementation */
    double scale;   /* multiplies every scenario's operation count */
    const char *python; /* python3 executable, or NULL to skip CPython */
} bench_opts;

extern bench_opts bench_options;

/* Measure impls[0] (weft) against impls[1..n-1] and print the JSON lines. */
void bench_compare(const char *scenario, const char *metric, long ops,
                   const bench_impl *impls, int n);

/* As bench_compare, for a cost in another unit than ns/op ("x" for a time
 * over a time, "ns/switch", ...); ratios are still weft's over the peer's. */
void bench_compare_unit(const char *scenario, const char *metric, const char *unit,
                        long ops, const bench_impl *impls, int n);

/* Abort unless ok: a benchmark whose setup or traffic fails measures
 * nothing worth printing. Inline, so analysers see the abort. */
static inline void bench_must(int ok)
{
    if (!ok)
        abort();
}

/* Start the program argv[0] (found on PATH) with child_fd (STDIN_FILENO or
 * STDOUT_FILENO) on a new pipe and stderr on /dev/null; *our_fd gets the
 * pipe's other end (close-on-exec). Returns the pid, or -1 if the pipe or
 * the program could not be made (nothing is left open then). */
pid_t bench_spawn_piped(char *const argv[], int child_fd, int *our_fd);

/* CLOCK_MONOTONIC nanoseconds. */
int64_t bench_now_ns(void);

/* n zeroed bytes shared with the children forked after the call: an
 * anonymous weft_shm block, put in *block for weft_shm_detach; aborts if
 * it cannot be made. */
void *bench_shared(size_t n, weft_shm **block);

/* Run `python3 bench/peers/<script> <args> <ops>` and read the ns/op it
 * prints; negative if python3 is unavailable. */
double bench_python(const char *script, const char *args, long ops);

/* A CPython peer as a bench_impl: ctx points to a struct bench_py; it runs
 * a twentieth of the operations (the interpreter is that much slower). */
struct bench_py {
    const char *script, *kind;
};
double bench_cpython(void *ctx, long ops);

/* Scenarios. */
void bench_lock(void);
void bench_rlock(void);
void bench_cond(void);
void bench_sem(void);
void bench_event(void);
void bench_barrier(void);
void bench_lock_shared(void);
void bench_thread(void);
void bench_proc(void);
void bench_pipe(void);
void bench_queue(void);
void bench_gil(void);
void bench_tpool(void);
void bench_ppool(void);

#endif /* WEFT_BENCH_H */
