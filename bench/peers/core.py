"""CPython peers for weft-bench's core scenarios.

usage: core.py thread|proc OPS
Prints nanoseconds per spawn+join: threading.Thread start+join, or
multiprocessing.Process (fork context) start+join of a function that
returns at once.
"""
import multiprocessing
import sys
import threading
import time


def nothing():
    pass


def thread(ops):
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        t = threading.Thread(target=nothing)
        t.start()
        t.join()
    return (time.perf_counter_ns() - t0) / ops


def proc(ops):
    ctx = multiprocessing.get_context("fork")
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        p = ctx.Process(target=nothing)
        p.start()
        p.join()
        p.close()
    return (time.perf_counter_ns() - t0) / ops


if __name__ == "__main__":
    kind, ops = sys.argv[1], max(1, int(sys.argv[2]))
    print({"thread": thread, "proc": proc}[kind](ops))
