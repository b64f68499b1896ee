"""CPython peers for weft-bench's ipc scenarios.

usage: ipc.py KIND OPS
Prints nanoseconds per operation. With multiprocessing.Pipe(duplex=False)
connections to a forked child (send_bytes / recv_bytes):
  pipe_roundtrip   a 64-byte message to the child and back
  pipe_bulk        a 1 MiB message to the child, which receives it whole
Only the message traffic is timed, not the child's start or end.
With multiprocessing.Queue between forked processes, as bench_queue.c
does (processes wait for a go; a consumer stops at the first b"" and each
producer ends with one; the clock stops when the consumers have exited):
  queue_1to1       64-byte messages, one producer, one consumer
  queue_2to2       the same, two producers and two consumers
  queue_roundtrip  a 64-byte message to a child and back, two queues
  queue_bulk       1 MiB messages, one producer, one consumer
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


def producer(q, go, each, msg):
    go.wait()
    for _ in range(each):
        q.put(msg)
    q.put(b"")
    q.close()
    q.join_thread()


def consumer(q, go):
    go.wait()
    while q.get() != b"":
        pass


def flow(nprod, ncons, total, msg):
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    go = ctx.Event()
    each = max(1, total // nprod)
    procs = [ctx.Process(target=producer, args=(q, go, each, msg)) for _ in range(nprod)]
    procs += [ctx.Process(target=consumer, args=(q, go)) for _ in range(ncons)]
    for p in procs:
        p.start()
    t0 = time.perf_counter_ns()
    go.set()
    for p in procs:
        p.join()
    t1 = time.perf_counter_ns()
    return (t1 - t0) / (each * nprod)


def echo_queue(up, down):
    while True:
        m = up.get()
        if m == b"":
            return
        down.put(m)


def queue_roundtrip(ops):
    ctx = multiprocessing.get_context("fork")
    up, down = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=echo_queue, args=(up, down))
    p.start()
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        up.put(SMALL)
        down.get()
    t1 = time.perf_counter_ns()
    up.put(b"")
    p.join()
    return (t1 - t0) / ops


if __name__ == "__main__":
    kind, ops = sys.argv[1], max(1, int(sys.argv[2]))
    if kind == "queue_1to1":
        print(flow(1, 1, ops, SMALL))
    elif kind == "queue_2to2":
        print(flow(2, 2, ops, SMALL))
    elif kind == "queue_roundtrip":
        print(queue_roundtrip(ops))
    elif kind == "queue_bulk":
        print(flow(1, 1, ops, BULK))
    else:
        print(run(kind, ops))
