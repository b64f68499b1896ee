"""CPython peer for weft-bench's `lock` scenario: threading.Lock.

usage: lock.py uncontended|contended OPS
Prints the cost per acquire+release pair in nanoseconds.
"""
import sys
import threading
import time


def uncontended(ops):
    lock = threading.Lock()
    acquire, release = lock.acquire, lock.release
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        acquire()
        release()
    return (time.perf_counter_ns() - t0) / ops


def contended(ops):
    lock = threading.Lock()
    counter = [0]
    per_thread = ops // 2
    start = threading.Barrier(3)

    def worker():
        acquire, release = lock.acquire, lock.release
        start.wait()
        for _ in range(per_thread):
            acquire()
            counter[0] += 1
            release()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter_ns()
    for t in threads:
        t.join()
    return (time.perf_counter_ns() - t0) / (2 * per_thread)


def main():
    kind, ops = sys.argv[1], max(2, int(sys.argv[2]))
    print({"uncontended": uncontended, "contended": contended}[kind](ops))


if __name__ == "__main__":
    main()
