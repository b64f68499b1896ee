"""CPython peers for weft-bench's gil scenario (see bench/bench_gil.c).

usage: gil.py KIND OPS
  cpu_2threads   two threads each run OPS ms of pure computation; prints
                 their wall time over running both sequentially
  cpu_2procs     the same with two multiprocessing (fork) processes
  switch_US      two CPU-bound threads for OPS ms at a switch interval of
                 US microseconds; prints ns per change of the running thread
  io_echo        OPS one-byte echoes through pipes to a child (os.write,
                 os.read) while a CPU-bound thread runs; prints ns per echo
"""
import multiprocessing
import os
import sys
import threading
import time


def work(n):
    x = 1
    for i in range(n):
        x = (x * 33 + i) & 0xFFFFFFFF
    return x


def steps_per_ms():
    n = 1 << 12
    while True:
        t0 = time.perf_counter_ns()
        work(n)
        dt = time.perf_counter_ns() - t0
        if dt >= 20_000_000:
            return max(1, int(n * 1_000_000 / dt))
        n *= 2


def timed(fn):
    t0 = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t0


def cpu(ops, runner):
    n = ops * steps_per_ms()
    seq = timed(lambda: (work(n), work(n)))

    def par():
        ws = [runner(target=work, args=(n,)) for _ in range(2)]
        for w in ws:
            w.start()
        for w in ws:
            w.join()

    return timed(par) / seq


def switch(us, ops):
    sys.setswitchinterval(us / 1e6)
    state = {"last": -1, "switches": 0}
    end = time.perf_counter_ns() + ops * 1_000_000

    def duel(me):
        n = 0
        x = 1
        while True:
            if state["last"] != me:
                state["switches"] += 1
                state["last"] = me
            x = (x * 33 + n) & 0xFFFFFFFF
            n += 1
            if n & 255 == 0 and time.perf_counter_ns() >= end:
                break

    t0 = time.perf_counter_ns()
    ts = [threading.Thread(target=duel, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (time.perf_counter_ns() - t0) / max(1, state["switches"])


def io_echo(ops):
    up_r, up_w = os.pipe()
    down_r, down_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(up_w)
        os.close(down_r)
        while True:
            b = os.read(up_r, 1)
            if not b:
                os._exit(0)
            os.write(down_w, b)
    os.close(up_r)
    os.close(down_w)
    stop = []

    def spin():
        x = 0
        while not stop:
            x += 1

    t = threading.Thread(target=spin)
    t.start()
    for _ in range(3):
        os.write(up_w, b"x")
        os.read(down_r, 1)
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        os.write(up_w, b"x")
        os.read(down_r, 1)
    dt = time.perf_counter_ns() - t0
    stop.append(1)
    t.join()
    os.close(up_w)
    os.close(down_r)
    os.waitpid(pid, 0)
    return dt / ops


if __name__ == "__main__":
    kind, ops = sys.argv[1], max(1, int(sys.argv[2]))
    if kind == "cpu_2threads":
        print(cpu(ops, threading.Thread))
    elif kind == "cpu_2procs":
        print(cpu(ops, multiprocessing.get_context("fork").Process))
    elif kind.startswith("switch_"):
        print(switch(int(kind[len("switch_"):]), ops))
    elif kind == "io_echo":
        print(io_echo(ops))
    else:
        sys.exit("unknown kind " + kind)
