/* bench_queue.c - scenario queue: messages through a queue shared by
 * processes.
 *
 *   queue  put_get_64_1to1   one producer process puts 64-byte messages,
 *                            one consumer process gets them: ns per message
 *   queue  put_get_64_1to1_batch32  the same, weft putting and getting 32
 *                            messages a call (put_many / get_many)
 *   queue  put_get_64_2to2   two producers, two consumers, the same
 *   queue  roundtrip_64      a 64-byte message to a child through one
 *                            queue and back through another
 *   queue  put_get_1m_1to1   1 MiB messages, one producer to one consumer
 * Peers: POSIX message queues (mq_send/mq_receive, at the default limit of
 * 10 messages; they cannot carry 1 MiB messages at the default size limit,
 * so that case has no mq figure) and CPython's multiprocessing.Queue.
 *
 * Every process is forked before the clock starts and spins (yielding its
 * core) on a shared flag for the go; the clock stops when the last
 * consumer has got its stop. So the time of the flow has neither a
 * process's wake from a sleep (a third of a millisecond on a busy VM, the
 * time of thousands of batched messages) nor process exit in it. Before
 * the go, two laps of the queue's worth of messages go through it (and one
 * lap of round trips before roundtrip_64's clock), so that what is timed
 * is the steady flow, not the first touch of fresh shared pages. A consumer
 * stops at the first 1-byte message; each producer ends with one. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/queue.h"

#define SMALL 64
#define BULK ((size_t)1 << 20)

/* A queue implementation: made before the fork, used by every process. */
struct qops {
    void *(*open)(size_t msg_size); /* NULL: unavailable */
    void (*put)(void *q, const void *msg, size_t len);
    size_t (*get)(void *q, void *buf, size_t cap);
    void (*close)(void *q);
    /* Optional: put `count` copies of msg / get until a 1-byte message,
     * in batches (else one put or get at a time). */
    void (*put_n)(void *q, const void *msg, size_t len, long count);
    void (*get_to_stop)(void *q, size_t cap);
    /* Messages of msg_size that fill the queue once: the warm-up. */
    long (*lap)(void *q, size_t msg_size);
};

static void *weft_open(size_t msg_size)
{
    weft_queue_opts o = {msg_size * 4 > ((size_t)1 << 20) ? msg_size * 4 : (size_t)1 << 20, 0, 0,
                         0};
    weft_queue *q = NULL;
    bench_must(weft_queue_create(&q, NULL, &o) == 0);
    return q;
}

static void weft_put(void *q, const void *msg, size_t len)
{
    bench_must(weft_queue_put((weft_queue *)q, msg, len) == 0);
}

static size_t weft_get(void *q, void *buf, size_t cap)
{
    size_t len = 0;
    bench_must(weft_queue_get((weft_queue *)q, buf, cap, &len) == 0);
    return len;
}

static void weft_close(void *q) { weft_queue_free((weft_queue *)q); }

static long weft_lap(void *q, size_t msg_size)
{
    size_t by_bytes = weft_queue_capacity((weft_queue *)q) / ((msg_size + 7) / 8 * 8);
    size_t slots = weft_queue_max_messages((weft_queue *)q);
    return (long)(by_bytes < slots ? by_bytes : slots);
}

/* Batches of BATCH messages per call (weft_queue_put_many / get_many). */
enum { BATCH = 32 };

static void weft_put_n(void *q, const void *msg, size_t len, long count)
{
    weft_queue_msg m[BATCH];
    for (int i = 0; i < BATCH; i++)
        m[i] = (weft_queue_msg){(void *)msg, len, 0}; /* put_many only reads it */
    while (count > 0) {
        size_t put = 0, n = count < BATCH ? (size_t)count : BATCH;
        bench_must(weft_queue_put_many((weft_queue *)q, m, n, &put) == 0 && put > 0);
        count -= (long)put;
    }
}

/* For one producer only: with more, one batch could take two producers'
 * stops, and another consumer would never see one. */
static void weft_get_to_stop(void *q, size_t cap)
{
    unsigned char *bufs = (unsigned char *)malloc(cap * BATCH);
    bench_must(bufs != NULL);
    weft_queue_msg m[BATCH];
    for (int i = 0; i < BATCH; i++)
        m[i] = (weft_queue_msg){bufs + (size_t)i * cap, 0, cap};
    for (bool stop = false; !stop;) {
        size_t got = 0;
        bench_must(weft_queue_get_many((weft_queue *)q, m, BATCH, &got) == 0 && got > 0);
        for (size_t i = 0; i < got; i++)
            stop = stop || m[i].len == 1;
    }
    free(bufs);
}

struct mq {
    mqd_t d;
};

static void *mq_open_any(size_t msg_size)
{
    char name[64];
    static int n;
    (void)snprintf(name, sizeof name, "/weft-bench-%d-%d", (int)getpid(), n++);
    struct mq_attr a;
    memset(&a, 0, sizeof a);
    a.mq_maxmsg = 10; /* /proc/sys/fs/mqueue/msg_max's default */
    a.mq_msgsize = (long)msg_size;
    mqd_t d = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    if (d == (mqd_t)-1)
        return NULL; /* over the system's limits: unavailable */
    bench_must(mq_unlink(name) == 0); /* the descriptor lives on, across fork */
    struct mq *m = (struct mq *)malloc(sizeof *m);
    bench_must(m != NULL);
    m->d = d;
    return m;
}

static void mq_put(void *q, const void *msg, size_t len)
{
    while (mq_send(((struct mq *)q)->d, (const char *)msg, len, 0) != 0)
        bench_must(errno == EINTR);
}

static size_t mq_get(void *q, void *buf, size_t cap)
{
    ssize_t r;
    while ((r = mq_receive(((struct mq *)q)->d, (char *)buf, cap, NULL)) < 0)
        bench_must(errno == EINTR);
    return (size_t)r;
}

static long mq_lap(void *q, size_t msg_size)
{
    (void)q;
    (void)msg_size;
    return 10; /* mq_maxmsg */
}

static void mq_close_any(void *q)
{
    bench_must(mq_close(((struct mq *)q)->d) == 0);
    free(q);
}

static const struct qops weft_ops = {weft_open, weft_put, weft_get, weft_close,
                                     NULL,      NULL,     weft_lap};
static const struct qops weft_batch_ops = {weft_open,  weft_put,   weft_get,        weft_close,
                                           weft_put_n, weft_get_to_stop, weft_lap};
static const struct qops mq_ops = {mq_open_any, mq_put, mq_get, mq_close_any, NULL, NULL, mq_lap};

/* Two laps of the queue through it, shared out among the producers and
 * the consumers, so that each process has touched the pages it will use:
 * the first touch of a page of fresh shared memory is a page fault (some
 * microseconds in a VM), a cost of the first lap only. */
static long warm_total(const struct qops *ops, void *q, int nprod, int ncons, size_t msg_size)
{
    long unit = (long)nprod * ncons, w = 2 * ops->lap(q, msg_size);
    return (w + unit - 1) / unit * unit;
}

/* A flow's clock, shared by its processes: the go they spin for, and when
 * each consumer got its stop. */
struct flow_clock {
    int go; /* atomic */
    int64_t end[4];
};

/* nprod producers put `each` messages of msg_size bytes, then a 1-byte
 * stop; ncons consumers get until a stop. ns per message, or -1. */
static double flow(const struct qops *ops, int nprod, int ncons, long total, size_t msg_size)
{
    void *q = ops->open(msg_size);
    if (!q)
        return -1;
    char *buf = (char *)calloc(1, msg_size);
    bench_must(buf != NULL);
    /* Zero-filled: no go yet. */
    weft_shm *ck_block;
    struct flow_clock *ck = (struct flow_clock *)bench_shared(sizeof *ck, &ck_block);
    int ready[2];
    bench_must(pipe(ready) == 0);
    pid_t kids[4];
    int nkids = 0;
    long each = total / nprod, warm = warm_total(ops, q, nprod, ncons, msg_size);
    for (int i = 0; i < nprod + ncons; i++) {
        pid_t pid = fork();
        bench_must(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            if (i < nprod)
                for (long k = 0; k < warm / nprod; k++)
                    ops->put(q, buf, msg_size);
            else
                for (long k = 0; k < warm / ncons; k++)
                    bench_must(ops->get(q, buf, msg_size) == msg_size);
            bench_must(write(ready[1], "r", 1) == 1);
            while (!__atomic_load_n(&ck->go, __ATOMIC_ACQUIRE))
                (void)sched_yield();
            if (i < nprod && ops->put_n) {
                ops->put_n(q, buf, msg_size, each);
                ops->put(q, "", 1);
            } else if (i < nprod) {
                for (long k = 0; k < each; k++)
                    ops->put(q, buf, msg_size);
                ops->put(q, "", 1);
            } else if (ops->get_to_stop) {
                ops->get_to_stop(q, msg_size);
            } else {
                while (ops->get(q, buf, msg_size) != 1) {
                }
            }
            if (i >= nprod)
                ck->end[i - nprod] = bench_now_ns();
            _exit(0);
        }
        kids[nkids++] = pid;
    }
    close(ready[1]);
    for (int i = 0; i < nkids; i++) {
        char c;
        bench_must(read(ready[0], &c, 1) == 1);
    }
    close(ready[0]);
    int64_t t0 = bench_now_ns();
    __atomic_store_n(&ck->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nkids; i++) {
        int st = 0;
        bench_must(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int64_t t1 = t0; /* the children have exited: their stores are seen */
    for (int i = 0; i < ncons; i++)
        t1 = ck->end[i] > t1 ? ck->end[i] : t1;
    bench_must(weft_shm_detach(ck_block) == 0);
    ops->close(q);
    free(buf);
    return (double)(t1 - t0) / (double)(each * nprod);
}

/* A message to a child through one queue and back through another. */
static double roundtrip(const struct qops *ops, long n)
{
    void *up = ops->open(SMALL);
    if (!up)
        return -1;
    void *down = ops->open(SMALL);
    if (!down) {
        ops->close(up);
        return -1;
    }
    char buf[SMALL];
    memset(buf, 1, sizeof buf);
    pid_t pid = fork();
    bench_must(pid >= 0);
    if (pid == 0) {
        size_t len;
        while ((len = ops->get(up, buf, sizeof buf)) != 1)
            ops->put(down, buf, len);
        _exit(0);
    }
    for (long i = 0, lap = ops->lap(up, SMALL); i < lap; i++) { /* one lap of each queue */
        ops->put(up, buf, SMALL);
        bench_must(ops->get(down, buf, sizeof buf) == SMALL);
    }
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        ops->put(up, buf, SMALL);
        bench_must(ops->get(down, buf, sizeof buf) == SMALL);
    }
    int64_t t1 = bench_now_ns();
    ops->put(up, "", 1);
    int st = 0;
    bench_must(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ops->close(up);
    ops->close(down);
    return (double)(t1 - t0) / (double)n;
}

static double w_11(void *c, long n) { (void)c; return flow(&weft_ops, 1, 1, n, SMALL); }
static double m_11(void *c, long n) { (void)c; return flow(&mq_ops, 1, 1, n, SMALL); }
static double wb_11(void *c, long n) { (void)c; return flow(&weft_batch_ops, 1, 1, n, SMALL); }
static double w_22(void *c, long n) { (void)c; return flow(&weft_ops, 2, 2, n, SMALL); }
static double m_22(void *c, long n) { (void)c; return flow(&mq_ops, 2, 2, n, SMALL); }
static double w_rt(void *c, long n) { (void)c; return roundtrip(&weft_ops, n); }
static double m_rt(void *c, long n) { (void)c; return roundtrip(&mq_ops, n); }
static double w_1m(void *c, long n) { (void)c; return flow(&weft_ops, 1, 1, n, BULK); }

static struct bench_py py_11 = {"ipc.py", "queue_1to1"};
static struct bench_py py_22 = {"ipc.py", "queue_2to2"};
static struct bench_py py_rt = {"ipc.py", "queue_roundtrip"};
static struct bench_py py_1m = {"ipc.py", "queue_bulk"};

void bench_queue(void)
{
    bench_impl a[] = {{"weft", w_11, NULL}, {"mq", m_11, NULL}, {"cpython", bench_cpython, &py_11}};
    bench_compare("queue", "put_get_64_1to1", 200000, a, 3);
    /* The same flow through weft's batch calls (BATCH messages a call);
     * POSIX mq has none, CPython's Queue neither. Four times the messages
     * of the flows around it: at a few nanoseconds a message, 200 000 of
     * them (50 000 at --scale 0.25) last a fraction of a millisecond, and
     * the first and last batches' hand-overs, a few tens of microseconds,
     * would be a tenth of what is timed. */
    bench_impl ab[] = {{"weft", wb_11, NULL}, {"mq", m_11, NULL}};
    bench_compare("queue", "put_get_64_1to1_batch32", 800000, ab, 2);
    bench_impl b[] = {{"weft", w_22, NULL}, {"mq", m_22, NULL}, {"cpython", bench_cpython, &py_22}};
    bench_compare("queue", "put_get_64_2to2", 200000, b, 3);
    bench_impl c[] = {{"weft", w_rt, NULL}, {"mq", m_rt, NULL}, {"cpython", bench_cpython, &py_rt}};
    bench_compare("queue", "roundtrip_64", 20000, c, 3);
    bench_impl d[] = {{"weft", w_1m, NULL}, {"cpython", bench_cpython, &py_1m}};
    bench_compare("queue", "put_get_1m_1to1", 400, d, 2);
}
