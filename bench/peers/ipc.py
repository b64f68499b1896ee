"""CPython peers for weft-bench's ipc scenarios.

usage: ipc.py pipe_roundtrip|pipe_bulk OPS
Prints nanoseconds per operation, with multiprocessing.Pipe(duplex=False)
connections to a forked child (send_bytes / recv_bytes):
  pipe_roundtrip  a 64-byte message to the child and back
  pipe_bulk       a 1 MiB message to the child, which receives it whole
Only the message traffic is timed, not the child's start or end.
"""
import multiprocessing
import sys
import time

SMALL = b"x" * 64
BULK = b"x" * (1 << 20)


def echo(up, down, others):
    for c in others:  # the parent's ends, inherited by the fork
        c.close()
    while True:
        try:
            m = up.recv_bytes()
        except EOFError:
            return
        down.send_bytes(m)


def sink(up, down, others, ops):
    for c in others:
        c.close()
    for _ in range(ops):
        up.recv_bytes()
    down.send_bytes(b"k")


def run(kind, ops):
    ctx = multiprocessing.get_context("fork")
    up_r, up_w = ctx.Pipe(duplex=False)
    down_r, down_w = ctx.Pipe(duplex=False)
    if kind == "pipe_roundtrip":
        p = ctx.Process(target=echo, args=(up_r, down_w, (up_w, down_r)))
    else:
        p = ctx.Process(target=sink, args=(up_r, down_w, (up_w, down_r), ops))
    p.start()
    up_r.close()
    down_w.close()
    t0 = time.perf_counter_ns()
    if kind == "pipe_roundtrip":
        for _ in range(ops):
            up_w.send_bytes(SMALL)
            down_r.recv_bytes()
    else:
        for _ in range(ops):
            up_w.send_bytes(BULK)
        down_r.recv_bytes()
    t1 = time.perf_counter_ns()
    up_w.close()
    p.join()
    return (t1 - t0) / ops


if __name__ == "__main__":
    kind, ops = sys.argv[1], max(1, int(sys.argv[2]))
    print(run(kind, ops))
