"""CPython peers for weft-bench's sync scenarios.

usage: sync.py rlock|cond|sem|event|barrier OPS
Prints nanoseconds per operation (per round trip for the two-thread ones),
with the same shape as the C scenarios in bench/bench_sync.c.
"""
import sys
import threading
import time


def rlock(ops):
    lock = threading.RLock()
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        lock.acquire()
        lock.release()
    return (time.perf_counter_ns() - t0) / ops


def two_threads(ops, main_side, peer_side):
    peer = threading.Thread(target=peer_side)
    peer.start()
    t0 = time.perf_counter_ns()
    main_side()
    elapsed = time.perf_counter_ns() - t0
    peer.join()
    return elapsed / ops


def cond(ops):
    c = threading.Condition()
    turn = [0]

    def side(parity):
        def run():
            with c:
                for _ in range(ops):
                    while turn[0] % 2 != parity:
                        c.wait()
                    turn[0] += 1
                    c.notify()
        return run

    return two_threads(ops, side(0), side(1))


def sem(ops):
    ping, pong = threading.Semaphore(0), threading.Semaphore(0)

    def main_side():
        for _ in range(ops):
            ping.release()
            pong.acquire()

    def peer_side():
        for _ in range(ops):
            ping.acquire()
            pong.release()

    return two_threads(ops, main_side, peer_side)


def event(ops):
    ping, pong = threading.Event(), threading.Event()

    def main_side():
        for _ in range(ops):
            ping.set()
            pong.wait()
            pong.clear()

    def peer_side():
        for _ in range(ops):
            ping.wait()
            ping.clear()
            pong.set()

    return two_threads(ops, main_side, peer_side)


def barrier(ops):
    b = threading.Barrier(2)

    def side():
        for _ in range(ops):
            b.wait()

    return two_threads(ops, side, side)


def main():
    kind, ops = sys.argv[1], max(2, int(sys.argv[2]))
    print(globals()[kind](ops))


if __name__ == "__main__":
    main()
