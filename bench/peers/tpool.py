"""CPython peer for weft-bench's `tpool` scenario (see bench/bench_tpool.c):
concurrent.futures.ThreadPoolExecutor with 2 workers (bench_tpool.c's
WORKERS), running a function that returns at once.

usage: tpool.py KIND OPS
Prints nanoseconds per task:
  fire_forget    submit OPS tasks (Python has no submit without a future:
                 the futures are dropped), then shutdown(wait=True); the
                 executor is made before the clock starts
  submit_result  OPS times submit(f).result(), one task at a time
  future_batch   submit OPS tasks, then the result of each, in order
"""
import concurrent.futures
import sys
import time

WORKERS = 2
TOKEN = object()


def nothing():
    pass


def echo():
    return TOKEN


def fire_forget(ops):
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)
    submit = ex.submit
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        submit(nothing)
    ex.shutdown(wait=True)
    return (time.perf_counter_ns() - t0) / ops


def submit_result(ops):
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as ex:
        submit = ex.submit
        submit(echo).result()  # the first worker starts, untimed
        t0 = time.perf_counter_ns()
        for _ in range(ops):
            if submit(echo).result() is not TOKEN:
                sys.exit("wrong result")
        dt = time.perf_counter_ns() - t0
    return dt / ops


def future_batch(ops):
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as ex:
        submit = ex.submit
        submit(echo).result()
        t0 = time.perf_counter_ns()
        fs = [submit(echo) for _ in range(ops)]
        for f in fs:
            if f.result() is not TOKEN:
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
