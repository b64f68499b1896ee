/* workload.h - the seeds' two kinds of work, for weft-bench's `gil`
 * scenario and for weft-demo, each runnable under a weft_gil.
 *
 * CPU-bound work is a pure computation that calls weft_gil_check() between
 * small steps, as CPython's evaluation loop checks its eval breaker at every
 * backward jump. I/O-bound work is a blocking wait (a sleep, or an echo
 * through a pipe to a child process) inside a blocking section, as CPython
 * releases the GIL around each system call. With g == NULL the same work
 * runs without a GIL. */
#ifndef WEFT_BENCH_WORKLOAD_H
#define WEFT_BENCH_WORKLOAD_H

#include <stdint.h>
#include <sys/types.h>

#include "weft/gil.h"

/* Run `steps` steps of computation (about 30 ns each), checking g between
 * them; g held by the caller, or NULL. Returns a value that depends on all
 * the work, so the compiler cannot drop it. */
uint64_t wl_cpu(weft_gil *g, long steps);

/* The number of steps that take about ns nanoseconds here (measured). */
long wl_cpu_steps_for(int64_t ns);

/* Sleep ns nanoseconds inside a blocking section of g (g held by the
 * caller, or NULL). */
void wl_sleep(weft_gil *g, int64_t ns);

/* Run fn(arg) in n weft threads (or n forked weft processes, each of which
 * must return 0) and wait for all of them; aborts on any failure. */
void wl_run_threads(int n, int (*fn)(void *), void *arg);
void wl_run_procs(int n, int (*fn)(void *), void *arg);

/* A child process that echoes every byte written to it. */
typedef struct wl_echo {
    int to_child, from_child;
    pid_t pid;
} wl_echo;

/* Start / stop the echo child (stop closes its pipe and reaps it). */
void wl_echo_start(wl_echo *e);
void wl_echo_stop(wl_echo *e);

/* One byte to the child and back: a blocking section around the write and
 * another around the read, as os.write and os.read each release the GIL. */
void wl_echo_once(wl_echo *e, weft_gil *g);

#endif /* WEFT_BENCH_WORKLOAD_H */
