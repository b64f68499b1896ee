"""CPython peer for weft-bench's `ppool` scenario (see bench/bench_ppool.c):
concurrent.futures.ProcessPoolExecutor with 2 workers (bench_ppool.c's
WORKERS) forked from this process (the "fork" context), running a function
that returns its argument, an 8-byte integer.

usage: ppool.py KIND OPS
Prints nanoseconds per task:
  fire_forget    submit OPS tasks (Python has no submit without a future:
                 the futures are dropped), then shutdown(wait=True)
  submit_result  OPS times submit(f, i).result(), one task at a time
  future_batch   submit OPS tasks, then the result of each, in order
The executor is made and has run one task per worker before the clock
starts.
"""
import concurrent.futures
import multiprocessing
import sys
import time

WORKERS = 2


def echo(x):
    return x


def make():
    ex = concurrent.futures.ProcessPoolExecutor(
        max_workers=WORKERS, mp_context=multiprocessing.get_context("fork"))
    for f in [ex.submit(echo, i) for i in range(WORKERS)]:
        f.result()
    return ex


def fire_forget(ops):
    ex = make()
    submit = ex.submit
    t0 = time.perf_counter_ns()
    for i in range(ops):
        submit(echo, i)
    ex.shutdown(wait=True)
    return (time.perf_counter_ns() - t0) / ops


def submit_result(ops):
    with make() as ex:
        submit = ex.submit
        t0 = time.perf_counter_ns()
        for i in range(ops):
            if submit(echo, i).result() != i:
                sys.exit("wrong result")
        dt = time.perf_counter_ns() - t0
    return dt / ops


def future_batch(ops):
    with make() as ex:
        submit = ex.submit
        t0 = time.perf_counter_ns()
        fs = [submit(echo, i) for i in range(ops)]
        for i, f in enumerate(fs):
            if f.result() != i:
                sys.exit("wrong result")
        dt = time.perf_counter_ns() - t0
    return dt / ops


def main():
    kind, ops = sys.argv[1], max(1, int(sys.argv[2]))
    runs = {"fire_forget": fire_forget, "submit_result": submit_result,
            "future_batch": future_batch}
    if kind not in runs:
        sys.exit("unknown kind " + kind)
    print(runs[kind](ops))


if __name__ == "__main__":
    main()
